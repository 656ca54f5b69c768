"""bsi_pipeline.monitoring.promotion: the shipped policy file, and decide() on challengers scored
on a synthetic held-out window."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import yaml

from bsi_pipeline import metrics
from bsi_pipeline.monitoring import promotion as pr

WINDOW = {"window_id": "ncaa_baseball_2024_holdout", "window_start": dt.date(2024, 4, 1),
          "window_end": dt.date(2024, 6, 30)}


@pytest.fixture(scope="module")
def policy() -> pr.PromotionPolicy:
    return pr.load_policy()


@pytest.fixture(scope="module")
def holdout():
    """A held-out window: true chance q per game and the outcomes."""
    rng = np.random.default_rng(20240701)
    z = rng.normal(0.15, 0.8, 4000)
    q = 1.0 / (1.0 + np.exp(-z))
    y = (rng.uniform(size=q.shape[0]) < q).astype(np.int64)
    return z, q, y


def _record(p, y, version, accepted=True, reasons=None, **window) -> dict:
    return {
        "model_version": version,
        "task": "classification",
        "brier": metrics.brier(p, y),
        "log_loss": metrics.log_loss(p, y),
        "calibration_accepted": accepted,
        "calibration_reasons": reasons or ["ece 0.012 <= 0.02", "slope 0.97 in [0.9, 1.1]"],
        **(window or WINDOW),
    }


def _forecaster(z, noise, seed):
    rng = np.random.default_rng(seed)
    return 1.0 / (1.0 + np.exp(-(z + rng.normal(0.0, noise, z.shape[0]))))


def test_shipped_policy_matches_file(policy):
    raw = yaml.safe_load(pr.POLICY_FILE.read_text())
    cls = policy.for_task("classification")
    assert cls.tolerances == raw["classification"]["tolerances"]
    assert set(cls.tolerances) == {"brier", "log_loss"}
    assert cls.require_calibration_acceptance is True
    assert policy.for_task("regression").tolerances == raw["regression"]["tolerances"]
    assert "rmse" in policy.for_task("regression").tolerances
    with pytest.raises(ValueError, match="no rule for task 'ranking'"):
        policy.for_task("ranking")


def test_load_policy_rejects_bad_files(tmp_path):
    bad = tmp_path / "policy.yaml"
    bad.write_text(yaml.safe_dump({"classification": {"tolerances": {"brier": -0.1}}}))
    with pytest.raises(ValueError, match="brier must be a number >= 0"):
        pr.load_policy(bad)
    bad.write_text(yaml.safe_dump({"clasification": {"tolerances": {"brier": 0.1}}}))
    with pytest.raises(ValueError, match="unknown task"):
        pr.load_policy(bad)
    good = tmp_path / "strict.yaml"
    good.write_text(yaml.safe_dump({"classification": {"tolerances": {"brier": 0.0},
                                                        "require_calibration_acceptance": False}}))
    strict = pr.load_policy(good)
    assert strict.for_task("classification").tolerances == {"brier": 0.0}


def test_first_passing_version_becomes_champion(policy, holdout):
    z, q, y = holdout
    challenger = _record(_forecaster(z, 0.3, 1), y, "1")
    decision = pr.decide(policy, challenger, None)
    assert decision.promote and decision.status == "champion"
    assert "no champion" in decision.reason
    assert f"{challenger['brier']:.4f}" in decision.reason
    assert decision.evidence["challenger"]["brier"] == challenger["brier"]


def test_failing_calibration_stays_challenger(policy, holdout):
    z, q, y = holdout
    reasons = ["ece 0.041 > 0.02", "calibration slope 0.78 outside [0.9, 1.1]"]
    challenger = _record(_forecaster(z, 0.0, 2), y, "2", accepted=False, reasons=reasons)
    for champion in (None, _record(_forecaster(z, 0.6, 3), y, "1")):
        decision = pr.decide(policy, challenger, champion)
        assert not decision.promote and decision.status == "challenger"
        assert "calibration" in decision.reason
        assert all(r in decision.reason for r in reasons)
    # Missing or non-boolean verdicts are not acceptance either.
    for accepted in (None, "true", 1):
        record = {**challenger, "calibration_accepted": accepted}
        assert not pr.decide(policy, record, None).promote


def test_worse_challenger_stays_challenger_naming_the_metric(policy, holdout):
    z, q, y = holdout
    champion = _record(_forecaster(z, 0.2, 4), y, "1")
    challenger = _record(_forecaster(z, 0.9, 5), y, "2")  # much noisier: worse Brier and log loss
    diff = challenger["brier"] - champion["brier"]
    assert diff > 0.0005  # the synthetic setup really is worse beyond the tolerance
    decision = pr.decide(policy, challenger, champion)
    assert not decision.promote and decision.status == "challenger"
    assert (f"brier {challenger['brier']:.4f} is worse than champion {champion['brier']:.4f} "
            f"by {diff:.4f} > tolerance 0.0005") in decision.reason
    assert "log_loss" in decision.reason
    assert decision.evidence["difference"]["brier"] == pytest.approx(diff)


def test_better_challenger_is_promoted(policy, holdout):
    z, q, y = holdout
    champion = _record(_forecaster(z, 0.9, 6), y, "1")
    challenger = _record(_forecaster(z, 0.1, 7), y, "2")
    assert challenger["brier"] < champion["brier"] and challenger["log_loss"] < champion["log_loss"]
    decision = pr.decide(policy, challenger, champion)
    assert decision.promote and decision.status == "champion"
    assert "within tolerance" in decision.reason
    assert decision.evidence["champion"]["brier"] == champion["brier"]


def test_tolerance_boundary_on_each_metric(policy):
    base = {"calibration_accepted": True, "calibration_reasons": [], **WINDOW}
    champion = {**base, "brier": 0.2190, "log_loss": 0.6300}
    tol_b = policy.for_task("classification").tolerances["brier"]
    tol_l = policy.for_task("classification").tolerances["log_loss"]
    # Worse by exactly the tolerance (in decimal) on one metric, better on the other: promoted.
    at_edge = {**base, "brier": 0.2190 + tol_b, "log_loss": 0.6290}
    assert pr.decide(policy, at_edge, champion).promote
    assert pr.decide(policy, {**at_edge, "brier": 0.2180, "log_loss": 0.6300 + tol_l}, champion).promote
    # Just beyond on log loss alone: kept, and only log loss is named.
    beyond = {**base, "brier": 0.2180, "log_loss": 0.6300 + tol_l + 0.0004}
    decision = pr.decide(policy, beyond, champion)
    assert not decision.promote
    assert "log_loss" in decision.reason and "brier" not in decision.reason
    assert f"tolerance {tol_l:.4f}" in decision.reason


def test_losses_within_tolerance_do_not_add_up_over_promotions(policy):
    """v1 champion; v2 0.0004 Brier worse (within 0.0005) but better on log loss: promoted; v3 0.0004
    Brier worse than v2 and better on log loss passes against v2 alone but is 0.0008 Brier worse than
    former champion v1: kept, v1 named. Former champions on another window, or without the metric, are
    skipped and said so."""
    base = {"calibration_accepted": True, "calibration_reasons": [], **WINDOW}
    v1 = {**base, "model_version": 1, "brier": 0.2190, "log_loss": 0.6300}
    v2 = {**base, "model_version": 2, "brier": 0.2194, "log_loss": 0.6295}
    v3 = {**base, "model_version": 3, "brier": 0.2198, "log_loss": 0.6290}
    assert pr.decide(policy, v2, v1).promote
    assert pr.decide(policy, v3, v2).promote                      # the old rule alone lets it through
    decision = pr.decide(policy, v3, v2, [v1])
    assert not decision.promote and decision.status == "challenger"
    assert "brier 0.2198 is worse than former champion version 1's 0.2190 by 0.0008 > tolerance 0.0005" \
        in decision.reason
    assert "log_loss" not in decision.reason                        # better than v1 on log loss
    assert decision.evidence["former_champions"] == {"1": {"brier": 0.2190, "log_loss": 0.6300}}
    # a better challenger passes the former champions too
    assert pr.decide(policy, {**v3, "brier": 0.2185, "log_loss": 0.6290}, v2, [v1]).promote
    other_window = {**v1, "window_id": "another_holdout"}
    no_metric = {k: v for k, v in v1.items() if k != "brier"}
    kept = pr.decide(policy, v3, v2, [other_window, no_metric])
    assert kept.promote and kept.evidence["former_champions"] == {}
    assert len(kept.evidence["former_champions_skipped"]) == 2


def test_a_tie_or_a_loss_within_the_tolerances_is_not_promoted(policy):
    """The tolerance only bounds how much worse a challenger may be on one metric; to replace the
    champion it must also be better on another. An exact tie, or a challenger worse on every metric by
    less than the tolerance, stays challenger, with the numbers."""
    base = {"calibration_accepted": True, "calibration_reasons": [], **WINDOW}
    champion = {**base, "model_version": 1, "brier": 0.2000, "log_loss": 0.6000}
    tie = pr.decide(policy, {**champion, "model_version": 2}, champion)
    assert not tie.promote and tie.status == "challenger"
    assert tie.reason == ("not promoted: not better than the champion on any metric: "
                          "brier 0.2000 vs champion 0.2000 (difference 0.0000, within tolerance 0.0005); "
                          "log_loss 0.6000 vs champion 0.6000 (difference 0.0000, within tolerance 0.0010)")
    worse = pr.decide(policy, {**champion, "model_version": 2, "brier": 0.2004, "log_loss": 0.6009}, champion)
    assert not worse.promote and worse.status == "challenger"
    assert worse.reason.startswith("not promoted: not better than the champion on any metric: brier 0.2004 vs "
                                   "champion 0.2000 (difference 0.0004, within tolerance 0.0005)")
    assert worse.evidence["difference"] == pytest.approx({"brier": 0.0004, "log_loss": 0.0009})
    # float noise is not an improvement; a real one on either metric is
    assert not pr.decide(policy, {**champion, "brier": 0.2000 - 1e-15}, champion).promote
    assert pr.decide(policy, {**champion, "brier": 0.1999}, champion).promote
    assert pr.decide(policy, {**champion, "brier": 0.2004, "log_loss": 0.5990}, champion).promote
    regression = {"task": "regression", "rmse": 3.10, **WINDOW}
    assert not pr.decide(policy, regression, regression).promote


def test_former_champions_bind_when_there_is_no_current_champion(policy):
    """No current champion (its MLflow version was deleted) but former champions given: the challenger
    must still not be worse than them beyond the tolerance, and the reason says there is no current
    champion, never "no champion yet"."""
    base = {"calibration_accepted": True, "calibration_reasons": [], **WINDOW}
    v1 = {**base, "model_version": 1, "brier": 0.2400, "log_loss": 0.6720}
    much_worse = {**base, "model_version": 3, "brier": 0.2600, "log_loss": 0.7150}
    decision = pr.decide(policy, much_worse, None, [v1])
    assert not decision.promote and decision.status == "challenger"
    assert decision.reason.startswith("not promoted: no current champion")
    assert "brier 0.2600 is worse than former champion version 1's 0.2400 by 0.0200 > tolerance 0.0005" \
        in decision.reason
    assert "no champion yet" not in decision.reason
    assert decision.evidence["former_champions"] == {"1": {"brier": 0.2400, "log_loss": 0.6720}}

    within = {**much_worse, "brier": 0.2404, "log_loss": 0.6725}
    promoted = pr.decide(policy, within, None, [v1])
    assert promoted.promote and promoted.status == "champion"
    assert promoted.reason.startswith("promoted: no current champion")
    assert "brier 0.2404 vs former champion version 1's 0.2400 (difference 0.0004, within tolerance 0.0005)" \
        in promoted.reason

    # former champions given but none on this window: promoted, and the reason says none was comparable
    elsewhere = pr.decide(policy, much_worse, None, [{**v1, "window_id": "another_holdout"}])
    assert elsewhere.promote and "no current champion, and no former champion comparable" in elsewhere.reason
    assert len(elsewhere.evidence["former_champions_skipped"]) == 1
    # no former champions at all: the first passing version, as before
    assert pr.decide(policy, much_worse, None, []).reason.startswith("promoted: no champion yet")


def test_mismatched_windows_are_refused(policy, holdout):
    z, q, y = holdout
    champion = _record(_forecaster(z, 0.9, 8), y, "1")
    better = _record(_forecaster(z, 0.1, 9), y, "2")
    other_id = {**better, "window_id": "ncaa_baseball_2023_holdout"}
    decision = pr.decide(policy, other_id, champion)
    assert not decision.promote and decision.status == "challenger"
    assert "same held-out window" in decision.reason
    assert "ncaa_baseball_2023_holdout" in decision.reason and "ncaa_baseball_2024_holdout" in decision.reason

    other_end = {**better, "window_end": dt.date(2024, 5, 31)}
    decision = pr.decide(policy, other_end, champion)
    assert not decision.promote and "window_end differs" in decision.reason

    no_id = {k: v for k, v in better.items() if k != "window_id"}
    decision = pr.decide(policy, no_id, champion)
    assert not decision.promote and "champion has window_id" in decision.reason

    bare_champion = {k: v for k, v in champion.items() if k not in pr.WINDOW_KEYS}
    bare_challenger = {k: v for k, v in better.items() if k not in pr.WINDOW_KEYS}
    decision = pr.decide(policy, bare_challenger, bare_champion)
    assert not decision.promote and "neither" in decision.reason

    # Dates given as ISO strings on one side match date objects on the other.
    as_text = {**better, "window_start": "2024-04-01", "window_end": "2024-06-30"}
    assert pr.decide(policy, as_text, champion).promote


def test_missing_metrics_keep_the_champion(policy, holdout):
    z, q, y = holdout
    champion = _record(_forecaster(z, 0.9, 10), y, "1")
    challenger = _record(_forecaster(z, 0.1, 11), y, "2")
    no_ll = {k: v for k, v in challenger.items() if k != "log_loss"}
    decision = pr.decide(policy, no_ll, champion)
    assert not decision.promote and "challenger has no log_loss" in decision.reason
    old_champion = {k: v for k, v in champion.items() if k != "log_loss"}
    decision = pr.decide(policy, challenger, old_champion)
    assert not decision.promote and "champion has no log_loss" in decision.reason
    nan = {**challenger, "brier": float("nan")}
    assert not pr.decide(policy, nan, None).promote


def test_regression_uses_rmse_without_calibration(policy):
    tol = policy.for_task("regression").tolerances["rmse"]
    champion = {"task": "regression", "rmse": 3.10, **WINDOW}
    better = {"task": "regression", "rmse": 3.05, **WINDOW}
    worse = {"task": "regression", "rmse": 3.10 + tol + 0.02, **WINDOW}
    assert pr.decide(policy, better, champion).promote
    decision = pr.decide(policy, worse, champion)
    assert not decision.promote and "rmse" in decision.reason
    assert pr.decide(policy, better, None).promote
    mixed = pr.decide(policy, better, {**champion, "task": "classification"})
    assert not mixed.promote and "classification" in mixed.reason


def test_former_champions_bind_with_the_best_of_several():
    """Former champions v0 (Brier 0.2300) and v1 (0.2190); the challenger's 0.2198 is 0.0008 worse than the
    best of them (v1), beyond the 0.0005 tolerance: kept, in whatever order the former champions come."""
    policy = pr.load_policy()
    base = {"calibration_accepted": True, "calibration_reasons": [], "window_id": "w"}
    v0 = {**base, "model_version": 0, "brier": 0.2300, "log_loss": 0.6500}
    v1 = {**base, "model_version": 1, "brier": 0.2190, "log_loss": 0.6300}
    v2 = {**base, "model_version": 2, "brier": 0.2194, "log_loss": 0.6295}
    v3 = {**base, "model_version": 3, "brier": 0.2198, "log_loss": 0.6290}
    for former in ([v0, v1], [v1, v0]):
        decision = pr.decide(policy, v3, v2, former)
        assert not decision.promote, former
        assert "former champion version 1's 0.2190" in decision.reason
