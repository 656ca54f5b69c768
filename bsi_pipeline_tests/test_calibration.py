"""bsi_pipeline.models.calibration: the fitters, the cross-validated choice and the acceptance
rule, on synthetic forecasts whose true probabilities are known."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import TimeSeriesSplit

from bsi_pipeline import metrics
from bsi_pipeline.models import calibration as cal

N = 5000


def _sample(seed: int, n: int = N, sharpen: float = 2.0):
    """True probabilities with logit ~ N(0, 1.2), outcomes drawn from them, and an
    overconfident forecast p_raw = sigmoid(sharpen * logit(p_true))."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.2, n)
    p_true = cal.sigmoid(z)
    y = (rng.uniform(size=n) < p_true).astype(np.int64)
    return cal.sigmoid(sharpen * z), p_true, y


@pytest.fixture(scope="module")
def fit_set():
    return _sample(11)


@pytest.fixture(scope="module")
def test_set():
    return _sample(12)


def _plain(params: dict) -> None:
    """Every number a Python float and the dict survives a JSON round trip unchanged."""
    for key, value in params.items():
        if key == "method":
            assert isinstance(value, str)
        elif isinstance(value, list):
            assert all(type(v) is float for v in value)
        else:
            assert type(value) is float, (key, type(value))
    assert json.loads(json.dumps(params)) == params


@pytest.mark.parametrize("fitter", [cal.fit_platt, cal.fit_temperature, cal.fit_isotonic])
def test_each_calibrator_beats_identity_on_held_out_data(fitter, fit_set, test_set):
    p_fit, _, y_fit = fit_set
    p_test, p_true_test, y_test = test_set
    params = fitter(p_fit, y_fit)
    _plain(params)
    raw = metrics.log_loss(p_test, y_test)
    calibrated = metrics.log_loss(cal.apply_calibration(params, p_test), y_test)
    oracle = metrics.log_loss(p_true_test, y_test)
    assert calibrated < raw - 0.03
    # ... and lands close to what the true probabilities score.
    assert calibrated < oracle + 0.01
    # Round-tripped through JSON, the params score the same.
    again = cal.apply_calibration(json.loads(json.dumps(params)), p_test)
    np.testing.assert_array_equal(again, cal.apply_calibration(params, p_test))


def test_temperature_recovers_the_sharpening(fit_set):
    p_raw, _, y = fit_set
    params = cal.fit_temperature(p_raw, y)
    assert params["method"] == "temperature"
    assert params["t"] == pytest.approx(2.0, abs=0.15)


def test_temperature_is_the_log_loss_minimizer(fit_set):
    p_raw, _, y = fit_set
    t = cal.fit_temperature(p_raw, y)["t"]

    def loss(tt):
        return metrics.log_loss(cal.apply_calibration({"method": "temperature", "t": tt}, p_raw), y)

    best = loss(t)
    for tt in (t * 0.98, t * 1.02, t / 2, t * 2, 1.0):
        assert loss(tt) > best


def test_temperature_follows_the_data_not_a_constant():
    # An underconfident forecast needs t < 1.
    p_raw, _, y = _sample(5, sharpen=0.5)
    assert cal.fit_temperature(p_raw, y)["t"] == pytest.approx(0.5, abs=0.05)


def test_platt_recovers_slope_and_matches_sklearn(fit_set):
    p_raw, _, y = fit_set
    params = cal.fit_platt(p_raw, y)
    assert params["a"] == pytest.approx(0.5, abs=0.05)
    assert params["b"] == pytest.approx(0.0, abs=0.1)
    ref = LogisticRegression(C=1e12, tol=1e-10, max_iter=1000).fit(cal.logit(p_raw)[:, None], y)
    assert params["a"] == pytest.approx(ref.coef_[0, 0], abs=1e-4)
    assert params["b"] == pytest.approx(ref.intercept_[0], abs=1e-4)


def test_platt_recovers_a_shift():
    rng = np.random.default_rng(3)
    z = rng.normal(0.0, 1.0, N)
    y = (rng.uniform(size=N) < cal.sigmoid(z + 0.7)).astype(int)
    params = cal.fit_platt(cal.sigmoid(z), y)
    assert params["a"] == pytest.approx(1.0, abs=0.1)
    assert params["b"] == pytest.approx(0.7, abs=0.1)


