"""Rating systems on real fixture games: walk-forward selection, point-in-time ratings, conference strength."""

import datetime as dt
import json

import polars as pl
import pytest

from bsi_pipeline.ratings.conference import conference_strength, elo_per_margin_unit
from bsi_pipeline.ratings.elo import EloSettings
from bsi_pipeline.ratings.margin_ridge import RidgeSettings, replay_ridge
from bsi_pipeline.ratings.systems import LeagueConfig, forecast_league, load_league_configs
from bsi_pipeline.sources.espn_ncaa_baseball_games import read_espn_ncaa_baseball_games
from bsi_pipeline.sources.kaggle_mm_compact import read_kaggle_mm_compact
from bsi_pipeline.sources.nfl_spreadspoke import read_nfl_spreadspoke
from bsi_pipeline_tests.conftest import REPO


@pytest.fixture(scope="module")
def nfl():
    result = read_nfl_spreadspoke(sorted((REPO / "data" / "nfl_games").glob("*.csv")))
    config = load_league_configs()["nfl"]
    return result, forecast_league(result.games, config, home_spread=result.details.select("game_id", "home_spread"))


@pytest.fixture(scope="module")
def ncaam():
    result = read_kaggle_mm_compact(sorted((REPO / "data" / "ncaa_mbb").glob("*.csv")))
    return result, forecast_league(result.games, load_league_configs()["ncaam"])


def test_every_game_has_every_system(nfl):
    result, forecasts = nfl
    counts = forecasts.forecasts.group_by("system").len()
    per_system = dict(counts.iter_rows())
    assert per_system["elo_plain"] == per_system["elo_fit"] == result.games.height
    assert per_system["market"] == result.details.filter(pl.col("home_spread").is_not_null()).height
    first_season = result.games["season"].min()
    assert per_system["home_rate"] == result.games.filter(pl.col("season") > first_season).height


@pytest.mark.parametrize("old, new", [("Oakland Raiders", "Las Vegas Raiders"),
                                      ("Washington Redskins", "Washington Commanders")])
def test_a_renamed_or_relocated_franchise_keeps_its_rating(nfl, old, new):
    """Held-out later seasons use the franchises' later names: renaming the last season's games must not
    change a single forecast (the aliases in elo_settings.yaml join the histories)."""
    result, forecasts = nfl
    last = result.games["season"].max()
    renamed = result.games.with_columns(
        pl.when((pl.col("season") == last) & (pl.col(side) == old)).then(pl.lit(new)).otherwise(pl.col(side))
        .alias(side) for side in ("home_team", "away_team"))
    assert renamed.filter(pl.col("home_team") == new).height > 0
    again = forecast_league(renamed, load_league_configs()["nfl"],
                            home_spread=result.details.select("game_id", "home_spread"))
    key = ["game_id", "system"]
    assert again.forecasts.sort(key).select(*key, "p_home").equals(forecasts.forecasts.sort(key).select(*key, "p_home"))


def test_settings_are_chosen_on_earlier_seasons_only(nfl):
    _, forecasts = nfl
    fit = forecasts.settings.filter(pl.col("system") == "elo_fit").sort("season")
    first = fit.row(0, named=True)
    assert first["fit_brier"] is None and "warm-up" in first["fit_seasons"]
    for row in list(fit.iter_rows(named=True))[1:]:
        last_used = int(row["fit_seasons"].split("-")[-1])
        assert last_used < row["season"]


def test_forecasts_do_not_change_when_a_later_season_changes(nfl):
    result, forecasts = nfl
    config = load_league_configs()["nfl"]
    last = result.games["season"].max()
    altered = result.games.with_columns(
        home_score=pl.when(pl.col("season") == last).then(pl.col("away_score") + 30).otherwise(pl.col("home_score")))
    again = forecast_league(altered, config)
    before = forecasts.forecasts.filter((pl.col("season") < last) & (pl.col("system") != "market")).sort(
        "game_id", "system")
    after = again.forecasts.filter(pl.col("season") < last).sort("game_id", "system")
    assert before["p_home"].to_list() == pytest.approx(after["p_home"].to_list())


def test_team_ratings_are_point_in_time(nfl):
    _, forecasts = nfl
    ratings = forecasts.team_ratings.sort("date", "game_id")
    patriots = ratings.filter(pl.col("team") == "New England Patriots")
    season = patriots.filter(pl.col("season") == 2015)
    pre, post = season["rating_pre"].to_list(), season["rating_post"].to_list()
    assert pre[1:] == pytest.approx(post[:-1])  # each game starts where the previous one ended
    assert ratings.group_by("game_id").len()["len"].unique().to_list() == [2]


