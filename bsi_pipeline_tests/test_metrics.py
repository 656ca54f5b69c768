"""bsi_pipeline.metrics: hand-computed scores, calibration on synthetic samples, validation,
grouped scoring and the reliability PNG."""

from __future__ import annotations

import base64
import math

import numpy as np
import polars as pl
import pytest

from bsi_pipeline import metrics as m

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# A tiny example scored by hand (10 bins):
#   bin 1: p 0.10, 0.15 -> mean .125, y 0, 1 -> .5, gap +.375
#   bin 8: p 0.80, 0.85 -> mean .825, y 1, 0 -> .5, gap -.325
#   bin 9: p 0.90       -> mean .9,   y 1    -> 1,  gap +.1
#   ECE = 2/5*.375 + 2/5*.325 + 1/5*.1 = .30, MCE = .375
TINY_P = [0.1, 0.15, 0.8, 0.9, 0.85]
TINY_Y = [0, 1, 1, 1, 0]


def _calibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.98, n)
    y = (rng.uniform(size=n) < p).astype(np.int64)
    return p, y


def test_brier_by_hand():
    assert m.brier([0.8, 0.3], [1, 0]) == pytest.approx((0.04 + 0.09) / 2)
    assert m.brier([0.5] * 4, [0, 1, 1, 0]) == pytest.approx(0.25)
    assert m.brier([1.0, 0.0], [1, 0]) == 0.0


def test_log_loss_by_formula_and_clip():
    expected = -(math.log(0.8) + math.log(1 - 0.3)) / 2
    assert m.log_loss([0.8, 0.3], [1, 0]) == pytest.approx(expected)
    # A certain miss is clipped to -log(eps), not infinite.
    assert m.log_loss([0.0], [1]) == pytest.approx(-math.log(1e-15))
    assert m.log_loss([1.0], [0], eps=1e-3) == pytest.approx(-math.log(1e-3))
    assert m.log_loss([1.0, 0.0], [1, 0]) == pytest.approx(0.0, abs=1e-12)
    # eps 0 is allowed: a certain hit costs 0 (0 * log 0 used to make the mean nan), a certain miss inf
    assert m.log_loss([0.0, 0.8], [0, 1], eps=0.0) == pytest.approx(-math.log(0.8) / 2)
    assert m.log_loss([1.0], [1], eps=0.0) == 0.0
    assert m.log_loss([1.0], [0], eps=0.0) == math.inf


def test_accuracy_threshold_and_ties():
    assert m.accuracy([0.8, 0.3, 0.6, 0.2], [1, 0, 0, 1]) == 0.5
    # p == 0.5 predicts 1 (p >= threshold).
    assert m.accuracy([0.5], [1]) == 1.0
    assert m.accuracy([0.5], [0]) == 0.0
    assert m.accuracy([0.6, 0.7], [1, 1], threshold=0.65) == 0.5


def test_reliability_bins_by_hand():
    bins = m.reliability_bins(TINY_P, TINY_Y)
    assert bins.columns == [
        "bin", "lower", "upper", "count", "mean_predicted", "observed_rate", "gap",
    ]
    assert bins.height == 10
    assert bins["bin"].to_list() == list(range(10))
    assert bins["lower"].to_list() == pytest.approx([i / 10 for i in range(10)])
    assert bins["upper"].to_list() == pytest.approx([(i + 1) / 10 for i in range(10)])
    assert bins["count"].to_list() == [0, 2, 0, 0, 0, 0, 0, 0, 2, 1]
    full = bins.filter(pl.col("count") > 0)
    assert full["mean_predicted"].to_list() == pytest.approx([0.125, 0.825, 0.9])
    assert full["observed_rate"].to_list() == pytest.approx([0.5, 0.5, 1.0])
    assert full["gap"].to_list() == pytest.approx([0.375, -0.325, 0.1])
    empty = bins.filter(pl.col("count") == 0)
    assert empty["mean_predicted"].null_count() == empty.height == 7


