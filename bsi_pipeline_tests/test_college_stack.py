"""College ridge_stack (bsi_pipeline/ratings/college_stack.py): starters' K-BB rates from earlier dates only,
the date-by-date stacking regression, and the system on the embedded play-by-play."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from bsi_pipeline.games import pbp_games_to_shared
from bsi_pipeline.ncaa import box_scores
from bsi_pipeline.ncaa.pbp_reader import lines_frame, read_pbp_files
from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables
from bsi_pipeline.ncaa.teams import load_registry, teams_table
from bsi_pipeline.ratings import college_stack as cs
from bsi_pipeline.ratings.systems import forecast_league, load_league_configs
from bsi_pipeline_tests.conftest import EMBEDDED_PBP, REGISTRY_FILES

SETTINGS = cs.StackSettings(starter_prior_bf=80, league_kbb=0.1, previous_weight=0.5)


def schedule(rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["game_id", "season", "date", "home_team", "away_team"], orient="row")


def starts(rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["game_id", "team", "starter", "BF", "K", "BB", "HBP"], orient="row")


def test_starter_rates_use_earlier_dates_and_weigh_last_season_half():
    games = schedule([
        ("g1", 2020, date(2020, 3, 1), "A", "B"),
        ("g2", 2021, date(2021, 3, 5), "A", "B"),   # same date as g3: g3 must not see it
        ("g3", 2021, date(2021, 3, 5), "A", "C"),
        ("g4", 2021, date(2021, 3, 9), "A", "C"),
    ])
    lines = starts([
        ("g1", "A", "Ace", 25, 10, 1, 0), ("g1", "B", "Bo", 20, 2, 3, 1),
        ("g2", "A", "Ace", 24, 9, 2, 1), ("g2", "B", "Bo", 22, 3, 2, 0),
        ("g3", "A", "Ace", 10, 5, 0, 0), ("g3", "C", "Cy", 18, 4, 2, 0),
        ("g4", "A", "Ace", 27, 8, 1, 0),            # C's starter is not named in g4
    ])
    spd = cs.starter_kbb_difference(games, lines, SETTINGS)
    assert spd[0] == 0.0  # first starts: both at the league rate
    ace_2020 = (0.5 * 9 + 8) / (0.5 * 25 + 80)  # last season's 25 BF and K-BB-HBP of 9 at half weight
    bo_2020 = (0.5 * -2 + 8) / (0.5 * 20 + 80)
    assert spd[1] == pytest.approx(ace_2020 - bo_2020)
    assert spd[2] == pytest.approx(ace_2020 - 0.1)  # Cy has no earlier start; g2 (same date) not counted
    assert spd[3] == 0.0  # an unnamed starter: no difference at all


def test_starter_rates_two_seasons_back_weigh_the_square():
    """2020 skipped (no college season): Ace's and Bo's 2019 starts count previous_weight ** 2 = 0.25 in 2021, as
    the module says ("the one before at its square"). test_starter_rates_use_earlier_dates_and_weigh_last_season_half
    has one-season gaps only."""
    games = schedule([("g1", 2019, date(2019, 3, 1), "A", "B"), ("g2", 2021, date(2021, 3, 5), "A", "B")])
    lines = starts([("g1", "A", "Ace", 25, 10, 1, 0), ("g1", "B", "Bo", 20, 2, 3, 1),
                    ("g2", "A", "Ace", 24, 9, 2, 1), ("g2", "B", "Bo", 22, 3, 2, 0)])
    spd = cs.starter_kbb_difference(games, lines, SETTINGS)
    ace = (0.25 * 9 + 0.1 * 80) / (0.25 * 25 + 80)      # K - BB - HBP = 9 in 25 BF, at a quarter
    bo = (0.25 * -2 + 0.1 * 80) / (0.25 * 20 + 80)
    assert spd[0] == 0.0 and spd[1] == pytest.approx(ace - bo)


def test_a_starters_record_gathers_the_forms_his_name_is_written_in():
    """Ace is "ACE" in g1 and "Ace, T." in g2 (each home scorer writes his own way): g2 reads his g1 start.
    B's "Ace" is a different pitcher (another team)."""
    games = schedule([("g1", 2021, date(2021, 3, 1), "A", "B"), ("g2", 2021, date(2021, 3, 5), "B", "A")])
    lines = starts([("g1", "A", "ACE", 25, 10, 1, 0), ("g1", "B", "Ace", 20, 2, 3, 1),
                    ("g2", "A", "Ace, T.", 24, 9, 2, 1), ("g2", "B", "Ace", 22, 3, 2, 0)])
    spd = cs.starter_kbb_difference(games, lines, SETTINGS)
    a_ace = (9 + 8) / (25 + 80)
    b_ace = (-2 + 8) / (20 + 80)
    assert spd[1] == pytest.approx(b_ace - a_ace)  # g2: home B minus away A


