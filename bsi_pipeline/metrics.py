"""Scoring of probability forecasts: proper scores, calibration, reliability diagrams.

Used wherever the project scores a probability of a binary outcome (game forecasts now,
ML models later). Pure: numpy, polars and matplotlib only, no Dagster.

Conventions shared by every function here:

* ``p`` is the forecast probability that the outcome is 1 (e.g. "the home side wins"),
  ``y`` the observed outcome, 0 or 1. Both are 1-D array-likes (lists, numpy arrays,
  polars Series) of equal, non-zero length.
* Validation is strict: no NaN/null, every ``p`` in [0, 1], every ``y`` exactly 0 or 1.
  Ties/draws are not outcomes here and must be removed by the caller. Violations raise
  ``ValueError`` with a message naming the argument and the problem.
* Reliability bins are ``n_bins`` equal-width bins on [0, 1] with edges ``i / n_bins``;
  bin ``i`` holds ``lower <= p < upper``, except the last bin, which also holds ``p == 1``.
  So the bins partition all rows.
* Logarithms are natural (log loss in nats).
"""

from __future__ import annotations

import base64
import io
from typing import NamedTuple, Sequence

import numpy as np
import polars as pl

__all__ = [
    "CalibrationFit",
    "accuracy",
    "brier",
    "calibration_slope_intercept",
    "ece",
    "log_loss",
    "mce",
    "png_to_markdown",
    "reliability_bins",
    "reliability_plot_png",
    "score_groups",
    "summarize",
]

DEFAULT_N_BINS = 10
LOG_LOSS_EPS = 1e-15


# --------------------------------------------------------------------------------------
# validation


def _as_1d(values, name: str) -> np.ndarray:
    if isinstance(values, pl.Series):
        values = values.cast(pl.Float64).to_numpy()
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric; could not convert to float ({exc})") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {arr.shape}")
    return arr


def _validate(p, y, p_name: str = "p", y_name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float64 after the checks described in the module docstring."""
    p_arr = _as_1d(p, p_name)
    y_arr = _as_1d(y, y_name)
    if p_arr.shape[0] != y_arr.shape[0]:
        raise ValueError(
            f"{p_name} and {y_name} have different lengths ({p_arr.shape[0]} vs {y_arr.shape[0]})"
        )
    if p_arr.shape[0] == 0:
        raise ValueError(f"empty input: {p_name} and {y_name} have no rows to score")
    for name, arr in ((p_name, p_arr), (y_name, y_arr)):
        bad = np.isnan(arr)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{name} contains {int(bad.sum())} NaN/null value(s) (first at index {first})"
            )
    bad = ~((p_arr >= 0.0) & (p_arr <= 1.0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{p_name} must be probabilities in [0, 1]; {int(bad.sum())} value(s) outside "
            f"(e.g. {float(p_arr[first])!r} at index {first})"
        )
    bad = ~((y_arr == 0.0) | (y_arr == 1.0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{y_name} must be 0/1 outcomes (remove ties/draws before scoring); "
            f"{int(bad.sum())} value(s) are not 0 or 1 "
            f"(e.g. {float(y_arr[first])!r} at index {first})"
        )
    return p_arr, y_arr


def _check_n_bins(n_bins: int) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got {n_bins!r}")
    return int(n_bins)


def _bin_edges(n_bins: int) -> np.ndarray:
    # i / n_bins (not linspace) so that an edge equals the double a reader would type:
    # linspace(0, 1, 11)[3] is 0.30000000000000004, which would put p = 0.3 in bin 2.
    return np.arange(n_bins + 1, dtype=np.float64) / n_bins


def _bin_index(p: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin of each p: lower <= p < upper, with p == 1 in the last bin."""
    idx = np.searchsorted(_bin_edges(n_bins), p, side="right") - 1
    return np.clip(idx, 0, n_bins - 1)


# --------------------------------------------------------------------------------------
# scores


def brier(p, y) -> float:
    """Brier score: mean of (p - y)^2. 0 is perfect, 0.25 is a constant 0.5 forecast."""
    p_arr, y_arr = _validate(p, y)
    return float(np.mean((p_arr - y_arr) ** 2))


def log_loss(p, y, eps: float = LOG_LOSS_EPS) -> float:
    """Mean negative log-likelihood in nats, with p clipped to [eps, 1 - eps] so a
    confident miss costs about -log(eps) (34.5 for the default) instead of infinity."""
    p_arr, y_arr = _validate(p, y)
    if not 0.0 <= eps < 0.5:
        raise ValueError(f"eps must be in [0, 0.5); got {eps!r}")
    q = np.clip(p_arr, eps, 1.0 - eps)
    with np.errstate(divide="ignore"):  # eps 0: a certain miss costs inf, a certain hit 0 (0 * log 0 would be nan)
        losses = np.where(y_arr == 1, -np.log(q), -np.log1p(-q))
    return float(np.mean(losses))


def accuracy(p, y, threshold: float = 0.5) -> float:
    """Share of rows where the predicted side matches the outcome.

    ``p >= threshold`` predicts 1, so a forecast of exactly 0.5 counts as picking the
    side the probability is about (the home side, for home-win probabilities)."""
    p_arr, y_arr = _validate(p, y)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1]; got {threshold!r}")
    return float(np.mean((p_arr >= threshold) == (y_arr == 1.0)))


