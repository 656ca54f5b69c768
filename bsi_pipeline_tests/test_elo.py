"""The Elo engine: textbook updates, margin multipliers, reversion, conference layer, walk-forward order
(same-day games frozen), and the starter ratings that feed elo_pitcher."""

import math

import pytest

from bsi_pipeline.ratings.elo import EloGame, EloSettings, mov_multiplier, replay, win_probability
from bsi_pipeline.ratings.pitchers import PitcherSettings, starter_differences


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
    assert mov_multiplier("none", 0, 0) == 1.0


def test_a_tie_counts_as_a_one_point_margin_and_fte_leaves_it_undamped():
    """FiveThirtyEight: ln(max(|PD|, 1) + 1) x 2.2 / 1.0 for a tie. Under log a tie must not move ratings more
    than a one-run win would (it used to count 1.0 against ln 2 = 0.69)."""
    assert mov_multiplier("log", 0, 0) == pytest.approx(math.log(2)) == pytest.approx(mov_multiplier("log", 1, 0))
    assert mov_multiplier("fte", 0, 40) == pytest.approx(math.log(2) * 2.2)
    s = EloSettings(k=20, home_advantage=65, mov="fte", mean=1505, new_team=1505)
    out = replay([EloGame(2000, "H", "A", 17, 17)], s)
    assert out.home_post[0] - 1505 == pytest.approx(20 * math.log(2) * 2.2 * (0.5 - win_probability(65)))
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


def test_reversion_compounds_over_skipped_seasons():
    """Data that skips seasons (college 2021, then ESPN's 2024) reverts once per season crossed."""
    s = EloSettings(k=32, reversion=1 / 3, mean=1505, new_team=1505, conference_k=10, conference_reversion=0.5)
    games = [EloGame(2021, "A", "B", 10, 0, home_conference="SEC", away_conference="SWAC"),
             EloGame(2024, "A", "B", 10, 0, home_conference="SEC", away_conference="SWAC")]
    out = replay(games, s)
    after_2021 = out.home_post[0]
    assert out.home_pre[1] == pytest.approx(1505 + (2 / 3) ** 3 * (after_2021 - 1505))
    one_step = replay([games[0], EloGame(2022, "A", "B", 10, 0, home_conference="SEC", away_conference="SWAC")],
                      s.with_(reversion=1 - (2 / 3) ** 3, conference_reversion=1 - 0.5 ** 3))
    assert out.p_home[1] == pytest.approx(one_step.p_home[1])
    # conference ratings decay per season too: 0.5 per season crossed
    assert out.home_conf_pre[1] == pytest.approx(0.5 ** 3 * out.home_conf_post[0])
    assert out.home_conf_post[0] > 0


def test_seasons_out_of_order_revert_once_never_back():
    """Input not sorted by season (a caller's bug) must not move ratings away from the mean: one reversion."""
    s = EloSettings(k=32, reversion=1 / 3, mean=1505, new_team=1505)
    out = replay([EloGame(2015, "A", "B", 10, 0), EloGame(2014, "A", "B", 10, 0)], s)
    assert out.home_pre[1] == pytest.approx(out.home_post[0] + (1505 - out.home_post[0]) / 3)


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
    assert out.home_conf_post == [0.0, out.conference_ratings["SEC"]]  # the dates are apart (day None)
    assert out.away_conf_post == [0.0, out.conference_ratings["SWAC"]]


def test_unaffiliated_new_teams_start_lower():
    s = EloSettings(new_team=1500, new_team_unaffiliated=1300)
    out = replay([EloGame(2019, "LSU", "Saint Martin's", 5, 1, home_conference="SEC")], s)
    assert out.home_pre == [1500] and out.away_pre == [1300]


def test_games_on_one_date_do_not_see_each_other():
    """A doubleheader: both games start from the ratings the date began with, the second game's forecast
    does not depend on the first one's result, and both changes land before the next date."""
    s = EloSettings(k=20, conference_k=10)
    day1, day2 = "2021-03-06", "2021-03-07"

    def games(first_home_score: int) -> list[EloGame]:
        return [EloGame(2021, "A", "B", first_home_score, 2, home_conference="X", away_conference="Y", day=day1),
                EloGame(2021, "A", "B", 1, 4, home_conference="X", away_conference="Y", day=day1),
                EloGame(2021, "B", "A", 3, 2, home_conference="Y", away_conference="X", day=day2)]

    won, lost = replay(games(9), s), replay(games(0), s)
    assert won.p_home[1] == lost.p_home[1] == 0.5 and won.home_pre[1] == won.home_pre[0] == 1500
    assert won.home_conf_pre[1] == 0.0
    change = 20 * (1 - 0.5) + 20 * (0 - 0.5)  # A: won the first game, lost the second, both at p = 0.5
    assert won.home_post[0] == won.home_post[1] == pytest.approx(1500 + change)
    assert won.away_pre[2] == won.home_post[1]  # the next date starts where the date ended
    assert won.p_home[2] != lost.p_home[2]      # the first game's result counts from the next date on