def test_bin_edges_left_closed_last_bin_closed():
    p = [0.0, 0.3, 0.7, 0.5, 0.99999, 1.0, 0.2999999]
    bins = m.reliability_bins(p, [0] * len(p))
    counts = dict(zip(bins["bin"].to_list(), bins["count"].to_list()))
    assert counts[0] == 1  # 0.0
    assert counts[2] == 1  # 0.2999999
    assert counts[3] == 1  # 0.3 is the lower edge of bin 3
    assert counts[5] == 1  # 0.5
    assert counts[7] == 1  # 0.7
    assert counts[9] == 2  # 0.99999 and 1.0 (right edge inclusive for the last bin)


def test_bins_partition_all_rows():
    p, y = _calibrated(5_000, seed=3)
    p[:5] = [0.0, 1.0, 0.5, 0.1, 0.9]
    for n_bins in (1, 7, 10, 20):
        bins = m.reliability_bins(p, y, n_bins=n_bins)
        assert bins.height == n_bins
        assert bins["count"].sum() == len(p)
        assert (bins["upper"] - bins["lower"]).to_numpy() == pytest.approx(1 / n_bins)


def test_ece_mce_by_hand():
    assert m.ece(TINY_P, TINY_Y) == pytest.approx(0.30)
    assert m.mce(TINY_P, TINY_Y) == pytest.approx(0.375)
    # ECE equals the count-weighted |gap| from the bins table.
    bins = m.reliability_bins(TINY_P, TINY_Y).filter(pl.col("count") > 0)
    weighted = (bins["count"] / bins["count"].sum() * bins["gap"].abs()).sum()
    assert m.ece(TINY_P, TINY_Y) == pytest.approx(weighted)
    # One bin: ECE = |base rate - mean forecast|.
    assert m.ece(TINY_P, TINY_Y, n_bins=1) == pytest.approx(abs(3 / 5 - np.mean(TINY_P)))


def test_perfectly_calibrated_sample():
    p, y = _calibrated(200_000, seed=20240601)
    assert m.ece(p, y) < 0.01
    fit = m.calibration_slope_intercept(p, y)
    assert fit.slope == pytest.approx(1.0, abs=0.03)
    assert fit.intercept == pytest.approx(0.0, abs=0.03)
    slope, intercept, _ = fit
    assert (slope, intercept) == (fit.slope, fit.intercept)


def test_overconfident_forecast_has_slope_below_one():
    p_true, y = _calibrated(50_000, seed=11)
    logit = np.log(p_true / (1 - p_true))
    pushed = 1 / (1 + np.exp(-2.0 * logit))  # twice as extreme as it should be
    fit = m.calibration_slope_intercept(pushed, y)
    assert fit.slope == pytest.approx(0.5, abs=0.03)
    assert fit.slope < 1
    assert m.ece(pushed, y) > m.ece(p_true, y)
    # And an underconfident one (shrunk towards 0.5) has slope > 1.
    shrunk = 1 / (1 + np.exp(-0.5 * logit))
    assert m.calibration_slope_intercept(shrunk, y).slope == pytest.approx(2.0, abs=0.1)


def test_calibration_intercept_detects_bias():
    p_true, y = _calibrated(50_000, seed=5)
    logit = np.log(p_true / (1 - p_true))
    biased = 1 / (1 + np.exp(-(logit - 0.4)))  # forecasts 0.4 logits too low for outcome 1
    fit = m.calibration_slope_intercept(biased, y)
    assert fit.intercept == pytest.approx(0.4, abs=0.05)
    assert fit.slope == pytest.approx(1.0, abs=0.05)


def test_calibration_undefined_cases():
    with pytest.raises(ValueError, match="both outcomes"):
        m.calibration_slope_intercept([0.2, 0.7], [1, 1])
    with pytest.raises(ValueError, match="varying p"):
        m.calibration_slope_intercept([0.6, 0.6, 0.6], [1, 0, 1])
    with pytest.raises(ValueError, match="perfectly separated"):
        m.calibration_slope_intercept([0.2, 0.3, 0.7, 0.8], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="perfectly separated"):
        m.calibration_slope_intercept([0.2, 0.5, 0.5, 0.8], [1, 1, 0, 0])
    # Overlapping outcomes fit fine even on a handful of rows.
    fit = m.calibration_slope_intercept([0.2, 0.4, 0.6, 0.8], [0, 1, 0, 1])
    assert math.isfinite(fit.slope) and fit.iterations < 50