def test_elo_beats_the_home_rate_baseline_and_market_beats_elo(nfl):
    result, forecasts = nfl
    scored = forecasts.forecasts.join(result.games.select("game_id", "home_score", "away_score"), on="game_id")
    scored = scored.filter((pl.col("home_score") != pl.col("away_score")) & (pl.col("season") >= 2007))
    brier = scored.group_by("system").agg(
        ((pl.col("p_home") - (pl.col("home_score") > pl.col("away_score")).cast(pl.Float64)) ** 2).mean())
    b = dict(brier.iter_rows())
    assert b["market"] < b["elo_fit"] < b["home_rate"]


def test_conference_strength_ranks_power_conferences_first(ncaam):
    result, forecasts = ncaam
    table = conference_strength(forecasts.team_ratings, result.games)
    season = table.filter(pl.col("season") == 2018).sort("strength_vs_average", descending=True)
    top = season["conference"].head(8).to_list()
    assert "Big 12 Conference" in top or "Big 12" in top
    assert abs(season["strength_vs_average"].mean()) < 60  # centred on the average conference team
    strong = season.row(0, named=True)
    assert strong["scoring_edge_per_game"] > 0 and strong["expected_win_pct_vs_average"] > 0.5


def test_a_seasons_conference_strength_does_not_depend_on_later_games(ncaam):
    """elo_margin_vs_average turns Elo into points with the league's Elo-per-point scale. Fitted over every
    season, a later game moved an earlier season's row, and so the evidence next_season_check gives."""
    result, forecasts = ncaam
    seasons = sorted(result.games["season"].unique())
    assert len(seasons) >= 2
    last_game = result.games.filter(pl.col("season") == seasons[-1]).sort("date", "game_id")["game_id"][-1]
    blowout = result.games.with_columns(
        home_score=pl.when(pl.col("game_id") == last_game).then(pl.col("home_score") + 60)
        .otherwise(pl.col("home_score")))
    before = conference_strength(forecasts.team_ratings, result.games)
    after = conference_strength(forecasts.team_ratings, blowout)
    earlier = pl.col("season") < seasons[-1]
    assert before.filter(earlier).height > 0
    assert before.filter(earlier).equals(after.filter(earlier))
    changed = before.filter(~earlier)["elo_per_margin_unit"] != after.filter(~earlier)["elo_per_margin_unit"]
    assert changed.all()  # the last season's own scale does see its games


def test_elo_per_margin_unit_pools_the_season_with_the_earlier_ones():
    """Least squares through the origin, margin = diff / e, over this season and the earlier ones: 2020 (diff
    100, margin 4) gives 10000 / 400 = 25; 2021 adds (diff 50 with the conference layers, margin 5):
    (10000 + 2500) / (400 + 250) = 19.23. test_a_seasons_conference_strength_does_not_depend_on_later_games
    checks only that earlier seasons do not move."""
    ratings = pl.DataFrame({
        "game_id": ["g1", "g1", "g2", "g2"], "league": ["x"] * 4, "season": [2020, 2020, 2021, 2021],
        "is_home": [True, False, True, False], "rating_pre": [1550.0, 1450.0, 1500.0, 1480.0],
        "conference_rating_pre": [0.0, 0.0, 10.0, -20.0]})
    games = pl.DataFrame({"game_id": ["g1", "g2"], "home_score": [6, 5], "away_score": [2, 0]})
    got = elo_per_margin_unit(ratings, games).sort("season")
    assert got["elo_per_margin_unit"].to_list() == pytest.approx([25.0, 12500 / 650])


def _ridge_games(rows, neutral: bool = False):
    return [{"season": d.year, "date": d, "home": h, "away": a, "home_score": hs, "away_score": as_,
             "neutral": neutral, "home_conference": hc, "away_conference": ac}
            for d, h, a, hs, as_, hc, ac in rows]


def test_ridge_margins_use_only_earlier_days_and_learn_strength():
    from datetime import date

    day = [date(2021, 3, d) for d in range(1, 8)]
    rows = [(day[0], "LSU", "Grambling", 12, 1, "SEC", "SWAC"), (day[1], "LSU", "Jackson St.", 9, 0, "SEC", "SWAC"),
            (day[2], "Alabama St.", "Ole Miss", 1, 8, "SWAC", "SEC"), (day[3], "Ole Miss", "Grambling", 6, 2, "SEC", "SWAC"),
            (day[4], "Jackson St.", "Alabama St.", 3, 2, "SWAC", "SWAC"), (day[5], "Grambling", "LSU", 0, 7, "SWAC", "SEC")]
    margins = replay_ridge(_ridge_games(rows), RidgeSettings()).margins
    assert margins[0] == 0.0  # nothing known before the first day
    assert margins[5] < -2  # by then LSU (SEC) is clearly stronger than Grambling (SWAC), even away
    altered = rows[:5] + [(day[5], "Grambling", "LSU", 20, 0, "SWAC", "SEC")]
    assert replay_ridge(_ridge_games(altered), RidgeSettings()).margins[:6].tolist() == margins[:6].tolist()


