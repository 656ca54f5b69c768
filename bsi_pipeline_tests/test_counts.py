"""bsi_pipeline.models.counts: P(over a line) against direct sums, and the dispersion fit on
simulated strikeout-like counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from bsi_pipeline.models import counts


def _poisson_over(mu: float, line: float) -> float:
    """1 - sum_{k <= line} e^-mu mu^k / k!, term by term."""
    below = sum(math.exp(-mu) * mu**k / math.factorial(k) for k in range(0, math.floor(line) + 1))
    return 1.0 - below


def _nb_pmf(k: int, mu: float, alpha: float) -> float:
    r = 1.0 / alpha
    return math.exp(math.lgamma(k + r) - math.lgamma(r) - math.lgamma(k + 1)
                    + r * math.log(r / (r + mu)) + k * math.log(mu / (r + mu)))


def _nb_sample(rng, mu, alpha):
    """NB2 as a gamma-Poisson mixture: Var = mu + alpha mu^2."""
    return rng.poisson(rng.gamma(1.0 / alpha, alpha * mu))


MEANS = [0.3, 2.0, 4.7, 5.5, 9.1]


@pytest.mark.parametrize("line", [4.5, 4.0, 5.0, 0.5, 0.0, 7.5, -0.5])
def test_prob_over_poisson_matches_direct_sums(line):
    got = counts.prob_over(MEANS, line, 0.0)
    expected = [_poisson_over(mu, line) if line >= 0 else 1.0 for mu in MEANS]
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("alpha", [0.05, 0.4])
@pytest.mark.parametrize("line", [4.5, 6.0, 0.5])
def test_prob_over_negative_binomial_matches_direct_sums(alpha, line):
    got = counts.prob_over(MEANS, line, alpha)
    expected = [1.0 - sum(_nb_pmf(k, mu, alpha) for k in range(math.floor(line) + 1)) for mu in MEANS]
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-14)
    # Over-dispersion fattens the tails: more mass far above a mean below the line.
    assert counts.prob_over([2.0], 6.5, alpha)[0] > counts.prob_over([2.0], 6.5, 0.0)[0]


def test_integer_lines_are_strictly_over():
    mu = np.array([3.0, 5.0, 7.0])
    np.testing.assert_array_equal(counts.prob_over(mu, 5, 0.0), counts.prob_over(mu, 5.5, 0.0))
    assert np.all(counts.prob_over(mu, 5, 0.0) < counts.prob_over(mu, 4.5, 0.0))
    # P(Y > 5) = P(Y >= 5) - P(Y = 5)
    np.testing.assert_allclose(
        counts.prob_over(mu, 5, 0.2),
        counts.prob_over(mu, 4.5, 0.2) - [_nb_pmf(5, m, 0.2) for m in mu], rtol=1e-10)


def test_per_row_lines_and_monotone_in_mean():
    mu = np.linspace(1, 10, 50)
    lines = np.where(np.arange(50) % 2, 4.5, 6.5)
    got = counts.prob_over(mu, lines, 0.1)
    np.testing.assert_allclose(got[::2], counts.prob_over(mu[::2], 6.5, 0.1))
    np.testing.assert_allclose(got[1::2], counts.prob_over(mu[1::2], 4.5, 0.1))
    assert np.all(np.diff(counts.prob_over(mu, 4.5, 0.1)) > 0)


def test_mean_floor():
    got = counts.prob_over([0.0, -2.0], 0.5, 0.0)
    np.testing.assert_allclose(got, 1 - math.exp(-counts.MEAN_FLOOR), rtol=1e-9)
    assert np.all(np.isfinite(counts.prob_over([0.0], 0.5, 0.3)))


def test_prob_over_is_calibrated_on_simulated_starts():
    rng = np.random.default_rng(10)
    mu = rng.uniform(3.0, 8.0, 20000)
    y = _nb_sample(rng, mu, 0.3)
    for line in (3.5, 5.5, 7.5):
        p = counts.prob_over(mu, line, 0.3)
        assert p.mean() == pytest.approx((y > line).mean(), abs=0.01)
    # Poisson understates the spread, so it is too low on a line far above the means.
    assert counts.prob_over(mu, 9.5, 0.0).mean() < (y > 9.5).mean() - 0.02


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.6])
def test_nb_log_likelihood_matches_scipy(alpha):
    rng = np.random.default_rng(11)
    mu = rng.uniform(2.0, 9.0, 500)
    y = rng.poisson(mu)
    got = counts.nb_log_likelihood(mu, y, alpha)
    if alpha == 0:
        expected = stats.poisson.logpmf(y, mu).sum()
    else:
        r = 1.0 / alpha
        expected = stats.nbinom.logpmf(y, r, r / (r + mu)).sum()
    assert got == pytest.approx(expected, rel=1e-10)
    # Continuous at alpha -> 0, where the gamma-function form would lose precision.
    assert counts.nb_log_likelihood(mu, y, 1e-9) == pytest.approx(
        counts.nb_log_likelihood(mu, y, 0.0), abs=1e-4)


@pytest.mark.parametrize("alpha", [0.05, 0.3])
def test_fit_dispersion_recovers_alpha(alpha):
    rng = np.random.default_rng(12)
    mu = rng.uniform(3.0, 8.0, 5000)
    y = _nb_sample(rng, mu, alpha)
    fitted = counts.fit_dispersion(mu, y)
    assert fitted == pytest.approx(alpha, abs=0.3 * alpha)
    # It is the maximum: nearby alphas fit worse.
    ll = counts.nb_log_likelihood(mu, y, fitted)
    assert ll > counts.nb_log_likelihood(mu, y, fitted * 0.9)
    assert ll > counts.nb_log_likelihood(mu, y, fitted * 1.1)
    assert ll > counts.nb_log_likelihood(mu, y, 0.0)


def test_fit_dispersion_says_poisson_for_poisson_data():
    rng = np.random.default_rng(13)
    mu = rng.uniform(3.0, 8.0, 5000)
    assert counts.fit_dispersion(mu, rng.poisson(mu)) == 0.0
    # The 5% test: over many Poisson samples, a spurious alpha about 1 time in 20.
    spurious = 0
    for seed in range(100):
        r = np.random.default_rng(1000 + seed)
        m = r.uniform(3.0, 8.0, 1000)
        spurious += counts.fit_dispersion(m, r.poisson(m)) > 0
    assert spurious <= 12
    # Without the test, the raw MLE is positive about half the time.
    raw = sum(counts.fit_dispersion(mu, np.random.default_rng(2000 + seed).poisson(mu), significance=None) > 0
              for seed in range(40))
    assert 8 <= raw <= 32


def test_the_dispersion_test_is_the_boundary_test_at_5pct():
    """Under Poisson the LR statistic is 0.5 chi2(0) + 0.5 chi2(1): the 5% critical value is chi2(1)'s 90% point,
    2.706, not its 95% point, 3.841. These 300 simulated starts give LR = 3.44 (computed here with scipy's NB2
    likelihood): over-dispersion at 5%, so alpha is the MLE (0.027), not 0."""
    rng = np.random.default_rng(9)
    mu = rng.uniform(3, 8, 300)
    y = _nb_sample(rng, mu, 0.03)

    def nb(la):
        r = 1 / math.exp(la)
        return -stats.nbinom.logpmf(y, r, r / (r + mu)).sum()

    best = optimize.minimize_scalar(nb, bounds=(math.log(1e-8), math.log(100)), method="bounded",
                                    options={"xatol": 1e-10})
    lr = 2 * (-best.fun - stats.poisson.logpmf(y, mu).sum())
    assert stats.chi2.ppf(0.90, 1) < lr < stats.chi2.ppf(0.95, 1)
    assert counts.fit_dispersion(mu, y) == pytest.approx(math.exp(best.x), rel=1e-3)


def test_fit_dispersion_under_dispersed_is_poisson():
    rng = np.random.default_rng(14)
    y = rng.binomial(10, 0.5, 3000)  # variance 2.5 < mean 5
    assert counts.fit_dispersion(np.full(3000, 5.0), y) == 0.0


def test_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        counts.prob_over([1.0, np.nan], 4.5, 0.0)
    with pytest.raises(ValueError, match="line"):
        counts.prob_over([1.0, 2.0], [4.5, np.nan], 0.0)
    with pytest.raises(ValueError, match="scalar or one per mean"):
        counts.prob_over([1.0, 2.0, 3.0], [4.5, 5.5], 0.0)
    with pytest.raises(ValueError, match="dispersion"):
        counts.prob_over([1.0], 4.5, -0.1)
    with pytest.raises(ValueError, match="dispersion"):
        counts.prob_over([1.0], 4.5, np.nan)
    with pytest.raises(ValueError, match="whole-number"):
        counts.fit_dispersion([1.0, 2.0], [1.5, 2.0])
    with pytest.raises(ValueError, match="whole-number"):
        counts.fit_dispersion([1.0, 2.0], [-1, 2])
    with pytest.raises(ValueError, match="whole-number"):
        counts.fit_dispersion([1.0, 2.0], [np.nan, 2])
    with pytest.raises(ValueError, match="different lengths"):
        counts.fit_dispersion([1.0, 2.0], [1])
    with pytest.raises(ValueError, match="empty"):
        counts.fit_dispersion([], [])
    with pytest.raises(ValueError, match="significance"):
        counts.fit_dispersion([1.0], [1], significance=0.01)