def test_summarize():
    out = m.summarize(TINY_P, TINY_Y)
    assert set(out) == {"games", "brier", "log_loss", "accuracy", "ece", "mce", "base_rate"}
    assert out["games"] == 5
    assert out["base_rate"] == pytest.approx(0.6)
    assert out["ece"] == pytest.approx(0.30)
    assert out["mce"] == pytest.approx(0.375)
    assert out["brier"] == pytest.approx(m.brier(TINY_P, TINY_Y))
    assert out["log_loss"] == pytest.approx(m.log_loss(TINY_P, TINY_Y))
    # hits: 0.1->0 no(y0 yes), 0.15->0 (y1 miss), 0.8 hit, 0.9 hit, 0.85 (y0 miss)
    assert out["accuracy"] == pytest.approx(3 / 5)


def test_accepts_polars_series_and_bools():
    p = pl.Series([0.8, 0.3])
    y = pl.Series([True, False])
    assert m.brier(p, y) == pytest.approx(0.065)


@pytest.mark.parametrize(
    "p, y, message",
    [
        ([0.5, 0.5], [1], r"different lengths \(2 vs 1\)"),
        ([], [], "empty input"),
        ([0.5, float("nan")], [1, 0], r"p contains 1 NaN/null value\(s\) \(first at index 1\)"),
        ([0.5, 0.4], [1, float("nan")], "y contains 1 NaN/null"),
        ([1.2, 0.4], [1, 0], r"p must be probabilities in \[0, 1\].*1.2 at index 0"),
        ([-0.1], [1], r"in \[0, 1\]"),
        ([0.5, 0.4], [1, 2], r"y must be 0/1 outcomes.*2.0 at index 1"),
        ([0.5, 0.4], [1, 0.5], "remove ties"),
        ([[0.5], [0.4]], [1, 0], "one-dimensional"),
        (["a"], [1], "must be numeric"),
    ],
)
def test_validation_errors(p, y, message):
    for fn in (m.brier, m.log_loss, m.accuracy, m.ece, m.mce, m.reliability_bins, m.summarize):
        with pytest.raises(ValueError, match=message):
            fn(p, y)


def test_validation_nulls_in_series():
    with pytest.raises(ValueError, match="NaN/null"):
        m.brier(pl.Series([0.5, None]), pl.Series([1, 0]))
    with pytest.raises(ValueError, match="n_bins"):
        m.ece([0.5], [1], n_bins=0)


def _games_frame() -> pl.DataFrame:
    rng = np.random.default_rng(7)
    n = 600
    p = rng.uniform(0.05, 0.95, n)
    return pl.DataFrame(
        {
            "sport": rng.choice(["baseball", "football"], n),
            "season": rng.choice([2021, 2022, 2023], n),
            "system": rng.choice(["elo", "coin"], n),
            "p_home": p,
            "home_win": (rng.uniform(size=n) < p).astype(np.int64),
        }
    )


def test_score_groups_equals_per_group_calls():
    df = _games_frame()
    by = ["sport", "season", "system"]
    out = m.score_groups(df, "p_home", "home_win", by)
    assert out.columns == [*by, "games", "brier", "log_loss", "accuracy", "ece"]
    assert out.height == df.select(by).unique().height == 12
    assert out.select(by).equals(out.select(by).sort(by))
    assert out["games"].sum() == df.height
    for row in out.iter_rows(named=True):
        part = df.filter(*(pl.col(c) == row[c] for c in by))
        p, y = part["p_home"], part["home_win"]
        assert row["games"] == part.height
        assert row["brier"] == pytest.approx(m.brier(p, y))
        assert row["log_loss"] == pytest.approx(m.log_loss(p, y))
        assert row["accuracy"] == pytest.approx(m.accuracy(p, y))
        assert row["ece"] == pytest.approx(m.ece(p, y))