def reliability_bins(p, y, n_bins: int = DEFAULT_N_BINS) -> pl.DataFrame:
    """One row per bin (all ``n_bins`` of them, empty ones included), in bin order.

    Columns: bin (0-based), lower, upper, count, mean_predicted, observed_rate,
    gap = observed_rate - mean_predicted (positive: the outcome happened more often than
    forecast). mean_predicted, observed_rate and gap are null for empty bins."""
    p_arr, y_arr = _validate(p, y)
    n_bins = _check_n_bins(n_bins)
    edges = _bin_edges(n_bins)
    idx = _bin_index(p_arr, n_bins)
    count = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=p_arr, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y_arr, minlength=n_bins)
    nonempty = count > 0
    safe = np.where(nonempty, count, 1)
    mean_p = sum_p / safe
    obs = sum_y / safe

    def nullable(values: np.ndarray) -> list[float | None]:
        return [float(v) if ok else None for v, ok in zip(values, nonempty)]

    return pl.DataFrame(
        {
            "bin": np.arange(n_bins, dtype=np.int64),
            "lower": edges[:-1],
            "upper": edges[1:],
            "count": count.astype(np.int64),
            "mean_predicted": nullable(mean_p),
            "observed_rate": nullable(obs),
            "gap": nullable(obs - mean_p),
        },
        schema={
            "bin": pl.Int64,
            "lower": pl.Float64,
            "upper": pl.Float64,
            "count": pl.Int64,
            "mean_predicted": pl.Float64,
            "observed_rate": pl.Float64,
            "gap": pl.Float64,
        },
    )


def _bin_sums(p_arr: np.ndarray, y_arr: np.ndarray, n_bins: int):
    idx = _bin_index(p_arr, n_bins)
    count = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=p_arr, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y_arr, minlength=n_bins)
    return count, sum_p, sum_y


def ece(p, y, n_bins: int = DEFAULT_N_BINS) -> float:
    """Expected calibration error: sum over non-empty bins of count / N * |observed - predicted|
    (equal-width bins as in :func:`reliability_bins`)."""
    p_arr, y_arr = _validate(p, y)
    count, sum_p, sum_y = _bin_sums(p_arr, y_arr, _check_n_bins(n_bins))
    # count/N * |sum_y/count - sum_p/count| == |sum_y - sum_p| / N; empty bins add 0.
    return float(np.abs(sum_y - sum_p).sum() / p_arr.shape[0])


def mce(p, y, n_bins: int = DEFAULT_N_BINS) -> float:
    """Maximum calibration error: the largest |observed - predicted| over non-empty bins."""
    p_arr, y_arr = _validate(p, y)
    count, sum_p, sum_y = _bin_sums(p_arr, y_arr, _check_n_bins(n_bins))
    nonempty = count > 0
    return float(np.max(np.abs(sum_y[nonempty] - sum_p[nonempty]) / count[nonempty]))


