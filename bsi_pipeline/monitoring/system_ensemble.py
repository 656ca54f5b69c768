"""One forecast per game from several systems run side by side (e.g. "elo", "model_champion").

Why: each system can fail on its own (a model version not served, a team with no rating), and
the systems carry different information. The ensemble keeps forecasting while any system
survives, and says which ones it used.

The rule, per row_id (see :func:`combine_systems`):

1. The systems are the keys of ``weights`` with a weight > 0 (weight 0 switches a system off).
   A system *survives* for a row when it has a row there with a non-null, non-NaN p; a system
   without a row or with a null/NaN p has *failed* for that row.
2. p_mean = sum(w_s * p_s) / sum(w_s) over the surviving systems (weights renormalised).
3. agreement = max(p_s) - min(p_s) over the surviving systems (0 with one system).
4. Adjustment on the logit scale, z = logit(p_mean) (p_mean first clipped to [P_EPS, 1 - P_EPS]):
   * "bonus": at least two survivors, all strictly on the same side of 0.5, and
     agreement <= agreement_band: z * (1 + bonus), pushing p away from 0.5;
   * "penalty": at least one survivor above 0.5 and one below: z * (1 - penalty), pulling p
     toward 0.5;
   * "none" otherwise (one survivor, a survivor at exactly 0.5, or same side but spread wider
     than the band).
   Scaling the logit keeps the side of 0.5 and keeps p strictly inside (0, 1); the result is
   clipped to [P_EPS, 1 - P_EPS] as well.
5. No survivor: p is null and the note says every system failed.

The bonus is an extremisation and the penalty a shrinkage: both change Brier and calibration,
so their sizes should be chosen on held-out rows, like any other setting. :func:`fit_ensemble` fits
the weights that way (the lowest log loss on rows the systems did not train on; serving uses the
champion's validation slice) and keeps the defaults when there are too few rows. Bonus and penalty
stay at their defaults: searching them too fitted the validation rows better and the next season
worse (shared data, 2021 NCAA: Brier 0.21467 with them searched, 0.21449 weights only).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import polars as pl

from bsi_pipeline import metrics
from bsi_pipeline.models.calibration import logit, sigmoid

__all__ = [
    "DEFAULT_AGREEMENT_BAND",
    "DEFAULT_BONUS",
    "DEFAULT_PENALTY",
    "ENSEMBLE_SYSTEM",
    "OUTPUT_SCHEMA",
    "P_EPS",
    "EnsembleSettings",
    "combine_systems",
    "contributions",
    "fit_ensemble",
]

ENSEMBLE_SYSTEM = "ensemble"
DEFAULT_AGREEMENT_BAND = 0.05
DEFAULT_BONUS = 0.05    # agreeing systems: logit stretched by 5%  (0.65 -> 0.657)
DEFAULT_PENALTY = 0.25  # disagreeing systems: logit shrunk by 25% (0.55 -> 0.538)
P_EPS = 1e-6
# fit_ensemble's search: the second system's weight; the first gets 1 - w, never 0, so either system
# still stands in when the other fails.
WEIGHT_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))
# Held-out rows (both forecasts and an outcome) below which the 0.5/0.5 defaults stay. Measured: fitted on
# 611 rows (embedded MLB 2008) the weights lost 0.0003 Brier on 2009 against the defaults; on 2,711 and
# 10,874 rows (shared NCAA 2021, MLB 2009) they gained 0.0012 and 0.0006.
MIN_FIT_ROWS = 1000
# agreement is a difference of floats: 0.67 - 0.62 is 0.05000000000000004, which is "within 0.05".
_BAND_SLACK = 1e-12
# The output's columns after row_id (whose type is the input's).
OUTPUT_SCHEMA = {
    "system": pl.String,
    "p": pl.Float64,
    "p_mean": pl.Float64,
    "systems_used": pl.List(pl.String),
    "systems_missing": pl.List(pl.String),
    "agreement": pl.Float64,
    "adjustment": pl.String,
    "note": pl.String,
}


def _as_list(values) -> list[str]:
    return sorted(values) if values is not None else []


def _check_weights(weights: dict[str, float]) -> list[str]:
    if not weights:
        raise ValueError("weights must name at least one system")
    for system, w in weights.items():
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
            raise ValueError(f"weight of system {system!r} must be a finite number >= 0; got {w!r}")
    active = sorted(s for s, w in weights.items() if w > 0)
    if not active:
        raise ValueError("at least one system needs a weight > 0")
    if ENSEMBLE_SYSTEM in weights:
        raise ValueError(f"{ENSEMBLE_SYSTEM!r} is the output's name, not an input system")
    return active


def _check_forecasts(forecasts: pl.DataFrame, weights: dict[str, float]) -> pl.DataFrame:
    missing = [c for c in ("row_id", "system", "p") if c not in forecasts.columns]
    if missing:
        raise ValueError(f"forecasts lacks column(s) {missing} (columns: {forecasts.columns})")
    frame = forecasts.select("row_id", pl.col("system").cast(pl.String),
                             pl.col("p").cast(pl.Float64).fill_nan(None))
    unknown = sorted(set(frame["system"].drop_nulls().unique()) - set(weights))
    if unknown or frame["system"].null_count():
        raise ValueError(f"forecasts has system(s) without a weight: {unknown or [None]} "
                         "(give them weight 0 to leave them out)")
    dup = frame.group_by("row_id", "system").len().filter(pl.col("len") > 1)
    if dup.height:
        first = dup.row(0, named=True)
        raise ValueError(f"{dup.height} duplicate (row_id, system) pair(s), e.g. "
                         f"row_id {first['row_id']!r} system {first['system']!r}")
    bad = frame.filter((pl.col("p") < 0) | (pl.col("p") > 1))
    if bad.height:
        first = bad.row(0, named=True)
        raise ValueError(f"p must be a probability in [0, 1]; {bad.height} value(s) outside, e.g. "
                         f"{first['p']!r} (row_id {first['row_id']!r}, system {first['system']!r})")
    return frame


def _note(used: list[str], null_p: list[str], no_row: list[str]) -> str | None:
    failed = [f"{s} (null p)" for s in null_p] + [f"{s} (no forecast row)" for s in no_row]
    if not failed:
        return None
    if not used:
        return "no forecast: every system failed: " + ", ".join(failed)
    return f"fallback to {', '.join(used)}: failed {', '.join(failed)}"


def _adjusted(p_mean, spread, n_used, n_up, n_down, agreement_band: float, bonus: float, penalty: float):
    """Rule step 4 on arrays: (p, adjustment) from the weighted mean, the spread and the side counts."""
    agree = (n_used >= 2) & ((n_up == n_used) | (n_down == n_used)) & (spread <= agreement_band + _BAND_SLACK)
    disagree = (n_up >= 1) & (n_down >= 1)
    factor = np.where(agree, 1.0 + bonus, np.where(disagree, 1.0 - penalty, 1.0))
    z = logit(np.clip(np.nan_to_num(p_mean, nan=0.5), P_EPS, 1.0 - P_EPS))
    p = np.clip(sigmoid(z * factor), P_EPS, 1.0 - P_EPS)
    return p, np.where(agree, "bonus", np.where(disagree, "penalty", "none"))


def combine_systems(
    forecasts: pl.DataFrame,
    weights: dict[str, float],
    agreement_band: float = DEFAULT_AGREEMENT_BAND,
    bonus: float = DEFAULT_BONUS,
    penalty: float = DEFAULT_PENALTY,
) -> pl.DataFrame:
    """The ensemble forecast per row_id from a long table (row_id, system, p), by the rule in
    the module docstring.

    Output, one row per row_id (sorted by row_id): row_id, system ("ensemble"), p, p_mean (the
    weighted mean before the adjustment), systems_used and systems_missing (sorted lists),
    agreement (max - min of the used p), adjustment ("bonus" | "penalty" | "none") and note
    (null when every system was used; otherwise which systems failed and how, and which the
    forecast fell back to). A system in ``forecasts`` without a weight, a duplicate
    (row_id, system) or a p outside [0, 1] is an error; null/NaN p is a failed system."""
    active = _check_weights(weights)
    if not 0.0 <= agreement_band <= 1.0:
        raise ValueError(f"agreement_band must be in [0, 1]; got {agreement_band!r}")
    if not 0.0 <= bonus <= 1.0:
        raise ValueError(f"bonus must be in [0, 1]; got {bonus!r}")
    if not 0.0 <= penalty < 1.0:
        raise ValueError(f"penalty must be in [0, 1) (1 would flatten every disagreement to 0.5); got {penalty!r}")
    frame = _check_forecasts(forecasts, weights)

    row_ids = frame.select("row_id").unique()
    grid = row_ids.join(pl.DataFrame({"system": active}, schema={"system": pl.String}), how="cross")
    joined = grid.join(frame.with_columns(pl.lit(True).alias("has_row")), on=["row_id", "system"],
                       how="left").with_columns(
        pl.col("has_row").fill_null(False),
        pl.col("system").replace_strict(weights, return_dtype=pl.Float64).alias("w"),
    )
    ok = pl.col("p").is_not_null()
    agg = joined.group_by("row_id").agg(
        pl.col("system").filter(ok).alias("used"),
        pl.col("system").filter(~ok & pl.col("has_row")).alias("null_p"),
        pl.col("system").filter(~pl.col("has_row")).alias("no_row"),
        (pl.col("w") * pl.col("p")).filter(ok).sum().alias("wp"),
        pl.col("w").filter(ok).sum().alias("wt"),
        pl.col("p").min().alias("p_min"),
        pl.col("p").max().alias("p_max"),
        (pl.col("p") > 0.5).sum().alias("n_up"),
        (pl.col("p") < 0.5).sum().alias("n_down"),
        ok.sum().alias("n_used"),
    ).sort("row_id")

    n_used = agg["n_used"].to_numpy()
    has_any = n_used > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        p_mean = np.where(has_any, agg["wp"].to_numpy() / agg["wt"].to_numpy(), np.nan)
    spread = np.where(has_any, agg["p_max"].fill_null(np.nan).to_numpy()
                      - agg["p_min"].fill_null(np.nan).to_numpy(), np.nan)
    p, adjustment = _adjusted(p_mean, spread, n_used, agg["n_up"].to_numpy(), agg["n_down"].to_numpy(),
                              agreement_band, bonus, penalty)

    used = [_as_list(v) for v in agg["used"].to_list()]
    null_p = [_as_list(v) for v in agg["null_p"].to_list()]
    no_row = [_as_list(v) for v in agg["no_row"].to_list()]
    return pl.DataFrame(
        {
            "row_id": agg["row_id"],
            "system": [ENSEMBLE_SYSTEM] * agg.height,
            "p": [float(v) if ok_ else None for v, ok_ in zip(p, has_any)],
            "p_mean": [float(v) if ok_ else None for v, ok_ in zip(p_mean, has_any)],
            "systems_used": used,
            "systems_missing": [sorted(a + b) for a, b in zip(null_p, no_row)],
            "agreement": [float(v) if ok_ else None for v, ok_ in zip(spread, has_any)],
            "adjustment": [a if ok_ else None for a, ok_ in zip(adjustment.tolist(), has_any)],
            "note": [_note(u, a, b) for u, a, b in zip(used, null_p, no_row)],
        },
        schema={"row_id": frame.schema["row_id"], **OUTPUT_SCHEMA},
    )


def contributions(p_systems: dict[str, float | None], weights: dict[str, float], p: float | None,
                  p_mean: float | None, adjustment: str | None) -> list[tuple[str, float]]:
    """What moved one ensemble forecast away from 0.5, on the probability scale, largest first: each
    surviving system's share of the weighted mean, w_s / sum(w) x (p_s - 0.5), and the bonus or penalty
    (p - p_mean, named "bonus" or "penalty"). Exact: they sum to p - 0.5. Empty when no system survived."""
    if p is None or p_mean is None:
        return []
    used = {s: v for s, v in p_systems.items() if v is not None and not math.isnan(v) and weights.get(s, 0) > 0}
    total = sum(weights[s] for s in used)
    parts = [(s, weights[s] / total * (v - 0.5)) for s, v in used.items()]
    if adjustment and adjustment != "none":
        parts.append((adjustment, p - p_mean))
    return sorted(parts, key=lambda part: -abs(part[1]))


@dataclass(frozen=True)
class EnsembleSettings:
    """What combine_systems is called with, and where the values came from (for the log and metadata)."""

    weights: dict[str, float]
    bonus: float = DEFAULT_BONUS
    penalty: float = DEFAULT_PENALTY
    agreement_band: float = DEFAULT_AGREEMENT_BAND
    source: str = "defaults"
    scores: dict = field(default_factory=dict)   # log loss on the fitting rows: fitted, defaults, each system

    @classmethod
    def even(cls, first: str, second: str, source: str = "defaults") -> EnsembleSettings:
        """Both systems at 0.5 with the default bonus and penalty."""
        return cls({first: 0.5, second: 0.5}, source=source)

    def combine(self, forecasts: pl.DataFrame) -> pl.DataFrame:
        return combine_systems(forecasts, self.weights, self.agreement_band, self.bonus, self.penalty)

    def as_dict(self) -> dict:
        return asdict(self)


def fit_ensemble(first: str, p_first, second: str, p_second, y, source: str = "held-out rows",
                 min_rows: int = MIN_FIT_ROWS) -> EnsembleSettings:
    """The weights (WEIGHT_GRID) with the lowest log loss of the ensemble of two systems on held-out rows
    (p of each, outcome y in {0, 1}; rows with a missing value are left out), with the default bonus and
    penalty. Ties go to the earliest in grid order. With fewer than `min_rows` complete rows: the defaults
    (0.5 each), with a source saying why."""
    a, b, out = (np.asarray(v, dtype=float) for v in (p_first, p_second, y))
    keep = np.isfinite(a) & np.isfinite(b) & np.isfinite(out)
    a, b, out = a[keep], b[keep], out[keep]
    if len(out) < min_rows:
        return EnsembleSettings.even(first, second, f"defaults: {len(out)} {source} (< {min_rows}) to fit on")
    spread, n_used = np.abs(a - b), np.full(len(out), 2)
    n_up, n_down = (a > 0.5).astype(int) + (b > 0.5), (a < 0.5).astype(int) + (b < 0.5)

    def loss(settings: EnsembleSettings) -> float:
        """combine_systems' p for rows where both systems have one (the same rule, on arrays)."""
        w_a, w_b = settings.weights[first], settings.weights[second]
        p_mean = (w_a * a + w_b * b) / (w_a + w_b)
        p, _ = _adjusted(p_mean, spread, n_used, n_up, n_down, settings.agreement_band, settings.bonus,
                         settings.penalty)
        return metrics.log_loss(p, out)

    best, best_loss = None, math.inf
    for w in WEIGHT_GRID:
        candidate = EnsembleSettings({first: round(1 - w, 2), second: w})
        value = loss(candidate)
        if value < best_loss - 1e-12:
            best, best_loss = candidate, value
    scores = {"fitted": best_loss, "defaults": loss(EnsembleSettings.even(first, second)),
              first: metrics.log_loss(a, out), second: metrics.log_loss(b, out), "rows": len(out)}
    return EnsembleSettings(best.weights, source=f"fitted on {len(out)} {source}", scores=scores)
