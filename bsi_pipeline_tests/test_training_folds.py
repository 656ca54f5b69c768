"""Cross-validation folds inside the training slice never split a date."""

import dataclasses
from datetime import date, timedelta

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from bsi_pipeline.models.specs import load_specs
from bsi_pipeline.models.splits import date_folds
from bsi_pipeline.models.training import tune


def days(*counts: int) -> np.ndarray:
    """Rows sorted by date: counts[k] rows (games) on the k-th day of a season."""
    start = date(2008, 3, 31)
    return np.array([start + timedelta(days=k) for k, n in enumerate(counts) for _ in range(n)], dtype="datetime64[D]")


def test_every_cut_falls_between_two_dates():
    dates = days(2, 3, 2, 3)  # doubleheaders and a three-game day
    folds = date_folds(dates, 3)
    assert [(fit.tolist(), hold.tolist()) for fit, hold in folds] == [
        ([0, 1], [2, 3, 4]), ([0, 1, 2, 3, 4], [5, 6]), ([0, 1, 2, 3, 4, 5, 6], [7, 8, 9])]


def test_no_date_on_both_sides_on_a_season_of_doubleheaders():
    rng = np.random.default_rng(7)
    dates = days(*rng.integers(1, 16, size=180))  # a season's days, 1 to 15 games each
    folds = date_folds(dates, 3)
    assert len(folds) == 3
    for fit, hold in folds:
        assert set(dates[fit]).isdisjoint(dates[hold])
        assert fit.tolist() == list(range(hold[0]))  # expanding window: everything before the held-out block
    assert folds[-1][1][-1] == len(dates) - 1


def test_a_date_longer_than_a_fold_leaves_fewer_folds_and_unsorted_rows_are_refused():
    assert date_folds(days(10, 1, 1), 3) == []  # every cut moves back to the first row: nothing to fit on
    # 12 rows, folds of 3: the first cut (row 3) falls inside the first day and moves back to row 0
    assert [hold.tolist() for _, hold in date_folds(days(6, 1, 1, 1, 1, 1, 1), 3)] == [[6, 7, 8], [9, 10, 11]]
    with pytest.raises(ValueError, match="sorted by date"):
        date_folds(days(2, 2)[::-1], 3)


def test_tune_returns_the_parameters_with_the_lowest_cross_validated_loss():
    """Ridge regression on 600 noisy rows: the alpha tune returns is the arg-min of the mean RMSE over the
    date folds, computed here with scikit-learn directly."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 40))
    y = X[:, 0] + rng.normal(0, 3.0, 600)
    dates = np.repeat(np.arange(300), 2).astype("datetime64[D]")
    folds = date_folds(dates, 3)
    spec = dataclasses.replace(load_specs()["mlb_xwoba"], algorithms=("ridge",))
    scores = {}
    for alpha in (0.1, 1.0, 10.0, 100.0):
        losses = []
        for fit, held in folds:
            model = Pipeline([("scale", StandardScaler()), ("model", Ridge(alpha=alpha))]).fit(X[fit], y[fit])
            losses.append(np.sqrt(np.mean((model.predict(X[held]) - y[held]) ** 2)))
        scores[alpha] = float(np.mean(losses))
    params, metric, score, _ = tune("ridge", spec, X, y, None, folds)
    best = min(scores, key=scores.get)
    assert max(scores.values()) > min(scores.values()) + 1e-3  # the choice matters here
    assert (params, metric) == ({"alpha": best}, "rmse") and score == pytest.approx(scores[best])