def test_isotonic_reproduces_sklearn_predict(fit_set, test_set):
    p_raw, _, y = fit_set
    params = cal.fit_isotonic(p_raw, y)
    eps = cal.ISOTONIC_EPS
    ref = IsotonicRegression(out_of_bounds="clip", y_min=eps, y_max=1 - eps).fit(p_raw, y)
    probe = np.r_[test_set[0], 0.0, 1.0, p_raw.min() / 2, np.linspace(0, 1, 1001)]
    got = cal.apply_calibration(params, probe)
    np.testing.assert_allclose(got, ref.predict(probe), rtol=0, atol=1e-12)
    # The bounds only move predictions by about eps: same as clipping an unbounded fit.
    free = IsotonicRegression(out_of_bounds="clip").fit(p_raw, y)
    np.testing.assert_allclose(got, np.clip(free.predict(probe), eps, 1 - eps), rtol=0, atol=2 * eps)
    assert got.min() >= eps and got.max() <= 1 - eps
    assert np.all(np.diff(params["x"]) > 0)
    assert np.all(np.diff(params["y"]) >= 0)
    assert min(params["y"]) >= cal.ISOTONIC_EPS and max(params["y"]) <= 1 - cal.ISOTONIC_EPS
    # The clip keeps log loss finite even where the fit is 0 or 1 (the extreme steps).
    assert np.isfinite(metrics.log_loss(got, np.r_[test_set[2], 1, 0, 1, np.zeros(1001)], eps=0.0))


