"""Issue #3's accuracy targets, scored walk-forward on the full shared seasons (../shared/data).

Marked slow; they run in CI (`make test`) and skip when the shared data is not beside the checkout.
"""

from __future__ import annotations


import polars as pl
import pytest

from bsi_pipeline.ncaa.pbp_games import college_pbp_games
from bsi_pipeline.ratings.conference import conference_strength, next_season_check
from bsi_pipeline.ratings.systems import forecast_league, load_league_configs
from bsi_pipeline.sources.retrosheet_gamelogs import read_retrosheet_gamelogs
from bsi_pipeline_tests.conftest import REGISTRY_FILES, SHARED_DATA, shared_pbp_file

pytestmark = pytest.mark.slow


def brier_by_system(forecasts: pl.DataFrame, games: pl.DataFrame, first: int, last: int) -> dict[str, float]:
    scored = forecasts.join(games.select("game_id", "home_score", "away_score"), on="game_id").filter(
        pl.col("season").is_between(first, last) & (pl.col("home_score") != pl.col("away_score")))
    return dict(scored.group_by("system").agg(
        ((pl.col("p_home") - (pl.col("home_score") > pl.col("away_score")).cast(pl.Float64)) ** 2).mean()).rows())


def test_mlb_2000_2009_beats_plain_elo_by_two_thousandths():
    """Warm up on 1990-1999; the issue's plain Elo scores 0.2439 on 2000-2009, the target is 0.0020 below."""
    paths = sorted((SHARED_DATA / "retrosheet_gamelogs").glob("GL*.TXT.gz"))
    if not paths:
        pytest.skip(f"shared real data not present: {SHARED_DATA / 'retrosheet_gamelogs'}")
    logs = read_retrosheet_gamelogs(paths)
    result = forecast_league(logs.games, load_league_configs()["mlb"], game_details=logs.details)
    brier = brier_by_system(result.forecasts, logs.games, 2000, 2009)
    assert brier["elo_plain"] == pytest.approx(0.2439, abs=5e-5)
    assert brier["components"] <= brier["elo_plain"] - 0.0020
    assert brier["components"] <= 0.2419


@pytest.fixture(scope="module")
def college():
    """College games 2019-2021 and their starters, parsed one season at a time from the shared play-by-play."""
    built = college_pbp_games([shared_pbp_file(season) for season in (2019, 2020, 2021)], REGISTRY_FILES)
    result = forecast_league(built.games, load_league_configs()["ncaa"], starter_lines=built.starters)
    return {"brier": brier_by_system(result.forecasts, built.games, 2021, 2021),
            "conference_check": _check(result.team_ratings, built.games), "teams": built.teams}


def _check(team_ratings: pl.DataFrame, games: pl.DataFrame) -> dict[str, float]:
    """source -> RMSE of next season's between-conference margins (ratings.conference.next_season_check)."""
    return dict(next_season_check(conference_strength(team_ratings, games), games).select("source", "rmse").rows())


def test_college_2021_systems_beat_plain_elo(college):
    """Warm up on 2019-2020. Measured: plain Elo 0.2196, ridge_margin 0.2152, ridge_stack 0.2144 (0.21440)."""
    college = college["brier"]
    assert college["elo_plain"] == pytest.approx(0.2197, abs=5e-4)
    assert college["ridge_stack"] < college["ridge_margin"] < college["elo_fit"] - 0.003


@pytest.mark.xfail(strict=True, reason="issue #3 target not met: the best system scores 0.2144 on 2021; even ridge "
                                       "ratings fitted on 90% of 2021 itself score only 0.2122-0.2124 on the rest "
                                       "(bench/college_target_bound.py)")
def test_college_2021_meets_the_issue_target(college):
    assert college["brier"]["ridge_stack"] <= 0.2129


def test_college_ridge_conference_strength_predicts_next_season_better(college):
    """2019 -> 2020 and 2020 -> 2021 games between conferences. Measured RMSE: ridge 5.652, Elo 5.880 runs."""
    check = college["conference_check"]
    assert check["ridge_margin"] == pytest.approx(5.6523, abs=5e-4)
    assert check["ridge_margin"] < check["elo_fit"] - 0.1


def test_unlisted_d1_teams_take_the_conference_their_schedule_says(college):
    """Teams that dropped baseball or were renamed before the 2023 registry, and Hartford, which it lists as
    independent (teams.conference_source): each label below is the conference the team really played in;
    the MEAC's N.C. Central (a conference the registries no longer have), independent NYIT and Savannah St.
    (leaving D1) stay without one."""
    teams = college["teams"].filter(pl.col("conference_source").is_in(["schedule", "previous season's schedule"]))
    filled = {(r["season"], r["team_name"]): (r["conference"], r["conference_source"])
              for r in teams.iter_rows(named=True)}
    schedule, previous = "schedule", "previous season's schedule"
    assert filled == {
        (2019, "Chicago St."): ("WAC", schedule), (2019, "Fairleigh Dickinson"): ("NEC", schedule),
        (2019, "Furman"): ("SoCon", schedule), (2019, "Houston Baptist"): ("Southland", schedule),
        (2019, "La Salle"): ("Atlantic 10", schedule),
        (2020, "Chicago St."): ("WAC", previous), (2020, "Fairleigh Dickinson"): ("NEC", previous),
        (2020, "Furman"): ("SoCon", previous), (2020, "Houston Baptist"): ("Southland", previous),
        (2020, "La Salle"): ("Atlantic 10", previous),
        (2021, "Fairleigh Dickinson"): ("NEC", schedule), (2021, "Houston Baptist"): ("Southland", schedule),
        (2021, "La Salle"): ("Atlantic 10", schedule),
        (2019, "Hartford"): ("America East", schedule), (2020, "Hartford"): ("America East", previous),
        (2021, "Hartford"): ("America East", schedule)}
    unlisted = college["teams"].filter(pl.col("conference").is_null() & (pl.col("games") >= 20))
    assert sorted(unlisted.select("season", "team_name").rows()) == [
        (2019, "N.C. Central"), (2019, "New York Tech"), (2019, "Savannah St."), (2021, "N.C. Central")]


@pytest.fixture(scope="module")
def college_football():
    from bsi_pipeline.sources.cfbd_games import read_cfbd_games

    path = SHARED_DATA / "cfb_games" / "cfb_games_2001_2014.csv"
    if not path.exists():
        pytest.skip(f"shared real data not present: {path}")
    games = read_cfbd_games([path]).games
    return games, forecast_league(games, load_league_configs()["ncaaf"])


def test_college_football_ridge_margin_beats_elo(college_football):
    """No issue target; measured 2003-2014 (warm-up 2001-2002): elo_fit 0.16943, ridge_margin 0.15949."""
    games, result = college_football
    brier = brier_by_system(result.forecasts, games, 2003, 2014)
    assert brier["ridge_margin"] == pytest.approx(0.15949, abs=5e-5)
    assert brier["ridge_margin"] < brier["elo_fit"] - 0.009


def test_college_football_ridge_conference_strength_predicts_next_season_better(college_football):
    """2002-2014 games between conferences, each scored with the previous season's conference margins.
    Measured RMSE: ridge 19.621, Elo 19.956 points."""
    games, result = college_football
    check = _check(result.team_ratings, games)
    assert check["ridge_margin"] == pytest.approx(19.621, abs=5e-3)
    assert check["ridge_margin"] < check["elo_fit"] - 0.3
