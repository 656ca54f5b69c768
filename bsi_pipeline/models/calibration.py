"""Probability calibrators as plain JSON-able parameters.

A calibrator maps a model's raw probability to a calibrated one. Its parameters are a dict, so
the JSON artifact can carry it and scoring from the JSON alone reproduces the fitted model:

* ``{"method": "identity"}``
* ``{"method": "platt", "a": float, "b": float}``: sigmoid(a * logit(p) + b)
* ``{"method": "temperature", "t": float}``: sigmoid(logit(p) / t)
* ``{"method": "isotonic", "x": [...], "y": [...]}``: piecewise-linear through the fitted
  isotonic steps (np.interp, flat beyond the ends), as sklearn's IsotonicRegression predicts.

Fitting (fit_platt / fit_temperature / fit_isotonic), choosing among them by cross-validated
validation log loss (choose_calibrator) and the acceptance rule (acceptance) live here too;
scores come from bsi_pipeline.metrics. Pure: no Dagster.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from bsi_pipeline.metrics import (
    _validate,
    brier,
    calibration_slope_intercept,
    ece,
    log_loss,
    reliability_bins,
)
from bsi_pipeline.models.splits import date_folds

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


# --------------------------------------------------------------------------------------
# fitting
#
# The fitters take a model's raw validation probabilities and outcomes and return the params
# dict above, made of plain Python floats/lists so json.dumps works on it unchanged.

ISOTONIC_EPS = 1e-6  # isotonic outputs are kept in [eps, 1 - eps] so log loss stays finite
TEMPERATURE_BOUNDS = (0.01, 100.0)
FIT_METHODS = ("platt", "temperature", "isotonic")


def _validate_fit(p, y) -> tuple[np.ndarray, np.ndarray]:
    """metrics' strict p/y checks, plus both classes: a calibrator fitted on one class
    would learn to predict that class everywhere."""
    p_arr, y_arr = _validate(p, y)
    if y_arr.min() == y_arr.max():
        raise ValueError(
            f"calibration needs both outcomes in y; all {y_arr.shape[0]} rows are {int(y_arr[0])}"
        )
    return p_arr, y_arr


def fit_platt(p, y) -> dict:
    """Unregularized logistic regression of y on logit(p): sigmoid(a * logit(p) + b).

    This is the calibration slope/intercept fit of bsi_pipeline.metrics, run with the same
    logit clipping as :func:`logit` so the fitted params reproduce exactly at apply time.
    Raises ValueError when the fit is undefined (p constant, outcomes separated by p)."""
    p_arr, y_arr = _validate_fit(p, y)
    fit = calibration_slope_intercept(p_arr, y_arr, eps=LOGIT_EPS)
    return {"method": "platt", "a": float(fit.slope), "b": float(fit.intercept)}


def fit_temperature(p, y) -> dict:
    """The temperature t > 0 minimizing log loss of sigmoid(logit(p) / t).

    One parameter and no shift, so it cannot move the base rate; a useful, hard-to-overfit
    middle ground between identity and Platt. The loss is convex in 1 / t, so a bounded
    scalar search over 1 / t in [1 / 100, 1 / 0.01] finds the optimum (or the bound)."""
    from scipy.optimize import minimize_scalar

    p_arr, y_arr = _validate_fit(p, y)
    z = logit(p_arr)

    def loss(inv_t: float) -> float:
        eta = inv_t * z
        return float(np.mean(np.logaddexp(0.0, eta) - y_arr * eta))

    t_lo, t_hi = TEMPERATURE_BOUNDS
    res = minimize_scalar(loss, bounds=(1.0 / t_hi, 1.0 / t_lo), method="bounded",
                          options={"xatol": 1e-10, "maxiter": 500})
    return {"method": "temperature", "t": float(1.0 / res.x)}


def fit_isotonic(p, y) -> dict:
    """Monotone (non-decreasing) step fit of y on p, as sklearn's IsotonicRegression
    with out_of_bounds="clip", outputs bounded to [1e-6, 1 - 1e-6].

    Flexible enough to fix any monotone miscalibration, and so it also overfits small
    validation slices; compare_calibrators scores it cross-validated for that reason."""
    from sklearn.isotonic import IsotonicRegression

    p_arr, y_arr = _validate_fit(p, y)
    iso = IsotonicRegression(
        y_min=ISOTONIC_EPS, y_max=1.0 - ISOTONIC_EPS, increasing=True, out_of_bounds="clip"
    ).fit(p_arr, y_arr)
    xs = np.asarray(iso.X_thresholds_, dtype=np.float64)
    ys = np.clip(np.asarray(iso.y_thresholds_, dtype=np.float64), ISOTONIC_EPS, 1.0 - ISOTONIC_EPS)
    return {"method": "isotonic", "x": [float(v) for v in xs], "y": [float(v) for v in ys]}


FITTERS = {"platt": fit_platt, "temperature": fit_temperature, "isotonic": fit_isotonic}


def fit_calibrator(method: str, p, y) -> dict:
    """Params for ``method`` (any of CALIBRATION_METHODS) fitted on (p, y)."""
    if method == "identity":
        _validate_fit(p, y)
        return {"method": "identity"}
    if method not in FITTERS:
        raise ValueError(f"unknown calibration method {method!r}; expected one of {CALIBRATION_METHODS}")
    return FITTERS[method](p, y)


# --------------------------------------------------------------------------------------
# choosing


def forward_folds(n: int, folds: int, dates=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Forward-chaining (fit rows, held rows) pairs over a slice sorted by date: every held-out block
    is calibrated only on the rows of earlier dates (splits.date_folds, cut between dates), so no
    score of the cross-validation has seen a later game. Without ``dates`` the row order is the
    time order. The first block is never held out."""
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"folds must be an integer >= 2; got {folds!r}")
    if n < 2 * folds:
        raise ValueError(f"{folds}-fold cross-validation needs at least {2 * folds} rows; got {n}")
    order = np.arange(n) if dates is None else np.asarray(dates)
    if order.shape[0] != n:
        raise ValueError(f"dates has {order.shape[0]} values for {n} rows")
    pairs = date_folds(order, int(folds))
    if not pairs:
        raise ValueError(f"forward cross-validation needs rows on more than one date; all {n} rows share one")
    return pairs