def test_ridge_weighs_earlier_seasons_by_calendar_gap():
    """A game three seasons back counts previous_weight cubed, as if the skipped seasons had been played."""
    from datetime import date

    def margins(later_season, settings):
        rows = _ridge_games([(date(2021, 3, 1), "LSU", "Grambling", 12, 1, "SEC", "SWAC"),
                             (date(2021, 3, 2), "LSU", "Jackson St.", 9, 0, "SEC", "SWAC")])
        rows.append({**rows[0], "season": later_season, "date": date(later_season, 3, 1)})
        return replay_ridge(rows, settings).margins[-1]

    gap_three = margins(2024, RidgeSettings(previous_weight=0.5))
    assert gap_three == pytest.approx(margins(2022, RidgeSettings(previous_weight=0.125)))
    assert 0 < gap_three < margins(2022, RidgeSettings(previous_weight=0.5))
    # seasons out of order (a caller's bug) count as one season back, never as a weight above 1
    one_back = margins(2022, RidgeSettings(previous_weight=0.5))
    assert margins(2020, RidgeSettings(previous_weight=0.5)) == pytest.approx(one_back)


def test_ridge_system_beats_constant_home_rate_on_college_fixture():
    from bsi_pipeline.ncaa.pbp_reader import lines_frame, read_pbp_files
    from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables
    from bsi_pipeline.ncaa.teams import load_registry, teams_table
    from bsi_pipeline.games import pbp_games_to_shared

    pbp = build_pbp_tables(lines_frame(read_pbp_files(sorted((REPO / "data" / "ncaa_baseball_pbp").glob("*.gz")))))
    teams = teams_table(pbp.games, load_registry(sorted((REPO / "data" / "ncaa_baseball_teams").glob("ncaa_d1_*"))))
    games = pbp_games_to_shared(pbp.games, teams)
    result = forecast_league(games, load_league_configs()["ncaa"])
    scored = result.forecasts.filter(pl.col("season") == 2021).join(
        games.select("game_id", "home_score", "away_score"), on="game_id")
    brier = dict(scored.group_by("system").agg(
        ((pl.col("p_home") - (pl.col("home_score") > pl.col("away_score")).cast(pl.Float64)) ** 2).mean()).iter_rows())
    assert brier["ridge_margin"] < brier["home_rate"]
    chosen = result.settings.filter(pl.col("system") == "ridge_margin")
    assert chosen.filter(pl.col("season") == 2021)["fit_seasons"].item() == "2019-2019"


@pytest.fixture(scope="module", params=["ncaaf", "ncaam"])
def college_other(request):
    """College football (CFBD 2012-2014) or men's basketball (Kaggle 2017-2018) fixture and its forecasts."""
    from bsi_pipeline.sources.cfbd_games import read_cfbd_games

    if request.param == "ncaaf":
        games = read_cfbd_games(sorted((REPO / "data" / "cfb_games").glob("*.csv"))).games
    else:
        games = read_kaggle_mm_compact(sorted((REPO / "data" / "ncaa_mbb").glob("*.csv"))).games
    return request.param, games, forecast_league(games, load_league_configs()[request.param])


def _brier_by_system(forecasts: pl.DataFrame, games: pl.DataFrame, season: int) -> dict[str, float]:
    scored = forecasts.filter(pl.col("season") == season).join(
        games.select("game_id", "home_score", "away_score"), on="game_id").filter(
        pl.col("home_score") != pl.col("away_score"))
    return dict(scored.group_by("system").agg(
        ((pl.col("p_home") - (pl.col("home_score") > pl.col("away_score")).cast(pl.Float64)) ** 2).mean()).iter_rows())


def test_ridge_margin_beats_elo_in_college_football_and_basketball(college_other):
    """Measured on the fixtures' last season: CFB 2014 0.1599 against elo_fit 0.1741, NCAAM 2018 0.1796
    against 0.1828 (margin ratings propagate schedule strength through every earlier game at once)."""
    _, games, result = college_other
    ridge = result.forecasts.filter(pl.col("system") == "ridge_margin")
    assert ridge.height == games.height and ridge["p_home"].is_between(0, 1, closed="none").all()
    brier = _brier_by_system(result.forecasts, games, games["season"].max())
    assert brier["ridge_margin"] < brier["elo_fit"] - 0.002


