"""Monitoring assets: what the champions serve (prediction_log), how well it does (model_health and
the analyst views) and whether the served stream still looks like training (drift_reports).

The champion of a key is read from the model folder's `current` pointer and the model_registry
table (bsi_pipeline.monitoring.serving.resolve_champion). In prediction_log a game key without one
(or whose champion cannot be served) is still served by Elo and an Elo-only ensemble, the reason in
the log and the metadata ("elo_only"); any other key without one is skipped, with the reason in the
log and the metadata ("skipped"), as drift_reports skips every key without one. model_registry and
eval_snapshots are read from the lake when there (deps, not inputs), so these assets run before the
registry exists and in the nightly job, which does not train. Nothing here writes the DuckDB file.
"""

import datetime as dt

import dagster as dg
import polars as pl

from bsi_pipeline.defs.models import SPECS
from bsi_pipeline.defs.resources import BsiConfig
from bsi_pipeline.history import replace_by_key
from bsi_pipeline.lake import read_table_if_written
from bsi_pipeline.markdown import markdown_table
from bsi_pipeline.metrics import png_to_markdown
from bsi_pipeline.models.scoring import load_scorer
from bsi_pipeline.monitoring import drift, plots, serving

_FRAME = {"polars", "parquet"}
GROUP = "monitoring"
REGISTRY_TABLE = "model_registry"
MONITORING_TABLES = {
    "prediction_log": "Every forecast served, append-only: per model key, system (model:<key>, elo, ensemble), "
                      "model version and row: p (probability or value), features and top-5 contributions as JSON, "
                      "note (fallbacks, failures), outcome once known, served_at. Game keys are served by Elo "
                      "and the ensemble even without a champion (ensemble version 'none', Elo alone).",
    "model_health": "Per model key, version, system and day, on served rows with known outcomes: n, AUC, Brier, "
                    "log loss, accuracy, ECE (RMSE/MAE for regression and count keys).",
    "drift_reports": "Latest drift checks of each champion: missing-value rate per feature over the served rows of "
                     f"the latest {drift.CONCEPT_WINDOW_DAYS} days, PSI per feature (served vs training rows), KS on "
                     "predictions, concept drift vs the test evaluation; status per check and per model. A "
                     "critical missing rate is a broken feed: critical, but no retrain is asked for it.",
    "drift_history": "Every drift report kept: drift_reports' rows per champion model (model_id) and data horizon "
                     "(served_through, the latest served date checked); re-checking the same model on the same "
                     "rows replaces its rows, so the table shows how drift evolved without duplicates.",
    "system_comparison": "Per game (row_id) of keys with several systems: p_elo, p_model, p_ensemble side by side "
                         "(as first served) with the outcome and the ensemble's fallback note.",
    "system_performance": "Per system, model key, league and season, on first-served forecasts with known outcomes: "
                          "n, Brier, log loss, accuracy, AUC, ECE (RMSE/MAE for regression and count keys).",
    "daily_coverage": "Per day, model key and system: rows served, predictions made, missing, outcomes known.",
    "system_agreement": "Per day and game key: mean and max spread between the systems' p and the share of games "
                        "where every system picks the same side.",
}
FEATURE_TABLE_KEYS = [dg.AssetKey(name) for name in sorted({spec.feature_table for spec in SPECS.values()})]
SKIP_ERRORS = serving.CANNOT_SERVE


class _Tables:
    """Feature tables read once per run, on first use."""

    def __init__(self, lake):
        self.lake, self._cache = lake, {}

    def get(self, name: str) -> pl.DataFrame | None:
        if name not in self._cache:
            self._cache[name] = read_table_if_written(self.lake, name)
        return self._cache[name]


def _skip(context: dg.AssetExecutionContext, skipped: dict, key: str, reason: str) -> None:
    skipped[key] = reason
    context.log.warning(f"{key} skipped: {reason}")


def _feature_table(tables: _Tables, spec) -> pl.DataFrame:
    table = tables.get(spec.feature_table)
    if table is None:
        raise serving.NoServedRows(f"{spec.feature_table} has not been materialized")
    return table


