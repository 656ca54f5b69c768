"""Combining trained candidates: a skill-weighted mean, and a stacked meta-model.

Both learn only from the members' out-of-fold training predictions, so the validation slice stays
unseen for calibration and model choice. The weighted mean's weights follow out-of-fold skill,
(AUC - 0.5) for binary targets and R^2 for values, normalized, with every weight clamped to
[0.10, 0.60] so no member is ignored or dominates. Stacking fits a logistic (binary) or linear
(values) meta-model on the same predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bsi_pipeline.models.calibration import logit, sigmoid

WEIGHT_MIN, WEIGHT_MAX = 0.10, 0.60


def skill_weights(skills: dict[str, float], low: float = WEIGHT_MIN, high: float = WEIGHT_MAX) -> dict[str, float]:
    """Weights proportional to max(skill, 0), each clamped to [low, high], summing to 1.

    The clamp is applied as w_i = clip(scale * skill_i, low, high) with the one scale that makes
    the weights sum to 1 (found by bisection; the sum rises monotonically with the scale), so
    members between the bounds keep weights in proportion to their skill. When the skilled members
    all reach the cap and still sum to less than 1 (every other member has no skill), the members
    without skill share the rest equally, above the floor: the cap holds.
    """
    names = list(skills)
    n = len(names)
    if n == 0:
        raise ValueError("skill_weights needs at least one member")
    low, high = min(low, 1.0 / n), max(high, 1.0 / n)   # bounds that can sum to 1
    raw = np.array([max(float(skills[k]), 0.0) for k in names])
    if raw.sum() <= 0:
        raw = np.ones(n)

    def total(scale: float) -> float:
        return float(np.clip(scale * raw, low, high).sum())

    lo_scale, hi_scale = 0.0, 1.0
    while total(hi_scale) < 1.0 and hi_scale < 1e300:
        hi_scale *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo_scale + hi_scale)
        lo_scale, hi_scale = (mid, hi_scale) if total(mid) < 1.0 else (lo_scale, mid)
    weights = np.clip(hi_scale * raw, low, high)
    short = 1.0 - weights.sum()
    if short > 1e-12:  # every skilled member is at the cap, the rest have none: they share what is left
        unskilled = raw == 0
        weights[unskilled] += short / unskilled.sum()
    weights /= weights.sum()
    return {k: float(w) for k, w in zip(names, weights)}


@dataclass
class CombinedModel:
    """A weighted mean or a stacked combination of fitted members (predict functions of X)."""

    combiner: str                  # "weighted_mean" or "stacking"
    task: str
    members: dict                  # algorithm -> fitted model
    weights: dict[str, float]      # weighted_mean weights, or stacking coefficients
    intercept: float = 0.0         # stacking only

    def member_predictions(self, X: np.ndarray) -> np.ndarray:
        from bsi_pipeline.models.algorithms import predict
        return np.column_stack([predict(self.members[k], X, self.task) for k in self.weights])

    def predict_values(self, X: np.ndarray) -> np.ndarray:
        return combine(self.member_predictions(X), self.combiner, self.task,
                       np.array(list(self.weights.values())), self.intercept)


def combine(member_preds: np.ndarray, combiner: str, task: str, coef: np.ndarray, intercept: float) -> np.ndarray:
    """Combined prediction from a (rows x members) matrix of member predictions."""
    if combiner == "weighted_mean":
        return member_preds @ coef
    if task == "binary":
        return sigmoid(intercept + logit(member_preds) @ coef)
    return intercept + member_preds @ coef


def fit_stacker(oof_preds: np.ndarray, y: np.ndarray, task: str) -> tuple[np.ndarray, float]:
    """Meta-model coefficients and intercept from out-of-fold member predictions."""
    if task == "binary":
        from sklearn.linear_model import LogisticRegression
        meta = LogisticRegression(C=1.0, max_iter=1000).fit(logit(oof_preds), y)
        return meta.coef_[0].astype(np.float64), float(meta.intercept_[0])
    from sklearn.linear_model import Ridge
    meta = Ridge(alpha=1.0).fit(oof_preds, y)
    return meta.coef_.astype(np.float64), float(meta.intercept_)