def test_ridge_grid_is_chosen_on_earlier_seasons_only(college_other):
    league, games, result = college_other
    chosen = result.settings.filter(pl.col("system") == "ridge_margin").sort("season")
    first = chosen.row(0, named=True)
    assert first["fit_brier"] is None and "warm-up" in first["fit_seasons"]
    for row in list(chosen.iter_rows(named=True))[1:]:
        assert int(row["fit_seasons"].split("-")[-1]) < row["season"] and row["fit_brier"] > 0
    # the last season's results change neither its own setting and slope nor any forecast before them
    last = games["season"].max()
    altered = games.with_columns(home_score=pl.when(pl.col("season") == last).then(pl.col("away_score") + 20)
                                 .otherwise(pl.col("home_score")))
    again = forecast_league(altered, load_league_configs()[league])
    same = again.settings.filter(pl.col("system") == "ridge_margin").sort("season")
    assert same["settings"].to_list() == chosen["settings"].to_list()
    assert json.loads(chosen["settings"][-1])["probability_slope_seasons"].endswith(str(last - 1))
    key = ["game_id", "system"]
    before = result.forecasts.filter(pl.col("system") == "ridge_margin").sort(key)
    after = again.forecasts.filter(pl.col("system") == "ridge_margin").sort(key)
    opening_day = games.filter(pl.col("season") == last)["date"].min()
    unchanged = (pl.col("season") < last) | (pl.col("date") == opening_day)
    assert after.filter(unchanged)["p_home"].equals(before.filter(unchanged)["p_home"])
    assert not after.filter(pl.col("season") == last)["p_home"].equals(before.filter(pl.col("season") == last)["p_home"])


def test_best_on_earlier_seasons_never_looks_at_the_season_it_chooses_for():
    import numpy as np

    from bsi_pipeline.ratings.systems import _best_on_earlier_seasons

    seasons = np.repeat([2001, 2002, 2003, 2004], 4)
    outcome = np.tile([1.0, 0.0, 1.0, 0.0], 4)
    good_early = np.where(seasons < 2004, outcome * 0.8 + 0.1, 1 - outcome)  # right until 2004, then wrong
    steady = np.full(16, 0.5)
    choices = _best_on_earlier_seasons([steady, good_early], seasons, outcome, np.ones(16, dtype=bool))
    assert choices[2001] == (None, None, None)  # warm-up
    assert choices[2002][0] == 1 and choices[2002][2] == "2001-2001"
    assert choices[2004][0] == 1 and choices[2004][2] == "2002-2003"  # 2004's own failure is not seen
    assert choices[2004][1] == pytest.approx(0.01)


def test_probability_scale_finds_a_football_sized_slope():
    """A point is worth about 0.12 in football, a run about 0.4 in baseball: the slope is searched on a
    continuous range, so it is found between what a fixed 0.01 grid could return."""
    import numpy as np

    from bsi_pipeline.ratings.margin_ridge import probability_scale

    rng = np.random.default_rng(7)
    margins = rng.normal(0, 14, 400_000)
    outcomes = (rng.random(margins.size) < 1 / (1 + np.exp(-0.125 * margins))).astype(float)
    assert probability_scale(margins, outcomes) == pytest.approx(0.125, abs=0.002)


def test_ridge_solves_a_tournament_of_neutral_sites_and_ties_choose_the_first_setting():
    """Tournament-only seasons (the shared NCAAM data before 2017) have no home games at all: the
    home-advantage column is then held only by its tiny penalty, and the Cholesky solve must still work.
    Grid points that score alike are chosen in grid order, so the choice is reproducible."""
    from datetime import date

    import numpy as np

    from bsi_pipeline.ratings.systems import _best_on_earlier_seasons

    games = [{"season": 2016, "date": date(2016, 3, d), "home": h, "away": a, "home_score": hs, "away_score": as_,
              "neutral": True, "home_conference": None, "away_conference": None}
             for d, h, a, hs, as_ in [(17, "Villanova", "UNC Asheville", 86, 56), (19, "Villanova", "Iowa", 87, 68),
                                      (24, "Villanova", "Miami", 92, 69), (26, "Iowa", "Villanova", 60, 70)]]
    margins = replay_ridge(games, RidgeSettings(margin_cap=30.0)).margins
    assert margins[0] == 0.0 and np.isfinite(margins).all()
    assert margins[3] < -5  # by the last day Villanova is clearly the stronger side, listed away
    seasons, outcome = np.array([2001, 2002, 2003]), np.array([1.0, 0.0, 1.0])
    same = np.array([0.6, 0.4, 0.6])
    assert _best_on_earlier_seasons([same, same.copy()], seasons, outcome, np.ones(3, dtype=bool))[2003][0] == 0