def test_compare_calibrators_table(fit_set):
    p_raw, _, y = fit_set
    table = cal.compare_calibrators(p_raw, y, folds=5)
    assert table["method"].to_list() == ["identity", "platt", "temperature", "isotonic"]
    assert table["error"].null_count() == table.height
    rows = {r["method"]: r for r in table.iter_rows(named=True)}
    # In-sample scores are the scores of the whole-slice fit.
    for method in ("platt", "temperature", "isotonic"):
        q = cal.apply_calibration(cal.fit_calibrator(method, p_raw, y), p_raw)
        assert rows[method]["log_loss"] == pytest.approx(metrics.log_loss(q, y), rel=1e-12)
        assert rows[method]["brier"] == pytest.approx(metrics.brier(q, y), rel=1e-12)
        assert rows[method]["ece"] == pytest.approx(metrics.ece(q, y), rel=1e-9, abs=1e-15)
    # Isotonic wins in-sample and pays for it out of fold; identity is not fitted at all.
    assert rows["isotonic"]["log_loss"] <= min(rows[m]["log_loss"] for m in rows)
    assert rows["isotonic"]["cv_log_loss"] > rows["isotonic"]["log_loss"]
    first = y.size - 5 * (y.size // 6)  # identity is not fitted: its cv scores are its raw scores on the scored rows
    assert rows["identity"]["cv_log_loss"] == pytest.approx(metrics.log_loss(p_raw[first:], y[first:]), rel=1e-12)
    for method in ("platt", "temperature", "isotonic"):
        assert rows[method]["cv_log_loss"] < rows["identity"]["cv_log_loss"] - 0.03


def test_cross_validation_is_forward_chaining(fit_set):
    p_raw, _, y = fit_set
    n = 1003  # not divisible by the blocks
    p_raw, y = p_raw[:n], y[:n]
    # Expanding window: block k (of folds + 1) is calibrated on blocks 0..k-1; block 0 is never scored.
    oof = np.full(n, np.nan)
    for train_idx, held in TimeSeriesSplit(n_splits=4).split(p_raw):
        oof[held] = cal.apply_calibration(cal.fit_temperature(p_raw[train_idx], y[train_idx]), p_raw[held])
    held = ~np.isnan(oof)
    table = cal.compare_calibrators(p_raw, y, folds=4)
    rows = {r["method"]: r for r in table.iter_rows(named=True)}
    assert rows["temperature"]["cv_rows"] == held.sum() == 4 * (n // 5)  # the first block takes the remainder
    assert rows["temperature"]["cv_log_loss"] == pytest.approx(metrics.log_loss(oof[held], y[held]), rel=1e-9)
    # Identity is scored on the same rows, so its cv scores compare with the fitted methods'.
    assert table["cv_rows"].to_list() == [held.sum()] * 4
    assert rows["identity"]["cv_log_loss"] == pytest.approx(metrics.log_loss(p_raw[held], y[held]), rel=1e-12)
    # The order matters: reversing the rows changes the folds (so the forward scores), not the in-sample fit.
    rev = cal.compare_calibrators(p_raw[::-1], y[::-1], folds=4)
    rrow = rev.filter(rev["method"] == "temperature").row(0, named=True)
    assert rrow["log_loss"] == pytest.approx(rows["temperature"]["log_loss"], rel=1e-9)
    assert rrow["cv_log_loss"] != rows["temperature"]["cv_log_loss"]


@pytest.mark.parametrize("method", ["platt", "temperature", "isotonic"])
def test_the_forward_scores_never_see_later_rows(fit_set, method):
    """Every row's out-of-fold calibrated probability depends only on earlier rows: relabel the latest
    block and nothing scored before it moves (contiguous k-fold moved the earliest block by up to 0.16)."""
    p_raw, _, y = fit_set
    p_raw, y = p_raw[:1200], y[:1200]
    pairs = cal.forward_folds(1200, 5)
    last = pairs[-1][1]
    relabelled = y.copy()
    relabelled[last] = 1
    before = cal._out_of_fold(method, p_raw, y, pairs)
    after = cal._out_of_fold(method, p_raw, relabelled, pairs)
    earlier = np.concatenate([held for _, held in pairs[:-1]])
    np.testing.assert_array_equal(before[earlier], after[earlier])
    np.testing.assert_array_equal(before[last], after[last])  # its calibrator is fitted on earlier rows
    assert np.isnan(before[: pairs[0][1][0]]).all()  # the first block is only ever fitted on


def test_forward_folds_never_split_a_date():
    # 40 game days of 1-3 games each (doubleheaders and slates), sorted by date.
    counts = np.random.default_rng(5).integers(1, 4, 40)
    dates = np.repeat(np.arange(40), counts).astype("datetime64[D]")
    pairs = cal.forward_folds(dates.size, 5, dates)
    assert len(pairs) >= 4
    for fit, held in pairs:
        assert dates[fit].max() < dates[held].min()
        assert fit.tolist() == list(range(held[0]))  # every earlier row, no gap
    with pytest.raises(ValueError, match="sorted by date"):
        cal.forward_folds(dates.size, 5, dates[::-1])
    with pytest.raises(ValueError, match="one date"):
        cal.forward_folds(20, 5, np.zeros(20, dtype="datetime64[D]"))
    with pytest.raises(ValueError, match="3 values for 20 rows"):
        cal.forward_folds(20, 5, dates[:3])


def test_selection_score_is_forward_in_time():
    """The model-choice score of training: relabelling the latest validation games cannot change how
    the earlier ones are scored, so the score moves only through the rows it changes."""
    from bsi_pipeline.models.training import selection_score
    p_raw, _, y = _sample(31, n=1200)
    dates = np.repeat(np.arange(600), 2).astype("datetime64[D]")
    base = selection_score("binary", y, p_raw, dates)
    table = cal.compare_calibrators(p_raw, y, dates=dates)
    assert base == table.filter(pl.col("method") != "identity")["cv_log_loss"].min()
    assert table["cv_rows"][0] == 1000  # the first of six blocks (200 rows) is only fitted on


def test_choose_calibrator_picks_the_lowest_cv_log_loss(fit_set):
    p_raw, _, y = fit_set
    params, table = cal.choose_calibrator(p_raw, y)
    assert table["chosen"].sum() == 1
    candidates = table.filter(table["method"] != "identity")
    best = candidates.sort("cv_log_loss").row(0, named=True)
    chosen = table.filter(table["chosen"]).row(0, named=True)
    assert chosen["method"] == best["method"] == params["method"]
    assert params == cal.fit_calibrator(params["method"], p_raw, y)  # fitted on the whole slice
    _plain(params)


def test_choose_calibrator_picks_isotonic_for_a_non_logistic_distortion():
    # Outcome rate is a step in p: no sigmoid of logit(p) can follow it, isotonic can.
    rng = np.random.default_rng(21)
    p_raw = rng.uniform(0.05, 0.95, N)
    y = (rng.uniform(size=N) < np.where(p_raw < 0.5, 0.15, 0.85)).astype(int)
    params, table = cal.choose_calibrator(p_raw, y)
    assert params["method"] == "isotonic"
    rows = {r["method"]: r for r in table.iter_rows(named=True)}
    assert rows["isotonic"]["cv_log_loss"] < rows["platt"]["cv_log_loss"]


def test_identity_is_never_chosen_even_when_best():
    p_true = _sample(8)[1]
    y = _sample(8)[2]
    params, table = cal.choose_calibrator(p_true, y)  # already calibrated
    assert params["method"] != "identity"
    assert not table.filter(table["method"] == "identity")["chosen"].item()


def test_acceptance_passes_a_calibrated_forecast(test_set):
    _, p_true, y = test_set
    result = cal.acceptance(p_true, y)
    assert result.passed, result.reasons
    assert result.reasons == []
    assert result.ece == pytest.approx(metrics.ece(p_true, y))
    assert result.worst_bin_gap is not None and result.worst_bin_gap <= 0.10
    bins = metrics.reliability_bins(p_true, y).filter(pl.col("count") >= 30)
    assert result.worst_bin_gap == pytest.approx(bins["gap"].abs().max())
    assert result.worst_bin == bins.sort(pl.col("gap").abs(), descending=True)["bin"][0]


def test_acceptance_fails_a_miscalibrated_forecast_with_reasons(test_set):
    p_raw, _, y = test_set
    result = cal.acceptance(p_raw, y)
    assert not result.passed
    assert result.ece == pytest.approx(metrics.ece(p_raw, y))
    assert result.reasons[0].startswith(f"ECE {result.ece:.4f} is not below 0.05")
    bins = metrics.reliability_bins(p_raw, y)
    bad = bins.filter((bins["count"] >= 30) & (bins["gap"].abs() > 0.10))
    assert bad.height >= 2
    bin_reasons = [r for r in result.reasons if r.startswith("reliability bin")]
    assert [int(r.split()[2]) for r in bin_reasons] == bad["bin"].to_list()
    worst = bins.filter(bins["bin"] == result.worst_bin).row(0, named=True)
    assert f"{worst['count']} samples" in "".join(result.reasons)
    assert f"off by {abs(worst['gap']):.4f} > 0.1" in "".join(result.reasons)


def test_acceptance_ece_rule_alone():
    # A constant +0.07 bias: every bin off by about 0.07 (under the 0.10 bin rule) but ECE ~0.07.
    rng = np.random.default_rng(4)
    p = rng.uniform(0.1, 0.85, 20000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    result = cal.acceptance(p + 0.07, y)
    assert not result.passed
    assert len(result.reasons) == 1 and result.reasons[0].startswith("ECE")
    assert result.worst_bin_gap < 0.10


def test_acceptance_ignores_thin_bins_unless_asked():
    rng = np.random.default_rng(6)
    p = rng.uniform(0.1, 0.9, 5000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    p = np.r_[p, np.full(20, 0.97)]
    y = np.r_[y, np.zeros(20, dtype=int)]  # 20 confident misses, all in bin 9
    assert cal.acceptance(p, y).passed
    strict = cal.acceptance(p, y, min_bin_count=10)
    assert not strict.passed
    assert strict.worst_bin == 9
    assert strict.worst_bin_gap == pytest.approx(0.97)
    assert strict.reasons == [
        "reliability bin 9 [0.9, 1] with 20 samples: observed rate 0.0000 vs mean forecast "
        "0.9700, off by 0.9700 > 0.1"
    ]


def test_acceptance_with_no_full_bin():
    result = cal.acceptance([0.2, 0.8, 0.4], [0, 1, 1], max_ece=0.5)
    assert result.passed and result.worst_bin is None and result.worst_bin_gap is None


BAD_INPUTS = [
    ([0.2, 0.4, 0.6], [1, 1, 1], "both outcomes"),
    ([0.2, np.nan, 0.6], [0, 1, 1], "NaN"),
    ([0.2, 1.4, 0.6], [0, 1, 1], r"\[0, 1\]"),
    ([0.2, 0.4], [0, 1, 1], "different lengths"),
    ([0.2, 0.4, 0.6], [0, 2, 1], "0/1"),
]


@pytest.mark.parametrize("p,y,match", BAD_INPUTS)
@pytest.mark.parametrize(
    "fn", [cal.fit_platt, cal.fit_temperature, cal.fit_isotonic, cal.compare_calibrators,
           cal.choose_calibrator],
)
def test_bad_input_raises(fn, p, y, match):
    with pytest.raises(ValueError, match=match):
        fn(p, y)


def test_acceptance_bad_input():
    with pytest.raises(ValueError, match="different lengths"):
        cal.acceptance([0.1, 0.2], [1])
    with pytest.raises(ValueError, match="NaN"):
        cal.acceptance([0.1, np.nan], [1, 0])


def test_folds_validation(fit_set):
    p_raw, _, y = fit_set
    with pytest.raises(ValueError, match="folds"):
        cal.compare_calibrators(p_raw, y, folds=1)
    with pytest.raises(ValueError, match="at least 10 rows"):
        cal.compare_calibrators(p_raw[:8], y[:8], folds=5)


def test_a_method_that_cannot_be_fitted_is_reported_not_chosen():
    # Outcomes perfectly separated by p: Platt's slope is infinite, the others still fit.
    p = np.r_[np.linspace(0.05, 0.45, 50), np.linspace(0.55, 0.95, 50)]
    y = np.r_[np.zeros(50, dtype=int), np.ones(50, dtype=int)]
    order = np.random.default_rng(0).permutation(100)  # both classes in every fold
    p, y = p[order], y[order]
    params, table = cal.choose_calibrator(p, y, folds=2)
    rows = {r["method"]: r for r in table.iter_rows(named=True)}
    assert "separated" in rows["platt"]["error"]
    assert rows["platt"]["cv_log_loss"] is None and not rows["platt"]["chosen"]
    assert params["method"] in ("temperature", "isotonic")
    with pytest.raises(ValueError, match="separated"):
        cal.fit_platt(p, y)


def test_a_fold_with_one_outcome_before_it_is_left_out():
    # A rare event with no positive in the first block: the first fold has nothing to calibrate on.
    rng = np.random.default_rng(3)
    p = rng.uniform(0.02, 0.3, 600)
    y = (rng.uniform(size=600) < p).astype(int)
    y[:100] = 0
    pairs = cal.forward_folds(600, 5)
    table = cal.compare_calibrators(p, y, folds=5)
    assert table["error"].null_count() == 4
    assert table["cv_rows"].to_list() == [sum(held.size for _, held in pairs[1:])] * 4


def test_no_fold_with_both_outcomes_before_it_is_named():
    # Every positive sits in the last block: no calibrator can be fitted forward in time.
    p = np.linspace(0.1, 0.9, 100)
    y = np.r_[np.zeros(90, dtype=int), np.array([1, 0] * 5)]
    table = cal.compare_calibrators(p, y, folds=5)
    for r in table.filter(pl.col("method") != "identity").iter_rows(named=True):
        assert r["error"] == "none of the 5 forward folds has both outcomes in the rows before it"
    with pytest.raises(ValueError, match="no calibrator could be fitted"):
        cal.choose_calibrator(p, y, folds=5)


def test_platt_apply_is_sigmoid_of_a_logit_plus_b():
    """a = 2, b = 0.5: p = 0.5 (logit 0) -> sigmoid(0.5) = 0.622459; p = sigmoid(1) -> sigmoid(2.5) =
    0.924142 (not a x (logit + b), which agrees only when a is 1 or b is 0)."""
    got = cal.apply_calibration({"method": "platt", "a": 2.0, "b": 0.5}, [0.5, 1 / (1 + math.exp(-1))])
    assert got == pytest.approx([0.6224593312, 0.9241418200], abs=1e-9)


def test_acceptance_bin_rule_counts_a_bin_of_exactly_min_bin_count():
    """'a bin holding at least min_bin_count samples': 30 confident misses in bin 9 fail the rule."""
    rng = np.random.default_rng(6)
    p = rng.uniform(0.1, 0.85, 20000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    result = cal.acceptance(np.r_[p, np.full(30, 0.97)], np.r_[y, np.zeros(30, dtype=int)])
    assert not result.passed and result.worst_bin == 9


def test_acceptance_ece_equal_to_the_limit_fails():
    """The rule is ECE < max_ece: p 0.5, 0.5 for two wins is ECE 0.5 exactly, not below 0.5."""
    assert not cal.acceptance([0.5, 0.5], [1, 1], max_ece=0.5).passed


def test_acceptance_bin_gap_equal_to_the_limit_passes():
    """The bin rule fails a bin only when |observed - predicted| > max_bin_gap: 40 forecasts of 0.75 with 25
    wins observe 0.625, a gap of exactly 0.125 (all exact in binary), which passes at max_bin_gap 0.125."""
    p, y = [0.75] * 40, [1] * 25 + [0] * 15
    at_limit = cal.acceptance(p, y, max_ece=1.0, max_bin_gap=0.125)
    assert at_limit.passed and at_limit.worst_bin == 7 and at_limit.worst_bin_gap == 0.125
    assert not cal.acceptance(p, y, max_ece=1.0, max_bin_gap=0.12).passed


def test_isotonic_never_turns_a_forecast_around():
    """Outcomes that fall as p rises (the 50 lowest forecasts won, the 50 highest lost): a non-decreasing fit can
    only pool them all, to the mean 0.5; it never learns to forecast low for a high p."""
    p = np.linspace(0.1, 0.9, 100)
    params = cal.fit_isotonic(p, (p < 0.5).astype(int))
    assert cal.apply_calibration(params, [0.1, 0.5, 0.9]) == pytest.approx([0.5, 0.5, 0.5])


def test_acceptance_ece_uses_n_bins():
    """p 0.2, 0.4, 0.6, 0.8 with outcomes 0, 1, 0, 1. In 2 bins: |0.3 - 0.5| and |0.7 - 0.5|, ECE 0.2; in the
    default 10 bins every forecast has its own bin and ECE is (0.2 + 0.6 + 0.6 + 0.2) / 4 = 0.4."""
    p, y = [0.2, 0.4, 0.6, 0.8], [0, 1, 0, 1]
    assert cal.acceptance(p, y, n_bins=2).ece == pytest.approx(0.2)
    assert cal.acceptance(p, y).ece == pytest.approx(0.4)


def test_the_worst_bin_of_two_equally_far_off_is_the_lower():
    """Bin 2 (forecast 0.25, observed 0.375) and bin 7 (0.75, observed 0.625) are both 0.125 off, exactly."""
    p = np.repeat([0.25, 0.75], 40)
    y = np.concatenate([np.repeat([1.0, 0.0], [15, 25]), np.repeat([1.0, 0.0], [25, 15])])
    result = cal.acceptance(p, y, max_ece=1.0, max_bin_gap=0.2)
    assert (result.worst_bin, result.worst_bin_gap, result.passed) == (2, 0.125, True)
    assert cal.acceptance(p[::-1], y[::-1], max_ece=1.0, max_bin_gap=0.2).worst_bin == 2


def test_an_exact_tie_in_cv_log_loss_goes_to_the_simpler_method(monkeypatch, fit_set):
    """platt, temperature, isotonic in that order: the earlier of two equal scores wins; identity never does."""
    p, _, y = fit_set
    table, params = cal._compare(p, y, 5, None)

    def tied(winners: tuple[str, ...]):
        scores = {m: (0.5 if m in winners else 0.6) for m in cal.CALIBRATION_METHODS}
        return lambda *args: (table.with_columns(cv_log_loss=pl.col("method").replace_strict(scores)), params)

    for winners, chosen in ((("temperature", "isotonic"), "temperature"), (("platt", "isotonic"), "platt"),
                            (("identity", "isotonic"), "isotonic")):
        monkeypatch.setattr(cal, "_compare", tied(winners))
        got, choice = cal.choose_calibrator(p, y)
        assert choice.filter("chosen")["method"].to_list() == [chosen] and got == params[chosen]
