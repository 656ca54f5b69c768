"""Train every candidate algorithm of a spec on its time-based slices and pick the best.

Hyper-parameters are tuned by time-series cross-validation inside the training window only
(expanding window, folds in date order). Each tuned candidate is refitted on the whole training
slice and scored on the validation slice; the ensemble and stacking candidates combine them. The
chosen candidate has the best validation score (for binary targets the log loss after the best
calibrator, cross-validated forward in time within the validation slice, so a miscalibrated but
sharp model is judged as it will be served; for values the RMSE), ties within the spec's
selection_tolerance going to the simpler model.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import polars as pl
from sklearn.metrics import log_loss as sk_log_loss
from sklearn.metrics import roc_auc_score

from bsi_pipeline.models import algorithms
from bsi_pipeline.models.ensemble import CombinedModel, fit_stacker, skill_weights
from bsi_pipeline.models.specs import ALGORITHMS, BASE_ALGORITHMS, CLASS_WEIGHT_AUTO_BELOW, ModelSpec
from bsi_pipeline.models.splits import Slices, date_folds, model_frame, time_split

CV_FOLDS = 3
# Part of the training cache key (factory.training_key): raise it whenever a change here can change what
# training produces on the same spec and data, so that cached candidates are trained again.
# 2: cross-validation folds cut between dates (date_folds).
# 3: the calibrated selection score is cross-validated forward in time (calibration.compare_calibrators).
# 4: skill_weights keeps the 0.60 cap when the other members have no skill.
# 5: ensemble weights follow out-of-fold training skill (oof_skills), not validation skill.
TRAINING_VERSION = 5


@dataclass
class Candidate:
    algorithm: str
    params: dict
    model: object
    cv_metric: str
    cv_score: float
    valid_pred: np.ndarray
    valid_metrics: dict
    selection_score: float = float("nan")
    seconds: float = 0.0


@dataclass
class TrainResult:
    spec: ModelSpec
    slices: Slices
    candidates: dict[str, Candidate]
    selected: str
    pos_weight: float | None
    digest: str
    log: list[str] = field(default_factory=list)

    @property
    def chosen(self) -> Candidate:
        return self.candidates[self.selected]

    def model_id(self, algorithm: str | None = None) -> str:
        """Deterministic id: key, algorithm and a hash of the spec, data and chosen parameters."""
        import hashlib
        algorithm = algorithm or self.selected
        payload = json.dumps({"spec": self.spec.as_dict(), "data": self.digest,
                              "params": self.candidates[algorithm].params}, sort_keys=True, default=str)
        return f"{self.spec.key}-{algorithm}-{hashlib.sha256(payload.encode()).hexdigest()[:10]}"

    def candidates_frame(self) -> pl.DataFrame:
        rows = []
        for name, cand in self.candidates.items():
            rows.append({
                "model_key": self.spec.key, "algorithm": name, "model_id": self.model_id(name),
                "selected": name == self.selected, "params": json.dumps(cand.params, sort_keys=True, default=str),
                "cv_metric": cand.cv_metric, "cv_score": cand.cv_score, "selection_score": cand.selection_score,
                "valid_metrics": json.dumps(cand.valid_metrics, sort_keys=True),
            })
        return pl.DataFrame(rows)


def matrix(frame: pl.DataFrame, spec: ModelSpec) -> tuple[np.ndarray, np.ndarray]:
    X = np.ascontiguousarray(frame.select(spec.features).to_numpy(), dtype=np.float64)
    y = frame[spec.target].cast(pl.Float64).to_numpy()
    return X, y


def positive_weight(spec: ModelSpec, y: np.ndarray) -> float | None:
    """negatives / positives when the spec asks for class weights (auto: rare positives only)."""
    if spec.task != "binary" or spec.class_weight == "none":
        return None
    rate = float(y.mean())
    if spec.class_weight == "auto" and rate >= CLASS_WEIGHT_AUTO_BELOW:
        return None
    return (1.0 - rate) / rate


def _loss(task: str, y: np.ndarray, pred: np.ndarray, weighted: bool) -> tuple[str, float]:
    """Tuning loss (lower is better). Class-weighted probabilities are biased until calibrated,
    so they are tuned on ranking (1 - AUC) rather than log loss."""
    if task != "binary":
        return "rmse", float(np.sqrt(np.mean((pred - y) ** 2)))
    if weighted:
        return "1-auc", 1.0 - float(roc_auc_score(y, pred))
    return "log_loss", float(sk_log_loss(y, np.clip(pred, 1e-15, 1 - 1e-15), labels=[0, 1]))


def tune(algorithm: str, spec: ModelSpec, X: np.ndarray, y: np.ndarray, pos_weight: float | None,
         folds: list[tuple[np.ndarray, np.ndarray]]):
    """Best parameters by expanding-window time-series CV on the training slice (``folds`` from
    date_folds: cut between dates), with the out-of-fold predictions of the best parameters (NaN where a
    row was never held out)."""
    best = None
    for params in algorithms.grid(algorithm, spec.task):
        oof = np.full(len(y), np.nan)
        losses = []
        for fit_idx, hold_idx in folds:
            if spec.task == "binary" and len(np.unique(y[fit_idx])) < 2:
                continue
            model = algorithms.make_estimator(algorithm, spec.task, params, pos_weight)
            model.fit(X[fit_idx], y[fit_idx])
            oof[hold_idx] = algorithms.predict(model, X[hold_idx], spec.task)
            if spec.task != "binary" or len(np.unique(y[hold_idx])) == 2:
                losses.append(_loss(spec.task, y[hold_idx], oof[hold_idx], pos_weight is not None))
        if not losses:
            raise ValueError(f"{spec.key}: no usable cross-validation fold for {algorithm}")
        score = float(np.mean([loss for _, loss in losses]))
        if best is None or score < best[2]:
            best = (params, losses[0][0], score, oof)
    return best


def valid_metrics(task: str, y: np.ndarray, pred: np.ndarray) -> dict:
    if task == "binary":
        clipped = np.clip(pred, 1e-15, 1 - 1e-15)
        return {"auc": float(roc_auc_score(y, pred)), "log_loss": float(sk_log_loss(y, clipped, labels=[0, 1])),
                "brier": float(np.mean((pred - y) ** 2))}
    resid = pred - y
    return {"rmse": float(np.sqrt(np.mean(resid ** 2))), "mae": float(np.mean(np.abs(resid))),
            "r2": float(1.0 - np.sum(resid ** 2) / np.sum((y - y.mean()) ** 2))}


def held_out(oofs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The members' out-of-fold predictions as columns (in ``oofs`` order) and the rows every member has
    one for: what both combiners learn from."""
    oof = np.column_stack(list(oofs.values()))
    return oof, ~np.isnan(oof).any(axis=1)