def test_ridge_ratings_are_point_in_time_and_end_at_the_full_season_fit():
    """A side's ridge rating is team + conference effect: before a date it comes from earlier dates only
    (the neutral-site margin is the difference of the two sides' ratings), after a date it is the next
    date's starting rating, and a team's last post-game rating is the fit on every game of the season."""
    from datetime import date

    import numpy as np

    from bsi_pipeline.ratings.margin_ridge import _entries

    day = [date(2021, 3, d) for d in range(1, 8)]
    rows = [(day[0], "LSU", "Grambling", 12, 1, "SEC", "SWAC"), (day[1], "LSU", "Jackson St.", 9, 0, "SEC", "SWAC"),
            (day[2], "Alabama St.", "Ole Miss", 1, 8, "SWAC", "SEC"), (day[3], "Ole Miss", "Grambling", 6, 2, "SEC", "SWAC"),
            (day[4], "Jackson St.", "Alabama St.", 3, 2, "SWAC", "SWAC"), (day[5], "Grambling", "LSU", 0, 7, "SWAC", "SEC")]
    games = _ridge_games(rows, neutral=True)
    settings = RidgeSettings()
    run = replay_ridge(games, settings)
    assert run.home_pre[0] == run.away_pre[0] == 0.0
    assert run.margins == pytest.approx(run.home_pre - run.away_pre, abs=1e-12)
    assert run.home_post[0] == run.home_pre[1]  # LSU after day 1 is LSU before day 2
    # the season-end fit, solved directly: LSU's last rating (away on day 6) is team + SEC effect
    teams, confs = ["Alabama St.", "Grambling", "Jackson St.", "LSU", "Ole Miss"], ["SEC", "SWAC"]
    t_index = {t: i for i, t in enumerate(teams)}
    c_index = {c: len(teams) + i for i, c in enumerate(confs)}
    design = np.zeros((len(games), len(teams) + len(confs) + 1))
    for i, g in enumerate(games):
        for j, sign in _entries(g, t_index, c_index, design.shape[1] - 1):
            design[i, j] = sign
    margins = np.clip([g["home_score"] - g["away_score"] for g in games], -settings.margin_cap, settings.margin_cap)
    penalty = np.diag([settings.team_penalty] * len(teams) + [settings.conference_penalty] * len(confs) + [1e-6])
    beta = np.linalg.solve(design.T @ design + penalty, design.T @ margins)
    assert run.away_post[5] == pytest.approx(beta[t_index["LSU"]] + beta[c_index["SEC"]], abs=1e-9)
    # a different last result moves only the ratings after it
    altered = replay_ridge(games[:5] + [{**games[5], "home_score": 20}], settings)
    assert altered.home_pre.tolist() == run.home_pre.tolist() and altered.away_pre.tolist() == run.away_pre.tolist()
    assert altered.away_post[5] < run.away_post[5]


def _neutral_rematch(home_score: int, away_score: int) -> list[dict]:
    """A and B (both SEC) at a neutral site: this score on 2021-03-01, then they meet again on 2021-03-02."""
    return _ridge_games([(dt.date(2021, 3, 1), "A", "B", home_score, away_score, "SEC", "SEC"),
                         (dt.date(2021, 3, 2), "A", "B", 0, 0, "SEC", "SEC")], neutral=True)


def test_ridge_after_one_game_by_hand_inside_a_conference_and_with_the_cap_both_ways():
    """One game, neutral site, one conference: the design row is team A +1, team B -1 (no conference column: both
    sides share the effect, no home advantage). Minimising (m - (a - b))^2 + 10 (a^2 + b^2) gives a = -b = m / 12,
    so the next day's margin is m / 6. A 6-0 win: 1.0. A 15-0 away win is capped at -10 (margin_cap is
    symmetric): -10 / 6. test_ridge_ratings_are_point_in_time_and_end_at_the_full_season_fit builds its design
    matrix with _entries, the function under test, so it cannot catch a wrong design row."""
    assert replay_ridge(_neutral_rematch(6, 0), RidgeSettings()).margins[1] == pytest.approx(1.0, abs=1e-9)
    assert replay_ridge(_neutral_rematch(0, 15), RidgeSettings()).margins[1] == pytest.approx(-10 / 6, abs=1e-9)