def test_starter_differences_freeze_within_a_date():
    def games(runs_in_game_one: int) -> list[dict]:
        return [
            {"date": 1, "home": "A", "away": "B", "home_score": 2, "away_score": runs_in_game_one,
             "home_starter": "a1", "away_starter": "b1"},
            {"date": 1, "home": "A", "away": "B", "home_score": 2, "away_score": 3,
             "home_starter": "a1", "away_starter": "b2"},  # a1 starts again: still no record that day
            {"date": 2, "home": "A", "away": "B", "home_score": 2, "away_score": 3,
             "home_starter": "a1", "away_starter": "b2"},
        ]

    settings = PitcherSettings(shrink_starts=0.0)
    bad, good = starter_differences(games(12), settings), starter_differences(games(0), settings)
    assert bad[:2] == good[:2] == [0.0, 0.0]
    assert bad[2] < good[2]  # from the next date on, a1's 12-run start makes the home side worse


def test_fte_multiplier_for_an_away_win_uses_the_away_teams_lead():
    """Away side 100 Elo better (adjustment -100 for home), away wins by 7. FiveThirtyEight's multiplier takes
    the winner's lead: ln(7 + 1) x 2.2 / (0.001 x 100 + 2.2), not the home side's -100."""
    out = replay([EloGame(2015, "H", "A", 14, 21, adjustment=-100.0)], EloSettings(k=20, mov="fte"))
    p = 1 / (1 + 10 ** (100 / 400))                       # 0.35993...
    mult = math.log(8) * 2.2 / 2.3
    assert out.p_home[0] == pytest.approx(p)
    assert out.home_post[0] == pytest.approx(1500 + 20 * mult * (0 - p))   # 1485.68...


def test_conference_ratings_revert_between_seasons():
    """2021: SEC beats SWAC at p = 0.5 with conference_k 10 -> SEC +5, SWAC -5. Crossing into 2022 with
    conference_reversion 0.5 leaves SEC at 2.5 before its first 2022 game."""
    s = EloSettings(k=20, conference_k=10, conference_reversion=0.5)
    games = [EloGame(2021, "LSU", "Grambling", 5, 1, home_conference="SEC", away_conference="SWAC"),
             EloGame(2022, "LSU", "Grambling", 5, 1, home_conference="SEC", away_conference="SWAC")]
    out = replay(games, s)
    assert out.home_conf_post[0] == pytest.approx(5.0)
    assert out.home_conf_pre[1] == pytest.approx(2.5) and out.away_conf_pre[1] == pytest.approx(-2.5)


def test_early_season_k_applies_to_each_teams_first_games_only():
    """early_games 1, multiplier 2: game 1 (A beats B, both new, p = 0.5) moves both by 40 x 0.5 = 20.
    Game 2 (A at 1520 hosts new C, C wins): A has played 1 game -> K 20; C has played none -> K 40."""
    s = EloSettings(k=20, early_k_multiplier=2.0, early_games=1)
    out = replay([EloGame(2021, "A", "B", 5, 1), EloGame(2021, "A", "C", 1, 5)], s)
    assert (out.home_post[0], out.away_post[0]) == (pytest.approx(1520.0), pytest.approx(1480.0))
    p = win_probability(20.0)
    assert out.home_post[1] == pytest.approx(1520 - 20 * p)
    assert out.away_post[1] == pytest.approx(1500 + 40 * p)


@pytest.mark.parametrize("shrink,expected", [(0.0, -1.35), (1.0, -0.675)])
def test_a_starters_first_start_is_measured_against_his_teams_runs_allowed(shrink, expected):
    """alpha = team_alpha = 0.5. Day 1: A allows 10 with a1 starting. Team A: 4.6 x 0.5 + 10 x 0.5 = 7.3. a1 starts
    from his team's 7.3: 7.3 x 0.5 + 10 x 0.5 = 8.65. Day 2, A at home with a1, away starter unknown: with no
    shrinkage the difference is 0 - (8.65 - 7.3) = -1.35; with shrink_starts 1 his one start keeps n / (n + 1) =
    1/2 of it, -0.675."""
    games = [{"date": 1, "home": "A", "away": "B", "home_score": 2, "away_score": 10, "home_starter": "a1",
              "away_starter": None},
             {"date": 2, "home": "A", "away": "C", "home_score": 2, "away_score": 3, "home_starter": "a1",
              "away_starter": None}]
    out = starter_differences(games, PitcherSettings(alpha=0.5, team_alpha=0.5, shrink_starts=shrink))
    assert out == pytest.approx([0.0, expected])


def test_each_date_is_folded_in_once():
    """alpha = team_alpha = 0.5, shrink_starts 1. Day 1: A allows 10 with a1 starting: team A 7.3, a1 8.65 (as in
    test_a_starters_first_start_is_measured_against_his_teams_runs_allowed). Day 2: A allows 4, no starter named:
    team A 7.3 x 0.5 + 4 x 0.5 = 5.65. Day 3, a1 at home: one start, (8.65 - 5.65) x 1 / (1 + 1) = 1.5, so the
    difference is -1.5. Folding day 1 in again on day 3 would make it two starts and -2.0."""
    games = [{"date": day, "home": "A", "away": away, "home_score": 2, "away_score": allowed, "home_starter": starter,
              "away_starter": None}
             for day, away, allowed, starter in ((1, "B", 10, "a1"), (2, "C", 4, None), (3, "B", 3, "a1"))]
    out = starter_differences(games, PitcherSettings(alpha=0.5, team_alpha=0.5, shrink_starts=1.0))
    assert out == pytest.approx([0.0, 0.0, -1.5])