def _out_of_fold(method: str, p: np.ndarray, y: np.ndarray,
                 pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Each held-out block calibrated by params fitted on the rows before it (NaN where never held)."""
    oof = np.full_like(p, np.nan)
    for i, (fit, held) in enumerate(pairs):
        if method == "identity":
            oof[held] = p[held]
            continue
        try:
            fold_params = fit_calibrator(method, p[fit], y[fit])
        except ValueError as exc:
            raise ValueError(f"fitting on the {fit.size} rows before fold {i + 1} of {len(pairs)}: {exc}") from None
        oof[held] = apply_calibration(fold_params, p[held])
    return oof


def _compare(p_valid, y_valid, folds: int, dates):
    """The comparison table plus each method's params fitted on the whole slice."""
    p_arr, y_arr = _validate_fit(p_valid, y_valid)
    pairs = forward_folds(p_arr.shape[0], folds, dates)
    # a rare event may have no positive early in the slice: a fold with one outcome before it can calibrate
    # nothing and is left out, as tuning leaves it out
    usable = [(fit, held) for fit, held in pairs if np.unique(y_arr[fit]).size == 2]
    fold_error = None if usable else f"none of the {len(pairs)} forward folds has both outcomes in the rows before it"
    rows, params = [], {}
    for method in CALIBRATION_METHODS:
        row = {"method": method}
        try:
            if fold_error and method in FIT_METHODS:
                raise ValueError(fold_error)
            full = fit_calibrator(method, p_arr, y_arr)
            q = apply_calibration(full, p_arr)
            oof = _out_of_fold(method, p_arr, y_arr, usable or pairs)  # identity alone gets here without usable
        except ValueError as exc:  # e.g. Platt on separated outcomes
            row.update({k: None for k in ("log_loss", "brier", "ece", "cv_rows", "cv_log_loss", "cv_brier", "cv_ece")})
            row["error"] = str(exc)
        else:
            params[method] = full
            held = ~np.isnan(oof)
            row.update({
                "log_loss": log_loss(q, y_arr),
                "brier": brier(q, y_arr),
                "ece": ece(q, y_arr),
                "cv_rows": int(held.sum()),
                "cv_log_loss": log_loss(oof[held], y_arr[held]),
                "cv_brier": brier(oof[held], y_arr[held]),
                "cv_ece": ece(oof[held], y_arr[held]),
                "error": None,
            })
        rows.append(row)
    schema = {"method": pl.String, **{k: pl.Float64 for k in ("log_loss", "brier", "ece")}, "cv_rows": pl.Int64,
              **{k: pl.Float64 for k in ("cv_log_loss", "cv_brier", "cv_ece")}, "error": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row"), params


def compare_calibrators(p_valid, y_valid, folds: int = 5, dates=None):
    """One row per method (identity, platt, temperature, isotonic, in that order).

    Columns: method; log_loss, brier, ece of the calibrator fitted on and scored on the whole
    slice (in-sample: isotonic nearly always wins here); cv_rows, cv_log_loss, cv_brier, cv_ece
    scored forward in time (:func:`forward_folds`): the slice, sorted by ``dates`` (or in row
    order), is cut between dates into ``folds`` + 1 blocks, and each block after the first is
    scored by a calibrator fitted on all the rows before it, so the choice never rests on a
    calibrator that saw later games; cv_rows counts the rows so scored, the same for every method
    (identity's cv scores are its raw scores on those rows). error is null unless the method could
    not be fitted, in which case its scores are null."""
    return _compare(p_valid, y_valid, folds, dates)[0]


def choose_calibrator(p_valid, y_valid, folds: int = 5, dates=None):
    """The calibrator with the lowest cross-validated log loss among platt, temperature and
    isotonic (ties go to the simpler one, in that order), fitted on the whole slice.

    Returns ``(params, table)``: table is :func:`compare_calibrators` plus a boolean
    ``chosen`` column. Identity is in the table for reference only and never chosen, even
    when it scores best (a sign the model needs no calibration, worth reading in the table)."""
    table, params = _compare(p_valid, y_valid, folds, dates)
    best, best_loss = None, np.inf
    for row in table.iter_rows(named=True):
        if row["method"] in FIT_METHODS and row["cv_log_loss"] is not None and row["cv_log_loss"] < best_loss:
            best, best_loss = row["method"], row["cv_log_loss"]
    if best is None:
        errors = "; ".join(f"{r['method']}: {r['error']}" for r in table.iter_rows(named=True) if r["error"])
        raise ValueError(f"no calibrator could be fitted ({errors})")
    table = table.with_columns((pl.col("method") == best).alias("chosen"))
    return params[best], table


# --------------------------------------------------------------------------------------
# acceptance


@dataclass
class Acceptance:
    """Outcome of the calibration acceptance rule. worst_bin / worst_bin_gap describe the
    bin with the largest |observed - predicted| among bins with enough samples (None when
    no bin has enough; the lowest such bin when two are equally far off); worst_bin_gap is
    that absolute gap. reasons lists each failed rule."""

    passed: bool
    ece: float
    worst_bin_gap: float | None
    worst_bin: int | None
    reasons: list[str] = field(default_factory=list)


def acceptance(
    p, y, max_ece: float = 0.05, max_bin_gap: float = 0.10, min_bin_count: int = 30, n_bins: int = 10
) -> Acceptance:
    """Calibration acceptance: ECE < max_ece, and no reliability bin holding at least
    min_bin_count samples has |observed rate - mean forecast| > max_bin_gap.

    The count floor keeps a handful of extreme forecasts from failing a model on noise; with
    no bin that full, the bin rule passes vacuously (only ECE is checked)."""
    p_arr, y_arr = _validate(p, y)
    e = ece(p_arr, y_arr, n_bins)
    reasons: list[str] = []
    if not e < max_ece:
        reasons.append(f"ECE {e:.4f} is not below {max_ece:g} ({p_arr.shape[0]} samples, {n_bins} bins)")
    bins = reliability_bins(p_arr, y_arr, n_bins).filter(pl.col("count") >= min_bin_count)
    worst_bin = worst_gap = None
    for row in bins.iter_rows(named=True):
        gap = abs(row["gap"])
        if worst_gap is None or gap > worst_gap:
            worst_bin, worst_gap = int(row["bin"]), float(gap)
        if gap > max_bin_gap:
            reasons.append(
                f"reliability bin {row['bin']} [{row['lower']:g}, {row['upper']:g}"
                f"{']' if row['bin'] == n_bins - 1 else ')'} with "
                f"{row['count']} samples: observed rate {row['observed_rate']:.4f} vs mean forecast "
                f"{row['mean_predicted']:.4f}, off by {gap:.4f} > {max_bin_gap:g}"
            )
    return Acceptance(passed=not reasons, ece=float(e), worst_bin_gap=worst_gap,
                      worst_bin=worst_bin, reasons=reasons)
