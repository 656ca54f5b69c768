"""Model factory assets: for every spec in model_specs.yaml, model_<key> -> calibrator_<key> ->
evaluation_<key>; then tables that gather all keys for analysts.

The per-key assets are generated from the specs, so adding a model is adding a spec.
"""

import dagster as dg
import polars as pl

from bsi_pipeline.defs.resources import BsiConfig
from bsi_pipeline.history import replace_by_key
from bsi_pipeline.lake import read_table_if_written
from bsi_pipeline.markdown import markdown_table
from bsi_pipeline.metrics import png_to_markdown
from bsi_pipeline.models.factory import calibrate_stage, evaluate_stage, read_evaluation_files, train_stage
from bsi_pipeline.models.specs import ModelSpec, load_specs
from bsi_pipeline.models.splits import NotEnoughData

SPECS = load_specs()
_FRAME = {"polars", "parquet"}
MODEL_TABLES = {
    "model_candidates": "Every candidate of every model key: algorithm, tuned parameters, time-series CV score, "
                        "validation metrics, which one was selected, and its artifact path.",
    "calibrators": "Per model key: identity, Platt, temperature and isotonic compared on the validation slice "
                   "(in-sample and cross-validated log loss, Brier, ECE) and the one chosen.",
    "eval_snapshots": "Test-slice evaluation of every model version (history kept): metric per system (model, "
                      "baseline, model on the baseline's rows), window, rows, accepted.",
    "model_cards": "The Markdown model card of each evaluated model version.",
    "feature_importance": "Permutation importance of each feature of each evaluated model version.",
}


def _model_assets(spec: ModelSpec) -> list[dg.AssetsDefinition]:
    features_in = dg.AssetIn(key=spec.feature_table)

    @dg.asset(name=f"model_{spec.key}", ins={"features": features_in}, group_name="models",
              kinds={"sklearn", "xgboost", "lightgbm"},
              description=f"{spec.description} Candidates tuned by time-series CV; the best by validation.")
    def trained(context: dg.AssetExecutionContext, bsi: BsiConfig, features: pl.DataFrame) -> dg.Output:
        try:
            table = train_stage(features, spec, bsi.settings().models_dir, log=context.log.info)
        except NotEnoughData as exc:   # e.g. a config without Statcast files: say so, train nothing
            context.log.warning(f"not trained: {exc}")
            return dg.Output(pl.DataFrame(), metadata={"skipped": str(exc)})
        chosen = table.filter(pl.col("selected")).row(0, named=True)
        return dg.Output(table, metadata={
            "selected": chosen["algorithm"], "model_id": chosen["model_id"],
            "candidates": dg.MetadataValue.md(markdown_table(
                table.select("algorithm", "cv_metric", "cv_score", "selection_score")))})

    @dg.asset(name=f"calibrator_{spec.key}", ins={"features": features_in, "candidates": dg.AssetIn(f"model_{spec.key}")},
              group_name="models", kinds=_FRAME,
              description=f"Calibration of {spec.key}: Platt, isotonic, temperature on validation; the best kept.")
    def calibrated(bsi: BsiConfig, features: pl.DataFrame, candidates: pl.DataFrame) -> dg.Output:
        if candidates.height == 0:
            return dg.Output(pl.DataFrame(), metadata={"skipped": f"model_{spec.key} trained nothing"})
        outcome = calibrate_stage(features, spec, candidates, bsi.settings().models_dir)
        return dg.Output(outcome.comparison, metadata={
            "method": outcome.method, "model_id": outcome.model_id, "artifact": dg.MetadataValue.path(str(outcome.artifact_path)),
            "acceptance": dg.MetadataValue.json(outcome.acceptance),
            "comparison": dg.MetadataValue.md(markdown_table(outcome.comparison.drop("model_key", "model_id")))})

    @dg.asset(name=f"evaluation_{spec.key}", ins={"features": features_in, "calibration": dg.AssetIn(f"calibrator_{spec.key}")},
              group_name="models", kinds=_FRAME,
              description=f"Test-slice evaluation of {spec.key} with plots and a model card.")
    def evaluated(context: dg.AssetExecutionContext, bsi: BsiConfig, features: pl.DataFrame,
                  calibration: pl.DataFrame) -> dg.Output:
        if calibration.height == 0:
            return dg.Output(pl.DataFrame(), metadata={"skipped": f"calibrator_{spec.key} calibrated nothing"})
        outcome = evaluate_stage(features, spec, calibration, bsi.settings().models_dir)
        if not outcome.accepted:
            context.log.warning(f"{spec.key} {outcome.model_id} not accepted: {'; '.join(outcome.reasons)}")
        model_rows = outcome.snapshot.filter(pl.col("system") == "model")
        return dg.Output(outcome.snapshot, metadata={
            "model_id": outcome.model_id, "accepted": outcome.accepted,
            "beat_baseline": dg.MetadataValue.bool(bool(outcome.beat_baseline)) if outcome.beat_baseline is not None else "n/a",
            "reasons": dg.MetadataValue.md("; ".join(outcome.reasons) or "none"),
            **{f"test_{m}": float(v) for m, v in model_rows.select("metric", "value").iter_rows()},
            **{name: dg.MetadataValue.md(png_to_markdown(png, name)) for name, png in outcome.pngs.items()},
            "model_card": dg.MetadataValue.md(outcome.card)})

    return [trained, calibrated, evaluated]