class CalibrationFit(NamedTuple):
    """Logistic recalibration fit  P(y = 1) = sigmoid(intercept + slope * logit(p)).

    slope 1 and intercept 0 mean calibrated. slope < 1: forecasts too extreme
    (overconfident); slope > 1: too timid. intercept > 0: outcome 1 happens more often
    than forecast (at p = 0.5)."""

    slope: float
    intercept: float
    iterations: int


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def calibration_slope_intercept(
    p, y, eps: float = 1e-6, max_iter: int = 100, tol: float = 1e-10
) -> CalibrationFit:
    """Calibration slope and intercept: maximum-likelihood logistic regression of y on
    logit(p), ``y ~ Bernoulli(sigmoid(intercept + slope * logit(p)))``, fitted by Newton's
    method (IRLS) from the calibrated point (slope 1, intercept 0) with step halving.

    p is clipped to [eps, 1 - eps] before the logit so exact 0/1 forecasts stay finite.
    Returns ``CalibrationFit(slope, intercept, iterations)`` (a NamedTuple, so
    ``slope, intercept, _ = ...`` also works).

    Raises ValueError when the fit is undefined: y all one class, p constant (after
    clipping), outcomes perfectly separated by p (the likelihood has no maximum), or
    no convergence in ``max_iter`` steps."""
    p_arr, y_arr = _validate(p, y)
    if not 0.0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 0.5); got {eps!r}")
    if y_arr.min() == y_arr.max():
        raise ValueError(
            f"calibration slope/intercept needs both outcomes; every y is {int(y_arr[0])}"
        )
    q = np.clip(p_arr, eps, 1.0 - eps)
    x = np.log(q) - np.log1p(-q)
    if x.max() == x.min():
        raise ValueError("calibration slope/intercept needs varying p; every p is the same")
    x0, x1 = x[y_arr == 0.0], x[y_arr == 1.0]
    if x0.max() <= x1.min() or x1.max() <= x0.min():
        # (Quasi-)complete separation: the likelihood keeps rising as |slope| grows.
        raise ValueError(
            "calibration slope/intercept is undefined: the outcomes are perfectly "
            "separated by p (slope would be infinite)"
        )

    design = np.column_stack([np.ones_like(x), x])
    beta = np.array([0.0, 1.0])  # [intercept, slope]

    def loglik(b: np.ndarray) -> float:
        eta = design @ b
        return float(np.sum(y_arr * eta - np.logaddexp(0.0, eta)))

    current = loglik(beta)
    for iteration in range(1, max_iter + 1):
        mu = _sigmoid(design @ beta)
        grad = design.T @ (y_arr - mu)
        w = mu * (1.0 - mu)
        hess = (design * w[:, None]).T @ design
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            raise ValueError("calibration fit failed: singular Hessian (degenerate p)") from None
        scale = 1.0
        while True:
            candidate = beta + scale * step
            new = loglik(candidate)
            if new >= current - 1e-12 * abs(current) or scale < 1e-10:
                break
            scale *= 0.5
        beta, current = candidate, new
        if not np.all(np.isfinite(beta)):
            break
        if np.max(np.abs(scale * step)) < tol * (1.0 + np.max(np.abs(beta))):
            return CalibrationFit(
                slope=float(beta[1]), intercept=float(beta[0]), iterations=iteration
            )
    raise ValueError(
        f"calibration fit did not converge in {max_iter} Newton steps "
        "(are the outcomes perfectly separated by p?)"
    )


def summarize(p, y) -> dict:
    """Headline scores in one dict: games, brier, log_loss, accuracy, ece, mce, base_rate
    (share of y == 1). ECE/MCE use 10 bins; accuracy uses p >= 0.5 -> 1."""
    p_arr, y_arr = _validate(p, y)
    return {
        "games": int(p_arr.shape[0]),
        "brier": brier(p_arr, y_arr),
        "log_loss": log_loss(p_arr, y_arr),
        "accuracy": accuracy(p_arr, y_arr),
        "ece": ece(p_arr, y_arr),
        "mce": mce(p_arr, y_arr),
        "base_rate": float(np.mean(y_arr)),
    }


