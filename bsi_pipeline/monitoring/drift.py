"""Drift checks for a deployed model: is today's input, output or accuracy still like training's?

Four questions, each answered with a status of "ok", "warning" or "critical":

* missing values (:func:`missing_values`): does the served stream still carry every feature? Training
  rows never miss one, so a null, NaN or infinite served value is a row the model could not score.
  When the served rows carry dates, only the latest window counts (the concept check's window, see
  :func:`latest_window`), so a feed that broke last week is not diluted by a season of good rows.
* feature drift (:func:`psi`, :func:`feature_drift`): has a feature's distribution moved away from
  the training (reference) sample? Population stability index on reference-quantile bins.
* prediction drift (:func:`prediction_drift`): has the stream of forecast probabilities moved?
  Two-sample Kolmogorov-Smirnov test.
* concept drift (:func:`concept_drift`): on games whose outcome is now known, has the model got
  worse than its training evaluation said? Brier and accuracy over the latest window of dates, judged
  on size (a drop of more than 5%) and on evidence (a one-sided test), so a short window's bad luck
  is a warning, not a retrain.

:func:`drift_report` puts all of them in one long table, and :func:`needs_retrain` reads that
table: any "critical" row asks for a retrain, except a missing-value one. Missing values are a
broken data feed (FEED_CHECKS): a retrain on the same data reproduces the same model and cannot
fix them, so the report still marks them critical and :func:`feed_problems` names them for whoever
fixes the feed. Pure numpy/scipy/polars; scores come from :mod:`bsi_pipeline.metrics` so a Brier
here is the same number as everywhere else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import polars as pl
from scipy import stats

from bsi_pipeline import metrics
from bsi_pipeline.metrics import _as_1d

__all__ = [
    "CHECKS",
    "CONCEPT_ALPHA",
    "DEFAULT_KS_ALPHA",
    "FEED_CHECKS",
    "MISSING_CRITICAL",
    "MISSING_WARNING",
    "PSI_BINS",
    "PSI_CRITICAL",
    "PSI_SHARE_FLOOR",
    "PSI_WARNING",
    "REPORT_SCHEMA",
    "SERVED_DATE_COLUMN",
    "PsiResult",
    "concept_drift",
    "drift_report",
    "feature_drift",
    "feed_findings",
    "feed_problems",
    "latest_window",
    "missing_status",
    "missing_values",
    "needs_retrain",
    "prediction_drift",
    "psi",
    "psi_status",
    "retrain_findings",
]

# PSI below PSI_WARNING is "ok", from PSI_WARNING up to and including PSI_CRITICAL "warning",
# above PSI_CRITICAL "critical" (the usual credit-scoring rule of thumb).
PSI_WARNING = 0.1
PSI_CRITICAL = 0.2
PSI_BINS = 10
# A bin share of 0 would make ln(share) infinite; shares are floored here before the PSI sum.
PSI_SHARE_FLOOR = 1e-4
DEFAULT_KS_ALPHA = 0.01
CONCEPT_WINDOW_DAYS = 14
CONCEPT_MAX_DROP = 0.05
# A concept drop is critical only when chance explains it with probability below this (one-sided).
CONCEPT_ALPHA = 0.01
# Share of served rows with a feature null/NaN/infinite. Training has none (models.splits.model_frame
# refuses them), so every such row went unscored: above MISSING_WARNING (any at all) a warning, above
# MISSING_CRITICAL (one row in a hundred) a broken feed, critical.
MISSING_WARNING = 0.0
MISSING_CRITICAL = 0.01
# The column holding the served rows' dates (serving.served_rows'); with it the missing check looks at the latest
# window only.
SERVED_DATE_COLUMN = "date"

CHECKS = ("missing", "psi", "ks_prediction", "concept_brier", "concept_accuracy")
# Checks whose critical finding is a data-feed problem: a retrain cannot fix it, the feed must be.
FEED_CHECKS = ("missing",)
REPORT_SCHEMA = {
    "model_key": pl.String,
    "model_version": pl.String,
    "check": pl.String,
    "feature": pl.String,
    "value": pl.Float64,
    "threshold": pl.Float64,
    "status": pl.String,
    "n_reference": pl.Int64,
    "n_current": pl.Int64,
    "p_value": pl.Float64,   # ks_prediction: the KS p-value; concept rows: the one-sided test's; psi, missing: null
    "computed_at": pl.Datetime("us", "UTC"),
}
_PSI_BIN_SCHEMA = {
    "bin": pl.Int64,
    "lower": pl.Float64,
    "upper": pl.Float64,
    "n_reference": pl.Int64,
    "n_current": pl.Int64,
    "share_reference": pl.Float64,
    "share_current": pl.Float64,
    "contribution": pl.Float64,
}


# --------------------------------------------------------------------------------------
# missing values


def missing_status(rate: float) -> str:
    """"ok" up to MISSING_WARNING, "warning" up to MISSING_CRITICAL inclusive, "critical" above."""
    if rate <= MISSING_WARNING:
        return "ok"
    if rate <= MISSING_CRITICAL:
        return "warning"
    return "critical"


def missing_values(current: pl.DataFrame, features: Sequence[str],
                   window_days: int = CONCEPT_WINDOW_DAYS) -> pl.DataFrame:
    """Per feature (in the given order), the share of ``current`` rows whose value is null, NaN or
    infinite: feature, missing_rate, status, n_missing, n_current. PSI drops such values (they
    are no distribution), so without this check a feed that stops sending a feature looks fine.

    When ``current`` has a SERVED_DATE_COLUMN, only the rows of its latest ``window_days``
    (:func:`latest_window`) count and n_current is the window's row count: over a whole season a feed
    broken for its last 20 games is 20 rows in 2,430, under 1%, while it is what the model serves now.
    Without dates every row counts. A feature missing from the frame is an error naming it."""
    features = list(features)
    absent = [f for f in features if f not in current.columns]
    if absent:
        raise ValueError(f"feature column(s) {absent} not in the current frame (columns: {current.columns})")
    if SERVED_DATE_COLUMN in current.columns and current.height:
        current = current.filter(pl.Series(latest_window(current[SERVED_DATE_COLUMN], window_days)))
    n = current.height
    bad = current.select([(~pl.col(f).cast(pl.Float64).is_finite()).fill_null(True).sum().alias(f)
                          for f in features]).row(0) if n else [0] * len(features)
    rates = [b / n if n else 0.0 for b in bad]
    return pl.DataFrame({"feature": features, "missing_rate": rates,
                         "status": [missing_status(r) for r in rates],
                         "n_missing": list(bad), "n_current": [n] * len(features)},
                        schema={"feature": pl.String, "missing_rate": pl.Float64, "status": pl.String,
                                "n_missing": pl.Int64, "n_current": pl.Int64})


# --------------------------------------------------------------------------------------
# feature drift: PSI


@dataclass(frozen=True)
class PsiResult:
    """PSI of one feature: the value, its status, and the per-bin table it was summed from.

    ``bins`` columns: bin, lower, upper (bin holds lower < x <= upper; the outer bounds are
    -inf/+inf), n_reference, n_current, share_reference, share_current (raw shares, before the
    floor) and contribution (the bin's term of the sum, computed on floored shares)."""

    psi: float
    status: str
    bins: pl.DataFrame
    n_reference: int
    n_current: int


def psi_status(value: float) -> str:
    """"ok" below PSI_WARNING, "warning" up to PSI_CRITICAL inclusive, "critical" above."""
    if value < PSI_WARNING:
        return "ok"
    if value <= PSI_CRITICAL:
        return "warning"
    return "critical"


def _finite_values(values, name: str) -> np.ndarray:
    """Float values with null/NaN dropped (missing values are not a distribution); an infinite
    value or nothing left is an error."""
    arr = _as_1d(values, name)
    arr = arr[~np.isnan(arr)]
    if np.isinf(arr).any():
        raise ValueError(f"{name} contains {int(np.isinf(arr).sum())} infinite value(s)")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has no non-null values to compare")
    return arr


def _quantile_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """Inner bin edges: the reference's 1/bins, ..., (bins-1)/bins quantiles, deduplicated.

    Ties give repeated quantiles; those edges are merged, so a heavily tied feature gets fewer
    bins. An edge at or above the reference maximum would leave an always-empty top bin in the
    reference and is dropped; when that happens the maximum holds more than a bin's share (an
    indicator almost always 1, a capped feature), and the edge at the largest value below the
    maximum is kept instead, so the maximum keeps a bin of its own and a move off it shows up.
    (Without it an indicator 1 for 95% of training rows had one bin and a PSI of 0 whatever
    the served rows held.) A constant reference gets no inner edge: see :func:`_outside_edges`."""
    hi = float(reference.max())
    quantiles = np.unique(np.quantile(reference, np.arange(1, bins) / bins))
    edges = quantiles[quantiles < hi]
    below = reference[reference < hi]
    if quantiles[-1] >= hi and below.shape[0] and (edges.shape[0] == 0 or edges[-1] < below.max()):
        edges = np.append(edges, below.max())
    return edges


def _outside_edges(edges: np.ndarray, reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    """``edges`` plus a bin for current values beyond a tied reference extreme.

    When the reference's top bin holds a single value (its maximum), a current value above it is
    one training never saw, not more of the maximum: it gets the bin (max, +inf). Likewise below
    a bottom bin that holds only the minimum: (-inf, just below min]. Such a bin is added only
    when current values fall in it (empty on both sides it adds 0 to the PSI). A continuous
    feature's outer bins hold many values; values past its range stay in them, as usual for PSI.
    A constant reference c thus gets the bins x < c, x == c and x > c as needed."""
    lo, hi = float(reference.min()), float(reference.max())
    below = reference[reference < hi]
    top_single = edges.shape[0] == 0 or edges[-1] >= below.max()
    if top_single and (current > hi).any():
        edges = np.append(edges, hi)
    bottom_single = edges.shape[0] == 0 or edges[0] <= lo
    if bottom_single and (current < lo).any():
        edges = np.insert(edges, 0, np.nextafter(lo, -np.inf))
    return edges


def psi(reference, current, bins: int = PSI_BINS) -> PsiResult:
    """Population stability index of ``current`` against ``reference`` (1-D numeric values).

    PSI = sum over bins of (c - r) * ln(c / r), with r and c the shares of reference and current
    values in the bin, each floored at PSI_SHARE_FLOOR so an empty bin costs a large but finite
    amount. Bins are the reference's quantile bins (see :func:`_quantile_edges`), right-closed,
    with open outer bins, so current values beyond the range of a continuous reference land in
    the outer bins; beyond a tied extreme (the maximum of an indicator) they get a bin of their
    own (see :func:`_outside_edges`).
    Null/NaN values are dropped on both sides; n_reference/n_current count the values used."""
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2; got {bins!r}")
    ref = _finite_values(reference, "reference")
    cur = _finite_values(current, "current")
    edges = _outside_edges(_quantile_edges(ref, int(bins)), ref, cur)
    k = edges.shape[0] + 1
    # searchsorted(side="left") counts edges strictly below x: bin i holds edges[i-1] < x <= edges[i].
    n_ref = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=k)
    n_cur = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=k)
    share_ref = n_ref / ref.shape[0]
    share_cur = n_cur / cur.shape[0]
    r = np.maximum(share_ref, PSI_SHARE_FLOOR)
    c = np.maximum(share_cur, PSI_SHARE_FLOOR)
    contribution = (c - r) * np.log(c / r)
    value = float(contribution.sum())
    table = pl.DataFrame(
        {
            "bin": np.arange(k, dtype=np.int64),
            "lower": np.concatenate([[-np.inf], edges]),
            "upper": np.concatenate([edges, [np.inf]]),
            "n_reference": n_ref.astype(np.int64),
            "n_current": n_cur.astype(np.int64),
            "share_reference": share_ref,
            "share_current": share_cur,
            "contribution": contribution,
        },
        schema=_PSI_BIN_SCHEMA,
    )
    return PsiResult(psi=value, status=psi_status(value), bins=table,
                     n_reference=int(ref.shape[0]), n_current=int(cur.shape[0]))