def _collect(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    frames = [t for t in tables.values() if t.height]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


@dg.asset(ins={f"model_{k}": dg.AssetIn(f"model_{k}") for k in SPECS}, group_name="models", kinds=_FRAME,
          description=MODEL_TABLES["model_candidates"])
def model_candidates(**candidates: pl.DataFrame) -> pl.DataFrame:
    return _collect(candidates)


@dg.asset(ins={f"calibrator_{k}": dg.AssetIn(f"calibrator_{k}") for k in SPECS}, group_name="models", kinds=_FRAME,
          description=MODEL_TABLES["calibrators"])
def calibrators(**tables: pl.DataFrame) -> pl.DataFrame:
    return _collect(tables)


@dg.multi_asset(
    ins={f"evaluation_{k}": dg.AssetIn(f"evaluation_{k}") for k in SPECS},
    outs={name: dg.AssetOut(kinds=_FRAME, description=MODEL_TABLES[name])
          for name in ("eval_snapshots", "model_cards", "feature_importance")},
    group_name="models",
)
def model_reports(bsi: BsiConfig, **evaluations: pl.DataFrame):
    """Gather evaluations. eval_snapshots keeps the history: earlier model versions stay, a
    re-evaluated version replaces its own rows (idempotent), and a run with no evaluation at all (every
    key short of data) leaves the history as it was instead of emptying it."""
    settings = bsi.settings()
    current = _collect(evaluations)
    # files, not the folder: a run writing at the same time creates the folder before its first file
    previous = read_table_if_written(settings.storage, "eval_snapshots")
    snapshots = replace_by_key(previous, current, ["model_id"])
    snapshots = snapshots.sort(["model_key", "model_id", "system", "metric"]) if snapshots.height else snapshots
    cards, importance = [], []
    versions = current.select("model_key", "model_id", "accepted").unique(maintain_order=True) if current.height else current
    for key, model_id, accepted in versions.iter_rows():
        card, version_importance = read_evaluation_files(settings.models_dir, key, model_id)
        cards.append({"model_key": key, "model_id": model_id, "accepted": accepted, "markdown": card})
        importance.append(version_importance)
    yield dg.Output(snapshots, "eval_snapshots", metadata={"versions": snapshots["model_id"].n_unique() if snapshots.height else 0})
    yield dg.Output(pl.DataFrame(cards), "model_cards")
    yield dg.Output(pl.concat(importance) if importance else pl.DataFrame(), "feature_importance")


MODEL_ASSETS = [a for spec in SPECS.values() for a in _model_assets(spec)] + [model_candidates, calibrators, model_reports]
__all__ = ["MODEL_ASSETS", "MODEL_TABLES", "SPECS"]