def test_score_groups_without_keys_and_empty():
    df = _games_frame()
    whole = m.score_groups(df, "p_home", "home_win", [])
    assert whole.height == 1
    expected = m.summarize(df["p_home"], df["home_win"])
    for key in ("games", "brier", "log_loss", "accuracy", "ece"):
        assert whole[key][0] == pytest.approx(expected[key])
    empty = m.score_groups(df.head(0), "p_home", "home_win", ["sport"])
    assert empty.height == 0
    assert empty.columns == ["sport", "games", "brier", "log_loss", "accuracy", "ece"]


def test_score_groups_validation():
    df = _games_frame()
    with pytest.raises(ValueError, match="'nope' not in frame"):
        m.score_groups(df, "nope", "home_win", ["sport"])
    row = pl.int_range(pl.len())
    bad = df.with_columns(home_win=pl.when(row == 3).then(2).otherwise(pl.col("home_win")))
    with pytest.raises(ValueError, match="home_win must be 0/1 outcomes"):
        m.score_groups(bad, "p_home", "home_win", ["sport"])
    nulls = df.with_columns(p_home=pl.when(row == 0).then(None).otherwise(pl.col("p_home")))
    with pytest.raises(ValueError, match="p_home contains 1 NaN/null"):
        m.score_groups(nulls, "p_home", "home_win", ["sport"])


def test_score_groups_is_fast_on_100k_rows():
    import time

    rng = np.random.default_rng(1)
    n = 100_000
    base = pl.DataFrame(
        {
            "sport": rng.choice(["baseball", "football", "basketball"], n),
            "season": rng.integers(2000, 2025, n),
            "p": rng.uniform(size=n),
        }
    ).with_columns(home_win=(pl.Series(rng.uniform(size=n)) < pl.col("p")).cast(pl.Int8))
    df = pl.concat([base.with_columns(system=pl.lit(s)) for s in ("elo", "elo_mov", "coin")])
    start = time.perf_counter()
    out = m.score_groups(df, "p", "home_win", ["sport", "season", "system"])
    elapsed = time.perf_counter() - start
    assert out["games"].sum() == 300_000
    assert elapsed < 1.0


def test_reliability_png_and_markdown():
    p, y = _calibrated(2_000, seed=2)
    pushed = np.clip(0.5 + 1.6 * (p - 0.5), 0, 1)
    systems = {"elo": (p, y), "overconfident": (pushed, y)}
    png = m.reliability_plot_png(systems, "Home win probability")
    assert png.startswith(PNG_MAGIC)
    assert 2_000 < len(png) < 200_000
    md = m.png_to_markdown(png, "reliability [elo]")
    assert md.startswith("![reliability \\[elo\\]](data:image/png;base64,")
    assert md.endswith(")")
    encoded = md.split("base64,", 1)[1][:-1]
    assert base64.b64decode(encoded) == png


def test_reliability_png_validation():
    with pytest.raises(ValueError, match="at least one"):
        m.reliability_plot_png({}, "t")
    with pytest.raises(ValueError, match=r"elo: p must be probabilities"):
        m.reliability_plot_png({"elo": ([1.5], [1])}, "t")
    with pytest.raises(ValueError, match="PNG signature"):
        m.png_to_markdown(b"GIF89a", "x")


def test_score_groups_accuracy_counts_a_half_as_picking_the_home_side():
    """The convention of accuracy: p >= 0.5 predicts 1, so a 0.5 forecast of a home win is a hit (the NCAAM
    fixture has over a hundred forecasts of exactly 0.5)."""
    df = pl.DataFrame({"g": ["x", "x"], "p": [0.5, 0.5], "y": [1, 0]})
    row = m.score_groups(df, "p", "y", ["g"]).row(0, named=True)
    assert row["accuracy"] == 0.5 == m.accuracy([0.5, 0.5], [1, 0])
    assert m.score_groups(df.head(1), "p", "y", [])["accuracy"][0] == 1.0