# --------------------------------------------------------------------------------------
# grouped scores


def score_groups(
    df: pl.DataFrame,
    prob_col: str,
    outcome_col: str,
    by: Sequence[str],
    n_bins: int = DEFAULT_N_BINS,
) -> pl.DataFrame:
    """One row per group of ``by`` (sorted by ``by``) with columns
    ``*by, games, brier, log_loss, accuracy, ece`` — the same numbers as calling
    :func:`brier`, :func:`log_loss`, :func:`accuracy` and :func:`ece` on each group.

    The whole frame is validated like p/y (nulls count as NaN). ``by=[]`` scores the
    whole frame as one row. An empty frame gives an empty result with those columns
    (a season with no scored games is not an error at this level)."""
    by = list(by)
    n_bins = _check_n_bins(n_bins)
    for col in [prob_col, outcome_col, *by]:
        if col not in df.columns:
            raise ValueError(f"column {col!r} not in frame (columns: {df.columns})")
    clash = {"games", "brier", "log_loss", "accuracy", "ece"} & set(by)
    if clash:
        raise ValueError(f"group-by columns clash with output columns: {sorted(clash)}")

    metric_schema = {
        "games": pl.Int64,
        "brier": pl.Float64,
        "log_loss": pl.Float64,
        "accuracy": pl.Float64,
        "ece": pl.Float64,
    }
    if df.height == 0:
        return pl.DataFrame(schema={**{c: df.schema[c] for c in by}, **metric_schema})

    p_arr, y_arr = _validate(df[prob_col], df[outcome_col], prob_col, outcome_col)
    eps = LOG_LOSS_EPS
    q = np.clip(p_arr, eps, 1.0 - eps)
    frame = pl.DataFrame([
        pl.Series("__p", p_arr),
        pl.Series("__y", y_arr),
        pl.Series("__bin", _bin_index(p_arr, n_bins).astype(np.int32)),
        pl.Series("__sq", (p_arr - y_arr) ** 2),
        pl.Series("__ll", -(y_arr * np.log(q) + (1.0 - y_arr) * np.log1p(-q))),
        pl.Series("__hit", ((p_arr >= 0.5) == (y_arr == 1.0)).astype(np.float64)),
    ])
    if by:
        frame = pl.concat([df.select(by), frame], how="horizontal")
        keys = by
    else:  # without keys, group on a constant (dropped by the final select)
        frame = frame.with_columns(pl.lit(0).alias("__all"))
        keys = ["__all"]

    # One pass over the rows to per-(group, bin) sums, then a tiny second pass per group.
    # ECE = sum over bins of count/N * |mean_y - mean_p| = sum over bins |sum_y - sum_p| / N.
    per_bin = frame.group_by([*keys, "__bin"]).agg(
        pl.len().alias("__n"),
        pl.col("__sq").sum(),
        pl.col("__ll").sum(),
        pl.col("__hit").sum(),
        (pl.col("__y").sum() - pl.col("__p").sum()).abs().alias("__gap"),
    )
    games = pl.col("__n").sum()
    # Sort the partial sums so each group adds them in the same order every run: float addition is not
    # associative, and group_by returns rows in no fixed order.
    out = per_bin.sort([*keys, "__bin"], nulls_last=True).group_by(keys, maintain_order=True).agg(
        games.cast(pl.Int64).alias("games"),
        (pl.col("__sq").sum() / games).alias("brier"),
        (pl.col("__ll").sum() / games).alias("log_loss"),
        (pl.col("__hit").sum() / games).alias("accuracy"),
        (pl.col("__gap").sum() / games).alias("ece"),
    ).select([*by, *metric_schema])
    return out.sort(by, nulls_last=True) if by else out


# --------------------------------------------------------------------------------------
# pictures


