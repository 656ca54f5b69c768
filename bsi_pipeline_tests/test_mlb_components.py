"""The MLB components system (bsi_pipeline/ratings/mlb_components.py): BaseRuns, starter component rates,
no look-ahead within or across dates, walk-forward coefficients, and skill on the embedded game logs."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from bsi_pipeline.ratings import mlb_components as mc
from bsi_pipeline.ratings.systems import forecast_league, load_league_configs
from bsi_pipeline.sources.retrosheet_gamelogs import read_retrosheet_gamelogs
from bsi_pipeline_tests.conftest import REPO

GAMELOGS = sorted((REPO / "data" / "retrosheet_gamelogs").glob("GL*.TXT.gz"))
SETTINGS = load_league_configs()["mlb"].components


@pytest.fixture(scope="module")
def logs():
    return read_retrosheet_gamelogs(GAMELOGS)


def line(**stats) -> np.ndarray:
    out = np.zeros(len(mc.STATS))
    for k, v in stats.items():
        out[mc.STATS.index(k)] = v
    return out


def test_base_runs_by_hand():
    # 10 singles, 2 homers, 4 walks, 27 outs in 36 at-bats: A = 12 + 4 - 2 = 14, TB = 10 + 8 = 18,
    # B = 1.1 (1.4 x 18 - 0.6 x 12 - 3 x 2 + 0.1 x 4) = 13.64, C = 36 - 12 = 24
    value = mc.base_runs(line(ab=36, h=12, hr=2, bb=4))
    assert value == pytest.approx(14 * 13.64 / (13.64 + 24) + 2)
    assert mc.base_runs(line(ab=27)) == 0.0  # no baserunners, no runs


def test_base_runs_by_hand_with_every_term():
    """test_base_runs_by_hand's line has no IBB, SB, CS, GDP, SH or SF, so here is one with every term.
    36 AB, 12 H (2 2B, 1 3B, 2 HR), 4 BB (1 IBB), 1 HBP, 3 SB, 1 CS, 1 GDP, 1 SF, 1 SH:
    TB = 12 + 2 + 2 + 6 = 22; A = 12 + 4 + 1 - 2 - 0.5 = 14.5;
    B = 1.1 (1.4 x 22 - 0.6 x 12 - 3 x 2 + 0.1 x (4 + 1 - 1) + 0.9 x (3 - 1 - 1)) = 1.1 x 18.9 = 20.79;
    C = 36 - 12 + 1 + 1 + 1 + 1 = 28; BsR = A B / (B + C) + HR."""
    value = mc.base_runs(line(ab=36, h=12, **{"2b": 2, "3b": 1}, hr=2, bb=4, ibb=1, hbp=1, sb=3, cs=1, gdp=1,
                              sf=1, sh=1))
    assert value == pytest.approx(14.5 * 20.79 / (20.79 + 28) + 2)


def test_a_line_two_seasons_old_is_kept_at_the_square():
    """season_keep per season crossed: a starter who missed a season keeps 0.5 ** 2 of his line."""
    decayed = mc._Decayed(0.97, 0.5)
    decayed.add("p", 2001, np.array([4.0, 8.0]))
    np.testing.assert_allclose(decayed.get("p", 2003), [1.0, 2.0])


def test_the_lineup_share_leaves_out_the_pitchers_slot():
    """Position 1 (the pitcher batting in an NL park) is not a regular's slot."""
    assert mc._batters((["a", "b", "p"], [2, 3, 1])) == ["a", "b"]
    assert mc._batters((["a", None], None)) == ["a"]


def keyed(games: pl.DataFrame) -> pl.DataFrame:
    return games.sort("date", "game_id").select(
        "game_id", "season", "date", "home_score", "away_score", home="home_team", away="away_team")


def features(games: pl.DataFrame, details: pl.DataFrame) -> pl.DataFrame:
    k = keyed(games)
    zeros = [0.0] * k.height
    return k.select("game_id", "date").with_columns(**{
        name: pl.Series(v) for name, v in mc.side_features(k, details, zeros, zeros, SETTINGS).items()})


def next_start(details: pl.DataFrame, starter: str, day) -> tuple[str, str]:
    """The game of ``starter``'s first start after ``day``, and his side in it."""
    game = details.filter((pl.col("date") > day) & (
        (pl.col("home_starting_pitcher_id") == starter) | (pl.col("away_starting_pitcher_id") == starter))
    ).sort("date").row(0, named=True)
    return game["game_id"], "home" if game["home_starting_pitcher_id"] == starter else "away"


