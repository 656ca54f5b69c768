"""Probability calibrators as plain JSON-able parameters.

A calibrator maps a model's raw probability to a calibrated one. Its parameters are a dict, so
the JSON artifact can carry it and scoring from the JSON alone reproduces the fitted model:

* ``{"method": "identity"}``
* ``{"method": "platt", "a": float, "b": float}``: sigmoid(a * logit(p) + b)
* ``{"method": "temperature", "t": float}``: sigmoid(logit(p) / t)
* ``{"method": "isotonic", "x": [...], "y": [...]}``: piecewise-linear through the fitted
  isotonic steps (np.interp, flat beyond the ends), as sklearn's IsotonicRegression predicts.
"""

from __future__ import annotations

import numpy as np

CALIBRATION_METHODS = ("identity", "platt", "temperature", "isotonic")
LOGIT_EPS = 1e-12


def logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), LOGIT_EPS, 1.0 - LOGIT_EPS)
    return np.log(q) - np.log1p(-q)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def apply_calibration(params: dict, p) -> np.ndarray:
    """Calibrated probabilities for raw probabilities ``p`` under calibrator ``params``."""
    method = params.get("method")
    p = np.asarray(p, dtype=np.float64)
    if method == "identity":
        return p.copy()
    if method == "platt":
        return sigmoid(float(params["a"]) * logit(p) + float(params["b"]))
    if method == "temperature":
        return sigmoid(logit(p) / float(params["t"]))
    if method == "isotonic":
        return np.interp(p, np.asarray(params["x"], dtype=np.float64),
                         np.asarray(params["y"], dtype=np.float64))
    raise ValueError(f"unknown calibration method {method!r}; expected one of {CALIBRATION_METHODS}")
