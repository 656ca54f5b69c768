"""bsi_pipeline.monitoring.drift on synthetic samples: PSI against its by-hand and theoretical
values, ties and constant features, KS on shifted forecast streams, concept drift windows, and
the combined report."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from bsi_pipeline import metrics
from bsi_pipeline.monitoring import drift as d

SEED = 20240601
N = 5000


def _rng(offset: int = 0) -> np.random.Generator:
    return np.random.default_rng(SEED + offset)


def _theoretical_psi(shift: float, bins: int = 10) -> float:
    """PSI of N(shift, 1) against N(0, 1) on the true deciles of N(0, 1), shares from the CDF."""
    edges = np.concatenate([[-np.inf], stats.norm.ppf(np.arange(1, bins) / bins), [np.inf]])
    r = np.diff(stats.norm.cdf(edges))
    c = np.diff(stats.norm.cdf(edges - shift))
    return float(np.sum((c - r) * np.log(c / r)))


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# --------------------------------------------------------------------------------------
# PSI


def test_psi_by_hand_two_bins():
    # Reference 1..10: median 5.5, bins (-inf, 5.5] and (5.5, inf) hold 5 and 5.
    # Current: 9 values <= 5.5 and one above -> shares .9/.1 against .5/.5.
    result = d.psi(np.arange(1, 11), [1, 2, 2, 3, 3, 4, 4, 5, 5, 10], bins=2)
    expected = (0.9 - 0.5) * math.log(0.9 / 0.5) + (0.1 - 0.5) * math.log(0.1 / 0.5)
    assert result.psi == pytest.approx(expected)
    assert result.bins["n_reference"].to_list() == [5, 5]
    assert result.bins["n_current"].to_list() == [9, 1]
    assert result.bins["upper"][0] == pytest.approx(5.5)
    assert result.status == "critical"


def test_psi_identical_distribution_is_ok():
    ref = _rng(0).normal(0.0, 1.0, N)
    cur = _rng(1).normal(0.0, 1.0, N)
    result = d.psi(ref, cur)
    assert result.psi < d.PSI_WARNING
    assert result.status == "ok"
    # The same sample against itself is exactly 0.
    assert d.psi(ref, ref).psi == pytest.approx(0.0, abs=1e-12)


def test_psi_half_sd_shift_is_critical_and_matches_theory():
    ref = _rng(0).normal(0.0, 1.0, N)
    cur = _rng(2).normal(0.5, 1.0, N)
    result = d.psi(ref, cur)
    assert result.status == "critical"
    assert result.psi > d.PSI_CRITICAL
    # The sample value is near the value on the true deciles (about 0.23 for a 0.5 sd shift).
    assert result.psi == pytest.approx(_theoretical_psi(0.5), abs=0.03)
    # Larger shifts drift more.
    assert d.psi(ref, _rng(3).normal(1.0, 1.0, N)).psi > result.psi


def test_psi_bin_table_is_consistent():
    ref = _rng(0).normal(10.0, 3.0, N)
    cur = _rng(4).normal(10.5, 3.0, 3000)
    result = d.psi(ref, cur)
    bins = result.bins
    assert bins.height == 10
    assert bins.columns == ["bin", "lower", "upper", "n_reference", "n_current",
                            "share_reference", "share_current", "contribution"]
    # Quantile bins: the reference is split into (near) equal tenths.
    assert bins["n_reference"].sum() == N and bins["n_current"].sum() == 3000
    assert bins["n_reference"].min() >= N // 10 - 1
    assert bins["share_reference"].sum() == pytest.approx(1.0)
    assert bins["share_current"].sum() == pytest.approx(1.0)
    assert (bins["contribution"] >= 0).all()
    assert bins["contribution"].sum() == pytest.approx(result.psi)
    assert bins["lower"][0] == -math.inf and bins["upper"][-1] == math.inf
    assert (bins["lower"][1:] == bins["upper"][:-1]).all()
    # Every reference value falls in its bin: lower < x <= upper.
    lower, upper = bins["lower"].to_numpy(), bins["upper"].to_numpy()
    idx = np.searchsorted(upper, ref, side="left")
    assert np.all((lower[idx] < ref) & (ref <= upper[idx]))


def test_psi_tied_values_merge_bins():
    # A count feature, mostly zeros: deciles repeat, so bins merge; no reference bin is empty.
    ref = _rng(0).poisson(0.3, N)
    same = d.psi(ref, _rng(5).poisson(0.3, N))
    assert same.bins.height < 10
    assert same.bins["upper"].n_unique() == same.bins.height
    assert (same.bins["n_reference"] > 0).all()
    assert same.status == "ok"
    moved = d.psi(ref, _rng(6).poisson(0.8, N))
    assert moved.status == "critical"


def test_psi_binary_feature():
    ref = (_rng(0).uniform(size=N) < 0.3).astype(float)
    result = d.psi(ref, (_rng(7).uniform(size=N) < 0.3).astype(float))
    assert result.bins.height == 2 and result.status == "ok"
    shifted = d.psi(ref, (_rng(8).uniform(size=N) < 0.5).astype(float))
    r, c = ref.mean(), shifted.bins["share_current"][1]
    expected = (c - r) * math.log(c / r) + ((1 - c) - (1 - r)) * math.log((1 - c) / (1 - r))
    assert shifted.psi == pytest.approx(expected)
    # A 0.3 -> 0.5 rate change is about 0.17 in theory: a warning, not critical.
    assert shifted.status == "warning"


def test_psi_constant_reference():
    ref = np.full(1000, 3.0)
    assert d.psi(ref, np.full(500, 3.0)).psi == pytest.approx(0.0)
    assert d.psi(ref, np.full(500, 3.0)).status == "ok"
    # Any move off the constant is drift, above or below.
    assert d.psi(ref, np.r_[np.full(250, 3.0), np.full(250, 4.0)]).status == "critical"
    assert d.psi(ref, np.full(500, 2.0)).status == "critical"


def test_psi_sees_a_shift_off_a_value_holding_most_of_the_training_rows():
    # An availability flag (has_elo_pitcher-like): 1 for 95% of training rows. Every quantile is the
    # maximum, so the max needs an edge of its own below it; else one bin and a PSI of 0 always.
    ref = (_rng(11).uniform(size=N) < 0.95).astype(float)
    same = d.psi(ref, (_rng(12).uniform(size=2000) < 0.95).astype(float))
    assert same.bins.height == 2 and same.status == "ok"
    broken = (_rng(13).uniform(size=2000) < 0.5).astype(float)   # the feed breaks for half the served rows
    result = d.psi(ref, broken)
    assert result.status == "critical"
    assert result.psi == pytest.approx(d.psi(1 - ref, 1 - broken).psi)   # as the mirrored shift, always seen
    # A capped feature: rest days capped at 10, 92% of training rows at the cap, 20% of the served ones.
    rest = _rng(14).integers(1, 10, N).astype(float)
    rest[_rng(15).uniform(size=N) < 0.92] = 10.0
    served = rest[:2000].copy()
    served[_rng(16).uniform(size=2000) < 0.75] = 3.0
    capped = d.psi(rest, served)
    assert capped.bins.filter(pl.col("lower") == 9.0)["upper"].to_list() == [math.inf]   # the cap alone
    assert capped.status == "critical"
    assert d.psi(rest, np.sort(rest)[::2]).status == "ok"


def test_psi_gives_values_beyond_a_tied_extreme_their_own_bin():
    # series_day 1-3 in training (three-game series); a quarter of the served rows are day 4, never seen.
    ref = np.repeat([1.0, 2.0, 3.0], [400, 350, 250])
    cur = np.repeat([1.0, 2.0, 4.0], [400, 350, 250])
    result = d.psi(ref, cur)
    assert result.status == "critical"
    top = result.bins.row(-1, named=True)
    assert (top["lower"], top["upper"], top["n_reference"], top["n_current"]) == (3.0, math.inf, 0, 250)
    # weekend 0/1 in training; the feed starts sending -1 for unknown on 30% of served rows
    weekend = (_rng(17).uniform(size=N) < 0.48).astype(float)
    sentinel = weekend[:2000].copy()
    sentinel[_rng(18).uniform(size=2000) < 0.3] = -1.0
    with_sentinel = d.psi(weekend, sentinel)
    assert with_sentinel.status == "critical"
    assert with_sentinel.bins.row(0, named=True)["n_reference"] == 0
    assert with_sentinel.bins["n_current"][0] == int((sentinel == -1.0).sum())


def test_psi_empty_bins_are_floored_not_infinite():
    ref = _rng(0).normal(0.0, 1.0, N)
    cur = _rng(9).normal(-10.0, 0.1, 500)  # everything below the reference range
    result = d.psi(ref, cur)
    assert math.isfinite(result.psi)
    assert result.bins["n_current"].to_list() == [500] + [0] * 9
    floor = d.PSI_SHARE_FLOOR
    expected = (1.0 - 0.1) * math.log(1.0 / 0.1) + 9 * (floor - 0.1) * math.log(floor / 0.1)
    assert result.psi == pytest.approx(expected, rel=1e-3)


def test_psi_drops_nulls_and_rejects_bad_input():
    ref = _rng(0).normal(size=1000)
    with_nulls = pl.Series("x", list(ref[:900]) + [None] * 100)
    assert d.psi(with_nulls, ref).n_reference == 900
    with pytest.raises(ValueError, match="reference has no non-null"):
        d.psi([None, float("nan")], ref)
    with pytest.raises(ValueError, match="infinite"):
        d.psi(ref, [0.0, math.inf])
    with pytest.raises(ValueError, match="bins"):
        d.psi(ref, ref, bins=1)


@pytest.mark.parametrize("value,status", [
    (0.0, "ok"), (0.0999, "ok"), (0.1, "warning"), (0.15, "warning"), (0.2, "warning"),
    (0.2001, "critical"), (3.0, "critical"),
])
def test_psi_status_thresholds(value, status):
    assert d.psi_status(value) == status


def test_feature_drift_table_and_missing_column():
    rng = _rng(10)
    reference = pl.DataFrame({"elo_diff": rng.normal(0, 100, N), "rest_days": rng.poisson(2, N),
                              "park_factor": rng.normal(1.0, 0.05, N)})
    current = pl.DataFrame({"elo_diff": rng.normal(0, 100, 2000), "rest_days": rng.poisson(2, 2000),
                            "park_factor": rng.normal(1.025, 0.05, 2000)})  # +0.5 sd
    out = d.feature_drift(reference, current, ["elo_diff", "rest_days", "park_factor"])
    assert out.columns == ["feature", "psi", "status", "n_reference", "n_current"]
    assert out["feature"].to_list() == ["elo_diff", "rest_days", "park_factor"]
    assert out["status"].to_list() == ["ok", "ok", "critical"]
    assert out["n_reference"].to_list() == [N] * 3 and out["n_current"].to_list() == [2000] * 3
    assert out["psi"][2] == pytest.approx(d.psi(reference["park_factor"], current["park_factor"]).psi)
    with pytest.raises(ValueError, match="'bullpen_rest'.*current"):
        d.feature_drift(reference.with_columns(pl.lit(1).alias("bullpen_rest")), current,
                        ["elo_diff", "bullpen_rest"])
    with pytest.raises(ValueError, match="'park_factor'.*reference"):
        d.feature_drift(reference.drop("park_factor"), current, ["park_factor"])


@pytest.mark.parametrize("rate,status", [
    (0.0, "ok"), (0.0004, "warning"), (0.01, "warning"), (0.0101, "critical"), (1.0, "critical"),
])
def test_missing_status_thresholds(rate, status):
    assert d.missing_status(rate) == status


def test_missing_values_counts_null_nan_and_infinite_per_feature():
    # 2,000 served games; the starters' Elo feed sends nulls for 60, a NaN and an infinity for two more
    elo = _rng(19).normal(0.0, 0.3, 2000).tolist()
    elo[:62] = [None] * 60 + [math.nan, math.inf]
    served = pl.DataFrame({"logit_elo_pitcher": pl.Series(elo, dtype=pl.Float64),
                           "rest_days": _rng(20).poisson(2, 2000).astype(float),
                           "weekend": [None] * 3 + [1.0] * 1997})
    out = d.missing_values(served, ["logit_elo_pitcher", "rest_days", "weekend"])
    assert out.rows() == [("logit_elo_pitcher", 62 / 2000, "critical", 62, 2000),
                          ("rest_days", 0.0, "ok", 0, 2000),
                          ("weekend", 3 / 2000, "warning", 3, 2000)]
    with pytest.raises(ValueError, match="'park_factor'"):
        d.missing_values(served, ["park_factor"])
    report = d.drift_report("mlb_home_win", 1, served=served, features=["logit_elo_pitcher", "weekend"])
    assert report.select("check", "feature", "status", "n_current").rows() == [
        ("missing", "logit_elo_pitcher", "critical", 2000), ("missing", "weekend", "warning", 2000)]
    assert report["threshold"].to_list() == [d.MISSING_CRITICAL] * 2
    assert report["n_reference"].null_count() == 2 and report["p_value"].null_count() == 2
    # critical, but a broken feed: named as such, no retrain (see the feed-problem test below)
    assert d.needs_retrain(report) == (False, [])
    assert d.feed_problems(report) == ["feature 'logit_elo_pitcher' is null/NaN/infinite in 3.1% of the served rows "
                                       "> 1% (n_current 2000): the model could not score them"]
    with pytest.raises(ValueError, match="missing check needs"):
        d.drift_report("m", 1, served=served)


def test_latest_window_is_window_days_ending_at_the_latest_date():
    days = [dt.date(2009, 9, 22), dt.date(2009, 9, 23), dt.date(2009, 10, 6), dt.date(2009, 10, 6)]
    assert d.latest_window(days, 14).tolist() == [False, True, True, True]   # 10-06 minus 14 days is out
    assert d.latest_window(pl.Series(days).cast(pl.Datetime("us")), 1).tolist() == [False, False, True, True]
    with pytest.raises(ValueError, match="window_days"):
        d.latest_window(days, 0)
    with pytest.raises(ValueError, match="empty"):
        d.latest_window(pl.Series([], dtype=pl.Date))


def test_missing_values_of_dated_rows_count_the_latest_window_only():
    # a season of 162 days, 15 games a day (2,430): the starters' Elo feed broke for the last 20 games, the
    # rest-days feed for 30 games in April (since fixed)
    dates = [dt.date(2009, 4, 6) + dt.timedelta(days=i // 15) for i in range(2430)]
    elo = _rng(21).normal(0.0, 0.3, 2430).tolist()
    elo[-20:] = [None] * 20
    rest = _rng(22).poisson(2, 2430).astype(float)
    rest[100:130] = math.nan
    served = pl.DataFrame({"date": dates, "logit_elo_pitcher": pl.Series(elo, dtype=pl.Float64), "rest_days": rest})
    features = ["logit_elo_pitcher", "rest_days"]
    # over the whole season the break is diluted under 1%: a mere warning
    assert d.missing_values(served.drop("date"), features).rows() == [
        ("logit_elo_pitcher", 20 / 2430, "warning", 20, 2430), ("rest_days", 30 / 2430, "critical", 30, 2430)]
    # the latest 14 days (210 games): 20 of them unscorable is critical; April's fixed break no longer counts
    assert d.missing_values(served, features).rows() == [
        ("logit_elo_pitcher", 20 / 210, "critical", 20, 210), ("rest_days", 0.0, "ok", 0, 210)]
    assert d.missing_values(served, features, window_days=7)["n_current"].to_list() == [105, 105]
    report = d.drift_report("mlb_home_win", 1, served=served, features=features, window_days=7)
    assert report.select("feature", "value", "status", "n_current").rows() == [
        ("logit_elo_pitcher", 20 / 105, "critical", 105), ("rest_days", 0.0, "ok", 105)]


# --------------------------------------------------------------------------------------
# prediction drift


def test_prediction_drift_ks():
    ref = _sigmoid(_rng(11).normal(0.1, 0.6, N))
    same = d.prediction_drift(ref, _sigmoid(_rng(12).normal(0.1, 0.6, 2000)))
    assert same["status"] == "ok" and same["p_value"] >= 0.01
    shifted = d.prediction_drift(ref, _sigmoid(_rng(13).normal(0.4, 0.6, 2000)))
    assert shifted["status"] == "critical"
    assert shifted["p_value"] < 1e-6
    assert shifted["statistic"] > same["statistic"]
    assert shifted["n_reference"] == N and shifted["n_current"] == 2000
    expected = stats.ks_2samp(ref, _sigmoid(_rng(13).normal(0.4, 0.6, 2000)))
    assert shifted["statistic"] == pytest.approx(expected.statistic)
    with pytest.raises(ValueError, match="probabilities"):
        d.prediction_drift(ref, [0.5, 1.2])


# --------------------------------------------------------------------------------------
# concept drift


START = dt.date(2024, 2, 16)


def _season(days: int, per_day: int, seed: int, degrade_from: int | None = None, degrade_to: int | None = None):
    """A season of games: true home-win chance q, outcome y ~ q, and a calibrated forecast p = q.
    On days in [degrade_from, degrade_to) the forecast is replaced by a noisy one."""
    rng = _rng(seed)
    n = days * per_day
    day = np.repeat(np.arange(days), per_day)
    z = rng.normal(0.2, 0.8, n)
    q = _sigmoid(z)
    y = (rng.uniform(size=n) < q).astype(np.int64)
    p = q.copy()
    if degrade_from is not None:
        bad = (day >= degrade_from) & (day < (degrade_to if degrade_to is not None else days))
        p[bad] = _sigmoid(z[bad] + rng.normal(0.0, 1.5, bad.sum()))
    dates = [START + dt.timedelta(days=int(k)) for k in day]
    return p, y, dates, day


def _reference_scores() -> tuple[float, float]:
    """The training evaluation: the calibrated forecaster scored on a large separate sample."""
    p, y, _, _ = _season(100, 200, seed=99)
    return metrics.brier(p, y), metrics.accuracy(p, y)


def test_concept_drift_window_and_values():
    p, y, dates, day = _season(60, 100, seed=20)
    ref_brier, ref_acc = _reference_scores()
    out = d.concept_drift(p, y, dates, ref_brier, ref_acc, window_days=14)
    assert out["metric"].to_list() == ["brier", "accuracy"]
    in_window = day >= 60 - 14  # last 14 calendar days, the last one included
    assert out["n"].to_list() == [int(in_window.sum())] * 2
    assert out["window_start"][0] == START + dt.timedelta(days=46)
    assert out["window_end"][0] == START + dt.timedelta(days=59)
    assert out["value"][0] == pytest.approx(metrics.brier(p[in_window], y[in_window]))
    assert out["value"][1] == pytest.approx(metrics.accuracy(p[in_window], y[in_window]))
    assert out["threshold"].to_list() == pytest.approx([ref_brier * 1.05, ref_acc * 0.95])
    assert out["status"].to_list() == ["ok", "ok"]


def test_concept_drift_flags_degraded_recent_games():
    ref_brier, ref_acc = _reference_scores()
    p, y, dates, _ = _season(60, 100, seed=21, degrade_from=50)
    out = d.concept_drift(p, y, dates, ref_brier, ref_acc)
    brier_row = out.row(0, named=True)
    assert brier_row["status"] == "critical"
    assert brier_row["value"] > ref_brier * 1.05
    assert brier_row["relative_drop"] > 0.05
    # The same degradation before the window does not alert: only recent games count.
    p2, y2, dates2, _ = _season(60, 100, seed=21, degrade_from=10, degrade_to=40)
    assert d.concept_drift(p2, y2, dates2, ref_brier, ref_acc)["status"].to_list() == ["ok", "ok"]


def test_concept_drift_accuracy_rule_is_relative():
    # A forecaster with reference accuracy 0.70 and a window accuracy of 0.66 has dropped by
    # 5.7% relative (> 5%): critical over 2,000 games (a binomial test puts chance far below 1%);
    # 0.67 is a 4.3% drop -> ok however many games.
    dates = [START] * 2000
    y = np.ones(2000, dtype=int)
    p66 = np.tile(np.r_[np.full(66, 0.6), np.full(34, 0.4)], 20)
    p67 = np.tile(np.r_[np.full(67, 0.6), np.full(33, 0.4)], 20)
    brier = metrics.brier(p66, y)
    out = d.concept_drift(p66, y, dates, brier, 0.70)
    assert out["status"].to_list() == ["ok", "critical"]
    assert out["p_value"][1] == pytest.approx(stats.binom.cdf(1320, 2000, 0.70))
    assert d.concept_drift(p67, y, dates, brier, 0.70)["status"].to_list() == ["ok", "ok"]


def test_concept_drift_a_short_unlucky_window_is_a_warning_not_a_retrain():
    """The same 0.66 against 0.70 over 100 games: past the 5% threshold, but 66 hits or fewer happen
    by chance 21% of the time at 0.70. That is a warning to watch, not a retrain; the Brier side
    follows the same rule with a z-test."""
    dates = [START] * 100
    y = np.ones(100, dtype=int)
    p66 = np.r_[np.full(66, 0.6), np.full(34, 0.4)]
    out = d.concept_drift(p66, y, dates, metrics.brier(p66, y), 0.70)
    assert out["status"].to_list() == ["ok", "warning"]
    assert out["p_value"][1] == pytest.approx(stats.binom.cdf(66, 100, 0.70))
    assert 0.1 < out["p_value"][1] < 0.3
    report = d.drift_report("m", 1, current_p=p66, current_y=y, current_dates=dates,
                            reference_brier=metrics.brier(p66, y), reference_accuracy=0.70)
    assert d.needs_retrain(report) == (False, [])

    # Brier: a calibrated forecaster scored on 150 games against a reference 6% better than its own
    # expected score is past the threshold by chance alone; the same gap over 3,000 games is not chance.
    rng = _rng(40)
    for n, expected in ((150, "warning"), (3000, "critical")):
        q = _sigmoid(rng.normal(0.2, 0.8, n))
        outcome = (rng.uniform(size=n) < q).astype(np.int64)
        window = metrics.brier(q, outcome)
        row = d.concept_drift(q, outcome, [START] * n, window / 1.06, 0.5).row(0, named=True)
        errors = (q - outcome) ** 2
        z = (window - window / 1.06) / (errors.std(ddof=1) / np.sqrt(n))
        assert row["p_value"] == pytest.approx(stats.norm.sf(z))
        assert row["status"] == expected, (n, row)
    # No spread in the errors: certain either way.
    same = np.full(40, 0.5)
    assert d.concept_drift(same, np.ones(40, dtype=int), [START] * 40, 0.2, 0.5)["p_value"][0] == 0.0
    with pytest.raises(ValueError, match="alpha"):
        d.concept_drift(same, np.ones(40, dtype=int), [START] * 40, 0.2, 0.5, alpha=1.5)


def test_concept_drift_validates():
    p, y, dates, _ = _season(20, 10, seed=22)
    with pytest.raises(ValueError, match="different lengths"):
        d.concept_drift(p, y, dates[:-1], 0.2, 0.6)
    with pytest.raises(ValueError, match="dates must be"):
        d.concept_drift(p, y, [str(x) for x in dates], 0.2, 0.6)
    with pytest.raises(ValueError, match="reference_brier"):
        d.concept_drift(p, y, dates, 0.0, 0.6)
    # datetimes are truncated to dates
    stamps = [dt.datetime.combine(x, dt.time(19, 5)) for x in dates]
    assert d.concept_drift(p, y, stamps, 0.2, 0.6).equals(d.concept_drift(p, y, dates, 0.2, 0.6))


# --------------------------------------------------------------------------------------
# report


def _monitoring_inputs(shift_feature: bool, degrade: bool):
    rng = _rng(30)
    reference = pl.DataFrame({"elo_diff": rng.normal(0, 100, N), "run_diff_l10": rng.normal(0, 2, N)})
    current = pl.DataFrame({"elo_diff": rng.normal(0, 100, 6000),
                            "run_diff_l10": rng.normal(1.0 if shift_feature else 0.0, 2, 6000)})
    ref_p, ref_y, _, _ = _season(100, 50, seed=31)
    cur_p, cur_y, cur_dates, _ = _season(60, 100, seed=32, degrade_from=50 if degrade else None)
    return dict(reference=reference, current=current, features=["elo_diff", "run_diff_l10"],
                reference_p=ref_p, current_p=cur_p, current_y=cur_y, current_dates=cur_dates,
                reference_brier=metrics.brier(ref_p, ref_y),
                reference_accuracy=metrics.accuracy(ref_p, ref_y))


def test_drift_report_stable_stream_needs_no_retrain():
    stamp = dt.datetime(2024, 4, 16, 6, 0, tzinfo=dt.timezone.utc)
    report = d.drift_report("ncaa_baseball_home_win", 3, computed_at=stamp,
                            **_monitoring_inputs(shift_feature=False, degrade=False))
    assert report.columns == list(d.REPORT_SCHEMA)
    assert report.schema == pl.Schema(d.REPORT_SCHEMA)
    assert report["check"].to_list() == ["psi", "psi", "ks_prediction", "concept_brier", "concept_accuracy"]
    assert report["feature"].to_list() == ["elo_diff", "run_diff_l10", None, None, None]
    assert set(report["model_key"]) == {"ncaa_baseball_home_win"} and set(report["model_version"]) == {"3"}
    assert set(report["computed_at"]) == {stamp}
    assert report["status"].to_list() == ["ok"] * 5
    assert report.filter(pl.col("check") == "psi")["threshold"].to_list() == [d.PSI_CRITICAL] * 2
    assert report.filter(pl.col("check") == "ks_prediction")["threshold"].to_list() == [d.DEFAULT_KS_ALPHA]
    assert report.filter(pl.col("check").str.starts_with("concept"))["n_reference"].null_count() == 2
    assert report["p_value"].is_null().to_list() == [True, True, False, False, False]
    assert report.filter(pl.col("check") == "ks_prediction")["p_value"].to_list() == \
        report.filter(pl.col("check") == "ks_prediction")["value"].to_list()
    assert d.needs_retrain(report) == (False, [])


def test_drift_report_shifted_feature_and_degraded_model_need_retrain():
    report = d.drift_report("ncaa_baseball_home_win", "4",
                            **_monitoring_inputs(shift_feature=True, degrade=True))
    status = dict(zip(zip(report["check"], report["feature"]), report["status"]))
    assert status[("psi", "run_diff_l10")] == "critical"
    assert status[("psi", "elo_diff")] == "ok"
    assert status[("ks_prediction", None)] == "critical"  # the noisy forecasts spread out
    assert status[("concept_brier", None)] == "critical"
    retrain, reasons = d.needs_retrain(report)
    assert retrain
    assert len(reasons) == int((report["status"] == "critical").sum())
    assert any("'run_diff_l10'" in r for r in reasons)
    assert any(r.startswith("brier over the latest window") for r in reasons)


def test_drift_report_runs_only_checks_with_inputs():
    inputs = _monitoring_inputs(shift_feature=False, degrade=False)
    only_psi = d.drift_report("m", 1, reference=inputs["reference"], current=inputs["current"],
                              features=["elo_diff"])
    assert only_psi["check"].to_list() == ["psi"]
    only_ks = d.drift_report("m", 1, reference_p=inputs["reference_p"], current_p=inputs["current_p"])
    assert only_ks["check"].to_list() == ["ks_prediction"]
    assert d.drift_report("m", 1).height == 0
    with pytest.raises(ValueError, match="psi check needs"):
        d.drift_report("m", 1, reference=inputs["reference"], features=["elo_diff"])
    with pytest.raises(ValueError, match="concept check needs"):
        d.drift_report("m", 1, current_p=inputs["current_p"], current_y=inputs["current_y"])


def test_a_critical_missing_row_is_a_feed_problem_not_a_retrain():
    # a retrain on the same broken feed reproduces the same model: only the psi finding asks for one
    report = pl.DataFrame({"check": ["missing", "missing", "psi", "psi"],
                           "feature": ["logit_elo_pitcher", "rest_days", "elo_diff", "rest_days"],
                           "value": [0.12, 0.005, 0.31, 0.15], "threshold": [0.01, 0.01, 0.2, 0.2],
                           "status": ["critical", "warning", "critical", "warning"],
                           "n_reference": [None, None, 800, 800], "n_current": [166] * 4})
    feed_only = report.filter(pl.col("check") == "missing")
    assert d.needs_retrain(feed_only) == (False, [])
    assert d.feed_problems(feed_only) == ["feature 'logit_elo_pitcher' is null/NaN/infinite in 12.0% of the served "
                                          "rows > 1% (n_current 166): the model could not score them"]
    retrain, reasons = d.needs_retrain(report)
    assert retrain and len(reasons) == 1 and reasons[0].startswith("psi of feature 'elo_diff' is 0.3100")
    assert d.feed_problems(report) == d.feed_problems(feed_only)
    assert d.retrain_findings(report)["feature"].to_list() == ["elo_diff"]
    assert d.feed_findings(report)["feature"].to_list() == ["logit_elo_pitcher"]


def test_needs_retrain_warning_alone_is_not_enough():
    report = pl.DataFrame({"check": ["psi"], "feature": ["x"], "value": [0.15],
                           "threshold": [0.2], "status": ["warning"]})
    assert d.needs_retrain(report) == (False, [])


def test_psi_value_for_a_value_training_never_saw():
    """series_day 1/2/3 in training (40/35/25%), served 1/2/4 (40/35/-/25%). Shares are floored at 1e-4 on
    both sides: PSI = 2 x (0.25 - 1e-4) x ln(0.25 / 1e-4) = 3.9102."""
    result = d.psi(np.repeat([1.0, 2.0, 3.0], [400, 350, 250]), np.repeat([1.0, 2.0, 4.0], [400, 350, 250]))
    assert result.psi == pytest.approx(2 * (0.25 - 1e-4) * math.log(0.25 / 1e-4), rel=1e-9)


def test_concept_drift_exactly_at_the_threshold_is_ok():
    """Reference Brier 0.125 and accuracy 1.0, max_drop 0.5 / 0.25 -> thresholds 0.1875 and 0.75, both exact
    in binary. Window: p 0.75 x 4, y 1, 1, 1, 0: Brier (3 x 0.0625 + 0.5625) / 4 = 0.1875, accuracy 3 / 4 =
    0.75. As the docstring says, exactly at the threshold is ok."""
    day = dt.date(2024, 5, 1)
    out = d.concept_drift([0.75] * 4, [1, 1, 1, 0], [day] * 4, 0.125, 1.0, max_drop=0.5)
    assert out["threshold"][0] == 0.1875 and out["value"][0] == 0.1875
    assert out["status"][0] == "ok"
    out = d.concept_drift([0.75] * 4, [1, 1, 1, 0], [day] * 4, 0.125, 1.0, max_drop=0.25)
    assert out["threshold"][1] == 0.75 and out["value"][1] == 0.75 and out["status"][1] == "ok"


def test_missing_values_of_an_empty_dated_frame_count_nothing():
    """Before a model has served a game its served rows are empty, date column included: every feature reads 0 of
    0 rows missing ("ok"), as for an empty frame without dates, rather than failing on an empty latest window."""
    served = pl.DataFrame(schema={"date": pl.Date, "logit_elo_pitcher": pl.Float64})
    assert d.missing_values(served, ["logit_elo_pitcher"]).rows() == [("logit_elo_pitcher", 0.0, "ok", 0, 0)]


def test_prediction_drift_p_value_equal_to_alpha_is_ok():
    """Critical only when the KS p-value is below alpha. Two forecasts a side, both current ones above both
    reference ones: D = 1, and the exact two-sided p-value is 2 / C(4, 2) = 1/3 (2 of the 6 ways to split four
    values two and two are that far apart). At alpha 1/3 that is ok; at 0.34 critical."""
    at_alpha = d.prediction_drift([0.1, 0.2], [0.8, 0.9], alpha=1 / 3)
    assert at_alpha["statistic"] == 1.0 and at_alpha["p_value"] == pytest.approx(1 / 3, abs=1e-15)
    assert at_alpha["status"] == "ok"
    assert d.prediction_drift([0.1, 0.2], [0.8, 0.9], alpha=0.34)["status"] == "critical"


def test_prediction_drift_takes_certain_forecasts_and_refuses_an_alpha_outside_0_1():
    """Forecasts are probabilities in [0, 1], both ends included; alpha must lie strictly between 0 and 1 (at 0
    nothing could ever be critical, at 1 everything would be)."""
    same = d.prediction_drift([0.0, 0.5, 1.0], [0.0, 0.5, 1.0])
    assert same["statistic"] == 0.0 and same["status"] == "ok"
    for alpha in (0.0, 1.0):
        with pytest.raises(ValueError, match="alpha must be in"):
            d.prediction_drift([0.2, 0.5], [0.3, 0.6], alpha=alpha)


def test_drift_report_ks_row_counts_each_side():
    """5 reference and 3 current forecasts: the ks_prediction row says so, each in its own column."""
    report = d.drift_report("m", 1, reference_p=[0.2, 0.4, 0.5, 0.6, 0.7], current_p=[0.3, 0.5, 0.8])
    assert report.select("n_reference", "n_current").row(0) == (5, 3)


def test_drift_report_refuses_current_p_with_nothing_to_judge_it_by():
    """current_p alone is neither check's full input: an error, not a report that silently checks nothing."""
    with pytest.raises(ValueError, match="current_p is given but neither reference_p"):
        d.drift_report("m", 1, current_p=[0.3, 0.5, 0.8])


def test_a_ks_finding_names_its_p_value_alpha_and_sizes():
    """2 reference and 3 current forecasts, every current one above every reference one: D = 1 and the exact
    p-value is 2 / C(5, 2) = 0.2, below alpha 0.5. The retrain reason says so, each size in its place."""
    report = d.drift_report("m", 1, reference_p=[0.1, 0.2], current_p=[0.8, 0.85, 0.9], alpha=0.5)
    assert d.needs_retrain(report) == (True, [
        "prediction distribution shifted: KS p-value 0.2 < alpha 0.5 (n_reference 2, n_current 3)"])


def test_findings_of_a_table_that_is_no_drift_report_are_refused():
    """A table without the report's check/status columns is named as such, not read as having no findings."""
    for reader in (d.retrain_findings, d.feed_findings, d.needs_retrain):
        with pytest.raises(ValueError, match=r"not a drift report: columns \['check', 'status'\] missing"):
            reader(pl.DataFrame({"feature": ["x"], "value": [0.3], "threshold": [0.2]}))