def reliability_plot_png(
    groups: dict[str, tuple],
    title: str,
    n_bins: int = DEFAULT_N_BINS,
    dpi: int = 80,
    figsize: tuple[float, float] = (5.0, 5.0),
) -> bytes:
    """A reliability diagram as PNG bytes.

    ``groups`` maps a system name to its ``(p, y)``. Top panel: the diagonal and, per
    system, observed rate against mean forecast in each non-empty bin (line + markers,
    marker area growing with the bin's count; legend shows n and ECE). Bottom panel: how
    many forecasts fall in each bin, per system. Drawn on a bare matplotlib Figure with
    the Agg canvas (no pyplot, so safe in threads)."""

    if not groups:
        raise ValueError("reliability_plot_png needs at least one named system in groups")
    n_bins = _check_n_bins(n_bins)
    tables = {}
    for name, pair in groups.items():
        try:
            p, y = pair
        except (TypeError, ValueError):
            raise ValueError(f"groups[{name!r}] must be a (p, y) pair") from None
        p_arr, y_arr = _validate(p, y, f"{name}: p", f"{name}: y")
        tables[name] = (reliability_bins(p_arr, y_arr, n_bins), ece(p_arr, y_arr, n_bins))

    fig = new_figure(figsize, dpi)
    grid = fig.add_gridspec(2, 1, height_ratios=[3.2, 1.0], hspace=0.08)
    ax = fig.add_subplot(grid[0])
    ax_hist = fig.add_subplot(grid[1], sharex=ax)

    ax.plot([0, 1], [0, 1], linestyle="--", color="0.6", linewidth=1, label="perfect")
    biggest = max(int(t["count"].max()) for t, _ in tables.values()) or 1
    width = 1.0 / n_bins
    n_sys = len(tables)
    for k, (name, (table, e)) in enumerate(tables.items()):
        full = table.filter(pl.col("count") > 0)
        x = full["mean_predicted"].to_numpy()
        obs = full["observed_rate"].to_numpy()
        counts = full["count"].to_numpy()
        sizes = 12 + 150 * np.sqrt(counts / biggest)
        label = f"{name} (n={int(counts.sum()):,}, ECE {e:.3f})"
        (line,) = ax.plot(x, obs, linewidth=1.3, label=label)
        ax.scatter(
            x, obs, s=sizes, color=line.get_color(), alpha=0.75,
            edgecolors="white", linewidths=0.5, zorder=3,
        )
        bar_w = width / n_sys
        ax_hist.bar(
            table["lower"].to_numpy() + k * bar_w,
            table["count"].to_numpy(),
            width=bar_w,
            align="edge",
            color=line.get_color(),
            alpha=0.8,
        )

    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("observed rate")
    ax.set_title(title, fontsize=10)
    ax.grid(True, linewidth=0.4, alpha=0.5)
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    ax.tick_params(labelbottom=False, labelsize=8)
    ax_hist.set_xlabel("forecast probability")
    ax_hist.set_ylabel("count", fontsize=8)
    ax_hist.tick_params(labelsize=7)
    ax_hist.grid(True, axis="y", linewidth=0.4, alpha=0.5)

    return figure_png(fig, dpi, tight=True)


def new_figure(figsize: tuple[float, float], dpi: int | None = None):
    """A bare matplotlib Figure on the Agg canvas: no pyplot, so safe in threads, no display needed and
    nothing to close. Every metadata picture is drawn on one."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def figure_png(fig, dpi: int | None = None, tight: bool = False) -> bytes:
    """A matplotlib Figure as PNG bytes (dpi None: the figure's own; tight: cropped to what is drawn),
    the one way every metadata picture is saved."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight" if tight else None)
    return buf.getvalue()


def png_to_markdown(png: bytes, alt: str) -> str:
    """A markdown image embedding ``png`` as a base64 data URI, for Dagster markdown metadata."""
    if not isinstance(png, (bytes, bytearray)) or not bytes(png[:8]) == b"\x89PNG\r\n\x1a\n":
        raise ValueError("png_to_markdown expects PNG bytes (missing PNG signature)")
    safe_alt = alt.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]").replace("\n", " ")
    encoded = base64.b64encode(bytes(png)).decode("ascii")
    return f"![{safe_alt}](data:image/png;base64,{encoded})"