def oof_skills(task: str, oofs: dict[str, np.ndarray], y: np.ndarray) -> dict[str, float]:
    """Each member's skill for ensemble weights, AUC - 0.5 or R^2, on its out-of-fold training predictions
    (the rows every member has one). Not on the validation slice: the ensemble's validation score then
    judges weights that never saw it, as stacking's meta-model never does."""
    oof, held = held_out(oofs)
    if task == "binary" and len(np.unique(y[held])) < 2:
        raise ValueError("out-of-fold rows hold one class only: no skill to weight the ensemble by")
    metrics = [valid_metrics(task, y[held], column[held]) for column in oof.T]
    return {name: m["auc"] - 0.5 if task == "binary" else m["r2"] for name, m in zip(oofs, metrics)}


def selection_score(task: str, y: np.ndarray, pred: np.ndarray, dates: np.ndarray) -> float:
    """RMSE for values; for binary targets the best calibrator's log loss scored forward in time over the
    validation rows (sorted by ``dates``): a calibrator fitted on later games would flatter the model."""
    if task != "binary":
        return float(np.sqrt(np.mean((pred - y) ** 2)))
    from bsi_pipeline.models.calibration import compare_calibrators
    table = compare_calibrators(pred, y, dates=dates)
    return float(table.filter(pl.col("method") != "identity")["cv_log_loss"].min())


