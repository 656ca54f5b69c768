"""The Elo engine: textbook updates, margin multipliers, reversion, conference layer, walk-forward order."""

import math

import pytest

from bsi_pipeline.ratings.elo import EloGame, EloSettings, mov_multiplier, replay, win_probability


def test_win_probability_is_the_logistic_in_base_10():
    assert win_probability(0) == 0.5
    assert win_probability(400) == pytest.approx(10 / 11)
    assert win_probability(-100) == pytest.approx(1 - win_probability(100))


def test_one_game_update_matches_the_formula():
    s = EloSettings(k=20, home_advantage=65)
    out = replay([EloGame(2015, "NE", "PIT", 28, 21)], s)
    p = 1 / (1 + 10 ** (-65 / 400))
    assert out.p_home == [pytest.approx(p)]
    assert out.home_post[0] == pytest.approx(1500 + 20 * (1 - p))
    assert out.away_post[0] == pytest.approx(1500 - 20 * (1 - p))
    assert out.home_pre == [1500] and out.away_pre == [1500]


def test_fivethirtyeight_margin_multiplier():
    # ln(|PD|+1) * 2.2 / (0.001 * winner's lead + 2.2)
    assert mov_multiplier("fte", 7, 100) == pytest.approx(math.log(8) * 2.2 / 2.3)
    assert mov_multiplier("log", -3, 0) == pytest.approx(math.log(4))
    assert mov_multiplier("none", 30, 0) == 1.0
    with pytest.raises(ValueError, match="unknown margin"):
        mov_multiplier("sqrt", 1, 0)


def test_neutral_site_has_no_home_advantage_and_ties_count_half():
    out = replay([EloGame(2018, "A", "B", 3, 3, neutral=True)], EloSettings(k=20, home_advantage=100))
    assert out.p_home == [0.5] and out.home_post == [1500]


def test_reversion_between_seasons_only():
    s = EloSettings(k=32, reversion=1 / 3, mean=1505, new_team=1505)
    games = [EloGame(2014, "A", "B", 10, 0), EloGame(2014, "A", "B", 10, 0), EloGame(2015, "A", "B", 10, 0)]
    out = replay(games, s)
    after_2014 = out.home_post[1]
    assert out.home_pre[1] == out.home_post[0]  # no reversion within a season
    assert out.home_pre[2] == pytest.approx(after_2014 + (1505 - after_2014) / 3)


def test_pre_game_ratings_never_see_the_game_itself():
    games = [EloGame(2021, "A", "B", 5, 1), EloGame(2021, "B", "C", 2, 9), EloGame(2021, "A", "C", 0, 4)]
    full = replay(games, EloSettings(k=20))
    truncated = replay(games[:2], EloSettings(k=20))
    assert full.p_home[:2] == truncated.p_home  # later games change nothing before them
    assert full.home_pre[2] == full.home_post[0]


def test_conference_layer_moves_only_on_non_conference_games():
    s = EloSettings(k=20, conference_k=10)
    games = [EloGame(2021, "LSU", "Ole Miss", 5, 1, home_conference="SEC", away_conference="SEC"),
             EloGame(2021, "LSU", "Grambling", 9, 0, home_conference="SEC", away_conference="SWAC")]
    out = replay(games, s)
    assert out.conference_ratings["SEC"] > 0 > out.conference_ratings["SWAC"]
    assert out.home_conf_pre == [0.0, 0.0]


def test_unaffiliated_new_teams_start_lower():
    s = EloSettings(new_team=1500, new_team_unaffiliated=1300)
    out = replay([EloGame(2019, "LSU", "Saint Martin's", 5, 1, home_conference="SEC")], s)
    assert out.home_pre == [1500] and out.away_pre == [1300]
