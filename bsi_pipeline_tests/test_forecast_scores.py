"""forecast_metrics' scoring, as a plain function: ties left out, per season and over all seasons."""

import polars as pl
import pytest

from bsi_pipeline.ratings.forecast_scores import forecast_scores, reliability_groups, scored_forecasts


def test_scores_by_hand():
    games = pl.DataFrame({"game_id": ["a", "b", "c", "d"], "home_score": [3, 1, 2, 5], "away_score": [1, 4, 2, 0]})
    forecasts = pl.DataFrame({
        "game_id": ["a", "b", "c", "d"] * 2, "sport": ["baseball"] * 8, "league": ["ncaa"] * 8,
        "season": [2020, 2020, 2021, 2021] * 2, "system": ["elo_fit"] * 4 + ["home_rate"] * 4,
        "p_home": [0.8, 0.4, 0.5, 0.6, 0.55, 0.55, 0.55, 0.55]})
    scored = scored_forecasts(forecasts, games)
    assert sorted(set(scored["game_id"])) == ["a", "b", "d"]  # c is a tie: no outcome to score
    table = forecast_scores(scored)
    elo = {r["season"]: r for r in table.filter(pl.col("system") == "elo_fit").iter_rows(named=True)}
    assert elo[2020]["games"] == 2 and elo[2020]["brier"] == pytest.approx((0.2 ** 2 + 0.4 ** 2) / 2)
    assert elo[2021]["games"] == 1 and elo[2021]["brier"] == pytest.approx(0.4 ** 2)
    assert elo[None]["games"] == 3 and elo[None]["brier"] == pytest.approx((0.04 + 0.16 + 0.16) / 3)
    assert table["season"].to_list()[-1] is None  # all-seasons rows last
    assert list(reliability_groups(scored, "ncaa")) == ["elo_fit"]  # the baseline is not drawn


def test_reliability_groups_are_one_leagues_forecasts():
    """The reliability plot of a league draws that league's games only; test_scores_by_hand has one league."""
    games = pl.DataFrame({"game_id": ["a", "b", "c"], "home_score": [3, 1, 70], "away_score": [1, 4, 60]})
    forecasts = pl.DataFrame({"game_id": ["a", "b", "c"], "sport": ["baseball", "baseball", "basketball"],
                              "league": ["ncaa", "ncaa", "ncaam"], "season": [2021] * 3,
                              "system": ["elo_fit"] * 3, "p_home": [0.8, 0.4, 0.7]})
    groups = reliability_groups(scored_forecasts(forecasts, games), "ncaa")
    assert list(groups) == ["elo_fit"]
    p, y = groups["elo_fit"]
    assert sorted(zip(p.tolist(), y.tolist())) == [(0.4, 0), (0.8, 1)]