def choose(candidates: dict[str, Candidate], tolerance: float) -> str:
    """The simplest candidate whose validation score is within `tolerance` (relative) of the best.

    Validation differences between good candidates are often noise (a season of MLB games cannot
    tell 0.6811 from 0.6812), so ties go to the simpler, more auditable model: the order of
    specs.ALGORITHMS, linear first, then trees, then combinations."""
    best = min(c.selection_score for c in candidates.values())
    near = [name for name, c in candidates.items() if c.selection_score <= best + tolerance * abs(best)]
    return min(near, key=ALGORITHMS.index)


def train_spec(table: pl.DataFrame, spec: ModelSpec, log: Callable[[str], None] = lambda _: None) -> TrainResult:
    """Every candidate of the spec, tuned, fitted, scored on validation, and the chosen one."""
    from bsi_pipeline.features.provenance import check_leakage
    check_leakage(spec.feature_table, list(spec.features))
    slices = time_split(model_frame(table, spec), spec)
    X_tr, y_tr = matrix(slices.train, spec)
    X_va, y_va = matrix(slices.valid, spec)
    pos_weight = positive_weight(spec, y_tr)
    log(f"{spec.key}: train {slices.train.height} rows, valid {slices.valid.height}, test {slices.test.height}"
        + (f"; class weight {pos_weight:.2f} for positives" if pos_weight else ""))
    candidates: dict[str, Candidate] = {}
    oofs = {}
    folds = date_folds(slices.train["date"].to_numpy(), CV_FOLDS)
    for algorithm in [a for a in spec.algorithms if a in BASE_ALGORITHMS]:
        started = time.perf_counter()
        params, metric, cv_score, oofs[algorithm] = tune(algorithm, spec, X_tr, y_tr, pos_weight, folds)
        model = algorithms.make_estimator(algorithm, spec.task, params, pos_weight).fit(X_tr, y_tr)
        pred = algorithms.predict(model, X_va, spec.task)
        candidates[algorithm] = Candidate(algorithm, params, model, metric, cv_score, pred,
                                          valid_metrics(spec.task, y_va, pred),
                                          seconds=time.perf_counter() - started)
        log(f"{spec.key}: {algorithm} {params} cv {metric} {cv_score:.5f} "
            f"valid {candidates[algorithm].valid_metrics} ({candidates[algorithm].seconds:.1f}s)")
    members = {name: c.model for name, c in candidates.items()}
    if "ensemble" in spec.algorithms and len(members) > 1:
        weights = skill_weights(oof_skills(spec.task, oofs, y_tr))
        _add_combined(candidates, spec, "ensemble", CombinedModel("weighted_mean", spec.task, members, weights),
                      {"weights": weights}, X_va, y_va)
    if "stacking" in spec.algorithms and len(members) > 1:
        oof, rows = held_out(oofs)
        coef, intercept = fit_stacker(np.clip(oof[rows], 1e-6, 1 - 1e-6) if spec.task == "binary" else oof[rows],
                                      y_tr[rows], spec.task)
        weights = dict(zip(members, map(float, coef)))
        _add_combined(candidates, spec, "stacking", CombinedModel("stacking", spec.task, members, weights, intercept),
                      {"coefficients": weights, "intercept": intercept, "oof_rows": int(rows.sum())}, X_va, y_va)
    valid_dates = slices.valid["date"].to_numpy()
    for cand in candidates.values():
        cand.selection_score = selection_score(spec.task, y_va, cand.valid_pred, valid_dates)
    selected = choose(candidates, spec.selection_tolerance)
    log(f"{spec.key}: selected {selected} (validation "
        f"{'calibrated log loss' if spec.task == 'binary' else 'rmse'} {candidates[selected].selection_score:.5f})")
    return TrainResult(spec, slices, candidates, selected, pos_weight, slices.digest([*spec.features, spec.target]))


def _add_combined(candidates, spec, name, model: CombinedModel, params, X_va, y_va) -> None:
    pred = model.predict_values(X_va)
    candidates[name] = Candidate(name, params, model, "validation", float("nan"), pred,
                                 valid_metrics(spec.task, y_va, pred))
