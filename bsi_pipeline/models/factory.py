"""The three stages every model key goes through, as plain functions the Dagster assets call.

train_stage: tune and fit every candidate, export each one (JSON for linear models, ONNX for
trees and ensembles) under <models_dir>/<key>/candidates/<model_id>/.
calibrate_stage: score the chosen candidate's artifact on the validation slice, fit and compare
calibrators, and write the final artifact (with its calibrator) to <models_dir>/<key>/<model_id>/.
evaluate_stage: score the final artifact on the test slice, compare with the spec's baseline,
draw the reliability and feature-importance plots, and write the model card. Which version is
served (<models_dir>/<key>/current) is decided by the model registry (bsi_pipeline.registry), not here.

Every stage re-derives the slices from the feature table (deterministic), and reads the model
back from its artifact, so what is evaluated is exactly what is served.
"""

from __future__ import annotations

import errno
import glob
import json
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl

from bsi_pipeline.lake import write_parquet_atomic
from bsi_pipeline.models import artifact as artifacts
from bsi_pipeline.models import algorithms
from bsi_pipeline.models.specs import ModelSpec
from bsi_pipeline.models.splits import Slices, model_frame, time_split
from bsi_pipeline.models.training import TRAINING_VERSION, TrainResult, matrix, train_spec

CANDIDATE_COLUMNS = ["model_key", "algorithm", "model_id", "selected", "params", "cv_metric", "cv_score",
                     "selection_score", "valid_metrics", "artifact_path"]


def slices_for(table: pl.DataFrame, spec: ModelSpec) -> Slices:
    return time_split(model_frame(table, spec), spec)


def _same_model_files(new: Path, old: Path) -> bool:
    """Whether folder ``old`` already holds every file of ``new`` with the same content, artifact.json
    compared without when and at which commit it was written: replacing it would change nothing."""
    try:
        for item in new.iterdir():
            mine, theirs = item.read_bytes(), (old / item.name).read_bytes()
            if item.name == "artifact.json":
                mine, theirs = ({k: v for k, v in json.loads(text).items() if k not in ("created_at", "git_hash")}
                                for text in (mine, theirs))
            if mine != theirs:
                return False
    except (OSError, ValueError):
        return False
    return True


def _replace_dir(target: Path, build: Callable[[Path], None]) -> None:
    """Build a directory beside its final place, then swap it in, so readers never see half of it.

    A model folder is named after its model_id (a hash of spec, data and parameters), so a re-run or a
    second run at once builds the same content: when the folder already holds it, it is kept as it is
    (with the evaluation's model card and plots, which a swap would drop until the evaluation is written
    again, and which the other run may be reading). Otherwise every temporary name is unique to its
    writer, and a writer whose swap finds another's folder already in place moves that one aside and
    tries again, so the last complete folder wins and neither fails. Folders moved aside by a killed
    writer (``.<name>.*.old``) are removed by the next one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.old"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        build(staging)
        if target.is_dir() and _same_model_files(staging, target):
            return
        for _ in range(20):
            old = target.with_name(f".{target.name}.{uuid.uuid4().hex}.old")
            try:
                target.rename(old)
            except FileNotFoundError:
                old = None
            try:
                staging.rename(target)
                return
            except OSError as exc:  # another writer's folder arrived in between: move it aside again
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
            finally:
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
        raise RuntimeError(f"could not replace {target}: other writers kept replacing it")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_atomic(path: Path, data: bytes) -> None:
    artifacts.atomic_write(path, data)  # a temporary name unique to this writer, then rename


def export_candidate(result: TrainResult, algorithm: str, directory: Path) -> Path:
    """Write one candidate's uncalibrated artifact; returns the artifact.json path."""
    spec, cand = result.spec, result.candidates[algorithm]
    common = dict(model_key=spec.key, model_id=result.model_id(algorithm), task=spec.task,
                  features=list(spec.features), calibrator={"method": "identity"},
                  metrics={"valid": cand.valid_metrics}, train_window=result.slices.window(),
                  extra={"algorithm": algorithm, "params": cand.params})
    check_X, _ = matrix(result.slices.valid.head(500), spec)   # export verifies parity on these rows
    if algorithm in algorithms.LINEAR:
        art = artifacts.export_linear(cand.model, check_X=check_X, **common)
    elif algorithm in algorithms.TREES:
        art = artifacts.export_tree(cand.model, directory=directory, check_X=check_X, **common)
    else:
        combined = cand.model
        weights = (combined.weights if combined.combiner == "weighted_mean"
                   else {"coefficients": combined.weights, "intercept": combined.intercept})
        art = artifacts.export_ensemble(combined.members, combined.combiner, weights, directory=directory,
                                        check_X=check_X, **common)
    return artifacts.write_artifact(directory, art)