def test_a_seasons_last_ridge_rating_is_the_season_end_fit_before_carry_over():
    """A beats B 6-0 in 2020 (neutral, one conference), then 2021 opens. The 2020 post-game ratings are the
    season-end solve, a = -b = 6 / 12 = 0.5 (what conference_strength publishes as the season's rating), not the
    2021 start, where last season counts previous_weight 0.5: minimising 0.5 (6 - 2a)^2 + 20 a^2 gives
    a = 6 / 22, so the 2021 rematch is forecast 12 / 22.
    test_ridge_ratings_are_point_in_time_and_end_at_the_full_season_fit has one season only."""
    games = _ridge_games([(dt.date(2020, 3, 1), "A", "B", 6, 0, "SEC", "SEC"),
                          (dt.date(2021, 3, 1), "A", "B", 0, 0, "SEC", "SEC")], neutral=True)
    run = replay_ridge(games, RidgeSettings())
    assert (run.home_post[0], run.away_post[0]) == (pytest.approx(0.5), pytest.approx(-0.5))
    assert run.home_pre[1] == pytest.approx(6 / 22) and run.margins[1] == pytest.approx(12 / 22)


def test_ridge_home_advantage_is_not_shrunk_like_the_team_ratings():
    """The module shrinks team and conference ratings toward 0, not the home advantage (its penalty is a token
    1e-6, there only to keep the solve positive definite). So after one home win 6-0 (one conference) the
    cheapest fit puts the whole margin on home advantage: minimising (6 - a + b - h)^2 + 10 (a^2 + b^2) gives
    a = b = 0, h = 6. The next day's rematch at A is forecast 6 and a neutral-site rematch 0. The other ridge
    tests play at neutral sites or assert only a sign, so a home advantage shrunk like a team would pass them."""
    home_win = _ridge_games([(dt.date(2021, 3, 1), "A", "B", 6, 0, "SEC", "SEC"),
                             (dt.date(2021, 3, 2), "A", "B", 0, 0, "SEC", "SEC")])
    games = home_win + [{**home_win[1], "neutral": True}]
    margins = replay_ridge(games, RidgeSettings()).margins
    assert margins[1] == pytest.approx(6.0, abs=1e-4) and margins[2] == pytest.approx(0.0, abs=1e-4)


def test_ridge_keeps_a_season_two_back_when_the_season_between_was_played():
    """Carry-over compounds: at each new season everything earlier is multiplied by previous_weight, so a 2019
    game counts 0.5 ** 2 = 0.25 in 2021 even when 2020 was played (here by other teams, C and D).
    test_ridge_weighs_earlier_seasons_by_calendar_gap checks the square only across skipped seasons. A beats B
    6-0 in 2019 (neutral, one conference): in 2021 minimising 0.25 (6 - 2a)^2 + 20 a^2 gives a = 6 / 42, so the
    rematch is forecast 2 / 7; dropping seasons two back would forecast 0."""
    games = _ridge_games([(dt.date(2019, 3, 1), "A", "B", 6, 0, "SEC", "SEC"),
                          (dt.date(2020, 3, 1), "C", "D", 3, 0, "SEC", "SEC"),
                          (dt.date(2021, 3, 1), "A", "B", 0, 0, "SEC", "SEC")], neutral=True)
    assert replay_ridge(games, RidgeSettings()).margins[2] == pytest.approx(2 / 7)


def test_team_ratings_carry_ridge_ratings_only_where_the_league_has_a_ridge(nfl, college_other):
    _, forecasts = nfl
    assert forecasts.team_ratings.select(pl.col("ridge_rating_pre", "ridge_rating_post").is_null().all()).row(0) == (
        True, True)
    _, games, result = college_other
    ratings = result.team_ratings
    assert ratings.select(pl.col("ridge_rating_pre", "ridge_rating_post").null_count()).row(0) == (0, 0)
    first_date = ratings.filter(pl.col("date") == pl.col("date").min())
    assert first_date["ridge_rating_pre"].to_list() == [0.0] * first_date.height  # nothing known yet
    assert ratings.filter(pl.col("date") > pl.col("date").min())["ridge_rating_pre"].abs().max() > 1


def test_conference_strength_uses_the_ridge_where_it_predicts_next_season_better(college_other):
    """Embedded fixtures, games between conferences scored with the previous season's conference margins.
    Measured RMSE: college football 2013-2014 ridge 20.26 against Elo 21.35 points, basketball 2018 ridge
    13.25 against Elo 14.77."""
    from bsi_pipeline.ratings.conference import next_season_check

    league, games, result = college_other
    table = conference_strength(result.team_ratings, games)
    assert table["margin_source"].unique().to_list() == ["ridge_margin"]
    assert table["margin_per_game_vs_average"].to_list() == table["ridge_margin_vs_average"].to_list()
    conferences, independents = table.filter(~pl.col("is_independent")), table.filter(pl.col("is_independent"))
    assert conferences["scoring_edge_per_game"].to_list() == pytest.approx(
        (conferences["ridge_margin_vs_average"] / 2).to_list())
    for season in conferences.partition_by("season"):
        assert abs(season["ridge_margin_vs_average"].mean()) < 1e-9  # centred on the average conference
    # "FBS Independents" (4-6 teams a season in the CFB fixture) is no conference: kept, flagged, no edge
    assert independents["conference"].unique().to_list() == (["FBS Independents"] if league == "ncaaf" else [])
    assert independents["scoring_edge_per_game"].is_null().all()
    assert independents["ridge_margin_vs_average"].is_not_null().all()
    check = dict(next_season_check(table, games).select("source", "rmse").rows())
    assert check["ridge_margin"] < check["elo_fit"] - 0.5


