"""Elo trajectories: which teams are drawn, and that a picture comes out."""

from datetime import date, timedelta

import polars as pl
import pytest

from bsi_pipeline.ratings.trajectories import elo_trajectory_png, trajectory_teams


def ratings(finals: dict[str, tuple[float, int]], season: int = 2021, league: str = "ncaa") -> pl.DataFrame:
    """team_ratings rows: each team's games on consecutive days, rising by one point a game to its final
    rating; plus one earlier-season game per team that must not count."""
    rows = []
    for team, (final, games) in finals.items():
        rows.append(dict(league=league, season=season - 1, date=date(season - 1, 5, 1), game_id=f"{team}:old",
                         team=team, rating_post=3000.0))
        for g in range(games):
            rows.append(dict(league=league, season=season, date=date(season, 3, 1) + timedelta(days=g),
                             game_id=f"{team}:{g}", team=team, rating_post=final - (games - 1 - g)))
    return pl.DataFrame(rows)


def test_the_best_and_worst_final_ratings_of_the_latest_season_are_drawn():
    finals = {f"T{i}": (1400.0 + 20 * i, 20) for i in range(10)}
    finals["Tiny"] = (2000.0, 4)  # best final rating, but 4 games of a median 20: not drawn
    table = ratings(finals)
    picked = trajectory_teams(table, "ncaa")
    assert picked["team"].to_list() == ["T9", "T8", "T7", "T2", "T1", "T0"]
    assert picked["rank"].to_list() == [1, 2, 3, 8, 9, 10]
    assert picked["final_rating"].to_list() == [1580.0, 1560.0, 1540.0, 1440.0, 1420.0, 1400.0]
    assert set(picked["season"]) == {2021}  # the 3000s of 2020 are not a final rating


def test_a_small_league_draws_each_team_once():
    picked = trajectory_teams(ratings({"A": (1510.0, 5), "B": (1500.0, 5), "C": (1490.0, 5), "D": (1480.0, 5)}),
                              "ncaa")
    assert picked["team"].to_list() == ["A", "B", "C", "D"]


def test_picture_and_a_league_without_rows():
    table = ratings({f"T{i}": (1450.0 + 10 * i, 12) for i in range(8)})
    assert elo_trajectory_png(table, "ncaa").startswith(b"\x89PNG\r\n\x1a\n")
    assert trajectory_teams(table, "nfl").height == 0
    with pytest.raises(ValueError, match="no 'nfl' rows"):
        elo_trajectory_png(table, "nfl")


def test_a_team_with_exactly_half_the_median_games_is_drawn():
    """Six teams of 20 games and one of 10: the median is 20, so 10 games is exactly MIN_GAMES_SHARE of it and the
    team, with the best final rating, is drawn as rank 1."""
    finals = {f"T{i}": (1400.0 + 20 * i, 20) for i in range(6)}
    finals["Half"] = (2000.0, 10)
    picked = trajectory_teams(ratings(finals), "ncaa")
    assert picked.row(0, named=True)["team"] == "Half" and picked["rank"][0] == 1


def test_equal_final_ratings_rank_by_team_name():
    """Two teams end on 1500: the ranks are deterministic, the alphabetically first team ranked higher."""
    picked = trajectory_teams(ratings({"Yale": (1500.0, 5), "Army": (1500.0, 5), "Navy": (1490.0, 5)}), "ncaa")
    assert picked.select("team", "rank").rows() == [("Army", 1), ("Yale", 2), ("Navy", 3)]