def test_a_result_counts_only_from_the_next_date_on(logs):
    """Turn one game's away batting line into 15 strikeouts and a shutout: features of every game on that
    date or earlier (its doubleheader partner included) are unchanged; the starter's next start changes."""
    details = logs.details
    twin = details.filter(pl.col("doubleheader_number") == "1").sort("date").row(20, named=True)
    gid, day, starter = twin["game_id"], twin["date"], twin["home_starting_pitcher_id"]
    spoiled = details.with_columns(
        away_strikeouts=pl.when(pl.col("game_id") == gid).then(15).otherwise(pl.col("away_strikeouts")))
    before, after = features(logs.games, details), features(logs.games, spoiled)
    cols = [c for c in before.columns if c not in ("game_id", "date")]
    same_day_or_earlier = pl.col("date") <= day
    assert before.filter(same_day_or_earlier).select(cols).equals(after.filter(same_day_or_earlier).select(cols))
    game, side = next_start(logs.details, starter, day)
    b, a = (f.filter(pl.col("game_id") == game).row(0, named=True) for f in (before, after))
    assert a[f"sp_k_{side}"] > b[f"sp_k_{side}"]  # his strikeout rate went up
    assert a[f"def_bsr_{side}"] == pytest.approx(b[f"def_bsr_{side}"])  # strikeouts are outs either way


def test_walks_and_hit_batsmen_both_raise_a_starters_sp_bb(logs):
    """sp_bb is the starter's (BB + HBP) rate. Three more hit batsmen in one start raise it at his next start
    (his walk rate alone falls a little, the plate appearances having grown)."""
    start = logs.details.sort("date", "game_id").row(300, named=True)
    hit = logs.details.with_columns(away_hit_by_pitch=pl.when(pl.col("game_id") == start["game_id"])
                                    .then(pl.col("away_hit_by_pitch") + 3).otherwise(pl.col("away_hit_by_pitch")))
    before, after = features(logs.games, logs.details), features(logs.games, hit)
    game, side = next_start(logs.details, start["home_starting_pitcher_id"], start["date"])
    b, a = (f.filter(pl.col("game_id") == game).row(0, named=True) for f in (before, after))
    assert a[f"sp_bb_{side}"] > b[f"sp_bb_{side}"]


def test_strikeout_starters_rate_higher(logs):
    """Over 2009, starters whose earlier starts struck out more batters carry a higher sp_k."""
    f = features(logs.games, logs.details).join(
        logs.details.select("game_id", "home_starting_pitcher_id", "season"), on="game_id")
    late = f.filter((pl.col("season") == 2009) & (pl.col("date").dt.month() >= 8))
    by_pitcher = late.group_by("home_starting_pitcher_id").agg(pl.col("sp_k_home").mean(), n=pl.len())
    rates = logs.details.filter(pl.col("date") < late["date"].min()).group_by("home_starting_pitcher_id").agg(
        k=pl.col("away_strikeouts").sum() / pl.col("away_at_bats").sum(), starts=pl.len())
    joined = by_pitcher.join(rates, on="home_starting_pitcher_id").filter(pl.col("starts") >= 15)
    assert joined.height > 40
    assert np.corrcoef(joined["sp_k_home"], joined["k"])[0, 1] > 0.8


def test_walk_forward_fits_only_earlier_seasons():
    rng = np.random.default_rng(7)
    seasons = np.repeat([2001, 2002, 2003], 400)
    x = rng.normal(size=(1200, len(mc.FEATURES)))
    outcome = (rng.random(1200) < 1 / (1 + np.exp(-x[:, 0]))).astype(float)
    decided = np.ones(1200, dtype=bool)
    p_plain = rng.uniform(0.3, 0.7, size=1200)
    settings = mc.ComponentSettings(fit_from_season=2001)
    p, chosen = mc.walk_forward(x, outcome, seasons, decided, settings, p_plain)
    assert chosen[2002][1] == "2001-2001" and chosen[2003][1] == "2001-2002"
    changed = outcome.copy()
    changed[seasons == 2003] = 1 - changed[seasons == 2003]  # the season itself never feeds its own fit
    p2, _ = mc.walk_forward(x, changed, seasons, decided, settings, p_plain)
    assert np.array_equal(p, p2)
    assert chosen[2003][0][1] > 0.5  # the signal in column 0 is learned


@pytest.mark.parametrize("fit_from_season", [2001, 2002])
def test_seasons_with_nothing_earlier_to_fit_on_get_the_plain_elo_forecast(fit_from_season):
    """Coefficients fitted on later game logs would be hindsight for the first seasons: they (2001, and 2002
    too when fitting starts there, 2001 being the features' warm-up) forecast as plain Elo, and no later
    outcome can move them."""
    rng = np.random.default_rng(11)
    seasons = np.repeat([2001, 2002, 2003], 300)
    x = rng.normal(size=(900, len(mc.FEATURES)))
    outcome = (rng.random(900) < 1 / (1 + np.exp(-x[:, 0]))).astype(float)
    p_plain = rng.uniform(0.3, 0.7, size=900)
    settings = mc.ComponentSettings(fit_from_season=fit_from_season)
    p, chosen = mc.walk_forward(x, outcome, seasons, np.ones(900, dtype=bool), settings, p_plain)
    unfitted = seasons <= fit_from_season
    assert np.array_equal(p[unfitted], p_plain[unfitted])
    assert all(chosen[s] == (None, mc.NOT_FITTED) for s in range(2001, fit_from_season + 1))
    assert not np.allclose(p[~unfitted], p_plain[~unfitted])
    later = outcome.copy()
    later[~unfitted] = 1 - later[~unfitted]
    p_later, _ = mc.walk_forward(x, later, seasons, np.ones(900, dtype=bool), settings, p_plain)
    assert np.array_equal(p_later[unfitted], p[unfitted])