def test_conference_strength_falls_back_to_elo_and_the_check_skips_what_it_cannot_pair(nfl, college_other):
    """team_ratings without ridge columns (a workspace from before them) gives the Elo measure, said so;
    a league without conferences (the NFL fixture) gives an empty check; seasons that do not follow one
    another are not paired."""
    from bsi_pipeline.ratings.conference import next_season_check

    _, games, result = college_other
    table = conference_strength(result.team_ratings.drop("ridge_rating_pre", "ridge_rating_post"), games)
    assert table["margin_source"].unique().to_list() == ["elo_fit"]
    assert table["margin_per_game_vs_average"].to_list() == table["elo_margin_vs_average"].to_list()
    assert table["ridge_margin_vs_average"].null_count() == table.height
    assert dict(next_season_check(table, games).select("source", "games").rows()) == {
        "elo_fit": next_season_check(conference_strength(result.team_ratings, games), games)["games"][0]}

    nfl_games, nfl_forecasts = nfl
    empty = next_season_check(conference_strength(nfl_forecasts.team_ratings, nfl_games.games), nfl_games.games)
    assert empty.height == 0 and empty.columns == ["league", "source", "games", "correlation", "rmse"]

    seasons = sorted(games["season"].unique().to_list())
    apart = games.filter(pl.col("season") != seasons[1]) if len(seasons) == 3 else games.filter(
        pl.col("season") == seasons[0])
    ratings = result.team_ratings.filter(pl.col("game_id").is_in(apart["game_id"].implode()))
    assert next_season_check(conference_strength(ratings, apart), apart).height == 0


def _two_conference_strength() -> pl.DataFrame:
    """conference_strength of a 2020 league of neutral sites, Elo k = conference_k = 20 and no ridge: on day 1
    A1 beats A2 and B2 beats B1 (5-1, inside their conferences), on day 2 A1 beats B1 5-1."""
    settings = EloSettings(k=20, conference_k=20)
    config = LeagueConfig(league="x", sport="baseball", plain=settings, grid=[settings])
    rows = [("g1", 1, "A1", "A2", 5, 1, "A", "A"), ("g2", 1, "B1", "B2", 1, 5, "B", "B"),
            ("g3", 2, "B1", "A1", 1, 5, "B", "A")]
    games = pl.DataFrame([
        {"game_id": g, "sport": "baseball", "league": "x", "season": 2020, "date": dt.date(2020, 3, day),
         "home_team": h, "away_team": a, "home_score": hs, "away_score": as_, "neutral": True,
         "home_conference": hc, "away_conference": ac} for g, day, h, a, hs, as_, hc, ac in rows])
    return conference_strength(forecast_league(games, config).team_ratings, games)


def test_conference_elo_is_the_layer_after_the_seasons_last_date():
    """A1's win over B1 on the season's last date moves conference A up and B down. A2 and B2 played only
    on the first date, inside their conferences: their own last rows still hold a layer of 0. Each
    conference's Elo is its layer once every member's games are in, not a mean of the members' last rows."""
    table = _two_conference_strength()
    # day 1: A1 beats A2 and B2 beats B1 at even ratings (+-10). Day 2: A1 (1510) beats B1 (1490) on a neutral site.
    move = 20 * (1 - 1 / (1 + 10 ** (-20 / 400)))
    rows = {r["conference"]: r for r in table.iter_rows(named=True)}
    assert rows["A"]["conference_elo"] == pytest.approx(move) and rows["B"]["conference_elo"] == pytest.approx(-move)
    assert rows["A"]["team_elo"] == pytest.approx(1500 + move / 2)  # A1 1510 + 20 x (1 - p), A2 1490
    assert rows["A"]["strength"] == pytest.approx(1500 + move / 2 + move)
    assert rows["B"]["strength"] == pytest.approx(1500 - move / 2 - move)