def training_key(table: pl.DataFrame, spec: ModelSpec) -> str:
    """Hash of the training code's version, the spec and the rows and values of its slices: equal keys
    train equal models (training is seeded and deterministic), so a retrain on unchanged data can reuse
    the last one."""
    import hashlib
    digest = slices_for(table, spec).digest([*spec.features, spec.target])
    payload = json.dumps({"training": TRAINING_VERSION, "spec": spec.as_dict(), "data": digest},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _cached_candidates(path: Path) -> pl.DataFrame | None:
    if not path.exists():
        return None
    frame = pl.read_parquet(path, glob=False)
    return frame if all(Path(p).exists() for p in frame["artifact_path"]) else None


def train_stage(table: pl.DataFrame, spec: ModelSpec, models_dir: Path,
                log: Callable[[str], None] = lambda _: None) -> pl.DataFrame:
    """Train every candidate, export each, and return the candidates table (one row each).

    Incremental: when the spec and its training data are unchanged since the last training (same
    training_key), the candidates already exported are reused instead of trained again."""
    from bsi_pipeline.features.provenance import check_leakage
    check_leakage(spec.feature_table, list(spec.features))
    cache = Path(models_dir) / spec.key / "trainings" / f"{training_key(table, spec)}.parquet"
    cached = _cached_candidates(cache)
    if cached is not None:
        log(f"{spec.key}: spec and training data unchanged since {cache.stem}; reusing its candidates")
        return cached
    result = train_spec(table, spec, log=log)
    frame = result.candidates_frame()
    paths = []
    for algorithm in frame["algorithm"]:
        target = Path(models_dir) / spec.key / "candidates" / result.model_id(algorithm)
        _replace_dir(target, lambda d, a=algorithm: export_candidate(result, a, d))
        paths.append(str(target / "artifact.json"))
    frame = frame.with_columns(artifact_path=pl.Series(paths)).select(CANDIDATE_COLUMNS)
    cache.parent.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(frame, cache)
    return frame


@dataclass
class CalibrationOutcome:
    comparison: pl.DataFrame
    artifact_path: Path
    model_id: str
    method: str
    acceptance: dict = field(default_factory=dict)


def calibrate_stage(table: pl.DataFrame, spec: ModelSpec, candidates: pl.DataFrame,
                    models_dir: Path) -> CalibrationOutcome:
    """Fit the chosen candidate's calibrator on validation; write the final artifact."""
    from bsi_pipeline.models import calibration, counts
    from bsi_pipeline.models.scoring import load_scorer
    chosen = candidates.filter(pl.col("selected")).row(0, named=True)
    source = Path(chosen["artifact_path"])
    slices = slices_for(table, spec)
    X_va, y_va = matrix(slices.valid, spec)
    raw = load_scorer(source).predict_raw(X_va)
    art = artifacts.read_artifact(source)
    if spec.task == "binary":
        params, comparison = calibration.choose_calibrator(raw, y_va, dates=slices.valid["date"].to_numpy())
        calibrated = calibration.apply_calibration(params, raw)
        accepted = calibration.acceptance(calibrated, y_va)
        art["calibrator"] = params
        acceptance = {"slice": "valid", "passed": accepted.passed, "ece": accepted.ece, "reasons": accepted.reasons}
    else:
        params, comparison = {"method": "identity"}, pl.DataFrame({"method": ["identity"], "chosen": [True]})
        acceptance = {"slice": "valid", "passed": True, "reasons": []}
        if spec.task == "count":
            art["count"] = {"dispersion": counts.fit_dispersion(np.clip(raw, 1e-6, None), y_va)}
    art["metrics"] = {**art.get("metrics", {}), "calibration": acceptance}
    model_id = chosen["model_id"]
    target = Path(models_dir) / spec.key / model_id

    def build(directory: Path) -> None:
        for item in source.parent.iterdir():
            if item.name != "artifact.json":
                shutil.copy2(item, directory / item.name)
        artifacts.write_artifact(directory, art)

    _replace_dir(target, build)
    comparison = comparison.with_columns(model_key=pl.lit(spec.key), model_id=pl.lit(model_id))
    return CalibrationOutcome(comparison, target / "artifact.json", model_id, params["method"], acceptance)


@dataclass
class EvaluationOutcome:
    snapshot: pl.DataFrame           # long: one row per (system, metric) on the test slice
    importance: pl.DataFrame         # permutation importance per feature
    card: str                        # model card Markdown
    pngs: dict[str, bytes]           # plot name -> PNG
    accepted: bool
    reasons: list[str]
    model_id: str
    beat_baseline: bool | None = None


CARD_FILE = "model_card.md"
IMPORTANCE_FILE = "feature_importance.parquet"


def read_evaluation_files(models_dir: Path, key: str, model_id: str) -> tuple[str, pl.DataFrame]:
    """(model card Markdown, permutation importance) that evaluate_stage wrote beside a version's
    artifact: the one place that knows the file names, for the tables that gather every key."""
    directory = Path(models_dir) / key / model_id
    return ((directory / CARD_FILE).read_text(encoding="utf-8"),
            pl.read_parquet(directory / IMPORTANCE_FILE, glob=False))


def _loss_fn(task: str) -> Callable[[np.ndarray, np.ndarray], float]:
    from bsi_pipeline import metrics
    if task == "binary":
        return lambda p, y: metrics.log_loss(np.clip(p, 1e-15, 1 - 1e-15), y)
    return lambda p, y: float(np.sqrt(np.mean((p - y) ** 2)))


def permutation_importance(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, y: np.ndarray,
                           features: list[str], task: str, seed: int = 7) -> pl.DataFrame:
    """Rise in test log loss (or RMSE) when one feature's column is shuffled: model-agnostic,
    so linear, tree and ensemble models are explained on the same scale."""
    loss = _loss_fn(task)
    base = loss(predict(X), y)
    rng = np.random.default_rng(seed)
    rows = []
    for j, name in enumerate(features):
        shuffled = X.copy()
        shuffled[:, j] = rng.permutation(shuffled[:, j])
        rows.append({"feature": name, "importance": loss(predict(shuffled), y) - base})
    return pl.DataFrame(rows).sort("importance", descending=True)


def _snapshot_rows(system: str, report: dict) -> list[dict]:
    return [{"system": system, "metric": k, "value": float(v)} for k, v in report.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None and np.isfinite(v)]


def _baseline(spec: ModelSpec, test: pl.DataFrame, pred: np.ndarray, y: np.ndarray):
    """Model, baseline and the spec's compare_with columns scored on the same test rows (those where the
    baseline and every compared column exist); `others` holds the compared columns' reports and values."""
    from bsi_pipeline.models.evaluation import classification_report, regression_report
    if not spec.baseline:
        return None
    have = np.logical_and.reduce([test[c].is_not_null().to_numpy() for c in (spec.baseline, *spec.compare_with)])
    if not have.any():
        return None
    report = classification_report if spec.task == "binary" else regression_report
    values = {c: test[c].to_numpy()[have].astype(np.float64) for c in (spec.baseline, *spec.compare_with)}
    base = values.pop(spec.baseline)
    return {"rows": int(have.sum()), "model": report(pred[have], y[have]), "baseline": report(base, y[have]),
            "baseline_values": base, "mask": have,
            "others": {c: (report(v, y[have]), v) for c, v in values.items()}}


def _beats(task: str, comparison: dict) -> bool:
    model, base = comparison["model"], comparison["baseline"]
    if task == "binary":
        return model["brier"] < base["brier"] and model["log_loss"] < base["log_loss"]
    return model["rmse"] < base["rmse"]


def evaluate_stage(table: pl.DataFrame, spec: ModelSpec, calibration: pl.DataFrame,
                   models_dir: Path) -> EvaluationOutcome:
    """Score the final artifact on the test slice; plots and model card (serving is the registry's call)."""
    from bsi_pipeline import metrics
    from bsi_pipeline.models import calibration as calib
    from bsi_pipeline.models import counts, evaluation
    from bsi_pipeline.models.scoring import load_scorer
    model_id = calibration["model_id"][0]
    path = Path(models_dir) / spec.key / model_id / "artifact.json"
    art = artifacts.read_artifact(path)
    scorer = load_scorer(path)
    slices = slices_for(table, spec)
    X, y = matrix(slices.test, spec)
    pred = scorer.predict(X)
    pngs: dict[str, bytes] = {}
    rows: list[dict] = []
    reasons: list[str] = []
    if spec.task == "binary":
        report = evaluation.classification_report(pred, y)
        accepted = calib.acceptance(pred, y)
        reasons += [f"test: {r}" for r in accepted.reasons]
        groups = {spec.key: (pred, y)}
    else:
        report = evaluation.regression_report(pred, y)
        groups = {}
        pngs["predicted_vs_actual"] = evaluation.scatter_png(pred, y, f"{spec.key}: test slice",
                                                             "predicted", spec.target)
    if spec.task == "count":
        line = slices.test[spec.line_column].to_numpy().astype(np.float64)
        p_over = counts.prob_over(pred, line, art["count"]["dispersion"])
        over = (y > line).astype(np.float64)
        over_report = evaluation.classification_report(p_over, over)
        report.update({f"over_{k}": v for k, v in over_report.items()})
        accepted = calib.acceptance(p_over, over)
        reasons += [f"test P(over): {r}" for r in accepted.reasons]
        groups = {f"{spec.key} P(over line)": (p_over, over)}
    rows += _snapshot_rows("model", report)
    comparison = _baseline(spec, slices.test, pred, y)
    beat = None
    if spec.baseline and not comparison and spec.must_beat_baseline:
        reasons.append(f"the baseline {spec.baseline} (with {', '.join(spec.compare_with) or 'no other column'}) "
                       f"has no value on any of the {slices.test.height} test rows: the model cannot be shown to "
                       "beat it")
    if comparison:
        beat = _beats(spec.task, comparison)
        rows += _snapshot_rows(f"baseline:{spec.baseline}", comparison["baseline"])
        rows += _snapshot_rows("model_on_baseline_rows", comparison["model"])
        for column, (other, _) in comparison["others"].items():
            rows += _snapshot_rows(f"baseline:{column}", other)
        if spec.task == "binary":
            y_compared = y[comparison["mask"]]
            groups[f"baseline {spec.baseline}"] = (comparison["baseline_values"], y_compared)
            groups.update({f"baseline {c}": (v, y_compared) for c, (_, v) in comparison["others"].items()})
        else:
            pngs["model_vs_baseline"] = evaluation.scatter_png(
                pred[comparison["mask"]], comparison["baseline_values"],
                f"{spec.key} vs {spec.baseline}", "model", spec.baseline)
        if spec.must_beat_baseline and not beat:
            scores = "Brier and log loss" if spec.task == "binary" else "RMSE"
            reasons.append(f"does not beat the baseline {spec.baseline} on the same {comparison['rows']} test rows "
                           f"({scores})")
    if groups:
        pngs["reliability"] = metrics.reliability_plot_png(groups, f"{spec.key}: test slice reliability")
    importance = permutation_importance(scorer.predict, X, y, list(spec.features), spec.task)
    pngs["feature_importance"] = evaluation.feature_importance_png(
        importance["feature"].to_list(), importance["importance"].to_numpy(),
        f"{spec.key}: permutation importance (test {'log loss' if spec.task == 'binary' else 'RMSE'} rise)")
    accepted_all = not reasons
    card = evaluation.model_card_markdown(_card(spec, art, slices, report, comparison, calibration, reasons))
    window = slices.window()["test"]
    snapshot = pl.DataFrame(rows, schema={"system": pl.String, "metric": pl.String, "value": pl.Float64}).with_columns(
        model_key=pl.lit(spec.key), model_id=pl.lit(model_id), algorithm=pl.lit(art.get("extra", {}).get("algorithm")),
        slice=pl.lit("test"), window_start=pl.lit(window["start"]), window_end=pl.lit(window["end"]),
        rows=pl.lit(window["rows"]), accepted=pl.lit(accepted_all))
    snapshot = snapshot.select("model_key", "model_id", "algorithm", "slice", "window_start", "window_end", "rows",
                               "system", "metric", "value", "accepted")
    directory = path.parent
    importance = importance.with_columns(model_key=pl.lit(spec.key), model_id=pl.lit(model_id))
    _write_atomic(directory / CARD_FILE, card.encode("utf-8"))
    write_parquet_atomic(importance, directory / IMPORTANCE_FILE)
    for name, png in pngs.items():
        _write_atomic(directory / f"{name}.png", png)
    return EvaluationOutcome(snapshot, importance, card, pngs, accepted_all, reasons, model_id, beat)


def _card(spec: ModelSpec, art: dict, slices: Slices, report: dict, comparison, calibration: pl.DataFrame,
          reasons: list[str]) -> dict:
    extra = art.get("extra", {})
    coefficients = {f["name"]: f.get("coefficient") for f in art.get("features", []) if isinstance(f, dict)}
    features = [{"name": name, **({"coefficient": coefficients[name]} if coefficients.get(name) is not None else {})}
                for name in spec.features]
    card = {
        "model_key": spec.key, "model_id": art["model_id"], "title": spec.description,
        "intended_use": spec.intended_use, "data": slices.window(), "features": features,
        "algorithm": extra.get("algorithm"), "hyperparameters": {k: json.dumps(v) if isinstance(v, dict) else v
                                                               for k, v in (extra.get("params") or {}).items()},
        "test_metrics": {k: v for k, v in report.items() if not isinstance(v, (list, dict))},
        "limitations": [spec.limitations, *reasons] if reasons else spec.limitations,
        "provenance": {"git_hash": art.get("git_hash"), "id_hash (spec + data + parameters)": art["model_id"].rsplit("-", 1)[-1],
                       "feature_table": spec.feature_table},
    }
    if spec.task == "binary":
        card["calibration"] = {"method": art["calibrator"]["method"], "params": art["calibrator"],
                               "comparison": calibration.drop("model_key", "model_id", strict=False)}
    if comparison:
        card["model_on_baseline_rows"] = comparison["model"]
        card["baselines"] = {spec.baseline: comparison["baseline"],
                             **{c: other for c, (other, _) in comparison["others"].items()}}
    return card