def test_a_side_with_two_starter_lines_is_an_error_not_a_shift():
    """Starter lines are read by position beside the games: a second line for (game, team) would move every
    later game's starter onto the game before it."""
    games = schedule([("g1", 2021, date(2021, 3, 5), "A", "B"), ("g2", 2021, date(2021, 3, 9), "A", "B")])
    lines = starts([("g1", "A", "Ace", 25, 10, 1, 0), ("g1", "A", "Deuce", 5, 1, 1, 0),
                    ("g2", "B", "Bo", 20, 2, 3, 1)])
    with pytest.raises(ValueError, match=r"starter lines: 1 key\(s\) of \['game_id', 'team'\] appear more than "
                                         r"once, first \('g1', 'A'\)"):
        cs.starter_kbb_difference(games, lines, SETTINGS)


def test_stacked_probabilities_never_see_their_own_date():
    rng = np.random.default_rng(3)
    n = 600
    dates = [date(2021, 2, 1 + i // 40) for i in range(n)]
    x = rng.normal(size=(n, len(cs.FEATURES)))
    outcome = (rng.random(n) < 1 / (1 + np.exp(-x[:, 0]))).astype(float)
    decided = np.ones(n, dtype=bool)
    settings = cs.StackSettings(min_train_games=200, fallback_slope=0.4)
    p = cs.stacked_probabilities(x, outcome, decided, dates, settings)
    early = np.array([i < 200 for i in range(n)])
    assert np.allclose(p[early], 1 / (1 + np.exp(-0.4 * x[early, 0])))  # fallback until 200 decided games
    flipped = outcome.copy()
    flipped[400:440] = 1 - flipped[400:440]  # the results of one date (rows 400-439)
    q = cs.stacked_probabilities(x, flipped, decided, dates, settings)
    assert np.array_equal(p[:440], q[:440]) and not np.array_equal(p[440:], q[440:])


def test_design_columns_by_hand():
    """Columns r, spd, same_conference, same_conference x r. Two teams with no conference (non-D1 opponents,
    null) are not a conference game."""
    games = pl.DataFrame({"home_conference": ["SEC", "SEC", None], "away_conference": ["SEC", "ACC", None]},
                         schema={"home_conference": pl.String, "away_conference": pl.String})
    x = cs.design(games, np.array([2.0, 1.5, -1.0]), np.array([0.1, 0.2, 0.3]))
    np.testing.assert_array_equal(x, [[2.0, 0.1, 1.0, 2.0], [1.5, 0.2, 0.0, 0.0], [-1.0, 0.3, 0.0, 0.0]])


def test_stacked_probabilities_are_the_standardized_regression():
    """Before each date: L2 logistic regression (C) on the standardized features of every decided earlier game,
    applied to the date's games standardized with the same mean and sd. Checked on the last date against
    scikit-learn directly, and as a property: rescaling a feature (spd in other units) changes nothing."""
    rng = np.random.default_rng(8)
    n = 300
    dates = [date(2021, 2, 1) + timedelta(days=i // 20) for i in range(n)]
    x = np.column_stack([rng.normal(0, 3, n), rng.normal(0.1, 0.05, n), rng.integers(0, 2, n).astype(float),
                         np.zeros(n)])
    x[:, 3] = x[:, 2] * x[:, 0]
    outcome = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.3 * x[:, 0] + 8 * x[:, 1])))).astype(float)
    settings = cs.StackSettings(min_train_games=100)
    p = cs.stacked_probabilities(x, outcome, np.ones(n, dtype=bool), dates, settings)
    start = n - 20
    mean, sd = x[:start].mean(axis=0), x[:start].std(axis=0) + 1e-9
    model = LogisticRegression(C=1.0, max_iter=1000).fit((x[:start] - mean) / sd, outcome[:start])
    np.testing.assert_allclose(p[start:], model.predict_proba((x[start:] - mean) / sd)[:, 1], atol=1e-9)
    scaled = x.copy()
    scaled[:, 1] *= 1000.0
    q = cs.stacked_probabilities(scaled, outcome, np.ones(n, dtype=bool), dates, settings)
    np.testing.assert_allclose(q[100:], p[100:], atol=1e-6)


def test_last_seasons_starts_stay_at_half_weight_after_the_starter_pitches_again():
    """Ace and Bo start in 2020 and twice in 2021. By their third start (g3) last season still counts half: the 2020
    totals are scaled by previous_weight when the first 2021 start is added, not carried at full weight from then
    on. test_starter_rates_use_earlier_dates_and_weigh_last_season_half checks a starter's first start of a new
    season only."""
    games = schedule([("g1", 2020, date(2020, 3, 1), "A", "B"), ("g2", 2021, date(2021, 3, 5), "A", "B"),
                      ("g3", 2021, date(2021, 3, 9), "A", "B")])
    lines = starts([("g1", "A", "Ace", 25, 10, 1, 0), ("g1", "B", "Bo", 20, 2, 3, 1),
                    ("g2", "A", "Ace", 24, 9, 2, 1), ("g2", "B", "Bo", 22, 3, 2, 0),
                    ("g3", "A", "Ace", 27, 8, 1, 0), ("g3", "B", "Bo", 21, 4, 1, 0)])
    spd = cs.starter_kbb_difference(games, lines, SETTINGS)
    ace = (0.5 * 9 + 6 + 0.1 * 80) / (0.5 * 25 + 24 + 80)  # 2020: 9 in 25 BF at half; 2021 g2: 9 - 2 - 1 = 6 in 24
    bo = (0.5 * -2 + 1 + 0.1 * 80) / (0.5 * 20 + 22 + 80)  # 2020: 2 - 3 - 1 = -2 in 20 at half; g2: 1 in 22
    assert spd[2] == pytest.approx(ace - bo)


