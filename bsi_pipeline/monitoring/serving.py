"""What the champions serve, how well it does, and whether it still looks like training.

Pure polars/numpy logic behind the monitoring assets (bsi_pipeline/defs/monitoring.py):

* :func:`resolve_champion`: a model key's champion = the model its ``current`` pointer names, which
  must also be the latest "champion" decision for that key in the ``model_registry`` table (that
  table gives the version). Anything else raises :class:`ChampionUnavailable` with the reason.
* :func:`served_rows`: the "served" stream of a spec: its feature rows of the latest season (in
  live use, the new and upcoming games; in our historical data, the last season's rows).
* :func:`serve_key`: prediction_log rows for one key: the champion (system ``model:<key>``) with
  its features and top-5 contributions, and for binary game keys (feature table features_games) the Elo
  forecast (system ``elo``, the table's p_elo) and the ensemble of both
  (:func:`bsi_pipeline.monitoring.system_ensemble.combine_systems`, system ``ensemble``), whose note
  says which system it fell back to when one failed. Its weights are fitted on the champion's validation
  slice (:func:`ensemble_settings`) and written into every ensemble row. A game key without a champion is
  still served: Elo, and the ensemble of Elo alone (version NO_MODEL_VERSION) whose note says why the
  model is missing.
* :func:`append_log` and :func:`fill_outcomes`: the log is append-only and idempotent on
  (model_key, system, model_version, row_id): a key already logged is never added again. Two
  exceptions, both filling gaps: a logged row whose p is null (the system failed) is replaced when
  a later run serves that key with a p, and a null outcome is filled once the label is known.
* :func:`model_health`: per model key, version, system and day, n, AUC (both classes present),
  Brier, log loss and ECE on rows with known outcomes (RMSE and MAE for regression/count keys).
* analyst views from the log, each on the forecast as first served per (key, system, row_id):
  :func:`system_comparison`, :func:`system_performance`, :func:`daily_coverage`,
  :func:`system_agreement`.
* :func:`champion_drift`: the champion's drift report (bsi_pipeline.monitoring.drift): the share of
  served rows of the latest window missing each feature (rows the model could not score; a critical
  report when every served row misses one), PSI per feature of the served rows against the training slice, KS of the
  served predictions against the champion's predictions on held-out reference rows, and concept
  drift of the served rows with known outcomes against the model's test evaluation (eval_snapshots).
* :func:`retrain_request`: whether a drift report asks for a retrain, and a run key derived from
  its critical findings; :func:`feed_problems`: its critical findings a retrain cannot fix (missing
  values: a broken feed), which ask for none.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from scipy import stats

from bsi_pipeline import metrics
from bsi_pipeline.models.artifact import ArtifactError
from bsi_pipeline.models.calibration import logit
from bsi_pipeline.models.scoring import FeatureError
from bsi_pipeline.models.splits import TrainingDataError
from bsi_pipeline.monitoring import drift
from bsi_pipeline.monitoring.system_ensemble import (
    ENSEMBLE_SYSTEM,
    MIN_FIT_ROWS,
    EnsembleSettings,
    contributions,
    fit_ensemble,
)

__all__ = [
    "DRIFT_SCHEMA",
    "ELO_COLUMN",
    "ELO_SYSTEM",
    "ELO_VERSION",
    "GAME_TABLE",
    "LOG_KEY",
    "LOG_SCHEMA",
    "NO_MODEL_VERSION",
    "Champion",
    "CANNOT_SERVE",
    "ChampionUnavailable",
    "NoServedRows",
    "ReferenceSlices",
    "append_log",
    "champion_drift",
    "daily_coverage",
    "ensemble_settings",
    "ensemble_settings_used",
    "exempt_psi",
    "feed_problems",
    "fill_outcomes",
    "latest_registry_status",
    "model_health",
    "model_system",
    "model_unavailable",
    "outcome_rows",
    "reference_slices",
    "resolve_champion",
    "retrain_request",
    "serve_key",
    "serve_or_fall_back",
    "served_rows",
    "serves_without_champion",
    "system_agreement",
    "system_comparison",
    "system_performance",
]

GAME_TABLE = "features_games"
ELO_COLUMN = "p_elo"          # features_games' baseline: the league's published Elo forecast
ELO_SYSTEM = "elo"
ELO_VERSION = "p_elo"         # the Elo rows' model_version: constant, so a game's Elo row is logged once
NO_MODEL_VERSION = "none"     # the ensemble's model_version when no champion is served: Elo alone
TOP_CONTRIBUTORS = 5
# features_games columns that take the Elo forecast apart (elo_contributions); served with game keys.
ELO_PARTS = ("logit_elo_fit", "has_elo_fit", "rating_diff", "conference_rating_diff", "has_rating")
ELO_POINTS = math.log(10.0) / 400.0   # log odds per Elo point
MIN_KS_REFERENCE = 50         # held-out test rows outside the served stream needed to be the KS reference
MIN_CONCEPT_ROWS = 30         # rows with known outcomes in the concept window below which concept drift is not judged

LOG_KEY = ("model_key", "system", "model_version", "row_id")
LOG_SCHEMA = {
    "row_id": pl.String,
    "model_key": pl.String,
    "model_version": pl.String,
    "model_id": pl.String,
    "system": pl.String,
    "task": pl.String,
    "league": pl.String,
    "season": pl.Int32,
    "date": pl.Date,
    "p": pl.Float64,
    "features": pl.String,
    "top_contributors": pl.String,
    "note": pl.String,
    "outcome": pl.Float64,
    "served_at": pl.Datetime("us", "UTC"),
}
DRIFT_SCHEMA = {
    **drift.REPORT_SCHEMA,
    "model_id": pl.String,
    "reference": pl.String,
    "model_status": pl.String,
    "served_through": pl.Date,   # the latest date of the served rows checked: the report's data horizon
}
_STATUS_RANK = {"ok": 0, "warning": 1, "critical": 2}


class ChampionUnavailable(LookupError):
    """A model key with no champion to serve; the message says why (for the asset's log)."""


class NoServedRows(LookupError):
    """A spec whose feature table has no rows to serve (the message says why)."""


# Why a key's champion cannot be served this run: none named, no rows, an unreadable artifact, features
# it cannot score. A game key is then served by Elo alone (serve_or_fall_back); other keys are skipped.
CANNOT_SERVE = (ChampionUnavailable, NoServedRows, TrainingDataError, ArtifactError, FeatureError)


def model_system(model_key: str) -> str:
    return f"model:{model_key}"


def _utc(moment: dt.datetime | None) -> dt.datetime:
    if moment is None:
        return dt.datetime.now(dt.timezone.utc)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


# ----------------------------------------------------------------------------------------- champion


@dataclass(frozen=True)
class Champion:
    model_key: str
    version: str
    model_id: str
    artifact_path: Path


def latest_registry_status(registry: pl.DataFrame) -> pl.DataFrame:
    """The latest row per (model_key, version, model_id) of the model_registry table: its current
    status. The model_id is part of the version's identity: a recreated MLflow registered model
    numbers its versions from 1 again, and a new version 2 must not hide the old version 2's status.

    Rows are one per decision; "latest" is by decided_at, then registered_at (when present), then
    table order."""
    missing = [c for c in ("model_key", "version", "model_id", "status", "decided_at") if c not in registry.columns]
    if missing:
        raise ValueError(f"model_registry lacks column(s) {missing} (columns: {registry.columns})")
    order = ["decided_at"] + (["registered_at"] if "registered_at" in registry.columns else [])
    return (registry.with_columns(pl.col("version").cast(pl.String), pl.int_range(pl.len()).alias("_order"))
            .sort([*order, "_order"], nulls_last=False)
            .group_by("model_key", "version", "model_id", maintain_order=True).last()
            .drop("_order"))


def resolve_champion(models_dir, model_key: str, registry: pl.DataFrame | None) -> Champion:
    """The champion of ``model_key``: the model the ``current`` pointer names, with the version the
    model_registry table gives it. ChampionUnavailable when there is no pointer, no registry table,
    or the registry's latest decision does not make that model the champion."""
    from bsi_pipeline.models.artifact import ARTIFACT_FILE
    from bsi_pipeline.models.scoring import CURRENT_FILE

    folder = Path(models_dir) / model_key
    pointer = folder / CURRENT_FILE
    if not pointer.is_file():
        raise ChampionUnavailable(f"{model_key}: no current model ({pointer} does not exist)")
    model_id = pointer.read_text(encoding="utf-8").strip()
    if registry is None or registry.height == 0:
        raise ChampionUnavailable(f"{model_key}: the model_registry table is not there yet, so the version of "
                                  f"{model_id} is unknown")
    latest = latest_registry_status(registry).filter(pl.col("model_key") == model_key)
    champions = latest.filter(pl.col("status") == "champion")
    match = champions.filter(pl.col("model_id") == model_id).sort("decided_at", nulls_last=False)
    if match.height == 0:
        named = ", ".join(f"{v} ({m})" for v, m in champions.select("version", "model_id").iter_rows()) or "none"
        raise ChampionUnavailable(f"{model_key}: current names {model_id}, but model_registry's champion is {named}")
    path = folder / model_id / ARTIFACT_FILE
    if not path.is_file():
        raise ChampionUnavailable(f"{model_key}: champion {model_id} has no {ARTIFACT_FILE} in {path.parent}")
    return Champion(model_key, str(match["version"][-1]), model_id, path)


# ----------------------------------------------------------------------------------------- serving


def _spec_rows(table: pl.DataFrame, spec, features=None) -> pl.DataFrame:
    needed = ["row_id", "league", "season", "date", *(spec.features if features is None else features), *spec.filter]
    missing = [c for c in dict.fromkeys(needed) if c not in table.columns]
    if missing:
        raise NoServedRows(f"{spec.key}: {spec.feature_table} has no column(s) {', '.join(missing)}")
    frame = table
    for column, value in spec.filter.items():
        frame = frame.filter(pl.col(column) == value)
    if frame.height == 0:
        raise NoServedRows(f"{spec.key}: {spec.feature_table} has no rows"
                           + (f" with {spec.filter}" if spec.filter else ""))
    return frame


def served_rows(table: pl.DataFrame, spec, features=None) -> pl.DataFrame:
    """The spec's rows of the latest season in its feature table, sorted by date and row_id.

    Columns: row_id, league, season, date, the features (``features``, default the spec's), then
    (when the table has them) the target (null until known), p_elo and ELO_PARTS for game keys, the
    spec's baseline and line column."""
    features = list(spec.features if features is None else features)
    frame = _spec_rows(table, spec, features)
    latest = frame["season"].max()
    frame = frame.filter(pl.col("season") == latest)
    game_columns = (ELO_COLUMN, *ELO_PARTS) if _is_game_key(spec) else ()
    extra = [c for c in (spec.target, *game_columns, spec.baseline, spec.line_column) if c and c in frame.columns]
    columns = list(dict.fromkeys(["row_id", "league", "season", "date", *features, *extra]))
    return frame.select(columns).with_columns(pl.col("season").cast(pl.Int32)).sort("date", "row_id")


def outcome_rows(table: pl.DataFrame, spec) -> pl.DataFrame:
    """(model_key, row_id, outcome) for every row of the spec whose label is known (any season)."""
    frame = _spec_rows(table, spec, features=[])
    if spec.target not in frame.columns:
        return pl.DataFrame(schema={"model_key": pl.String, "row_id": pl.String, "outcome": pl.Float64})
    return (frame.filter(pl.col(spec.target).is_not_null())
            .select(pl.lit(spec.key).alias("model_key"), "row_id", pl.col(spec.target).cast(pl.Float64).alias("outcome"))
            .unique(["model_key", "row_id"], keep="first"))


def _finite(frame: pl.DataFrame, features) -> np.ndarray:
    """rows x features: True where the value is a finite number (null, NaN and infinity are not)."""
    X = frame.select([pl.col(f).cast(pl.Float64).fill_null(float("nan")) for f in features]).to_numpy()
    return np.isfinite(X).reshape(frame.height, len(features))


def _valid_mask(frame: pl.DataFrame, features) -> np.ndarray:
    return _finite(frame, features).all(axis=1)


def _bad_features(frame: pl.DataFrame, features) -> list[str | None]:
    """Per row: None when every feature is a finite number, else a note naming the ones that are not."""
    finite = _finite(frame, features)
    return [None if row.all() else
            f"bad features: {', '.join(f for f, ok in zip(features, row) if not ok)} null/NaN/infinite"
            for row in finite]


def _log_frame(base: pl.DataFrame, **columns) -> pl.DataFrame:
    """LOG_SCHEMA rows for ``base`` (row_id, league, season, date); scalar or per-row columns."""
    n = base.height
    data = {"row_id": base["row_id"], "league": base["league"], "season": base["season"], "date": base["date"]}
    for name in LOG_SCHEMA:
        if name in data:
            continue
        value = columns.get(name)
        data[name] = value if isinstance(value, (list, pl.Series, np.ndarray)) else [value] * n
    return pl.DataFrame(data, schema_overrides={k: v for k, v in LOG_SCHEMA.items()
                                                if k not in ("row_id", "league", "season", "date")}).select(
        [pl.col(name).cast(dtype) for name, dtype in LOG_SCHEMA.items()])


def _logged(log: pl.DataFrame | None, model_key: str, system: str, version: str) -> set[str]:
    """row_ids already logged with a p for (key, system, version)."""
    if log is None or log.height == 0:
        return set()
    return set(log.filter((pl.col("model_key") == model_key) & (pl.col("system") == system)
                          & (pl.col("model_version") == version) & pl.col("p").is_not_null())["row_id"].to_list())


def model_unavailable(exc: Exception) -> str:
    """Why a key's model cannot be served, as the Elo-only ensemble's note tells it."""
    what = "no champion" if isinstance(exc, ChampionUnavailable) else "champion cannot be served"
    return f"{what} ({exc})"


def serves_without_champion(spec) -> bool:
    """Binary game keys: their Elo forecast and the ensemble are served with or without a champion."""
    return _is_game_key(spec)


def serve_key(table: pl.DataFrame, spec, champion: Champion | None, scorer=None, log: pl.DataFrame | None = None,
              served_at: dt.datetime | None = None, ensemble: EnsembleSettings | None = None,
              unavailable: str | None = None) -> pl.DataFrame:
    """prediction_log rows (LOG_SCHEMA) for the served rows of ``spec`` that ``log`` does not hold yet.

    * system ``model:<key>`` (version = the champion's): p = the champion's calibrated probability
      (binary) or value (regression, count mean) from the features its artifact lists (a champion
      trained before the spec changed keeps its own); features = the row's values as JSON;
      top_contributors = JSON list of the 5 largest [feature, signed contribution] (link scale). A row
      whose features are null/NaN/infinite gets p null and a note naming them.
    * binary game keys (feature table features_games) also get system ``elo`` (version "p_elo": p = p_elo,
      null with a note where absent) and system ``ensemble``: combine_systems over elo and the model
      with ``ensemble``'s settings (default: :func:`ensemble_settings`, fitted on the champion's
      validation slice; 0.5 each without a champion); features = the systems' p with the agreement,
      the adjustment and the settings used; top_contributors = each surviving system's share of the
      forecast and the bonus or penalty (system_ensemble.contributions: probability scale, summing to
      p - 0.5); note = combine_systems' fallback note. The elo rows' top_contributors take the Elo
      forecast apart on the log-odds scale (:func:`elo_contributions`: rating lead, conference lead,
      home advantage, pitchers).
    * without a champion (``champion`` None, ``unavailable`` saying why, see :func:`model_unavailable`)
      a game key is still served: its elo rows, and the ensemble of Elo alone with version
      NO_MODEL_VERSION, model_id null and the note "fallback to elo: failed model:<key> unavailable:
      <why>". Other keys raise ChampionUnavailable.
    * outcome = the target where the table has it, else null; served_at = ``served_at`` (now).
    The ensemble's version is the model's it combined (NO_MODEL_VERSION: none), so a champion that
    arrives later adds its model rows and a combined ensemble beside the Elo-only one; the Elo rows
    (version "p_elo") are logged once whatever the champion. Explanations are computed only for rows
    not yet logged, so a nightly run costs only its new rows."""
    if champion is None and not serves_without_champion(spec):
        raise ChampionUnavailable(unavailable or f"{spec.key}: no champion")
    features = list(scorer.features) if champion is not None else []
    served = served_rows(table, spec, features)
    served = served.with_columns(
        (served[spec.target].cast(pl.Float64) if spec.target in served.columns
         else pl.lit(None, dtype=pl.Float64)).alias("_outcome"))
    stamp = _utc(served_at)
    frames = []
    if champion is None:
        served = served.with_columns(pl.lit(None, dtype=pl.Float64).alias("_p"))
    else:
        served = _with_model_p(served, features, scorer)
        frames += _model_rows(served, spec, champion, scorer, features, log, stamp)
    if _is_game_key(spec):
        settings = ensemble or (lambda: ensemble_settings(table, spec, scorer) if champion is not None
                                else EnsembleSettings.even(ELO_SYSTEM, model_system(spec.key)))
        frames += _game_systems(served, spec, champion, log, stamp, settings, unavailable)
    return pl.concat(frames) if frames else pl.DataFrame(schema=LOG_SCHEMA)


def serve_or_fall_back(table: pl.DataFrame, spec, load_champion, log: pl.DataFrame | None = None,
                       served_at: dt.datetime | None = None) -> tuple[pl.DataFrame, str | None]:
    """(prediction_log rows, None) from :func:`serve_key` with ``load_champion()``'s (champion, scorer).
    When loading or serving the champion raises one of CANNOT_SERVE, a game key is served by Elo and
    the Elo-only ensemble instead and the second item says why (:func:`model_unavailable`); any other
    key re-raises, for the caller to skip it."""
    try:
        return serve_key(table, spec, *load_champion(), log, served_at), None
    except CANNOT_SERVE as exc:
        if not serves_without_champion(spec):
            raise
        why = model_unavailable(exc)
    return serve_key(table, spec, None, None, log, served_at, unavailable=why), why


def _unlogged(frame: pl.DataFrame, log, model_key: str, system: str, version: str) -> pl.DataFrame:
    return frame.filter(~pl.col("row_id").is_in(list(_logged(log, model_key, system, version))))


def _with_model_p(served: pl.DataFrame, features: list[str], scorer) -> pl.DataFrame:
    """``served`` with _p (the model's forecast, null where a feature is bad) and _note (which ones)."""
    notes = _bad_features(served, features)
    valid = np.array([note is None for note in notes], dtype=bool)
    p = np.full(served.height, np.nan)
    if valid.any():
        p[valid] = scorer.predict(served.filter(pl.Series(valid)).select(features))
    return served.with_columns(pl.Series("_p", p).fill_nan(None), pl.Series("_note", notes, dtype=pl.String))


def _model_rows(served: pl.DataFrame, spec, champion: Champion, scorer, features, log, stamp) -> list[pl.DataFrame]:
    system = model_system(spec.key)
    todo = _unlogged(served, log, spec.key, system, champion.version)
    if todo.height == 0:
        return []
    contributors = [_top_contributors(scorer, row) if ok else None
                    for row, ok in zip(todo.select(features).iter_rows(named=True), todo["_p"].is_not_null())]
    return [_log_frame(
        todo, model_key=spec.key, model_version=champion.version, model_id=champion.model_id, system=system,
        task=spec.task, p=todo["_p"], features=todo.select(pl.struct(features).struct.json_encode())[:, 0],
        top_contributors=contributors, note=todo["_note"], outcome=todo["_outcome"], served_at=stamp)]


def _top_contributors(scorer, row: dict) -> str:
    return _contributors_json(scorer.explain(row, top=TOP_CONTRIBUTORS).contributions)


def _contributors_json(parts: list[tuple[str, float]]) -> str | None:
    """The top_contributors column: JSON [[name, signed contribution], ...], null when there are none."""
    return json.dumps([[name, value] for name, value in parts]) if parts else None


def _is_game_key(spec) -> bool:
    """Binary keys on features_games: served side by side with the Elo forecast and the ensemble."""
    return spec.feature_table == GAME_TABLE and spec.task == "binary"


def _game_systems(served: pl.DataFrame, spec, champion: Champion | None, log, stamp, settings,
                  unavailable: str | None) -> list[pl.DataFrame]:
    """The elo and ensemble rows of a game key (none when the table has no p_elo and there is a
    champion; NoServedRows when there is neither)."""
    if ELO_COLUMN not in served.columns:
        if champion is None:
            raise NoServedRows(f"{spec.key}: no champion to serve ({unavailable}) and {spec.feature_table} "
                               f"has no {ELO_COLUMN} column")
        return []
    elo = served.with_columns(pl.col(ELO_COLUMN).cast(pl.Float64).fill_nan(None).alias("_elo"))
    return _elo_rows(elo, spec, log, stamp) + _ensemble_rows(elo, spec, champion, log, stamp, settings, unavailable)


def elo_contributions(p_elo: float | None, parts: dict) -> list[tuple[str, float]]:
    """The Elo forecast taken apart on the log-odds scale, largest first: the home team's elo_fit rating
    lead (rating_diff), its conference layer's lead (conference_rating_diff, where the league has one), the
    home advantage (elo_fit's log odds less the two, which is the season's fitted home Elo on every shared
    game and 0 at a neutral site) and what the league's Elo forecast adds to elo_fit (MLB's elo_pitcher:
    the starting pitchers). Exact: they sum to logit(p_elo). Empty when p_elo is absent or elo_fit or a
    rating is missing for the game (has_elo_fit / has_rating 0: the parts are fallbacks, not ratings)."""
    if p_elo is None or not parts.get("has_elo_fit") or not parts.get("has_rating"):
        return []
    team = parts["rating_diff"] * ELO_POINTS
    conference = parts["conference_rating_diff"] * ELO_POINTS
    found = [("rating_diff", team), ("conference_rating_diff", conference),
             ("home_advantage", parts["logit_elo_fit"] - team - conference),
             ("beyond_elo_fit", float(logit(np.array([p_elo]))[0]) - parts["logit_elo_fit"])]
    return sorted([(name, value) for name, value in found if abs(value) > 1e-12], key=lambda part: -abs(part[1]))


def _elo_rows(elo: pl.DataFrame, spec, log, stamp) -> list[pl.DataFrame]:
    todo = _unlogged(elo, log, spec.key, ELO_SYSTEM, ELO_VERSION)
    if todo.height == 0:
        return []
    if all(c in todo.columns for c in ELO_PARTS):
        contributors = [_contributors_json(elo_contributions(p, parts))
                        for p, parts in zip(todo["_elo"], todo.select(ELO_PARTS).iter_rows(named=True))]
    else:
        contributors = None
    return [_log_frame(
        todo, model_key=spec.key, model_version=ELO_VERSION, model_id=None, system=ELO_SYSTEM, task=spec.task,
        p=todo["_elo"], features=todo.select(pl.struct(pl.col("_elo").alias(ELO_COLUMN)).struct.json_encode())[:, 0],
        top_contributors=contributors,
        note=[None if v is not None else f"{ELO_COLUMN} absent for this game" for v in todo["_elo"]],
        outcome=todo["_outcome"], served_at=stamp)]


def _ensemble_rows(elo: pl.DataFrame, spec, champion: Champion | None, log, stamp, settings,
                   unavailable: str | None) -> list[pl.DataFrame]:
    """combine_systems over elo and the model (a missing model counts as a failed one, its note
    saying why); version and model_id are the champion's, NO_MODEL_VERSION and null without one.
    ``settings``: EnsembleSettings, or a function making them, called only when rows are to be added
    (fitting scores the validation slice)."""
    system = model_system(spec.key)
    version = NO_MODEL_VERSION if champion is None else champion.version
    todo = _unlogged(elo, log, spec.key, ENSEMBLE_SYSTEM, version)
    if todo.height == 0:
        return []
    long = pl.concat([todo.select("row_id", pl.lit(ELO_SYSTEM).alias("system"), pl.col("_elo").alias("p")),
                      todo.select("row_id", pl.lit(system).alias("system"), pl.col("_p").alias("p"))])
    settings = settings() if callable(settings) else settings
    combined = settings.combine(long)
    if champion is None:
        failed = f"{system} unavailable: {unavailable or 'no champion'}"
        combined = combined.with_columns(pl.col("note").str.replace(f"{system} (null p)", failed, literal=True))
    merged = todo.join(combined, on="row_id", how="left")
    used = settings.as_dict()
    encoded, contributors = [], []
    for e, m, p, p_mean, a, adj in merged.select("_elo", "_p", "p", "p_mean", "agreement", "adjustment").iter_rows():
        encoded.append(json.dumps({ELO_SYSTEM: e, system: m, "agreement": a, "adjustment": adj, "settings": used}))
        contributors.append(_contributors_json(contributions({ELO_SYSTEM: e, system: m}, settings.weights, p,
                                                             p_mean, adj)))
    return [_log_frame(
        merged, model_key=spec.key, model_version=version, model_id=None if champion is None else champion.model_id,
        system=ENSEMBLE_SYSTEM, task=spec.task, p=merged["p"], features=encoded, top_contributors=contributors,
        note=merged["note"], outcome=merged["_outcome"], served_at=stamp)]


def ensemble_settings(table: pl.DataFrame, spec, scorer, min_rows: int = MIN_FIT_ROWS) -> EnsembleSettings:
    """The ensemble's settings for a champion: weights fitted (system_ensemble.fit_ensemble) on its
    validation slice, rows it was calibrated and chosen on but never trained on, with p_elo and an
    outcome. Not the test slice: in historical data that is the served stream itself. The model's
    validation p are in-sample for its calibrator, so the fit leans towards the model, if anything.
    When the table cannot give that slice back, the defaults, with a source saying why: serving goes on."""
    from bsi_pipeline.models.splits import TrainingDataError

    features = list(scorer.features)
    try:
        valid = reference_slices(table, spec, scorer.artifact).valid
    except (NoServedRows, TrainingDataError) as exc:
        return EnsembleSettings.even(ELO_SYSTEM, model_system(spec.key),
                                     f"defaults: no validation rows to fit on ({exc})")
    valid = valid.filter(pl.Series(_valid_mask(valid, features)))
    elo = (valid[ELO_COLUMN].cast(pl.Float64).fill_null(np.nan).to_numpy() if ELO_COLUMN in valid.columns
           else np.full(valid.height, np.nan))
    model = scorer.predict(valid.select(features)) if valid.height else np.empty(0)
    return fit_ensemble(ELO_SYSTEM, elo, model_system(spec.key), model,
                        valid[spec.target].cast(pl.Float64).fill_null(np.nan).to_numpy(),
                        source=f"validation rows of {scorer.artifact.get('model_id', spec.key)}",
                        min_rows=min_rows)


def ensemble_settings_used(rows: pl.DataFrame) -> pl.DataFrame:
    """Per model key and version, the ensemble settings its rows in ``rows`` (prediction_log rows) were
    combined with: weights, bonus, penalty and where they came from."""
    ensemble = rows.filter(pl.col("system") == ENSEMBLE_SYSTEM).unique(["model_key", "model_version"], keep="first",
                                                                        maintain_order=True)
    records = []
    for key, version, features in ensemble.select("model_key", "model_version", "features").iter_rows():
        used = json.loads(features).get("settings", {})
        records.append({"model_key": key, "model_version": version, "weights": json.dumps(used.get("weights")),
                        "bonus": used.get("bonus"), "penalty": used.get("penalty"), "source": used.get("source")})
    return pl.DataFrame(records, schema={"model_key": pl.String, "model_version": pl.String, "weights": pl.String,
                                         "bonus": pl.Float64, "penalty": pl.Float64, "source": pl.String})


def append_log(log: pl.DataFrame | None, new: pl.DataFrame) -> pl.DataFrame:
    """``log`` plus the rows of ``new`` whose (model_key, system, model_version, row_id) it lacks.

    A logged row with a null p (the system failed) is replaced by a new row with a p for the same
    key; nothing else in the log changes. Re-appending the same rows adds nothing."""
    key = list(LOG_KEY)
    new = new.select([pl.col(c).cast(t) for c, t in LOG_SCHEMA.items()]).unique(key, keep="first", maintain_order=True)
    if log is None or log.height == 0:
        return _sorted_log(new)
    log = log.select([pl.col(c).cast(t) for c, t in LOG_SCHEMA.items()])
    fresh = new.join(log.select(key), on=key, how="anti", nulls_equal=True)
    upgrades = new.filter(pl.col("p").is_not_null()).join(
        log.filter(pl.col("p").is_null()).select(key), on=key, how="semi", nulls_equal=True)
    kept = log.join(upgrades.select(key), on=key, how="anti", nulls_equal=True)
    return _sorted_log(pl.concat([kept, upgrades, fresh]))


def _sorted_log(log: pl.DataFrame) -> pl.DataFrame:
    return log.sort("season", "date", "model_key", "system", "model_version", "row_id", maintain_order=True)


def fill_outcomes(log: pl.DataFrame, outcomes: pl.DataFrame) -> pl.DataFrame:
    """The log with null outcomes filled from ``outcomes`` (model_key, row_id, outcome); a known
    outcome is never overwritten."""
    if outcomes.height == 0 or log.height == 0:
        return log
    known = outcomes.select("model_key", "row_id", pl.col("outcome").cast(pl.Float64).alias("_known")).unique(
        ["model_key", "row_id"], keep="first")
    return (log.join(known, on=["model_key", "row_id"], how="left", maintain_order="left")
            .with_columns(pl.coalesce("outcome", "_known").alias("outcome")).drop("_known"))


# ----------------------------------------------------------------------------------------- health


def _auc(p: np.ndarray, y: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney with average ranks for ties); None with one class."""
    positives = y == 1.0
    n1, n0 = int(positives.sum()), int((~positives).sum())
    if n1 == 0 or n0 == 0:
        return None
    ranks = stats.rankdata(p)
    return float((ranks[positives].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def _scores(task: str, p: np.ndarray, y: np.ndarray) -> dict:
    out = {"n": int(p.shape[0]), "mean_p": float(p.mean()), "outcome_mean": float(y.mean()),
           "auc": None, "brier": None, "log_loss": None, "accuracy": None, "ece": None, "rmse": None, "mae": None}
    if task == "binary":
        out.update(auc=_auc(p, y), brier=metrics.brier(p, y), log_loss=metrics.log_loss(p, y),
                   accuracy=metrics.accuracy(p, y), ece=metrics.ece(p, y))
    else:
        out.update(rmse=float(np.sqrt(np.mean((p - y) ** 2))), mae=float(np.mean(np.abs(p - y))))
    return out


_SCORE_SCHEMA = {"n": pl.Int64, "mean_p": pl.Float64, "outcome_mean": pl.Float64, "auc": pl.Float64,
                 "brier": pl.Float64, "log_loss": pl.Float64, "accuracy": pl.Float64, "ece": pl.Float64,
                 "rmse": pl.Float64, "mae": pl.Float64}


def _grouped_scores(frame: pl.DataFrame, by: list[str], key_schema: dict) -> pl.DataFrame:
    rows = []
    if frame.height:
        for keys, group in frame.sort(by).partition_by(by, as_dict=True, maintain_order=True).items():
            task = group["task"][0]
            scores = _scores(task, group["p"].to_numpy(), group["outcome"].to_numpy())
            rows.append({**dict(zip(by, keys)), **scores})
    return pl.DataFrame(rows, schema={**key_schema, **_SCORE_SCHEMA})


def model_health(log: pl.DataFrame) -> pl.DataFrame:
    """Per model_key, model_version, system and day (the row's date), on rows with a p and a known
    outcome: task, n, mean_p, outcome_mean, and for binary keys AUC (null with one class), Brier,
    log loss, accuracy and ECE (10 bins); for regression/count keys RMSE and MAE."""
    by = ["model_key", "model_version", "system", "task", "date"]
    known = log.filter(pl.col("p").is_not_null() & pl.col("outcome").is_not_null())
    return _grouped_scores(known, by, {c: LOG_SCHEMA[c] for c in by})


# ----------------------------------------------------------------------------------------- analyst views


def _first_served(log: pl.DataFrame) -> pl.DataFrame:
    """The first-served forecast with a p per (model_key, system, row_id): what the system said first."""
    return (log.filter(pl.col("p").is_not_null())
            .sort("served_at", "model_version", maintain_order=True)
            .unique(["model_key", "system", "row_id"], keep="first", maintain_order=True))


def _label(system: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit("p_"), system.str.split(":").list.first())


def system_comparison(log: pl.DataFrame) -> pl.DataFrame:
    """One row per (model_key, row_id) of keys served by more than one system: league, season, date,
    p_elo, p_model, p_ensemble (first served), outcome, the model's version and the ensemble's note."""
    columns = ["model_key", "row_id", "league", "season", "date", "p_elo", "p_model", "p_ensemble", "outcome",
               "model_version", "ensemble_note"]
    schema = {**{c: LOG_SCHEMA[c] for c in ("model_key", "row_id", "league", "season", "date", "outcome",
                                              "model_version")},
              "p_elo": pl.Float64, "p_model": pl.Float64, "p_ensemble": pl.Float64, "ensemble_note": pl.String}
    multi = log.group_by("model_key").agg(pl.col("system").n_unique().alias("k")).filter(pl.col("k") > 1)["model_key"]
    first = _first_served(log.filter(pl.col("model_key").is_in(multi.implode())))
    if first.height == 0:
        return pl.DataFrame(schema={c: schema[c] for c in columns})
    wide = first.with_columns(_label(pl.col("system")).alias("label")).pivot(
        on="label", index=["model_key", "row_id"], values="p")
    base = log.filter(pl.col("model_key").is_in(multi.implode())).group_by("model_key", "row_id").agg(
        pl.col("league").first(), pl.col("season").first(), pl.col("date").first(),
        pl.col("outcome").drop_nulls().first())
    model = first.filter(pl.col("system").str.starts_with("model:")).select("model_key", "row_id", "model_version")
    note = first.filter(pl.col("system") == ENSEMBLE_SYSTEM).select("model_key", "row_id",
                                                                    pl.col("note").alias("ensemble_note"))
    out = base.join(wide, on=["model_key", "row_id"], how="left").join(
        model, on=["model_key", "row_id"], how="left").join(note, on=["model_key", "row_id"], how="left")
    out = out.with_columns([pl.lit(None, dtype=pl.Float64).alias(c) for c in ("p_elo", "p_model", "p_ensemble")
                            if c not in out.columns])
    return out.select([pl.col(c).cast(schema[c]) for c in columns]).sort("model_key", "date", "row_id")


def system_performance(log: pl.DataFrame) -> pl.DataFrame:
    """Per system, model_key, league and season, on first-served forecasts with known outcomes: task,
    n, mean_p, outcome_mean; Brier, log loss, accuracy, AUC and ECE for binary keys; RMSE and MAE for
    regression/count keys."""
    by = ["system", "model_key", "league", "season", "task"]
    first = _first_served(log).filter(pl.col("outcome").is_not_null())
    return _grouped_scores(first, by, {c: LOG_SCHEMA[c] for c in by})


def daily_coverage(log: pl.DataFrame) -> pl.DataFrame:
    """Per day (the rows' date), model_key and system: rows (distinct row_ids any system logged for
    the key that day), predictions (row_ids this system gave a p), missing = rows - predictions,
    outcomes_known (row_ids with a known outcome)."""
    rows = log.group_by("model_key", "league", "date").agg(
        pl.col("row_id").n_unique().cast(pl.Int64).alias("rows"),
        pl.col("row_id").filter(pl.col("outcome").is_not_null()).n_unique().cast(pl.Int64).alias("outcomes_known"))
    systems = log.select("model_key", "system").unique()
    predictions = log.filter(pl.col("p").is_not_null()).group_by("model_key", "date", "system").agg(
        pl.col("row_id").n_unique().cast(pl.Int64).alias("predictions"))
    out = (rows.join(systems, on="model_key").join(predictions, on=["model_key", "date", "system"], how="left")
           .with_columns(pl.col("predictions").fill_null(0)))
    out = out.with_columns((pl.col("rows") - pl.col("predictions")).alias("missing"))
    return out.select("date", "model_key", "league", "system", "rows", "predictions", "missing",
                      "outcomes_known").sort("date", "model_key", "system")


def system_agreement(log: pl.DataFrame) -> pl.DataFrame:
    """Per day and binary model_key served by two or more systems (the ensemble, being made from the
    others, left out): rows with at least two systems' p, mean_spread (mean of max - min p per row),
    max_spread, share_same_side (all p above 0.5, or all below) and the systems compared."""
    first = _first_served(log).filter((pl.col("system") != ENSEMBLE_SYSTEM) & (pl.col("task") == "binary"))
    per_row = first.group_by("model_key", "row_id").agg(
        pl.col("date").first(), pl.len().alias("k"), (pl.col("p").max() - pl.col("p").min()).alias("spread"),
        ((pl.col("p") > 0.5).all() | (pl.col("p") < 0.5).all()).alias("same_side"),
        pl.col("system").sort().str.join(",").alias("systems")).filter(pl.col("k") >= 2)
    return (per_row.group_by("date", "model_key").agg(
        pl.len().cast(pl.Int64).alias("rows"), pl.col("spread").mean().alias("mean_spread"),
        pl.col("spread").max().alias("max_spread"),
        pl.col("same_side").cast(pl.Float64).mean().alias("share_same_side"),
        pl.col("systems").unique().sort().str.join(";").alias("systems"))
        .sort("date", "model_key"))


# ----------------------------------------------------------------------------------------- drift


def _eval_reference(eval_snapshots: pl.DataFrame | None, model_id: str, task: str) -> tuple[float, float] | str:
    names = ("brier", "accuracy") if task == "binary" else ("over_brier", "over_accuracy")
    if eval_snapshots is None or eval_snapshots.height == 0:
        return "no eval_snapshots table"
    rows = eval_snapshots.filter((pl.col("model_id") == model_id) & (pl.col("system") == "model")
                                 & pl.col("metric").is_in(list(names)))
    values = dict(rows.select("metric", "value").iter_rows())
    if any(values.get(n) is None for n in names):
        return f"eval_snapshots has no test {'/'.join(names)} of {model_id}"
    return float(values[names[0]]), float(values[names[1]])


def _probability_stream(task: str, scorer, frame: pl.DataFrame, spec) -> tuple[np.ndarray, np.ndarray | None]:
    """(prediction stream, outcome stream) the drift checks compare: the calibrated probability and
    the label for binary keys; P(over the line) and (target > line) for count keys; the value and
    the target for regression keys. Outcomes are None when the frame has no target column, NaN
    where the target is unknown (a start not yet played is not an under)."""
    from bsi_pipeline.models import counts

    values = scorer.predict(frame.select(list(scorer.features)))
    y = frame[spec.target].cast(pl.Float64).to_numpy() if spec.target in frame.columns else None
    if task == "count":
        line = frame[spec.line_column].cast(pl.Float64).to_numpy()
        values = counts.prob_over(values, line, scorer.artifact["count"]["dispersion"])
        y = None if y is None else np.where(np.isnan(y), np.nan, (y > line).astype(np.float64))
    return np.asarray(values, dtype=np.float64), y


def artifact_features(artifact: dict) -> list[str]:
    return [f["name"] if isinstance(f, dict) else str(f) for f in artifact.get("features", [])]


@dataclass(frozen=True)
class ReferenceSlices:
    train: pl.DataFrame
    valid: pl.DataFrame
    test: pl.DataFrame
    source: str   # "artifact train_window" or "slices_for"


def reference_slices(table: pl.DataFrame, spec, artifact: dict) -> ReferenceSlices:
    """The champion's own train / valid / test rows: the spec's labelled rows inside the date windows
    its artifact records (train_window, written from factory.slices_for at training time). Slices are
    cut by date (never a date on two sides), so the windows give back exactly the rows it trained,
    validated and was tested on, even after newer (or not yet labelled) rows joined the table. An
    artifact without windows falls back to factory.slices_for on the labelled rows."""
    from bsi_pipeline.models.factory import slices_for

    frame = _spec_rows(table, spec, artifact_features(artifact) or None)
    if spec.target in frame.columns:
        frame = frame.filter(pl.col(spec.target).is_not_null())
    windows = artifact.get("train_window") or {}
    try:
        bounds = {name: (dt.date.fromisoformat(windows[name]["start"]), dt.date.fromisoformat(windows[name]["end"]))
                  for name in ("train", "valid", "test")}
    except (KeyError, TypeError, ValueError):
        slices = slices_for(frame, spec)
        return ReferenceSlices(slices.train, slices.valid, slices.test, "slices_for")
    parts = {name: frame.filter(pl.col("date").is_between(lo, hi)).sort("date", "row_id")
             for name, (lo, hi) in bounds.items()}
    empty = [name for name in ("train", "valid") if parts[name].height == 0]
    if empty:
        raise NoServedRows(f"{spec.key}: {spec.feature_table} has no rows in the champion's {'/'.join(empty)} "
                           f"window {windows}")
    return ReferenceSlices(parts["train"], parts["valid"], parts["test"], "artifact train_window")


def champion_drift(table: pl.DataFrame, spec, champion: Champion, scorer,
                   eval_snapshots: pl.DataFrame | None = None, computed_at: dt.datetime | None = None,
                   alpha: float = drift.DEFAULT_KS_ALPHA, window_days: int = drift.CONCEPT_WINDOW_DAYS,
                   max_drop: float = drift.CONCEPT_MAX_DROP) -> pl.DataFrame:
    """The drift report (DRIFT_SCHEMA: drift.REPORT_SCHEMA plus model_id, reference, model_status,
    served_through) of
    ``champion`` on the served rows of ``table``:

    * missing per feature: the share of the served rows of the latest ``window_days`` (the concept
      window, ending at served_through) whose value is null, NaN or infinite (the model cannot score
      them; training has none): drift.MISSING_WARNING / MISSING_CRITICAL. When no served row has
      every feature, the other checks get a "skipped" row saying so: a broken feed is a critical
      report, not a key left out (critical, but a feed problem: :func:`retrain_request` does not
      ask a retrain for it, :func:`feed_problems` names it);
    * psi per feature: served rows with every feature finite vs the champion's training slice
      (:func:`reference_slices`: the rows factory.slices_for(table, spec).train gave when it was trained);
      a feature in spec.psi_exempt keeps its value with status "exempt" and the spec's reason (:func:`exempt_psi`);
    * ks_prediction: the champion's served predictions vs its predictions on held-out reference rows:
      the test slice's rows outside the served stream (every served row, scored or not) when there
      are MIN_KS_REFERENCE of them (live use: the test season is past), else the validation slice
      (historical data, where the served stream is the test season). Binary keys compare
      probabilities, count keys P(over the line); regression keys compare values with the same
      two-sample KS test. Reference rows missing a feature are left out ("skipped" when none is left);
    * concept_brier / concept_accuracy (binary and count keys, on served rows with a known outcome):
      the latest ``window_days`` against the model's test Brier/accuracy in eval_snapshots (count
      keys: over_brier/over_accuracy of P(over)). Not judged, with a "concept" row of status
      "skipped" whose reference column says why, without those scores or with fewer than
      MIN_CONCEPT_ROWS rows in the window (six games do not make an accuracy).
    model_status is the worst status of the model's rows. Raises NoServedRows (and, for an artifact
    without training windows, the factory's NotEnoughData/TrainingDataError) when the table cannot
    give the reference rows."""
    stamp = _utc(computed_at)
    features = list(scorer.features)
    served = served_rows(table, spec, features)
    slices = reference_slices(table, spec, scorer.artifact)
    # before dropping unscorable rows: they are served too, so never the held-out reference
    held_out = slices.test.join(served.select("row_id"), on="row_id", how="anti")
    parts = [drift.drift_report(spec.key, champion.version, features=features, served=served, window_days=window_days,
                                computed_at=stamp)
             .with_columns(reference=pl.lit("train (no missing value: model_frame refuses them)"))]
    scored = served.filter(pl.Series(_valid_mask(served, features)))
    if scored.height == 0:
        parts.append(_skipped_rows(spec.key, champion.version, stamp, ("psi", "ks_prediction", "concept"),
                                   "no served row has finite values for every feature"))
    else:
        current_p, current_y = _probability_stream(spec.task, scorer, scored, spec)
        parts.append(exempt_psi(drift.drift_report(spec.key, champion.version, features=features,
                                                   reference=slices.train, current=scored, computed_at=stamp)
                                .with_columns(reference=pl.lit(f"train ({slices.source})")), spec.psi_exempt))
        reference_name, reference_rows = (("test (rows outside the served stream)", held_out)
                                          if held_out.height >= MIN_KS_REFERENCE else ("valid", slices.valid))
        parts.append(_ks_part(spec, champion, scorer, reference_name, reference_rows, current_p, alpha, stamp))
        parts.append(_concept_part(spec, champion, scored["date"], current_p, current_y, eval_snapshots, stamp,
                                   window_days, max_drop))
    report = pl.concat(parts, how="diagonal_relaxed").with_columns(model_id=pl.lit(champion.model_id))
    worst = max((_STATUS_RANK.get(s, -1) for s in report["status"]), default=0)
    status = next((s for s, r in _STATUS_RANK.items() if r == worst), "ok")
    return report.with_columns(model_status=pl.lit(status), served_through=pl.lit(served["date"].max())).select(
        [pl.col(c).cast(t) for c, t in DRIFT_SCHEMA.items()])


def exempt_psi(report: pl.DataFrame, exempt: dict[str, str]) -> pl.DataFrame:
    """``report`` with the psi rows of the ``exempt`` features (spec.psi_exempt: feature -> reason) given
    status "exempt" and the reason after their reference: the value stays for analysts to see, but it is
    neither critical nor a warning, so it asks for no retrain."""
    if not exempt:
        return report
    rows = (pl.col("check") == "psi") & pl.col("feature").is_in(list(exempt))
    reason = pl.col("feature").replace_strict(exempt, default=None, return_dtype=pl.String)
    return report.with_columns(
        status=pl.when(rows).then(pl.lit("exempt")).otherwise(pl.col("status")),
        reference=pl.when(rows).then(pl.concat_str(pl.col("reference"), pl.lit("; PSI not judged: "), reason))
        .otherwise(pl.col("reference")))


def _skipped_rows(model_key: str, version: str, stamp, checks, why: str) -> pl.DataFrame:
    """One "skipped" row per check not judged, the reason in the reference column, so a report says
    what it could not check instead of leaving the row out."""
    return pl.DataFrame([{"model_key": model_key, "model_version": str(version), "check": check,
                          "status": "skipped", "computed_at": stamp, "reference": why} for check in checks],
                        schema={**drift.REPORT_SCHEMA, "reference": pl.String})


def _ks_part(spec, champion: Champion, scorer, reference_name: str, reference_rows: pl.DataFrame,
             current_p: np.ndarray, alpha: float, stamp) -> pl.DataFrame:
    """The ks_prediction row: the served stream vs the champion's forecasts on the reference rows
    that have every feature (skipped when none has: a table broken there too)."""
    reference_rows = reference_rows.filter(pl.Series(_valid_mask(reference_rows, list(scorer.features))))
    if reference_rows.height == 0:
        return _skipped_rows(spec.key, champion.version, stamp, ("ks_prediction",),
                             f"no {reference_name} row has finite values for every feature")
    reference_p, _ = _probability_stream(spec.task, scorer, reference_rows, spec)
    if spec.task == "regression":
        row = _value_ks_row(spec.key, champion.version, reference_p, current_p, alpha, stamp)
    else:
        row = drift.drift_report(spec.key, champion.version, reference_p=reference_p, current_p=current_p,
                                 alpha=alpha, computed_at=stamp)
    return row.with_columns(reference=pl.lit(reference_name))


def _concept_part(spec, champion: Champion, dates: pl.Series, current_p: np.ndarray, current_y: np.ndarray | None,
                  eval_snapshots: pl.DataFrame | None, stamp, window_days: int, max_drop: float) -> pl.DataFrame:
    """concept_brier / concept_accuracy on the served rows with a known outcome, or one skipped
    "concept" row saying why they cannot be judged."""
    if spec.task not in ("binary", "count"):
        why = "not computed for regression keys (Brier/accuracy need probabilities)"
    elif isinstance(scores := _eval_reference(eval_snapshots, champion.model_id, spec.task), str):
        why = scores
    elif current_y is None or not (known := ~np.isnan(current_y)).any():
        why = "no served row has a known outcome yet"
    elif (n_window := int(drift.latest_window(dates.filter(pl.Series(known)), window_days).sum())) < MIN_CONCEPT_ROWS:
        why = (f"only {n_window} served row(s) with a known outcome in the latest {window_days} days "
               f"(< {MIN_CONCEPT_ROWS}): too few to judge concept drift")
    else:
        return drift.drift_report(spec.key, champion.version, current_p=current_p[known], current_y=current_y[known],
                                  current_dates=dates.filter(pl.Series(known)), reference_brier=scores[0],
                                  reference_accuracy=scores[1], window_days=window_days, max_drop=max_drop,
                                  computed_at=stamp).with_columns(
            reference=pl.lit(f"eval_snapshots test of {champion.model_id}"))
    return _skipped_rows(spec.key, champion.version, stamp, ("concept",), why)


def _value_ks_row(model_key: str, version: str, reference, current, alpha: float, stamp) -> pl.DataFrame:
    """A ks_prediction row for values that are not probabilities (regression keys)."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    p_value = float(stats.ks_2samp(ref, cur).pvalue)
    return pl.DataFrame([{"model_key": model_key, "model_version": str(version), "check": "ks_prediction",
                          "feature": None, "value": p_value, "threshold": float(alpha),
                          "status": "critical" if p_value < alpha else "ok", "n_reference": int(ref.shape[0]),
                          "n_current": int(cur.shape[0]), "p_value": p_value, "computed_at": stamp}],
                        schema=drift.REPORT_SCHEMA)


def _by_model(rows: pl.DataFrame, reasons) -> list[str]:
    """``reasons(part)`` of each (model_key, model_version) part of ``rows``, prefixed "<key> version <v>: "."""
    out = []
    for (key, version), part in rows.sort("model_key").partition_by(
            ["model_key", "model_version"], as_dict=True, maintain_order=True).items():
        out += [f"{key} version {version}: {r}" for r in reasons(part)]
    return out


def retrain_request(report: pl.DataFrame) -> tuple[str | None, list[str]]:
    """(run_key, reasons) when the report has a critical row a retrain can answer
    (drift.needs_retrain), else (None, []). Feed problems (:func:`feed_problems`) ask for no retrain
    and are not part of the key, so a feed breaking or mending beside real drift asks for no second run.

    The run key is a hash of the critical findings (model_key, model_id - model_version when the
    report has no model_id -, check, feature), not of their values or time: a report recomputed
    with the same findings for the same champion models gives the same key, so it triggers one
    retrain. A new critical check, or a new champion model that drifts too, gives a new key; a
    retrain that reproduces the same model (same data, same id) does not, so drift that training
    cannot remove does not retrain again and again."""
    if report.height == 0:
        return None, []
    critical = drift.retrain_findings(report)
    if critical.height == 0:
        return None, []
    reasons = _by_model(critical, lambda rows: drift.needs_retrain(rows)[1])
    model = "model_id" if "model_id" in critical.columns else "model_version"
    findings = sorted({tuple("" if v is None else str(v) for v in row)
                       for row in critical.select("model_key", model, "check", "feature").iter_rows()})
    digest = hashlib.sha256("\n".join("\x1f".join(f) for f in findings).encode()).hexdigest()[:16]
    return f"drift-{digest}", reasons


def feed_problems(report: pl.DataFrame) -> list[str]:
    """The report's critical feed problems (drift.feed_problems: features the served rows miss), one
    "<key> version <v>: <reason>" each. Critical, but for the feed's owner: a retrain cannot fix them."""
    if report.height == 0:
        return []
    return _by_model(drift.feed_findings(report), drift.feed_problems)