def _champion(settings, registry, spec):
    """(champion, scorer) of a key; raises the SKIP_ERRORS when there is none to serve."""
    champion = serving.resolve_champion(settings.models_dir, spec.key, registry)
    return champion, load_scorer(champion.artifact_path)


def _champion_inputs(context, tables: _Tables, settings, registry, key: str, skipped: dict):
    """(spec, table, champion, scorer) of a key, or None after logging why not."""
    spec = SPECS[key]
    try:
        return spec, _feature_table(tables, spec), *_champion(settings, registry, spec)
    except SKIP_ERRORS as exc:
        _skip(context, skipped, key, str(exc))
        return None


def _serve(context, tables: _Tables, settings, registry, spec, previous, served_at, elo_only: dict) -> pl.DataFrame:
    """The key's new prediction_log rows (serving.serve_or_fall_back: a game key without a servable
    champion is served by Elo alone, the reason going to ``elo_only``; other keys raise CANNOT_SERVE)."""
    rows, why = serving.serve_or_fall_back(_feature_table(tables, spec), spec,
                                           lambda: _champion(settings, registry, spec), previous, served_at)
    if why is not None:
        elo_only[spec.key] = why
        context.log.warning(f"{spec.key} served by Elo alone: {why}")
    return rows


def _outcomes(tables: _Tables, spec) -> pl.DataFrame | None:
    table = tables.get(spec.feature_table)
    if table is None or table.height == 0:
        return None
    try:
        return serving.outcome_rows(table, spec)
    except serving.NoServedRows:
        return None


def _list_md(lines: list[str]) -> dg.MetadataValue:
    return dg.MetadataValue.md("\n".join(f"- {line}" for line in lines) or "none")


def _picture_md(png: bytes | None, alt: str) -> dg.MetadataValue:
    """A PNG as markdown metadata; "none" when there was nothing to draw."""
    return dg.MetadataValue.md("none" if png is None else png_to_markdown(png, alt))


def _reasons_md(reasons: dict) -> dg.MetadataValue:
    frame = pl.DataFrame({"model_key": list(reasons), "reason": list(reasons.values())},
                         schema={"model_key": pl.String, "reason": pl.String})
    return dg.MetadataValue.md(markdown_table(frame) if frame.height else "none")


@dg.asset(deps=[*FEATURE_TABLE_KEYS, dg.AssetKey(REGISTRY_TABLE)], group_name=GROUP, kinds=_FRAME,
          description=MONITORING_TABLES["prediction_log"])
def prediction_log(context: dg.AssetExecutionContext, bsi: BsiConfig) -> dg.Output:
    settings = bsi.settings()
    lake = settings.storage
    previous = read_table_if_written(lake, "prediction_log")
    registry = read_table_if_written(lake, REGISTRY_TABLE)
    tables, skipped, elo_only, new = _Tables(lake), {}, {}, []
    served_at = dt.datetime.now(dt.timezone.utc)
    for key, spec in SPECS.items():
        try:
            new.append(_serve(context, tables, settings, registry, spec, previous, served_at, elo_only))
        except SKIP_ERRORS as exc:
            _skip(context, skipped, key, str(exc))
    outcomes = [frame for frame in (_outcomes(tables, spec) for spec in SPECS.values()) if frame is not None]
    added = pl.concat(new) if new else pl.DataFrame(schema=serving.LOG_SCHEMA)
    log = serving.append_log(previous, added)
    before = log["outcome"].null_count()
    log = serving.fill_outcomes(log, pl.concat(outcomes) if outcomes else pl.DataFrame(
        schema={"model_key": pl.String, "row_id": pl.String, "outcome": pl.Float64}))
    counts = (added.group_by("model_key", "system", "model_version").agg(pl.len().alias("new_rows"))
              .sort("model_key", "system") if added.height else pl.DataFrame())
    return dg.Output(log, metadata={
        "rows": log.height, "new_rows": added.height, "outcomes_filled": before - log["outcome"].null_count(),
        "new_by_system": dg.MetadataValue.md(markdown_table(counts) if counts.height else "none"),
        "ensemble_settings": dg.MetadataValue.md(markdown_table(serving.ensemble_settings_used(added))),
        "elo_only": _reasons_md(elo_only), "skipped": _reasons_md(skipped)})