@pytest.mark.parametrize("fitted_through, uses_prior", [(2000, True), (2001, False), (2005, False)])
def test_prior_coefficients_serve_only_seasons_after_the_ones_they_were_fitted_on(fitted_through, uses_prior):
    """The settings' prior coefficients (fitted on 1991-1999) are a fair start for a later first season (the
    embedded 2008), and hindsight for an earlier one (the shared 1990), which gets plain Elo instead."""
    rng = np.random.default_rng(5)
    seasons = np.repeat([2001, 2002], 200)
    x = rng.normal(size=(400, len(mc.FEATURES)))
    outcome = (rng.random(400) < 0.5).astype(float)
    p_plain = rng.uniform(0.3, 0.7, size=400)
    prior = {k: 0.1 * i for i, k in enumerate(("intercept", *mc.FEATURES))}
    settings = mc.ComponentSettings(fit_from_season=2001, prior_coefficients=prior, prior_fitted_through=fitted_through)
    p, chosen = mc.walk_forward(x, outcome, seasons, np.ones(400, dtype=bool), settings, p_plain)
    first = seasons == 2001
    if uses_prior:
        w = np.array(list(prior.values()))
        assert np.allclose(p[first], 1 / (1 + np.exp(-(w[0] + x[first] @ w[1:]))))
        assert chosen[2001][1] == "prior_coefficients (fitted through 2000)"
    else:
        assert np.array_equal(p[first], p_plain[first]) and chosen[2001] == (None, mc.NOT_FITTED)
    assert chosen[2002][1] == "2001-2001"


def test_components_beat_the_elo_systems_on_2009(logs):
    """Fitted on 2008 alone, the components system scores a lower 2009 Brier than every Elo system."""
    result = forecast_league(logs.games, load_league_configs()["mlb"], game_details=logs.details)
    scored = result.forecasts.join(logs.games.select("game_id", "home_score", "away_score"), on="game_id").filter(
        (pl.col("season") == 2009) & (pl.col("home_score") != pl.col("away_score")))
    brier = dict(scored.group_by("system").agg(
        ((pl.col("p_home") - (pl.col("home_score") > pl.col("away_score")).cast(pl.Float64)) ** 2).mean()).rows())
    assert brier["components"] < min(brier["elo_pitcher"], brier["elo_fit"], brier["elo_plain"]) - 0.001
    coefficients = result.settings.filter((pl.col("system") == "components") & (pl.col("season") == 2009))
    assert coefficients["fit_seasons"].item() == "2008-2008"
    assert '"sp_k":' in coefficients["settings"].item()


def test_games_without_a_game_log_line_are_forecast_and_teach_nothing(logs):
    """A game missing from the details (e.g. an MLB game from another source) still gets finite features
    (no starters or lineup known: neutral values); earlier games are untouched and its result feeds no line."""
    missing = logs.details.sort("date")["game_id"][100:200]
    details = logs.details.filter(~pl.col("game_id").is_in(missing.to_list()))
    k = keyed(logs.games)
    zeros = [0.0] * k.height
    full = mc.side_features(k, logs.details, zeros, zeros, SETTINGS)
    partial = mc.side_features(k, details, zeros, zeros, SETTINGS)
    assert all(np.isfinite(v).all() for v in partial.values())
    first_missing = k["game_id"].to_list().index(sorted(missing.to_list(), key=k["game_id"].to_list().index)[0])
    assert all(np.array_equal(full[c][:first_missing], partial[c][:first_missing]) for c in full)
    assert any(not np.allclose(full[c], partial[c]) for c in full)


def test_a_game_with_two_game_log_lines_is_an_error_not_a_shift(logs):
    """The details are read by position beside the games: a game given twice would shift every later
    game's starters and lines onto the game before it."""
    k = keyed(logs.games)
    zeros = [0.0] * k.height
    twice = pl.concat([logs.details, logs.details.filter(pl.col("game_id") == k["game_id"][5])])
    with pytest.raises(ValueError, match=rf"game-log details: 1 key\(s\) .* first \('{k['game_id'][5]}',\)"):
        mc.side_features(k, twice, zeros, zeros, SETTINGS)
