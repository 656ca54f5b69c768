"""Starter rest and home edge: hand-checked on a tiny schedule, earlier dates only."""

import datetime as dt

import polars as pl
import pytest

from bsi_pipeline.features.starters import home_edge, starter_rest


def d(day: int) -> dt.date:
    return dt.date(2009, 4, day)


def test_starter_rest_counts_days_since_his_previous_start_on_an_earlier_date():
    dates = pl.DataFrame({"game_id": ["g1", "g2", "g3", "g4", "g5"], "date": [d(1), d(5), d(20), d(20), d(21)]})
    starters = pl.DataFrame({"game_id": ["g1", "g2", "g3", "g4", "g5"],
                             "home_starter": ["ace", "ace", "ace", "bob", None],
                             "away_starter": ["bob", "cal", "dan", "ace", "ace"]})
    out = {r["game_id"]: r for r in starter_rest(starters, dates).iter_rows(named=True)}
    assert out["g1"]["starter_rest_home"] == 30 and out["g1"]["starter_long_rest_home"] == 1  # first start
    assert out["g2"]["starter_rest_home"] == 4 and out["g2"]["starter_short_rest_home"] == 1
    # ace starts both games of the 20th: each reads his start of the 5th, never the other game that day
    assert out["g3"]["starter_rest_home"] == 15 and out["g4"]["starter_rest_away"] == 15
    assert out["g5"]["starter_rest_away"] == 1
    # an unknown starter gets the typical turn and is flagged, never a rest flag
    assert out["g5"]["has_starter_home"] == 0 and out["g5"]["starter_rest_home"] == 5
    assert out["g5"]["starter_short_rest_home"] == 0 and out["g5"]["starter_long_rest_home"] == 0


def test_starter_rest_without_starters_gives_defaults_for_every_game():
    dates = pl.DataFrame({"game_id": ["a", "b"], "date": [d(1), d(2)]})
    out = starter_rest(None, dates)
    assert out.height == 2 and out["has_starter_home"].to_list() == [0.0, 0.0]
    assert out["starter_rest_away"].to_list() == [5.0, 5.0]


def test_home_edge_uses_earlier_seasons_only_and_shrinks():
    rows = []
    for season, home_wins, road_wins in ((2007, 60, 40), (2008, 50, 50)):
        rows += [{"league": "mlb", "team": "COL", "season": season, "is_home": True, "win": float(i < home_wins)}
                 for i in range(81)]
        rows += [{"league": "mlb", "team": "COL", "season": season, "is_home": False, "win": float(i < road_wins)}
                 for i in range(81)]
    edge = {r["season"]: r["home_edge"] for r in home_edge(pl.DataFrame(rows)).iter_rows(named=True)}
    assert edge[2007] == pytest.approx(0.0)                          # nothing earlier
    assert edge[2008] == pytest.approx((60 + 40) / 161 - (40 + 40) / 161)  # 2007 only, shrunk by 80 games


def test_starter_rest_flags_exactly_ten_days_and_caps_a_long_layoff():
    """ace starts on April 1, April 11 (10 days: LONG_REST_DAYS counts as a long rest) and May 21 (40 days, read as
    STARTER_REST_CAP = 30, the value of a first start)."""
    dates = pl.DataFrame({"game_id": ["g1", "g2", "g3"], "date": [d(1), d(11), dt.date(2009, 5, 21)]})
    starters = pl.DataFrame({"game_id": ["g1", "g2", "g3"], "home_starter": ["ace"] * 3, "away_starter": [None] * 3})
    out = {r["game_id"]: r for r in starter_rest(starters, dates).iter_rows(named=True)}
    assert (out["g2"]["starter_rest_home"], out["g2"]["starter_long_rest_home"]) == (10, 1)
    assert (out["g3"]["starter_rest_home"], out["g3"]["starter_long_rest_home"]) == (30, 1)


def test_an_empty_starter_id_is_an_unknown_starter():
    """A blank starter id names nobody: both games get the unknown-starter defaults, not a rest measured from the
    other blank's start."""
    dates = pl.DataFrame({"game_id": ["g1", "g2"], "date": [d(1), d(3)]})
    starters = pl.DataFrame({"game_id": ["g1", "g2"], "home_starter": ["", ""], "away_starter": ["ace", "bob"]})
    out = starter_rest(starters, dates)
    assert out["has_starter_home"].to_list() == [0.0, 0.0] and out["starter_rest_home"].to_list() == [5.0, 5.0]