def test_conference_strength_in_margin_units_and_win_chance_by_hand():
    """The league of _two_conference_strength: A's strength is 1.5 x move above the average of A and B (move =
    20 (1 - p(20 Elo))). The only pre-game Elo difference is day 2's B1 (1490) against A1 (1510): -20 Elo for a
    -4 margin, so elo_per_margin_unit = 400 / 80 = 5 and A's edge is 1.5 x move / 5 runs a game; the expected
    win chance against the average conference team is 1 / (1 + 10 ** (-1.5 x move / 400))."""
    table = _two_conference_strength()
    move = 20 * (1 - 1 / (1 + 10 ** (-20 / 400)))
    a = table.filter(pl.col("conference") == "A").row(0, named=True)
    assert a["margin_source"] == "elo_fit" and a["elo_per_margin_unit"] == pytest.approx(5.0)
    assert a["strength_vs_average"] == pytest.approx(1.5 * move)
    assert a["elo_margin_vs_average"] == pytest.approx(1.5 * move / 5)
    assert a["scoring_edge_per_game"] == pytest.approx(1.5 * move / 10)
    assert a["expected_win_pct_vs_average"] == pytest.approx(1 / (1 + 10 ** (-1.5 * move / 400)))


def test_independents_are_recognised_in_each_leagues_spelling():
    from bsi_pipeline.ratings.conference import is_independent

    names = ["DI Independent", "FBS Independents", "Independent", "Big 12", "Independence League", "SEC", None]
    flags = pl.DataFrame({"conference": names}).select(is_independent(pl.col("conference")))["conference"]
    assert flags.to_list() == [True, True, True, False, False, False, None]


@pytest.fixture(scope="module")
def renamed_colleges():
    """The shipped ESPN 2024-2025 results of Houston Christian and FDU, their opponents and their opponents'
    games (the neighbourhood whose ratings the two schools touch, small enough to replay quickly)."""
    teams_dir = REPO / "data" / "ncaa_baseball_teams"
    games = read_espn_ncaa_baseball_games(sorted((REPO / "data" / "espn_ncaa_baseball").glob("*.csv")),
                                          teams_dir / "canonical_teams_2026.csv",
                                          sorted(teams_dir.glob("ncaa_d1_teams_20*.csv"))).games
    schools = ["Houston Christian", "FDU"]
    involved = pl.col("home_team").is_in(schools) | pl.col("away_team").is_in(schools)
    near = set(games.filter(involved).select(pl.concat_list("home_team", "away_team")).to_series().explode())
    games = games.filter(pl.col("home_team").is_in(list(near)) | pl.col("away_team").is_in(list(near)))
    return games, forecast_league(games, load_league_configs()["ncaa"])


@pytest.mark.parametrize("old, new", [("Houston Baptist", "Houston Christian"), ("Fairleigh Dickinson", "FDU")])
def test_a_renamed_college_keeps_its_rating(renamed_colleges, old, new):
    """The 2019-2021 play-by-play has the schools' old names and the 2024-2025 ESPN results the new ones:
    giving the first season's games the old name must not change a single forecast or rating."""
    games, forecasts = renamed_colleges
    first = games["season"].min()
    renamed = games.with_columns(
        pl.when((pl.col("season") == first) & (pl.col(side) == new)).then(pl.lit(old)).otherwise(pl.col(side))
        .alias(side) for side in ("home_team", "away_team"))
    assert renamed.filter((pl.col("home_team") == old) | (pl.col("away_team") == old)).height >= 4
    assert renamed.filter(pl.col("season") > first).filter(
        (pl.col("home_team") == new) | (pl.col("away_team") == new)).height >= 1
    again = forecast_league(renamed, load_league_configs()["ncaa"])
    key = ["game_id", "system"]
    assert again.forecasts.sort(key).select(*key, "p_home").equals(forecasts.forecasts.sort(key).select(*key, "p_home"))
    columns = ["game_id", "team", "rating_pre", "rating_post", "ridge_rating_pre", "ridge_rating_post"]
    assert again.team_ratings.select(columns).equals(forecasts.team_ratings.select(columns))
    assert old not in set(again.team_ratings.get_column("team"))  # the rating history is under today's name


def test_home_rate_leaves_ties_out():
    """2020: a home win, an away win and a tie; the 2021 home_rate is 1 / 2 (decided games only)."""
    s = EloSettings(k=20)
    config = LeagueConfig(league="x", sport="football", plain=s, grid=[s])
    rows = [("a", 2020, 1, 20, 10), ("b", 2020, 2, 10, 20), ("c", 2020, 3, 17, 17), ("d", 2021, 1, 24, 3)]
    games = pl.DataFrame([{"game_id": g, "sport": "football", "league": "x", "season": season,
                           "date": dt.date(season, 9, day), "home_team": "H" + g, "away_team": "A" + g,
                           "home_score": hs, "away_score": away, "neutral": False, "home_conference": None,
                           "away_conference": None} for g, season, day, hs, away in rows])
    rate = forecast_league(games, config).forecasts.filter(pl.col("system") == "home_rate")
    assert rate.select("game_id", "p_home").rows() == [("d", 0.5)]
