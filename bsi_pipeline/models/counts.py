"""From a predicted mean count to P(count over a line), e.g. strikeouts in a start over 4.5.

A regression predicts the mean; the spread around it is modelled as negative binomial
(NB2: Var = mean + alpha * mean^2) with one ``alpha`` for all rows, fitted on the validation
slice. ``alpha == 0`` means Poisson (Var = mean), used whenever the validation data show no
significant over-dispersion. Pure: numpy and scipy, no Dagster.
"""

from __future__ import annotations

import numpy as np

from bsi_pipeline.metrics import _as_1d

__all__ = ["MEAN_FLOOR", "fit_dispersion", "nb_log_likelihood", "prob_over"]

MEAN_FLOOR = 1e-6  # a predicted mean of 0 (or below, from a linear model) would make y >= 1 impossible
ALPHA_MAX = 100.0
ALPHA_MIN = 1e-8
# 5% boundary likelihood-ratio test: under Poisson the statistic is 0.5 * chi2(0) + 0.5 * chi2(1),
# so the critical value is chi2(1)'s 90% point.
LR_CRITICAL_5PCT = 2.705543454095404


def _means(mean, name: str = "mean") -> np.ndarray:
    mu = _as_1d(mean, name)
    if not np.all(np.isfinite(mu)):
        raise ValueError(f"{name} contains NaN/null/infinite value(s)")
    return np.maximum(mu, MEAN_FLOOR)


def _counts(y, n: int) -> np.ndarray:
    arr = _as_1d(y, "y")
    if arr.shape[0] != n:
        raise ValueError(f"mean and y have different lengths ({n} vs {arr.shape[0]})")
    if n == 0:
        raise ValueError("empty input: mean and y have no rows")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError("y must be non-negative whole-number counts (no NaN)")
    return arr


def nb_log_likelihood(mean, y, alpha: float) -> float:
    """Total NB2 log-likelihood of counts ``y`` at means ``mean``; alpha = 0 is Poisson.

    Written as sum_{k<y} log(1 + k alpha) + y log(mu) - (y + 1/alpha) log(1 + alpha mu)
    - log(y!) so it stays accurate as alpha -> 0, where gamma-function forms cancel badly."""
    from scipy.special import gammaln

    mu = _means(mean)
    yy = _counts(y, mu.shape[0])
    if not (np.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0; got {alpha!r}")
    base = float(np.sum(yy * np.log(mu) - gammaln(yy + 1.0)))
    if alpha == 0:
        return base - float(np.sum(mu))
    yi = yy.astype(np.int64)
    # c[v] = sum_{k<v} log1p(k * alpha), looked up per row
    c = np.r_[0.0, np.cumsum(np.log1p(np.arange(int(yi.max()), dtype=np.float64) * alpha))]
    return base + float(np.sum(c[yi] - (yy + 1.0 / alpha) * np.log1p(alpha * mu)))


def fit_dispersion(mean, y, significance: float | None = 0.05) -> float:
    """NB2 over-dispersion alpha (Var = mean + alpha * mean^2) by maximum likelihood with the
    means held fixed, or 0.0 (Poisson) when the data do not show over-dispersion.

    "Do not show" means: the likelihood does not rise from alpha = 0 (equi- or
    under-dispersed, which NB cannot express), or the gain fails a boundary likelihood-ratio
    test at ``significance`` (only 0.05 is tabulated; None skips the test and returns the raw
    MLE). Without the test, Poisson data would get a small spurious alpha about half the time."""
    from scipy.optimize import minimize_scalar

    mu = _means(mean)
    yy = _counts(y, mu.shape[0])
    if significance not in (None, 0.05):
        raise ValueError(f"significance must be 0.05 or None; got {significance!r}")
    # Score of the log-likelihood at alpha = 0 is sum((y - mu)^2 - y) / 2: not positive means
    # the likelihood falls as soon as alpha leaves 0.
    if np.sum((yy - mu) ** 2 - yy) <= 0:
        return 0.0
    res = minimize_scalar(
        lambda la: -nb_log_likelihood(mu, yy, float(np.exp(la))),
        bounds=(np.log(ALPHA_MIN), np.log(ALPHA_MAX)),
        method="bounded",
        options={"xatol": 1e-8, "maxiter": 500},
    )
    alpha = float(np.exp(res.x))
    lr = 2.0 * (-res.fun - nb_log_likelihood(mu, yy, 0.0))
    if significance is not None and lr <= LR_CRITICAL_5PCT:
        return 0.0
    return alpha if lr > 0 else 0.0


def prob_over(mean, line, dispersion: float) -> np.ndarray:
    """P(Y > line) for each row: Y ~ Poisson(mean) when dispersion == 0, else NB2 with that
    alpha. Strictly over, so line 4.5 and line 4 both mean "5 or more", line 5 means "6 or
    more". ``mean`` and ``line`` broadcast (a scalar line for all rows, or one per row);
    means below MEAN_FLOOR are raised to it."""
    from scipy import stats

    mu = _means(mean)
    ln = _as_1d(line, "line")
    if not np.all(np.isfinite(ln)):
        raise ValueError("line contains NaN/null/infinite value(s)")
    if ln.shape[0] not in (1, mu.shape[0]):
        raise ValueError(f"line must be a scalar or one per mean ({ln.shape[0]} lines vs {mu.shape[0]} means)")
    if not (np.isfinite(dispersion) and dispersion >= 0):
        raise ValueError(f"dispersion must be a finite number >= 0 (0 = Poisson); got {dispersion!r}")
    k = np.floor(ln)  # Y > line  <=>  Y > floor(line) for whole-number Y
    if dispersion == 0:
        return stats.poisson.sf(k, mu)
    size = 1.0 / dispersion
    return stats.nbinom.sf(k, size, size / (size + mu))