def test_the_regression_takes_over_once_min_train_games_earlier_games_are_decided():
    """40 games a date, min_train_games 200: the sixth date (rows 200-239) has exactly 200 decided earlier games,
    enough for the regression ("needed before the regression takes over"). A tie among them (outcome 0, not
    decided) leaves 199, so that date keeps the fallback and the regression starts a date later, at row 240."""
    rng = np.random.default_rng(5)
    n = 320
    dates = [date(2021, 2, 1) + timedelta(days=i // 40) for i in range(n)]
    x = rng.normal(size=(n, len(cs.FEATURES)))
    outcome = (rng.random(n) < 1 / (1 + np.exp(-x[:, 0]))).astype(float)
    settings = cs.StackSettings(min_train_games=200, fallback_slope=0.4)
    fallback = 1 / (1 + np.exp(-0.4 * x[:, 0]))
    p = cs.stacked_probabilities(x, outcome, np.ones(n, dtype=bool), dates, settings)
    assert np.allclose(p[:200], fallback[:200]) and not np.isclose(p[200:240], fallback[200:240]).any()
    decided = np.ones(n, dtype=bool)
    decided[5] = False
    outcome[5] = 0.0  # a tie: neither side won
    q = cs.stacked_probabilities(x, outcome, decided, dates, settings)
    assert np.allclose(q[:240], fallback[:240]) and not np.isclose(q[240:280], fallback[240:280]).any()


def test_the_fallback_holds_while_every_earlier_decided_game_is_a_home_win():
    """A regression needs both outcomes: with only home wins so far (a short opening stretch, a small
    min_train_games) the date keeps the fallback instead of failing; the first away win lets the regression in
    from the next date on."""
    rng = np.random.default_rng(6)
    n = 120
    dates = [date(2021, 2, 1) + timedelta(days=i // 20) for i in range(n)]
    x = rng.normal(size=(n, len(cs.FEATURES)))
    outcome = np.ones(n)
    outcome[[65, 80, 90, 100]] = 0.0  # the first away win is on the fourth date (rows 60-79)
    settings = cs.StackSettings(min_train_games=20, fallback_slope=0.4)
    p = cs.stacked_probabilities(x, outcome, np.ones(n, dtype=bool), dates, settings)
    fallback = 1 / (1 + np.exp(-0.4 * x[:, 0]))
    assert np.allclose(p[:80], fallback[:80]) and not np.isclose(p[80:], fallback[80:]).any()


@pytest.fixture(scope="module")
def embedded():
    tables = build_pbp_tables(lines_frame(read_pbp_files(EMBEDDED_PBP)))
    registry = load_registry(REGISTRY_FILES)
    games = pbp_games_to_shared(tables.games, teams_table(tables.games, registry))
    return games, box_scores.starter_lines(tables.plays, box_scores.box_pitching(tables.plays))


def test_starter_lines_match_the_box_score(embedded):
    games, lines = embedded
    assert lines.select("game_id", "team").is_duplicated().sum() == 0  # one starter per side
    assert lines.height > 0.9 * 2 * games.height  # nearly every side's starter is named
    assert (lines["BF"] > 0).all() and (lines["K"] <= lines["BF"]).all()


def test_ridge_stack_is_forecast_walk_forward(embedded):
    games, lines = embedded
    config = load_league_configs()["ncaa"]
    config = replace(config, stack=replace(config.stack, min_train_games=150))
    result = forecast_league(games, config, starter_lines=lines)
    stack = result.forecasts.filter(pl.col("system") == "ridge_stack")
    assert stack.height == games.height and stack["p_home"].is_between(0, 1, closed="none").all()
    # a later date's results change nothing before it
    cut = games.sort("date")["date"][400]
    later = games.with_columns(home_score=pl.when(pl.col("date") >= cut).then(pl.col("away_score"))
                               .otherwise(pl.col("home_score")),
                               away_score=pl.when(pl.col("date") >= cut).then(pl.col("home_score"))
                               .otherwise(pl.col("away_score")))
    again = forecast_league(later, config, starter_lines=lines).forecasts.filter(pl.col("system") == "ridge_stack")
    before = stack.filter(pl.col("date") <= cut).sort("game_id")["p_home"]
    assert before.to_list() == again.filter(pl.col("date") <= cut).sort("game_id")["p_home"].to_list()
    assert "refitted before each date" in result.settings.filter(pl.col("system") == "ridge_stack")["fit_seasons"][0]