def feature_drift(reference: pl.DataFrame, current: pl.DataFrame, features: Sequence[str],
                  bins: int = PSI_BINS) -> pl.DataFrame:
    """PSI per feature: one row per feature (in the given order) with feature, psi, status,
    n_reference, n_current. A feature missing from either frame is an error naming it."""
    features = list(features)
    for label, frame in (("reference", reference), ("current", current)):
        missing = [f for f in features if f not in frame.columns]
        if missing:
            raise ValueError(f"feature column(s) {missing} not in the {label} frame "
                             f"(columns: {frame.columns})")
    rows = []
    for feature in features:
        try:
            result = psi(reference[feature], current[feature], bins=bins)
        except ValueError as exc:
            raise ValueError(f"feature {feature!r}: {exc}") from None
        rows.append({"feature": feature, "psi": result.psi, "status": result.status,
                     "n_reference": result.n_reference, "n_current": result.n_current})
    return pl.DataFrame(rows, schema={"feature": pl.String, "psi": pl.Float64, "status": pl.String,
                                      "n_reference": pl.Int64, "n_current": pl.Int64})


# --------------------------------------------------------------------------------------
# prediction drift: KS


def _probabilities(values, name: str) -> np.ndarray:
    arr = _finite_values(values, name)
    if ((arr < 0.0) | (arr > 1.0)).any():
        raise ValueError(f"{name} must be probabilities in [0, 1]")
    return arr


