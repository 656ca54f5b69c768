"""bsi_pipeline.models.evaluation: metric dicts checked against sklearn, the lift table's
bookkeeping, the pictures and the model card."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from sklearn import metrics as skm

from bsi_pipeline import metrics
from bsi_pipeline.models import calibration as cal
from bsi_pipeline.models import evaluation as ev

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _forecast(seed: int, n: int = 5000, shift: float = 0.0, ties: bool = False):
    rng = np.random.default_rng(seed)
    z = rng.normal(shift, 1.3, n)
    p = cal.sigmoid(z)
    y = (rng.uniform(size=n) < p).astype(np.int64)
    if ties:
        p = np.round(p, 2)  # many tied forecasts, as from a coarse model
    return p, y


@pytest.mark.parametrize("ties", [False, True])
def test_classification_report_matches_sklearn(ties):
    p, y = _forecast(1, ties=ties)
    r = ev.classification_report(p, y)
    assert r["n"] == 5000
    assert r["base_rate"] == pytest.approx(y.mean())
    assert r["auc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert r["pr_auc"] == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
    assert r["brier"] == metrics.brier(p, y)
    assert r["log_loss"] == metrics.log_loss(p, y)
    assert r["ece"] == metrics.ece(p, y) and r["mce"] == metrics.mce(p, y)
    pred = (p >= 0.5).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(y, pred).ravel()
    assert (r["tn"], r["fp"], r["fn"], r["tp"]) == (tn, fp, fn, tp)
    assert r["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert r["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert r["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert r["f1"] == pytest.approx(skm.f1_score(y, pred))
    slope, intercept, _ = metrics.calibration_slope_intercept(p, y)
    assert r["calibration_slope"] == slope and r["calibration_intercept"] == intercept
    # Plain Python numbers all the way down.
    assert json.loads(json.dumps(r)) == r
    assert all(v is None or type(v) in (int, float) for v in r.values())


def test_classification_report_threshold_and_best_f1():
    # Rare positives: a 0.5 cut predicts few positives; a lower one does better.
    p, y = _forecast(2, shift=-3.5, ties=True)
    assert y.mean() < 0.1
    r = ev.classification_report(p, y)
    brute = max((skm.f1_score(y, (p >= t).astype(int)), t) for t in np.unique(p))
    assert r["f1_best"] == pytest.approx(brute[0], abs=1e-12)
    assert r["f1_best_threshold"] == brute[1]
    assert r["f1_best"] > r["f1"]
    r2 = ev.classification_report(p, y, threshold=r["f1_best_threshold"])
    assert r2["f1"] == pytest.approx(r["f1_best"])
    assert r2["threshold"] == r["f1_best_threshold"]


def test_classification_report_accuracy_is_at_the_given_threshold():
    """p = 0.9, 0.6, 0.8, 0.3 for y = 1, 1, 0, 0. At threshold 0.7 the picks are 1, 0, 1, 0: two right (accuracy
    0.5, tp 1, tn 1); at 0.5 it would be 0.75. test_classification_report_threshold_and_best_f1 checks F1 only."""
    r = ev.classification_report([0.9, 0.6, 0.8, 0.3], [1, 1, 0, 0], threshold=0.7)
    assert (r["tp"], r["tn"], r["fp"], r["fn"]) == (1, 1, 1, 1)
    assert r["accuracy"] == 0.5
    assert ev.classification_report([0.9, 0.6, 0.8, 0.3], [1, 1, 0, 0])["accuracy"] == 0.75


def test_classification_report_undefined_metrics_are_none():
    r = ev.classification_report([0.2, 0.3, 0.4], [0, 0, 0])
    assert r["auc"] is None and r["pr_auc"] is None and r["recall"] is None
    assert r["precision"] is None  # nothing predicted positive
    assert r["f1"] is None and r["f1_best"] is None
    assert r["calibration_slope"] is None and r["calibration_intercept"] is None
    assert r["brier"] == pytest.approx((0.04 + 0.09 + 0.16) / 3)
    one = ev.classification_report([0.6, 0.7], [1, 1])
    assert one["auc"] is None and one["pr_auc"] == 1.0 and one["f1"] == 1.0


@pytest.mark.parametrize(
    "p,y,match",
    [([0.2, np.nan], [0, 1], "NaN"), ([0.2, 1.2], [0, 1], r"\[0, 1\]"),
     ([0.2], [0, 1], "different lengths"), ([], [], "empty")],
)
def test_classification_report_bad_input(p, y, match):
    with pytest.raises(ValueError, match=match):
        ev.classification_report(p, y)
    with pytest.raises(ValueError, match=match):
        ev.lift_table(p, y)


def test_classification_report_bad_threshold():
    with pytest.raises(ValueError, match="threshold"):
        ev.classification_report([0.2, 0.8], [0, 1], threshold=1.5)


def test_lift_table_bookkeeping():
    p, y = _forecast(3, n=5003, ties=True)
    t = ev.lift_table(p, y)
    assert t.columns == ["decile", "n", "min_p", "max_p", "mean_p", "positives", "positive_rate",
                         "lift", "cumulative_capture"]
    assert t["decile"].to_list() == list(range(1, 11))
    assert t["n"].sum() == 5003 and t["n"].max() - t["n"].min() <= 1
    assert t["positives"].sum() == y.sum()
    assert t["cumulative_capture"][-1] == pytest.approx(1.0)
    assert np.all(np.diff(t["cumulative_capture"].to_numpy()) >= 0)
    assert np.all(np.diff(t["mean_p"].to_numpy()) <= 0)  # highest forecasts first
    assert np.all(t["min_p"].to_numpy()[:-1] >= t["max_p"].to_numpy()[1:])
    base = y.mean()
    np.testing.assert_allclose(t["positive_rate"], t["positives"] / t["n"])
    np.testing.assert_allclose(t["lift"], t["positive_rate"] / base)
    # Row-weighted lift averages to exactly 1; an informative forecast puts lift > 1 on top.
    assert float((t["lift"] * t["n"]).sum() / t["n"].sum()) == pytest.approx(1.0)
    assert t["lift"][0] > 1.5 > 0.5 > t["lift"][-1]
    # Each group's mean_p is the mean of the rows it took, top 10% of the ranking first.
    order = np.argsort(-p, kind="stable")
    assert t["mean_p"][0] == pytest.approx(p[order[:501]].mean())


def test_lift_table_other_bins_and_errors():
    p, y = _forecast(4, n=100)
    assert ev.lift_table(p, y, n_bins=4)["n"].to_list() == [25, 25, 25, 25]
    with pytest.raises(ValueError, match="at least n_bins"):
        ev.lift_table(p[:5], y[:5])
    with pytest.raises(ValueError, match="positive"):
        ev.lift_table([0.1] * 20, [0] * 20)
    with pytest.raises(ValueError, match="n_bins"):
        ev.lift_table(p, y, n_bins=0)


def test_regression_report_matches_sklearn():
    rng = np.random.default_rng(5)
    y = rng.normal(0.32, 0.1, 3000)
    pred = 0.8 * y + 0.07 + rng.normal(0, 0.04, 3000)
    r = ev.regression_report(pred, y)
    assert r["n"] == 3000
    assert r["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, pred)))
    assert r["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert r["r2"] == pytest.approx(skm.r2_score(y, pred))
    assert r["corr"] == pytest.approx(np.corrcoef(pred, y)[0, 1])
    assert r["bias"] == pytest.approx(pred.mean() - y.mean())
    assert r["mean_pred"] == pytest.approx(pred.mean()) and r["mean_y"] == pytest.approx(y.mean())
    assert json.loads(json.dumps(r)) == r
    worse = ev.regression_report(pred + 0.05, y)
    assert worse["bias"] == pytest.approx(r["bias"] + 0.05) and worse["rmse"] > r["rmse"]


def test_regression_report_edge_cases():
    r = ev.regression_report([1.0, 2.0], [3.0, 3.0])
    assert r["r2"] is None and r["corr"] is None and r["rmse"] == pytest.approx(np.sqrt(2.5))
    with pytest.raises(ValueError, match="NaN"):
        ev.regression_report([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="infinite"):
        ev.regression_report([1.0, 2.0], [1.0, np.inf])
    with pytest.raises(ValueError, match="different lengths"):
        ev.regression_report([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="empty"):
        ev.regression_report([], [])


def test_feature_importance_png():
    rng = np.random.default_rng(6)
    names = [f"feature_{i}" for i in range(30)]
    png = ev.feature_importance_png(names, rng.normal(size=30), "standardized coefficients")
    assert png.startswith(PNG_MAGIC)
    gains = ev.feature_importance_png(["a", "b"], [0.3, 0.1], "gain")
    assert gains.startswith(PNG_MAGIC)
    with pytest.raises(ValueError, match="different lengths"):
        ev.feature_importance_png(["a"], [1.0, 2.0], "x")
    with pytest.raises(ValueError, match="at least one"):
        ev.feature_importance_png([], [], "x")
    with pytest.raises(ValueError, match="NaN"):
        ev.feature_importance_png(["a"], [np.nan], "x")


def test_feature_importance_png_draws_the_top_bars_by_magnitude(monkeypatch):
    drawn = {}
    from matplotlib.axes import Axes

    real = Axes.barh

    def spy(self, y, width, *args, **kwargs):
        drawn["width"] = list(width)
        drawn["colors"] = list(kwargs.get("color"))
        return real(self, y, width, *args, **kwargs)

    monkeypatch.setattr(Axes, "barh", spy)
    values = np.r_[np.arange(1, 26, dtype=float) * np.where(np.arange(25) % 2, 1, -1)]
    ev.feature_importance_png([f"f{i}" for i in range(25)], values, "t")
    widths = drawn["width"]
    assert len(widths) == ev.MAX_IMPORTANCE_BARS
    assert sorted(abs(w) for w in widths) == [abs(w) for w in widths]  # largest drawn last = on top
    assert {abs(w) for w in widths} == set(range(6, 26))
    assert len(set(drawn["colors"])) == 2
    assert all((c == drawn["colors"][0]) == (np.sign(w) == np.sign(widths[0]))
               for c, w in zip(drawn["colors"], widths))


@pytest.mark.parametrize("n", [300, 5000])  # alpha scatter and hexbin
def test_scatter_png(n):
    rng = np.random.default_rng(7)
    y = rng.normal(0.32, 0.1, n)
    png = ev.scatter_png(y + rng.normal(0, 0.03, n), y, "xwOBA vs Savant", "model xwOBA", "Savant xwOBA")
    assert png.startswith(PNG_MAGIC)
    assert ev.scatter_png([1.0], [1.0], "one point").startswith(PNG_MAGIC)
    with pytest.raises(ValueError, match="NaN"):
        ev.scatter_png([1.0, np.nan], [1.0, 2.0], "x")


def _full_card() -> dict:
    p, y = _forecast(8, n=2000)
    _, comparison = cal.choose_calibrator(cal.sigmoid(2 * cal.logit(p)), y)
    return {
        "model_key": "mlb_home_win",
        "model_id": "20250101T000000-abc123",
        "title": "Home-win probability before first pitch",
        "intended_use": "Pre-game forecasts on the site; not for live betting.",
        "data": {
            "train": {"start": dt.date(2015, 4, 5), "end": dt.date(2021, 10, 3), "rows": 14_000},
            "valid": {"start": "2022-04-07", "end": "2022-10-05", "rows": 2430},
            "test": {"start": "2023-03-30", "end": "2023-10-01", "rows": 2430},
        },
        "features": [{"name": "elo_diff", "coefficient": 0.412345}, {"name": "rest|days", "coefficient": -0.05}],
        "algorithm": "logistic regression",
        "hyperparameters": {"C": 1.0, "penalty": "l2"},
        "calibration": {"method": "temperature", "params": {"method": "temperature", "t": 1.93},
                        "comparison": comparison},
        "test_metrics": {"brier": 0.2371, "log_loss": 0.6661, "auc": 0.58, "n": 2430, "pr_auc": None},
        "baselines": {"elo": {"brier": 0.2389, "log_loss": 0.6702, "elo_only": 1.0}},
        "limitations": ["Trained on regular-season games only.", None],
        "provenance": {"trained_at": "2025-01-01T00:00:00Z", "git_hash": "abc123", "table": "games"},
    }


def test_model_card_full():
    md = ev.model_card_markdown(_full_card())
    assert md.startswith("# Model card: mlb_home_win\n")
    assert "Model id: `20250101T000000-abc123`" in md
    heads = [line for line in md.splitlines() if line.startswith("## ")]
    assert heads == ["## Intended use", "## Data window", "## Features (2)",
                     "## Algorithm and hyper-parameters", "## Calibration", "## Test metrics",
                     "## Baseline comparison", "## Limitations", "## Provenance"]
    assert "| train | 2015-04-05 | 2021-10-03 | 14000 |" in md
    assert "| elo_diff | 0.4123 |" in md and "rest\\|days" in md
    assert "standardized coefficient" in md
    assert "| C | 1 |" in md and "| penalty | l2 |" in md
    assert "Method: **temperature** (t = 1.93)" in md
    assert "| identity |" in md and "| isotonic |" in md and "chosen" in md
    assert "| brier | 0.2371 |" in md and "| pr_auc |  |" in md
    # Baselines side by side with the model, on the metrics either has.
    assert "| metric | model | elo |" in md
    assert "| brier | 0.2371 | 0.2389 |" in md and "| elo_only |  | 1 |" in md
    assert "| auc |" not in md.split("## Baseline comparison")[1]
    assert "- Trained on regular-season games only." in md and "- None" not in md
    prov = md.split("## Provenance")[1]
    assert prov.index("git_hash: abc123") < prov.index("trained_at") < prov.index("table: games")


def test_model_card_minimal_and_errors():
    md = ev.model_card_markdown({"model_key": "k", "model_id": "m1"})
    heads = [line for line in md.splitlines() if line.startswith("## ")]
    assert heads == ["## Intended use", "## Data window", "## Limitations", "## Provenance"]
    assert md.count("_not recorded_") == 4
    features = ev.model_card_markdown({"model_key": "k", "model_id": "m1", "features": ["a", "b"]})
    assert "| feature |\n|---|\n| a |\n| b |" in features
    with pytest.raises(ValueError, match="unknown model card key"):
        ev.model_card_markdown({"model_key": "k", "model_id": "m1", "test_metric": {}})
    with pytest.raises(ValueError, match="model_id"):
        ev.model_card_markdown({"model_key": "k"})


def test_model_card_comparison_as_rows_and_figures():
    png = ev.scatter_png([0.1, 0.2, 0.3], [0.1, 0.25, 0.3], "s")
    card = {"model_key": "k", "model_id": "m1",
            "calibration": {"method": "platt",
                            "comparison": [{"method": "platt", "cv_log_loss": 0.61, "error": None}]},
            "figures": {"Predicted vs actual": metrics.png_to_markdown(png, "scatter")}}
    md = ev.model_card_markdown(card)
    assert "| method | cv_log_loss |" in md  # all-null columns dropped
    assert "## Predicted vs actual\n\n![scatter](data:image/png;base64," in md
