"""The base algorithms a spec may name, their hyper-parameter grids, and estimator construction.

Linear models are scikit-learn pipelines (StandardScaler -> estimator) so coefficients are on
standardized features and exportable to the JSON artifact. For a binary target, ridge / lasso /
elastic_net are L2 / L1 / elastic-net penalized logistic regressions; for regression and count
targets they are Ridge / Lasso / ElasticNet. Trees are xgboost and lightgbm, seeded and
deterministic, so a re-run trains the same model.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

SEED = 20260101
LINEAR = ("ridge", "lasso", "elastic_net")
TREES = ("xgboost", "lightgbm")

GRIDS: dict[tuple[str, str], dict[str, list]] = {
    ("ridge", "binary"): {"C": [0.01, 0.1, 1.0, 10.0]},
    ("lasso", "binary"): {"C": [0.01, 0.1, 1.0]},
    ("elastic_net", "binary"): {"C": [0.1, 1.0], "l1_ratio": [0.3, 0.7]},
    ("ridge", "regression"): {"alpha": [0.1, 1.0, 10.0, 100.0]},
    ("lasso", "regression"): {"alpha": [1e-4, 1e-3, 1e-2]},
    ("elastic_net", "regression"): {"alpha": [1e-3, 1e-2], "l1_ratio": [0.3, 0.7]},
    ("xgboost", "any"): {"max_depth": [3, 5], "n_estimators": [150, 300], "learning_rate": [0.05],
                         "min_child_weight": [5.0]},
    ("lightgbm", "any"): {"num_leaves": [7, 15], "n_estimators": [150, 300], "learning_rate": [0.05],
                          "min_child_samples": [40]},
}


def n_jobs() -> int:
    """Threads per tree fit: $BSI_N_JOBS, default 1. Dagster already runs steps in parallel, and
    on a 2-core machine two steps with two threads each made xgboost 20x slower, not faster."""
    text = os.environ.get("BSI_N_JOBS", "").strip() or "1"
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"$BSI_N_JOBS must be a whole number of threads, 1 or more; got {text!r}")
    return int(text)


def grid(algorithm: str, task: str) -> list[dict]:
    """Every hyper-parameter combination to try for an algorithm on a task."""
    kind = "binary" if task == "binary" else "regression"
    space = GRIDS.get((algorithm, kind)) or GRIDS[(algorithm, "any")]
    names = sorted(space)
    return [dict(zip(names, values)) for values in itertools.product(*(space[n] for n in names))]


def make_estimator(algorithm: str, task: str, params: dict, pos_weight: float | None = None):
    """A fresh, unfitted estimator. pos_weight (negatives / positives) turns on class weighting."""
    binary = task == "binary"
    if algorithm in LINEAR:
        if binary:
            l1_ratio = {"ridge": 0.0, "lasso": 1.0}.get(algorithm, params.get("l1_ratio", 0.5))
            est = LogisticRegression(
                C=params["C"], l1_ratio=l1_ratio, solver="lbfgs" if l1_ratio == 0.0 else "saga",
                max_iter=2000, tol=1e-6, class_weight="balanced" if pos_weight else None, random_state=SEED)
        elif algorithm == "ridge":
            est = Ridge(alpha=params["alpha"])
        elif algorithm == "lasso":
            est = Lasso(alpha=params["alpha"], max_iter=20000, random_state=SEED)
        else:
            est = ElasticNet(alpha=params["alpha"], l1_ratio=params["l1_ratio"], max_iter=20000, random_state=SEED)
        return Pipeline([("scale", StandardScaler()), ("model", est)])
    if algorithm == "xgboost":
        import xgboost as xgb
        common = dict(params, tree_method="hist", random_state=SEED, n_jobs=n_jobs())
        if binary:
            return xgb.XGBClassifier(objective="binary:logistic", eval_metric="logloss",
                                     scale_pos_weight=pos_weight or 1.0, **common)
        return xgb.XGBRegressor(objective="reg:squarederror", **common)
    if algorithm == "lightgbm":
        import lightgbm as lgb
        common = dict(params, random_state=SEED, n_jobs=n_jobs(), deterministic=True,
                      force_col_wise=True, verbose=-1)
        if binary:
            return lgb.LGBMClassifier(objective="binary", scale_pos_weight=pos_weight or 1.0, **common)
        return lgb.LGBMRegressor(objective="regression", **common)
    raise ValueError(f"unknown base algorithm {algorithm!r}")


def predict(model, X: np.ndarray, task: str) -> np.ndarray:
    """P(target = 1) for binary models, the value otherwise."""
    if task == "binary":
        return model.predict_proba(X)[:, 1]
    return np.asarray(model.predict(X), dtype=np.float64)