def prediction_drift(reference_p, current_p, alpha: float = DEFAULT_KS_ALPHA) -> dict:
    """Two-sample Kolmogorov-Smirnov test of the current forecast probabilities against the
    reference ones (scipy.stats.ks_2samp, two-sided, nulls dropped).

    Returns statistic, p_value, alpha, status ("critical" when p_value < alpha, else "ok"),
    n_reference, n_current. With thousands of forecasts KS flags even small shifts, which is
    the point: the forecasts are no longer distributed as when the model was evaluated."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}")
    ref = _probabilities(reference_p, "reference_p")
    cur = _probabilities(current_p, "current_p")
    result = stats.ks_2samp(ref, cur)
    p_value = float(result.pvalue)
    return {
        "statistic": float(result.statistic),
        "p_value": p_value,
        "alpha": float(alpha),
        "status": "critical" if p_value < alpha else "ok",
        "n_reference": int(ref.shape[0]),
        "n_current": int(cur.shape[0]),
    }


# --------------------------------------------------------------------------------------
# concept drift: scores on the latest window


def _as_dates(dates, n: int | None = None) -> np.ndarray:
    """Dates as numpy datetime64[D]; datetimes are truncated to their date. ``n``: the length they must have."""
    series = dates if isinstance(dates, pl.Series) else pl.Series("dates", dates)
    if series.dtype == pl.Datetime or isinstance(series.dtype, pl.Datetime):
        series = series.dt.date()
    if series.dtype != pl.Date:
        raise ValueError(f"dates must be dates or datetimes; got dtype {series.dtype}")
    if n is not None and series.len() != n:
        raise ValueError(f"dates and p have different lengths ({series.len()} vs {n})")
    if series.null_count():
        raise ValueError(f"dates contains {series.null_count()} null value(s)")
    return series.to_numpy().astype("datetime64[D]")


def _check_window_days(window_days) -> None:
    if isinstance(window_days, bool) or not isinstance(window_days, (int, np.integer)) or window_days < 1:
        raise ValueError(f"window_days must be a positive integer; got {window_days!r}")


def latest_window(dates, window_days: int = CONCEPT_WINDOW_DAYS) -> np.ndarray:
    """Boolean mask of the rows in the latest ``window_days``: with D the latest of ``dates`` (dates or
    datetimes, no nulls, not empty), D - window_days < date <= D. The one window of the concept and missing
    checks, so both judge the same recent rows."""
    _check_window_days(window_days)
    days = _as_dates(dates)
    if days.shape[0] == 0:
        raise ValueError("dates is empty: there is no latest window")
    return days > days.max() - np.timedelta64(int(window_days), "D")


def concept_drift(p, y, dates, reference_brier: float, reference_accuracy: float,
                  window_days: int = CONCEPT_WINDOW_DAYS,
                  max_drop: float = CONCEPT_MAX_DROP, alpha: float = CONCEPT_ALPHA) -> pl.DataFrame:
    """Brier and accuracy of the latest ``window_days`` of scored forecasts against the model's
    training evaluation (``reference_brier``, ``reference_accuracy``).

    Rule, exactly: let D be the latest date in ``dates``; the window (:func:`latest_window`) is every row
    with D - window_days < date <= D (``window_days`` calendar days ending at D, D included). On the
    window, brier = metrics.brier(p, y) and accuracy = metrics.accuracy(p, y) (p >= 0.5 picks 1).
    A metric is *worse* when it passes its threshold:

    * brier > reference_brier * (1 + max_drop) (the Brier score rose by more than max_drop relative;
      lower Brier is better), or accuracy < reference_accuracy * (1 - max_drop);

    and *significant* when a one-sided test says chance alone would rarely make it that much worse than
    the reference (p_value < alpha): for Brier a z-test of the window's mean squared error against
    reference_brier (standard error from the window's squared errors), for accuracy an exact binomial
    test of the window's hits against reference_accuracy. Status: "critical" when worse and
    significant, "warning" when worse but within chance (166 games one point of Brier worse is noise),
    "ok" otherwise; exactly at the threshold is "ok". The reference is the test evaluation, taken as
    exact (it is scored on thousands of rows).

    One row per metric: metric, window_start, window_end, n (rows in the window), value,
    reference, threshold, relative_drop ((value - reference) / reference for Brier,
    (reference - value) / reference for accuracy: positive means worse), p_value and status.
    ``p``/``y`` are validated as in bsi_pipeline.metrics (no nulls, 0/1 outcomes)."""
    p_arr, y_arr = metrics._validate(p, y)
    days = _as_dates(dates, p_arr.shape[0])
    _check_window_days(window_days)
    if not 0.0 <= max_drop < 1.0:
        raise ValueError(f"max_drop must be in [0, 1); got {max_drop!r}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}")
    if not (np.isfinite(reference_brier) and reference_brier > 0.0):
        raise ValueError(f"reference_brier must be a positive number; got {reference_brier!r}")
    if not (np.isfinite(reference_accuracy) and 0.0 < reference_accuracy <= 1.0):
        raise ValueError(f"reference_accuracy must be in (0, 1]; got {reference_accuracy!r}")

    end = days.max()
    in_window = latest_window(days, window_days)
    p_w, y_w = p_arr[in_window], y_arr[in_window]
    window_brier = metrics.brier(p_w, y_w)
    window_accuracy = metrics.accuracy(p_w, y_w)
    brier_limit = reference_brier * (1.0 + max_drop)
    accuracy_limit = reference_accuracy * (1.0 - max_drop)
    p_values = [_brier_worse_p_value(p_w, y_w, reference_brier),
                _accuracy_worse_p_value(p_w, y_w, reference_accuracy)]
    worse = [window_brier > brier_limit, window_accuracy < accuracy_limit]
    start = days[in_window].min()
    return pl.DataFrame(
        {
            "metric": ["brier", "accuracy"],
            "window_start": [start.astype(dt.date)] * 2,
            "window_end": [end.astype(dt.date)] * 2,
            "n": [int(in_window.sum())] * 2,
            "value": [window_brier, window_accuracy],
            "reference": [float(reference_brier), float(reference_accuracy)],
            "threshold": [brier_limit, accuracy_limit],
            "relative_drop": [(window_brier - reference_brier) / reference_brier,
                              (reference_accuracy - window_accuracy) / reference_accuracy],
            "p_value": p_values,
            "status": [("critical" if pv < alpha else "warning") if bad else "ok"
                       for bad, pv in zip(worse, p_values)],
        },
        schema={"metric": pl.String, "window_start": pl.Date, "window_end": pl.Date,
                "n": pl.Int64, "value": pl.Float64, "reference": pl.Float64,
                "threshold": pl.Float64, "relative_drop": pl.Float64, "p_value": pl.Float64,
                "status": pl.String},
    )


def _brier_worse_p_value(p: np.ndarray, y: np.ndarray, reference_brier: float) -> float:
    """One-sided p-value that the window's mean squared error exceeds reference_brier only by chance
    (z-test; with no spread in the errors the answer is certain either way)."""
    errors = (p - y) ** 2
    excess = float(errors.mean()) - reference_brier
    spread = float(errors.std(ddof=1)) if errors.shape[0] > 1 else 0.0
    if spread == 0.0:
        return 0.0 if excess > 0.0 else 1.0
    return float(stats.norm.sf(excess / (spread / np.sqrt(errors.shape[0]))))


def _accuracy_worse_p_value(p: np.ndarray, y: np.ndarray, reference_accuracy: float) -> float:
    """One-sided exact binomial p-value of this few hits (or fewer) at the reference accuracy."""
    hits = int(((p >= 0.5).astype(np.int64) == y).sum())
    return float(stats.binomtest(hits, int(y.shape[0]), float(reference_accuracy), alternative="less").pvalue)


# --------------------------------------------------------------------------------------
# the report


def _utc(moment: dt.datetime | None) -> dt.datetime:
    if moment is None:
        return dt.datetime.now(dt.timezone.utc)
    if moment.tzinfo is None:  # a naive time is taken as UTC
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def drift_report(
    model_key: str,
    model_version: str | int,
    *,
    reference: pl.DataFrame | None = None,
    current: pl.DataFrame | None = None,
    features: Sequence[str] = (),
    served: pl.DataFrame | None = None,
    reference_p=None,
    current_p=None,
    current_y=None,
    current_dates=None,
    reference_brier: float | None = None,
    reference_accuracy: float | None = None,
    bins: int = PSI_BINS,
    alpha: float = DEFAULT_KS_ALPHA,
    window_days: int = CONCEPT_WINDOW_DAYS,
    max_drop: float = CONCEPT_MAX_DROP,
    concept_alpha: float = CONCEPT_ALPHA,
    computed_at: dt.datetime | None = None,
) -> pl.DataFrame:
    """Every drift check that has its inputs, as one long table (REPORT_SCHEMA columns).

    * ``features`` with ``served`` (the current rows before any with a bad value were dropped): one
      "missing" row per feature from :func:`missing_values`, over the latest ``window_days`` when
      ``served`` has a SERVED_DATE_COLUMN; value = missing rate, threshold = MISSING_CRITICAL,
      n_current = rows checked (the window's), n_reference and p_value null.
    * ``features`` with ``reference``/``current`` frames: one "psi" row per feature;
      value = PSI, threshold = PSI_CRITICAL, p_value null.
    * ``reference_p`` with ``current_p``: one "ks_prediction" row; value = p_value = KS p-value,
      threshold = alpha (critical when value < threshold); feature is null.
    * ``current_y``, ``current_dates``, ``reference_brier`` and ``reference_accuracy`` (with
      ``current_p`` as the forecasts): "concept_brier" and "concept_accuracy" rows from
      :func:`concept_drift` (judged with ``max_drop`` and ``concept_alpha``); n_reference is null
      (the training evaluation's size is not known here), n_current is the number of rows in the
      window, p_value the one-sided test's.

    A check whose inputs are all absent is skipped; a check with only some of its inputs is an
    error, so a half-wired asset does not silently report nothing. ``computed_at`` defaults to
    now (UTC); a naive datetime is taken as UTC."""
    rows: list[dict] = []

    def add(check, feature, value, threshold, status, n_reference, n_current, p_value=None):
        rows.append({"check": check, "feature": feature, "value": float(value),
                     "threshold": float(threshold), "status": status,
                     "n_reference": n_reference, "n_current": n_current, "p_value": p_value})

    if served is not None:
        _require_all("missing", {"served": served, "features": list(features) or None})
        for row in missing_values(served, features, window_days=window_days).iter_rows(named=True):
            add("missing", row["feature"], row["missing_rate"], MISSING_CRITICAL, row["status"],
                None, row["n_current"])

    psi_inputs = {"reference": reference, "current": current, "features": list(features) or None}
    if reference is not None or current is not None or (features and served is None):
        _require_all("psi", psi_inputs)
        for row in feature_drift(reference, current, features, bins=bins).iter_rows(named=True):
            add("psi", row["feature"], row["psi"], PSI_CRITICAL, row["status"],
                row["n_reference"], row["n_current"])

    concept_inputs = {"current_p": current_p, "current_y": current_y,
                      "current_dates": current_dates, "reference_brier": reference_brier,
                      "reference_accuracy": reference_accuracy}
    wants_concept = any(v is not None for k, v in concept_inputs.items() if k != "current_p")
    if current_p is not None and reference_p is None and not wants_concept:
        raise ValueError("current_p is given but neither reference_p (for the ks_prediction "
                         "check) nor current_y/current_dates/reference scores (for concept)")
    if reference_p is not None:
        _require_all("ks_prediction", {"reference_p": reference_p, "current_p": current_p})
        ks = prediction_drift(reference_p, current_p, alpha=alpha)
        add("ks_prediction", None, ks["p_value"], alpha, ks["status"],
            ks["n_reference"], ks["n_current"], ks["p_value"])

    if wants_concept:
        _require_all("concept", concept_inputs)
        concept = concept_drift(current_p, current_y, current_dates, reference_brier,
                                reference_accuracy, window_days=window_days, max_drop=max_drop,
                                alpha=concept_alpha)
        for row in concept.iter_rows(named=True):
            add(f"concept_{row['metric']}", None, row["value"], row["threshold"], row["status"],
                None, row["n"], row["p_value"])

    stamp = _utc(computed_at)
    frame = pl.DataFrame(rows, schema={k: v for k, v in REPORT_SCHEMA.items()
                                       if k not in ("model_key", "model_version", "computed_at")})
    return frame.with_columns(
        pl.lit(str(model_key), dtype=pl.String).alias("model_key"),
        pl.lit(str(model_version), dtype=pl.String).alias("model_version"),
        pl.lit(stamp, dtype=pl.Datetime("us", "UTC")).alias("computed_at"),
    ).select(list(REPORT_SCHEMA))


def _require_all(check: str, inputs: dict) -> None:
    missing = [name for name, value in inputs.items() if value is None]
    if missing:
        given = [name for name, value in inputs.items() if value is not None]
        raise ValueError(f"the {check} check needs {missing} as well (given: {given})")


def _reason(row: dict) -> str:
    check = row["check"]
    if check == "missing":
        return (f"feature {row['feature']!r} is null/NaN/infinite in {row['value']:.1%} of the served rows "
                f"> {row['threshold']:.0%} (n_current {row['n_current']}): the model could not score them")
    if check == "psi":
        return (f"psi of feature {row['feature']!r} is {row['value']:.4f} > {row['threshold']:.2f} "
                f"(n_reference {row['n_reference']}, n_current {row['n_current']})")
    if check == "ks_prediction":
        return (f"prediction distribution shifted: KS p-value {row['value']:.3g} < alpha "
                f"{row['threshold']:.3g} (n_reference {row['n_reference']}, "
                f"n_current {row['n_current']})")
    if check == "concept_brier":
        return (f"brier over the latest window is {row['value']:.4f} > threshold "
                f"{row['threshold']:.4f} ({row['n_current']} games{_chance(row)})")
    if check == "concept_accuracy":
        return (f"accuracy over the latest window is {row['value']:.4f} < threshold "
                f"{row['threshold']:.4f} ({row['n_current']} games{_chance(row)})")
    return f"{check} is critical (value {row['value']}, threshold {row['threshold']})"


def _chance(row: dict) -> str:
    p_value = row.get("p_value")
    return "" if p_value is None else f", one-sided p = {p_value:.3g}"


def _critical(report: pl.DataFrame, feed: bool) -> pl.DataFrame:
    """The report's critical rows that are feed problems (``feed``) or that are not."""
    missing = [c for c in ("check", "feature", "value", "threshold", "status") if c not in report.columns]
    if missing:
        raise ValueError(f"not a drift report: columns {missing} missing")
    return report.filter((pl.col("status") == "critical") & (pl.col("check").is_in(FEED_CHECKS) == feed))


def retrain_findings(report: pl.DataFrame) -> pl.DataFrame:
    """The critical rows of a :func:`drift_report` table that a retrain can answer (not FEED_CHECKS)."""
    return _critical(report, feed=False)


def feed_findings(report: pl.DataFrame) -> pl.DataFrame:
    """The critical rows of a :func:`drift_report` table that are feed problems (FEED_CHECKS)."""
    return _critical(report, feed=True)


def needs_retrain(report: pl.DataFrame) -> tuple[bool, list[str]]:
    """(True, one reason per row of :func:`retrain_findings`) when a check a retrain can answer is
    "critical"; warnings alone, and feed problems (:func:`feed_problems`), do not ask for a retrain."""
    reasons = [_reason(row) for row in retrain_findings(report).iter_rows(named=True)]
    return bool(reasons), reasons


def feed_problems(report: pl.DataFrame) -> list[str]:
    """One reason per critical feed-problem row (:func:`feed_findings`): critical in the report, but no
    retrain, since a model retrained on the same broken feed is the same model."""
    return [_reason(row) for row in feed_findings(report).iter_rows(named=True)]