@dg.asset(deps=[*FEATURE_TABLE_KEYS, dg.AssetKey(REGISTRY_TABLE), dg.AssetKey("eval_snapshots")],
          group_name=GROUP, kinds=_FRAME, description=MONITORING_TABLES["drift_reports"])
def drift_reports(context: dg.AssetExecutionContext, bsi: BsiConfig) -> dg.Output:
    settings = bsi.settings()
    lake = settings.storage
    registry = read_table_if_written(lake, REGISTRY_TABLE)
    snapshots = read_table_if_written(lake, "eval_snapshots")
    tables, skipped, reports = _Tables(lake), {}, []
    computed_at = dt.datetime.now(dt.timezone.utc)
    for key in SPECS:
        found = _champion_inputs(context, tables, settings, registry, key, skipped)
        if found is None:
            continue
        spec, table, champion, scorer = found
        try:
            reports.append(serving.champion_drift(table, spec, champion, scorer, snapshots, computed_at))
        except SKIP_ERRORS as exc:
            _skip(context, skipped, key, str(exc))
    report = pl.concat(reports) if reports else pl.DataFrame(schema=serving.DRIFT_SCHEMA)
    run_key, reasons = serving.retrain_request(report)
    statuses = report.group_by("model_key", "model_version", "model_status").len().sort("model_key")
    return dg.Output(report, metadata={
        "models": statuses.height, "needs_retrain": run_key is not None,
        "status": dg.MetadataValue.md(markdown_table(statuses) if statuses.height else "none"),
        "critical": _list_md(reasons),
        # critical too, but a retrain cannot fix a broken feed: listed apart, for whoever fixes the feed
        "feed_problems": _list_md(serving.feed_problems(report)),
        "psi_by_feature": _picture_md(plots.psi_png(report), "PSI by feature per champion"),
        "skipped": _reasons_md(skipped)})


HISTORY_KEY = ["model_id", "served_through"]


@dg.asset(ins={"report": dg.AssetIn("drift_reports")}, group_name=GROUP, kinds=_FRAME,
          description=MONITORING_TABLES["drift_history"])
def drift_history(bsi: BsiConfig, report: pl.DataFrame) -> dg.Output:
    """drift_reports appended to the earlier reports (read back from the lake); see history.replace_by_key."""
    history = replace_by_key(read_table_if_written(bsi.settings().storage, "drift_history"), report, HISTORY_KEY)
    if history.height:
        history = history.sort("served_through", "model_key", "model_id", "check", "feature", nulls_last=True)
    reports = (history.group_by("served_through", "model_key", "model_version", "model_status")
               .agg(critical=(pl.col("status") == "critical").sum(), computed_at=pl.col("computed_at").max())
               .sort("model_key", "served_through") if history.height else history)
    return dg.Output(history, metadata={
        "rows": history.height, "reports": reports.height,
        "reports_by_model": dg.MetadataValue.md(markdown_table(reports) if reports.height else "none")})


def _view(name: str, build, pictures: dict | None = None):
    """An asset ``name`` = build(prediction_log); ``pictures``: metadata key -> function of the frame giving a
    PNG (or None: "none")."""
    @dg.asset(name=name, ins={"log": dg.AssetIn("prediction_log")}, group_name=GROUP, kinds=_FRAME,
              description=MONITORING_TABLES[name])
    def view(log: pl.DataFrame) -> dg.Output:
        frame = build(log)
        return dg.Output(frame, metadata={"rows": frame.height, **{
            key: _picture_md(draw(frame), f"{name} {key}") for key, draw in (pictures or {}).items()}})

    return view


model_health = _view("model_health", serving.model_health, pictures={"health_by_day": plots.health_png})
system_comparison = _view("system_comparison", serving.system_comparison)
system_performance = _view("system_performance", serving.system_performance)
daily_coverage = _view("daily_coverage", serving.daily_coverage)
system_agreement = _view("system_agreement", serving.system_agreement)

MONITORING_ASSETS = [prediction_log, drift_reports, drift_history, model_health, system_comparison, system_performance,
                     daily_coverage, system_agreement]
__all__ = ["MONITORING_ASSETS", "MONITORING_TABLES"]
