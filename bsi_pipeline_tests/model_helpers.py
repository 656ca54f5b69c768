"""Synthetic game data and small fitted models for the artifact and scoring tests (fixed seed, fast)."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

FEATURES = ["elo_diff", "rest_days_diff", "home", "starter_era_diff", "run_diff_per_game", "temperature_f"]
N_ROWS = 3000


def game_data(seed: int = 7, n: int = N_ROWS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pre-game features on their natural scales, a home-win label and a run margin."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([
        rng.normal(0, 90, n),  # Elo difference
        rng.integers(-3, 4, n).astype(float),  # rest days difference
        (rng.random(n) < 0.9).astype(float),  # home game (not neutral site)
        rng.normal(0, 1.2, n),  # starters' ERA difference
        rng.normal(0, 1.5, n),  # run differential per game
        rng.normal(72, 12, n),  # temperature
    ])
    strength = (X[:, 0] / 150 + 0.08 * X[:, 1] + 0.25 * X[:, 2] - 0.3 * X[:, 3] + 0.35 * X[:, 4]
                + 0.15 * np.tanh(X[:, 3] * X[:, 4]))
    win = (rng.random(n) < 1 / (1 + np.exp(-strength))).astype(int)
    margin = 2.2 * strength + 0.01 * (X[:, 5] - 72) + rng.normal(0, 3.0, n)
    return X, win, margin


def linear_pipeline(est) -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("model", est)])


LOGISTIC = {
    "l2": lambda: LogisticRegression(C=0.5, max_iter=1000),
    # scikit-learn >= 1.8 spells the penalty with l1_ratio (penalty= is deprecated)
    "l1": lambda: LogisticRegression(l1_ratio=1.0, solver="saga", C=0.02, max_iter=3000),
    "elasticnet": lambda: LogisticRegression(l1_ratio=0.5, solver="saga", C=0.1, max_iter=3000),
}
REGRESSION = {
    "ridge": lambda: Ridge(alpha=3.0),
    "lasso": lambda: Lasso(alpha=0.05),
    "elastic_net": lambda: ElasticNet(alpha=0.05, l1_ratio=0.3),
}
PLATT = {"method": "platt", "a": 1.15, "b": -0.04}


def tree_models(kind: str):
    """Small xgboost / lightgbm models: kind in xgb_binary, xgb_regression, lgb_binary, lgb_regression."""
    import lightgbm as lgb
    import xgboost as xgb

    return {
        "xgb_binary": lambda: xgb.XGBClassifier(n_estimators=40, max_depth=3, learning_rate=0.1, n_jobs=1),
        "xgb_regression": lambda: xgb.XGBRegressor(n_estimators=40, max_depth=3, learning_rate=0.1, n_jobs=1),
        "lgb_binary": lambda: lgb.LGBMClassifier(n_estimators=40, num_leaves=8, learning_rate=0.1, n_jobs=1, verbose=-1),
        "lgb_regression": lambda: lgb.LGBMRegressor(n_estimators=40, num_leaves=8, learning_rate=0.1, n_jobs=1, verbose=-1),
    }[kind]()


def metadata(**overrides) -> dict:
    base = {"model_key": "ncaa_home_win", "model_id": "20260101T000000Z-test", "task": "binary",
            "features": FEATURES, "calibrator": None, "metrics": {"brier": 0.231, "log_loss": 0.65},
            "train_window": {"start": "2019-02-15", "end": "2021-06-30"}}
    return {**base, **overrides}
