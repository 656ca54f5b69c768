"""Feature builders (bsi_pipeline/features): no future leakage, nothing dropped silently, provenance as data.

Inputs are built from the embedded real data with the project's own pure functions (play-by-play parser,
box scores, Retrosheet game logs, Elo systems, Statcast reader), plus tiny hand-built schedules whose
features are checked by hand."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from bsi_pipeline.batted_ball import batted_ball_features, load_woba_weights, spray_angle
from bsi_pipeline.features.batted_balls import build_batted_ball_features
from bsi_pipeline.features.games import BASELINE_SYSTEM, REST_CAP, build_game_features
from bsi_pipeline.features.pitcher_starts import (
    DAYS_REST_CAP,
    DEFAULT_LEAGUE_K_RATE,
    DEFAULT_PER_START,
    build_pitcher_start_features,
    poisson_over,
    prop_line,
)
from bsi_pipeline.features.provenance import (
    PROVENANCE,
    LeakageError,
    baseline_columns,
    check_leakage,
    feature_columns,
    label_columns,
)
from bsi_pipeline.features.travel import park_cities, with_site_coordinates
from bsi_pipeline.games import pbp_games_to_shared
from bsi_pipeline.ncaa import box_scores
from bsi_pipeline.ncaa.pbp_reader import lines_frame, read_pbp_files
from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables
from bsi_pipeline.ncaa.player_names import player_keys
from bsi_pipeline.ncaa.teams import load_registry, teams_table
from bsi_pipeline.ratings.systems import forecast_league, load_league_configs
from bsi_pipeline.sources.retrosheet_gamelogs import read_retrosheet_gamelogs
from bsi_pipeline.sources.statcast_csv import read_statcast_csv
from bsi_pipeline_tests.conftest import EMBEDDED_PBP, FIXTURES, REGISTRY_FILES, REPO

# ----------------------------------------------------------------------------------------------- inputs


@pytest.fixture(scope="module")
def ncaa():
    """Embedded college play-by-play (2019 SEC, 2021 SEC + Big 12) -> plays, box scores, games."""
    tables = build_pbp_tables(lines_frame(read_pbp_files(EMBEDDED_PBP)))
    registry = load_registry(REGISTRY_FILES)
    games = pbp_games_to_shared(tables.games, teams_table(tables.games, registry))
    return {"plays": tables.plays, "box_pitching": box_scores.box_pitching(tables.plays),
            "box_batting": box_scores.box_batting(tables.plays, tables.play_runners), "games": games}


@pytest.fixture(scope="module")
def mlb_2008():
    result = read_retrosheet_gamelogs([REPO / "data" / "retrosheet_gamelogs" / "GL2008.TXT.gz"])
    return result.games, result.details


def game_build(games: pl.DataFrame, league: str, details: pl.DataFrame | None = None):
    """Forecast the league with its Elo systems (walk-forward), then build features_games."""
    forecasts = forecast_league(games, load_league_configs()[league], game_details=details)
    return build_game_features(games, forecasts.team_ratings, forecasts.forecasts, leagues=(league,))


@pytest.fixture(scope="module")
def ncaa_games_build(ncaa):
    return game_build(ncaa["games"], "ncaa")


def flip_score(games: pl.DataFrame, game_id: str) -> pl.DataFrame:
    """The same schedule with one game's result reversed (home and away scores swapped)."""
    hit = pl.col("game_id") == game_id
    return games.with_columns(home_score=pl.when(hit).then(pl.col("away_score")).otherwise(pl.col("home_score")),
                              away_score=pl.when(hit).then(pl.col("home_score")).otherwise(pl.col("away_score")))


def doubleheader(games: pl.DataFrame) -> tuple[str, str, str, date]:
    """(team, first game, second game, date) of a doubleheader whose team plays again on a later date."""
    long = pl.concat([games.select("game_id", "season", "date", team="home_team"),
                      games.select("game_id", "season", "date", team="away_team")])
    twice = long.group_by("team", "season", "date").agg(pl.col("game_id").sort(), n=pl.len()).filter(
        pl.col("n") == 2).sort("date", "team")
    for team, season, day, ids, _ in twice.iter_rows():
        if long.filter((pl.col("team") == team) & (pl.col("season") == season) & (pl.col("date") > day)).height:
            return team, ids[0], ids[1], day
    raise AssertionError("no doubleheader in the data")


def features_only(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select("row_id", *feature_columns("features_games")).sort("row_id")


# ------------------------------------------------------------------------------------------ provenance


def test_every_built_table_has_exactly_its_declared_columns(ncaa, ncaa_games_build):
    builds = {
        "features_games": ncaa_games_build,
        "features_pitcher_starts": build_pitcher_start_features(
            ncaa["plays"], ncaa["box_pitching"], ncaa["box_batting"], ncaa["games"]),
        "features_batted_balls": build_batted_ball_features(
            batted_ball_features(read_statcast_csv([FIXTURES / "statcast" / "sc_2023-06-11_sample.csv"])
                                 .batted_balls, load_woba_weights())),
    }
    assert set(builds) == set(PROVENANCE)
    for table, build in builds.items():
        frame = build.features
        assert frame.columns == list(PROVENANCE[table]), table
        assert frame.height > 0, table
        assert frame.schema["date"] == pl.Date and frame.schema["season"] == pl.Int32
        assert frame.schema["row_id"] == pl.String and frame["row_id"].n_unique() == frame.height
        for column in feature_columns(table) + label_columns(table) + baseline_columns(table):
            assert frame.schema[column] == pl.Float64, (table, column)
        for column in feature_columns(table):
            assert frame[column].null_count() == 0 and not frame[column].is_nan().any(), (table, column)
        assert frame.equals(frame.sort("date", "row_id"))
        assert build.excluded.columns == ["table", "row_id", "reason"]


def test_check_leakage_names_outcomes_and_undeclared_features():
    check_leakage("features_games", feature_columns("features_games"))
    check_leakage("features_games", ["p_elo", "season"])  # a baseline and a key are known before the game
    with pytest.raises(LeakageError) as err:
        check_leakage("features_games", ["rating_diff", "home_score", "runs_scored", "home_win", "pythag_diff"])
    message = str(err.value)
    assert "home_score, home_win of features_games are computed from the game itself (outcome)" in message
    assert "runs_scored" in message and "not declared" in message
    assert "rating_diff" not in message and "pythag_diff" not in message
    with pytest.raises(LeakageError, match="strikeouts, over_line .* the start itself"):
        check_leakage("features_pitcher_starts", ["k_per_bf", "strikeouts", "over_line"])
    with pytest.raises(LeakageError, match="is_home_run .* the batted ball itself"):
        check_leakage("features_batted_balls", ["launch_speed", "is_home_run"])
    with pytest.raises(LeakageError, match="unknown features table"):
        check_leakage("features_nope", ["x"])
    assert isinstance(LeakageError("x"), ValueError)


def test_provenance_kinds_are_known_and_model_specs_use_only_declared_features():
    kinds = {"key", "pre_game", "input", "outcome", "baseline"}
    for table, cols in PROVENANCE.items():
        assert set(cols.values()) <= kinds, table
        assert list(cols)[:4] == ["row_id", "league", "season", "date"]
    import yaml

    specs = yaml.safe_load((REPO / "bsi_pipeline" / "models" / "model_specs.yaml").read_text())
    for key, spec in specs.items():
        check_leakage(spec["feature_table"], spec["features"])
        assert PROVENANCE[spec["feature_table"]][spec["target"]] == "outcome", key
        if spec.get("baseline"):
            assert PROVENANCE[spec["feature_table"]][spec["baseline"]] == "baseline", key


# ------------------------------------------------------------------------------------------------ games


def test_games_rows_in_equal_rows_kept_plus_excluded(ncaa, ncaa_games_build):
    games = ncaa["games"]
    extra = games.head(3).with_columns(  # a tie, a game without a score and a second copy of an id
        game_id=pl.Series(["tie", "unplayed", games["game_id"][5]]),
        home_score=pl.Series([4, None, 1], dtype=pl.Int16), away_score=pl.Series([4, None, 2], dtype=pl.Int16))
    build = build_game_features(pl.concat([games, extra]), None, None, leagues=("ncaa",))
    assert build.features.height + build.excluded.height == games.height + 3
    reasons = dict(build.excluded.select("row_id", "reason").iter_rows())
    assert reasons["tie"] == "tie" and reasons["unplayed"] == "no final score"
    assert reasons[games["game_id"][5]].startswith("duplicate game_id")
    assert ncaa_games_build.features.height == games.height  # the real sample has no ties
    forward, backward = (build_game_features(g, None, None, leagues=("ncaa",)) for g in (games, games.reverse()))
    assert forward.features.equals(backward.features)  # the input's row order does not matter
    assert build_game_features(games, None, None, leagues=("mlb",)).features.height == 0


def test_an_unusable_first_copy_does_not_shadow_a_complete_second_one(ncaa):
    """Two copies of a real game, the first without a score: the complete copy is the one kept, and it stays in
    both teams' histories (their next games count it)."""
    games = ncaa["games"].sort("date", "game_id")
    game = games.row(0, named=True)
    blank = games.head(1).with_columns(pl.lit(None, dtype=games["home_score"].dtype).alias("home_score"),
                                       pl.lit(None, dtype=games["away_score"].dtype).alias("away_score"))
    build = build_game_features(pl.concat([blank, games]), None, None, leagues=("ncaa",))
    clean = build_game_features(games, None, None, leagues=("ncaa",))
    assert build.features.equals(clean.features)
    assert build.excluded.select("row_id", "reason").rows() == [(game["game_id"], "no final score")]
    assert build.features.height + build.excluded.height == games.height + 1


@pytest.mark.parametrize("league", ["ncaa", "mlb"])
def test_changing_a_result_changes_only_later_dates(league, ncaa, mlb_2008):
    """Point in time: reverse the result of the first game of a doubleheader and rebuild everything
    (Elo systems included). Every feature of every game on that date or earlier is unchanged, the second
    game of the doubleheader included; the team's next game on a later date changes."""
    games, details = (ncaa["games"], None) if league == "ncaa" else mlb_2008
    team, first, second, day = doubleheader(games)
    before = game_build(games, league, details).features
    after = game_build(flip_score(games, first), league, details).features
    assert_frame_equal(features_only(before.filter(pl.col("date") <= day)),
                       features_only(after.filter(pl.col("date") <= day)))
    assert_frame_equal(features_only(before.filter(pl.col("row_id") == second)),
                       features_only(after.filter(pl.col("row_id") == second)))
    later = games.filter(((pl.col("home_team") == team) | (pl.col("away_team") == team))
                         & (pl.col("date") > day)).sort("date", "game_id")["game_id"][0]
    b, a = (f.filter(pl.col("row_id") == later).row(0, named=True) for f in (before, after))
    changed = {c for c in feature_columns("features_games") if b[c] != pytest.approx(a[c])}
    assert {"form5_diff", "run_diff10_diff", "pythag_diff"} <= changed
    assert before.filter(pl.col("row_id") == first)["home_win"].item() != \
        after.filter(pl.col("row_id") == first)["home_win"].item()


def test_elo_systems_see_only_earlier_dates(ncaa, mlb_2008, ncaa_games_build):
    """The published Elo systems freeze ratings within a date, so both games of a doubleheader carry every
    system, from the same start-of-day ratings; the implied home advantage is the season's constant."""
    games, details = mlb_2008
    forecasts = forecast_league(games, load_league_configs()["mlb"], game_details=details)
    x = build_game_features(games, forecasts.team_ratings, forecasts.forecasts, leagues=("mlb",)).features
    _, first, second, _ = doubleheader(games)
    rows = {r["row_id"]: r for r in x.filter(pl.col("row_id").is_in([first, second])).iter_rows(named=True)}
    assert rows[first]["has_elo_pitcher"] == rows[second]["has_elo_pitcher"] == 1.0
    assert (x["has_components"] == 1.0).all() and (x["has_ridge_stack"] == 0.0).all()
    assert rows[first]["rating_diff"] == rows[second]["rating_diff"]
    assert rows[first]["logit_elo_fit"] == pytest.approx(rows[second]["logit_elo_fit"])
    hfa = x.select(pl.col("logit_elo_fit") * 400 / math.log(10) - pl.col("rating_diff"))
    assert hfa.to_series().round(6).n_unique() == 1  # MLB 2008: one home advantage all season
    published = forecasts.forecasts.filter(pl.col("system") == BASELINE_SYSTEM["mlb"]).select("game_id", "p_home")
    joined = x.join(published, left_on="row_id", right_on="game_id")
    assert (joined["p_elo"] == joined["p_home"]).all()
    ncaa_x = ncaa_games_build.features
    assert (ncaa_x["has_ridge_margin"] == 1.0).all() and (ncaa_x["has_elo_pitcher"] == 0.0).all()


def hand_schedule() -> pl.DataFrame:
    rows = [  # game_id, season, date, home, away, home_score, away_score
        ("g0", 2023, date(2023, 4, 1), "B", "A", 3, 1),
        ("g1", 2024, date(2024, 3, 1), "A", "B", 5, 3),
        ("g2", 2024, date(2024, 3, 3), "C", "A", 4, 2),
        ("g3", 2024, date(2024, 3, 4), "A", "C", 7, 1),
        ("g4", 2024, date(2024, 3, 8), "B", "A", 2, 6),
        ("g5", 2024, date(2024, 3, 9), "A", "B", 1, 0),   # doubleheader, game 1
        ("g6", 2024, date(2024, 3, 9), "A", "B", 3, 4),   # doubleheader, game 2
        ("g7", 2024, date(2024, 3, 12), "A", "B", 9, 2),
        ("g8", 2024, date(2024, 3, 15), "C", "B", 3, 3),  # tie
    ]
    return schedule(rows)


def schedule(rows: list[tuple]) -> pl.DataFrame:
    """College games (SEC against SEC) from (game_id, season, date, home, away, home_score, away_score) rows."""
    frame = pl.DataFrame(rows, schema=["game_id", "season", "date", "home_team", "away_team", "home_score",
                                       "away_score"], orient="row")
    return frame.with_columns(league=pl.lit("ncaa"), neutral=pl.lit(None, dtype=pl.Boolean),
                              home_conference=pl.lit("SEC"), away_conference=pl.lit("SEC"),
                              game_type=pl.lit(None, dtype=pl.String))


def test_hand_checked_schedule():
    build = build_game_features(hand_schedule(), None, None, leagues=("ncaa",))
    x = {r["row_id"]: r for r in build.features.iter_rows(named=True)}
    assert build.excluded.rows() == [("games", "g8", "tie")]
    g7 = x["g7"]
    # A before 3/12: W 5-3, L 2-4, W 7-1, W 6-2, W 1-0, L 3-4; B: L, L, L, W
    assert g7["games_played_home"] == 6 and g7["games_played_away"] == 4
    assert g7["form5_home"] == pytest.approx(3 / 5) and g7["form10_home"] == pytest.approx(4 / 6)
    assert g7["form5_away"] == pytest.approx(1 / 4)
    assert g7["run_diff10_home"] == pytest.approx((2 - 2 + 6 + 4 + 1 - 1) / 6)
    assert g7["run_diff_season_away"] == pytest.approx((-2 - 4 - 1 + 1) / 4)
    assert g7["rest_home"] == 3 and g7["rest_away"] == 3 and g7["rest_diff"] == 0
    # head to head, A's view: B won in 2023; A won g1, g4, g5 and lost g6 this season
    assert g7["h2h_net"] == 1 and g7["h2h_games"] == 5
    # league: 42 runs in 14 team-games before 3/12 (g0 included) = 3.0 a game; 5 games of it added
    rf, ra = 24 + 15, 14 + 15
    assert g7["pythag_home"] == pytest.approx(rf ** 1.83 / (rf ** 1.83 + ra ** 1.83))
    assert g7["pythag_diff"] == pytest.approx(g7["pythag_home"] - g7["pythag_away"])
    # the doubleheader's games do not see each other
    for side in ("home", "away"):
        for f in ("games_played", "form5", "form10", "run_diff10", "run_diff_season", "pythag", "rest"):
            assert x["g5"][f"{f}_{side}"] == x["g6"][f"{f}_{side}"], (f, side)
    assert x["g5"]["h2h_net"] == x["g6"]["h2h_net"] == -1 + 2  # 2023 loss; g1 and g4 wins
    assert x["g5"]["rest_home"] == 1 and x["g5"]["rest_away"] == 1
    # first game of a season: capped rest, a flag, neutral form; 2023 does not count as rest
    g1 = x["g1"]
    assert g1["first_game_home"] == 1 and g1["rest_home"] == REST_CAP and g1["form5_home"] == 0.5
    assert g1["pythag_home"] == 0.5 and g1["games_played_home"] == 0
    assert g1["h2h_net"] == -1 and g1["h2h_games"] == 1  # last season's game counts
    assert x["g2"]["first_game_home"] == 1 and x["g2"]["first_game_away"] == 0 and x["g2"]["rest_away"] == 2
    # series against the same opponent: Fri 3/8, then the Saturday doubleheader; 3/12 (3 days on) is a new
    # series; C-A on Sun 3/3 and Mon 3/4 is one
    assert [x[g]["series_day"] for g in ("g1", "g2", "g3", "g4", "g5", "g6", "g7")] == [1, 1, 2, 1, 2, 2, 1]
    assert [x[g]["weekend"] for g in ("g1", "g2", "g3", "g4", "g5", "g6", "g7")] == [1, 1, 0, 1, 1, 1, 0]
    assert all(r["conference_game"] == 1 and r["neutral"] == 0 for r in x.values())
    assert g7["home_win"] == 1 and x["g6"]["home_win"] == 0
    # no ratings, no forecasts: neutral values, flagged
    assert g7["p_elo_fit"] == 0.5 and g7["has_elo_fit"] == 0 and g7["has_rating"] == 0 and g7["p_elo"] is None


def test_unknown_conferences_and_game_types_are_neither_conference_nor_postseason_games():
    """conference_game needs the same non-null conference on both sides: g7 with none and g5 with the home one
    unknown are not conference games. postseason needs game_type "postseason": only g6 is one, an unknown type is
    not."""
    games = hand_schedule().with_columns(
        home_conference=pl.when(pl.col("game_id").is_in(["g5", "g7"])).then(None).otherwise("home_conference"),
        away_conference=pl.when(pl.col("game_id") == "g7").then(None).otherwise("away_conference"),
        game_type=pl.when(pl.col("game_id") == "g6").then(pl.lit("postseason")).otherwise("game_type"))
    x = {r["row_id"]: r for r in build_game_features(games, None, None, leagues=("ncaa",))
         .features.iter_rows(named=True)}
    assert [x[g]["conference_game"] for g in ("g4", "g5", "g6", "g7")] == [1, 0, 1, 0]
    assert [x[g]["postseason"] for g in ("g4", "g5", "g6", "g7")] == [0, 0, 1, 0]


def test_a_game_with_one_rated_team_has_no_rating_difference():
    """team_ratings rates only g7's home side: has_rating needs both teams, so g7 reads rating_diff 0 and has_rating
    0 like an unrated game; g6, with both sides rated (1510 at home, 1490 away), reads 20 and 1."""
    ratings = pl.DataFrame({"game_id": ["g7", "g6", "g6"], "league": ["ncaa"] * 3, "team": ["A", "A", "B"],
                            "is_home": [True, True, False], "rating_pre": [1520.0, 1510.0, 1490.0]})
    x = {r["row_id"]: r for r in build_game_features(hand_schedule(), ratings, None, leagues=("ncaa",))
         .features.iter_rows(named=True)}
    assert (x["g7"]["has_rating"], x["g7"]["rating_diff"]) == (0, 0.0)
    assert (x["g6"]["has_rating"], x["g6"]["rating_diff"]) == (1, 20.0)


def test_an_absent_system_stands_in_with_elo_fit():
    """game_forecasts has only elo_fit's 0.6 for g7: every other system reads elo_fit's forecast (p 0.6, logit
    ln(0.6 / 0.4)) with has_<system> 0, not a coin flip."""
    forecasts = pl.DataFrame({"game_id": ["g7"], "system": ["elo_fit"], "p_home": [0.6]})
    features = build_game_features(hand_schedule(), None, forecasts, leagues=("ncaa",)).features
    g7 = features.filter(pl.col("row_id") == "g7").row(0, named=True)
    assert g7["has_elo_fit"] == 1 and g7["p_elo_fit"] == pytest.approx(0.6)
    for system in ("elo_plain", "elo_pitcher", "ridge_margin", "components", "ridge_stack"):
        assert g7[f"has_{system}"] == 0 and g7[f"p_{system}"] == pytest.approx(0.6)
        assert g7[f"logit_{system}"] == pytest.approx(math.log(0.6 / 0.4))


def test_last_ten_games_rest_cap_and_a_new_series_after_a_day_off():
    """A hosts B on 12 straight days of March and wins each 2-1, then on the 28th (16 days on) and the 30th.
    Game 12: A has 11 earlier games, the last 10 of them +1 each: run_diff10 = 10 / 10 = 1 (form10 1). Game 13:
    rest is capped at REST_CAP (10), not 16. Game 14 is 2 days after game 13, more than SERIES_GAP_DAYS: day 1
    of a new series."""
    days = [*range(1, 13), 28, 30]
    rows = [(f"s{i}", 2024, date(2024, 3, day), "A", "B", 2, 1) for i, day in enumerate(days, start=1)]
    x = {r["row_id"]: r for r in build_game_features(schedule(rows), None, None, leagues=("ncaa",))
         .features.iter_rows(named=True)}
    assert (x["s12"]["games_played_home"], x["s12"]["run_diff10_home"], x["s12"]["form10_home"]) == (11, 1.0, 1.0)
    assert x["s13"]["rest_home"] == REST_CAP and x["s13"]["series_day"] == 1
    assert (x["s12"]["series_day"], x["s14"]["series_day"], x["s14"]["rest_home"]) == (12, 1, 2)


def test_a_tie_counts_half_a_win_in_form():
    """A and B tie 3-3 on March 1 (a tie is no row of its own) and meet again on the 2nd: each has one game behind
    it, worth half a win, so form5 and form10 are 0.5 on both sides with games_played 1."""
    rows = [("t1", 2024, date(2024, 3, 1), "A", "B", 3, 3), ("t2", 2024, date(2024, 3, 2), "A", "B", 5, 4)]
    t2 = build_game_features(schedule(rows), None, None, leagues=("ncaa",)).features.row(0, named=True)
    assert t2["row_id"] == "t2" and (t2["games_played_home"], t2["games_played_away"]) == (1, 1)
    assert [t2[f"form{n}_{side}"] for n in (5, 10) for side in ("home", "away")] == [0.5] * 4


def test_aliases_keep_a_franchise_history():
    games = hand_schedule().with_columns(
        home_team=pl.when(pl.col("game_id") == "g0").then(pl.lit("OldB")).otherwise(pl.col("home_team")))
    plain = build_game_features(games, None, None, leagues=("ncaa",), aliases={}).features
    joined = build_game_features(games, None, None, leagues=("ncaa",), aliases={"ncaa": {"OldB": "B"}}).features
    assert plain.filter(pl.col("row_id") == "g7")["h2h_games"].item() == 4
    assert joined.filter(pl.col("row_id") == "g7")["h2h_games"].item() == 5
    # aliases belong to their league: an MLB alias does not rename a college team
    elsewhere = build_game_features(games, None, None, leagues=("ncaa",), aliases={"mlb": {"OldB": "B"}}).features
    assert elsewhere.filter(pl.col("row_id") == "g7")["h2h_games"].item() == 4


def test_a_game_between_two_names_of_one_franchise_is_excluded():
    """With OldB an alias of B, OldB at B (g8, made 4-3) is the team against itself: excluded with that reason."""
    g8 = pl.col("game_id") == "g8"
    games = hand_schedule().with_columns(home_team=pl.when(g8).then(pl.lit("OldB")).otherwise("home_team"),
                                         home_score=pl.when(g8).then(4).otherwise("home_score"))
    build = build_game_features(games, None, None, leagues=("ncaa",), aliases={"ncaa": {"OldB": "B"}})
    assert build.excluded.rows() == [("games", "g8", "home and away are the same team")]
    assert "g8" not in build.features["row_id"].to_list()


# ---------------------------------------------------------------------------------------- pitcher starts


@pytest.fixture(scope="module")
def starts_build(ncaa):
    return build_pitcher_start_features(ncaa["plays"], ncaa["box_pitching"], ncaa["box_batting"], ncaa["games"])


def test_pitcher_starts_rows_in_equal_kept_plus_excluded(ncaa, starts_build):
    team_games = ncaa["plays"].select("game_id", "fielding_team").unique().height
    assert starts_build.features.height + starts_build.excluded.height == team_games
    assert set(starts_build.excluded["table"]) == {"plays"}
    assert all(r.startswith("starter unknown") for r in starts_build.excluded["reason"])
    kept = starts_build.features
    box = ncaa["box_pitching"].select("game_id", "team", "player", "K")
    joined = kept.join(box, on=["game_id", "team", "player"])
    assert joined.height == kept.height and (joined["strikeouts"] == joined["K"]).all()


def test_pitcher_start_features_match_a_slow_reference(ncaa, starts_build):
    """Every row recomputed by a plain loop over the box lines of strictly earlier dates of the same pitcher:
    (team, player_key), whatever form each game's text wrote his name in (the keys themselves are tested in
    test_player_names). The embedded games do write some starters two ways, so merged histories are checked."""
    dates = dict(ncaa["games"].select("game_id", "date").iter_rows())
    starts = {(r["game_id"], r["team"], r["player"]) for r in starts_build.features.iter_rows(named=True)}
    keys = {(t, p): k for t, p, k in player_keys(ncaa["box_pitching"]).iter_rows()}
    history: dict[tuple, list] = {}
    for r in ncaa["box_pitching"].iter_rows(named=True):
        history.setdefault((r["team"], keys[(r["team"], r["player"])]), []).append(
            (dates[r["game_id"]], r["K"], r["BF"], (r["game_id"], r["team"], r["player"]) in starts, r["player"]))
    merged = 0
    for row in starts_build.features.iter_rows(named=True):
        assert row["player_key"] == keys[(row["team"], row["player"])]
        earlier = [h for h in history[(row["team"], row["player_key"])] if h[0] < row["date"]]
        merged += any(h[4] != row["player"] for h in earlier)
        prior_starts = [h for h in earlier if h[3]]
        assert row["prior_appearances"] == len(earlier) and row["prior_starts"] == len(prior_starts)
        k, bf = sum(h[1] for h in earlier), sum(h[2] for h in earlier)
        assert row["prior_bf"] == bf
        assert row["k_per_bf"] == pytest.approx((k + 50 * row["league_k_rate"]) / (bf + 50))
        if prior_starts:
            assert row["k_per_start"] == pytest.approx(sum(h[1] for h in prior_starts) / len(prior_starts))
            last = max(h[0] for h in earlier)
            assert row["days_rest"] == min((row["date"] - last).days, DAYS_REST_CAP)
        assert row["line"] == max(2.5, math.floor(row["k_per_start"] - 0.5) + 0.5)
    assert merged > 0


def test_pitcher_start_uses_only_earlier_dates(ncaa, starts_build):
    """Raise one start's strikeouts by 5: that row's features stay, his next start's change."""
    x = starts_build.features
    pitcher = x.filter(pl.col("prior_starts") == 3).row(0, named=True)
    mine = x.filter((pl.col("team") == pitcher["team"]) & (pl.col("player") == pitcher["player"])).sort("date")
    nxt = mine.filter(pl.col("date") > pitcher["date"]).row(0, named=True)
    hit = ((pl.col("game_id") == pitcher["game_id"]) & (pl.col("team") == pitcher["team"])
           & (pl.col("player") == pitcher["player"]))
    box = ncaa["box_pitching"].with_columns(K=pl.when(hit).then(pl.col("K") + 5).otherwise(pl.col("K")))
    y = build_pitcher_start_features(ncaa["plays"], box, ncaa["box_batting"], ncaa["games"]).features
    features = feature_columns("features_pitcher_starts")
    same = y.filter(pl.col("row_id") == pitcher["row_id"]).row(0, named=True)
    assert all(same[c] == pitcher[c] for c in features) and same["strikeouts"] == pitcher["strikeouts"] + 5
    moved = y.filter(pl.col("row_id") == nxt["row_id"]).row(0, named=True)
    assert moved["k_per_start"] > nxt["k_per_start"] and moved["k_per_bf"] > nxt["k_per_bf"]
    earlier = x.filter(pl.col("date") <= pitcher["date"]).select("row_id", *features)
    assert_frame_equal(earlier, y.filter(pl.col("date") <= pitcher["date"]).select("row_id", *features))


def pbp_inputs(plays, box_pitching, box_batting, games):
    """build_pitcher_start_features' four inputs from rows: play lines (game_id, seq, fielding team, pitcher,
    batting team), pitchers' box lines (game_id, team, player, BF, outs, K), teams' batting lines (game_id, team,
    PA, K) and games (game_id, league, season, date, away team, home team, away and home conference)."""
    return (pl.DataFrame([(game, seq, fielding, batting, "play", pitcher)
                          for game, seq, fielding, pitcher, batting in plays],
                         schema=["game_id", "seq", "fielding_team", "batting_team", "line_kind", "pitcher"],
                         orient="row"),
            pl.DataFrame(box_pitching, schema=["game_id", "team", "player", "BF", "outs_recorded", "K"], orient="row"),
            pl.DataFrame(box_batting, schema=["game_id", "team", "PA", "K"], orient="row"),
            pl.DataFrame(games, schema=["game_id", "league", "season", "date", "away_team", "home_team",
                                        "away_conference", "home_conference"], orient="row"))


def hand_pbp():
    """Two games; both teams use a pitcher called Smith. In game 2 Tigers' first play line has no pitcher."""
    return pbp_inputs(
        [("n1", 1, "Bears", "Smith", "Tigers"), ("n1", 2, "Bears", "Smith", "Tigers"),
         ("n1", 3, "Tigers", "Smith", "Bears"), ("n1", 4, "Tigers", "Jones", "Bears"),
         ("n2", 1, "Bears", "Smith", "Tigers"), ("n2", 2, "Tigers", None, "Bears"),
         ("n2", 3, "Tigers", "Jones", "Bears")],
        [("n1", "Bears", "Smith", 20, 15, 9), ("n1", "Tigers", "Smith", 10, 6, 2), ("n1", "Tigers", "Jones", 12, 9, 3),
         ("n2", "Bears", "Smith", 25, 18, 4), ("n2", "Tigers", "Jones", 30, 21, 7)],
        [("n1", "Bears", 22, 5), ("n1", "Tigers", 20, 9), ("n2", "Bears", 30, 7), ("n2", "Tigers", 25, 4)],
        [("n1", "ncaa", 2024, date(2024, 3, 1), "Tigers", "Bears", "SEC", "SEC"),
         ("n2", "ncaa", 2024, date(2024, 3, 8), "Tigers", "Bears", "SEC", "SEC")])


def test_pitcher_identity_is_team_and_name_and_an_unnamed_first_line_is_excluded():
    build = build_pitcher_start_features(*hand_pbp())
    x = {r["row_id"]: r for r in build.features.iter_rows(named=True)}
    assert set(x) == {"n1:Bears", "n1:Tigers", "n2:Bears"}
    assert build.excluded.rows() == [("plays", "n2:Tigers", "starter unknown: no pitcher on the team's first play "
                                      "line (the first named may be a reliever)")]
    bears2 = x["n2:Bears"]
    # the Bears' Smith has one earlier start (9 K in 20 BF); the Tigers' Smith (2 K) is someone else
    assert bears2["prior_starts"] == 1 and bears2["k_per_start"] == 9 and bears2["prior_bf"] == 20
    assert bears2["line"] == 8.5 and bears2["days_rest"] == 7 and bears2["is_home"] == 1
    league = (14 + 1000 * DEFAULT_LEAGUE_K_RATE) / (42 + 1000)
    assert bears2["league_k_rate"] == pytest.approx(league)
    assert bears2["opp_k_rate"] == pytest.approx((9 + 200 * league) / (20 + 200)) and bears2["opp_prior_pa"] == 20
    assert bears2["strikeouts"] == 4 and bears2["over_line"] == 0 and bears2["conference_game"] == 1
    first = x["n1:Bears"]
    assert first["prior_starts"] == 0 and first["first_appearance"] == 1 and first["days_rest"] == DAYS_REST_CAP
    # before any start: the league's default start (4.1 K -> line 3.5) and rate
    assert first["k_per_start"] == DEFAULT_PER_START["k"] and first["line"] == 3.5
    assert first["k_per_bf"] == pytest.approx(DEFAULT_LEAGUE_K_RATE)


def test_a_pitchers_history_follows_him_across_the_forms_scorers_write():
    """The Bears' Smith is "Smith" in n1's text and "J. Smith" in n2's (another scorer): n2 still sees his n1
    start (9 K in 20 BF), and `player` keeps the form n2 wrote. The Tigers' Smith stays someone else."""
    plays, box, batting, games = hand_pbp()
    second = (pl.col("game_id") == "n2") & (pl.col("player") == "Smith")
    plays = plays.with_columns(pitcher=pl.when((pl.col("game_id") == "n2") & (pl.col("pitcher") == "Smith"))
                               .then(pl.lit("J. Smith")).otherwise("pitcher"))
    box = box.with_columns(player=pl.when(second).then(pl.lit("J. Smith")).otherwise("player"))
    built = build_pitcher_start_features(plays, box, batting, games).features
    x = {r["row_id"]: r for r in built.iter_rows(named=True)}
    bears2 = x["n2:Bears"]
    assert bears2["player"] == "J. Smith" and bears2["player_key"] == "smith j" == x["n1:Bears"]["player_key"]
    assert bears2["prior_starts"] == 1 and bears2["k_per_start"] == 9 and bears2["prior_bf"] == 20
    assert x["n1:Tigers"]["player_key"] == "smith" and x["n1:Tigers"]["prior_starts"] == 0


def two_season_pbp():
    """Bears (Smith) at Tigers (Jones) on 2023-03-01 (SEC v SEC) and 2024-03-01 (conferences unknown), then on
    2024-03-08 the Tigers start Brown, who relieved once in 2023."""
    return pbp_inputs(
        [("m1", 1, "Bears", "Smith", "Tigers"), ("m1", 2, "Tigers", "Jones", "Bears"),
         ("m2", 1, "Bears", "Smith", "Tigers"), ("m2", 2, "Tigers", "Jones", "Bears"),
         ("m3", 1, "Bears", "Smith", "Tigers"), ("m3", 2, "Tigers", "Brown", "Bears")],
        [("m1", "Bears", "Smith", 20, 15, 9), ("m1", "Tigers", "Jones", 22, 15, 5), ("m1", "Tigers", "Brown", 8, 6, 2),
         ("m2", "Bears", "Smith", 25, 18, 4), ("m2", "Tigers", "Jones", 24, 18, 6),
         ("m3", "Bears", "Smith", 22, 16, 7), ("m3", "Tigers", "Brown", 18, 12, 3)],
        [("m1", "Bears", 30, 7), ("m1", "Tigers", 28, 11), ("m2", "Bears", 30, 6), ("m2", "Tigers", 29, 5),
         ("m3", "Bears", 27, 8), ("m3", "Tigers", 26, 6)],
        [("m1", "ncaa", 2023, date(2023, 3, 1), "Bears", "Tigers", "SEC", "SEC"),
         ("m2", "ncaa", 2024, date(2024, 3, 1), "Bears", "Tigers", None, None),
         ("m3", "ncaa", 2024, date(2024, 3, 8), "Bears", "Tigers", None, None)])


def test_pitcher_start_features_across_a_season_boundary_by_hand():
    """Smith's first 2024 start (m2):
    - prior_starts 1 (m1) but prior_starts_season 0: his one start was last season;
    - opp_prior_pa 0 and opp_k_rate = league_k_rate: the Tigers' batting is season-to-date (lineups turn over);
    - conference_game 0: both conferences unknown, not "the same";
    - baseline_k = k_per_bf x bf_per_start = 20 (9 + 50 L) / 70, L = (18 + 200) / (58 + 1000) the league rate.
    Brown's first start (m3) has no start of his own: his k_per_start is the league's per START (his relief
    outing is not a start): (9 + 5 + 4 + 6 + 20 x 4.1) / (4 + 20) = 106 / 24."""
    x = {r["row_id"]: r for r in build_pitcher_start_features(*two_season_pbp()).features.iter_rows(named=True)}
    smith = x["m2:Bears"]
    assert smith["prior_starts"] == 1 and smith["prior_starts_season"] == 0
    league = (18 + 1000 * DEFAULT_LEAGUE_K_RATE) / (58 + 1000)
    assert smith["league_k_rate"] == pytest.approx(league)
    assert smith["opp_prior_pa"] == 0 and smith["opp_k_rate"] == pytest.approx(league)
    assert smith["conference_game"] == 0 and x["m1:Bears"]["conference_game"] == 1
    k_per_bf = (9 + 50 * league) / (20 + 50)
    assert smith["k_per_bf"] == pytest.approx(k_per_bf) and smith["bf_per_start"] == 20
    assert smith["baseline_k"] == pytest.approx(20 * k_per_bf)
    mu = 20 * k_per_bf   # line 8.5 (k_per_start 9): P(Poisson(mu) >= 9)
    assert smith["line"] == 8.5
    assert smith["baseline_p_over"] == pytest.approx(1 - sum(math.exp(-mu) * mu ** k / math.factorial(k)
                                                             for k in range(9)))
    later = x["m3:Bears"]   # same season now: one 2024 start before
    assert later["prior_starts"] == 2 and later["prior_starts_season"] == 1 and later["opp_prior_pa"] == 29
    brown = x["m3:Tigers"]
    assert brown["prior_starts"] == 0 and brown["prior_appearances"] == 1
    assert brown["k_per_start"] == pytest.approx((24 + 20 * DEFAULT_PER_START["k"]) / 24)
    assert brown["bf_per_start"] == pytest.approx((91 + 20 * DEFAULT_PER_START["bf"]) / 24)


def test_prop_line_and_poisson_over():
    lines = pl.select(prop_line(pl.Series([5.3, 5.5, 5.0, 1.0, 0.0]))).to_series().to_list()
    assert lines == [4.5, 5.5, 4.5, 2.5, 2.5]
    mu = 4.0
    exact = 1 - sum(math.exp(-mu) * mu ** k / math.factorial(k) for k in range(5))
    assert poisson_over([mu, mu], [4.5, 2.5]).tolist() == pytest.approx(
        [exact, 1 - sum(math.exp(-mu) * mu ** k / math.factorial(k) for k in range(3))])


# ------------------------------------------------------------------------------------------ batted balls


def test_batted_balls_short_export_all_kept_with_labels():
    r = read_statcast_csv(sorted((REPO / "data" / "statcast").glob("statcast_2021_every8th.csv")))
    table = batted_ball_features(r.batted_balls, load_woba_weights())
    build = build_batted_ball_features(table)
    x = build.features
    assert x.height + build.excluded.height == table.height and build.excluded.height == 0
    assert x["row_id"].str.starts_with("file:").all()
    assert (x["has_spray"] == 0).all() and (x["spray_angle"] == 0).all()
    assert x["is_home_run"].sum() == table["is_home_run"].sum()
    assert x["woba_value"].null_count() == 0
    fg = table.join(x.select("row_id", "woba_value"), left_on=pl.format("file:{}:{}", "source_file", "line_no"),
                    right_on="row_id").filter(pl.col("woba_value_fg").is_not_null())
    assert (fg["woba_value_fg"] == fg["woba_value"]).all()  # 2021: the season's own FanGraphs weights


def test_batted_balls_full_export_exclusions_and_spray():
    table = read_statcast_csv([FIXTURES / "statcast" / "sc_2023-06-11_sample.csv"]).batted_balls
    table = table.with_columns(hc_x=pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("hc_x")))
    bad = pl.concat([table.head(1).with_columns(launch_speed=pl.lit(None, dtype=pl.Float64)),  # same id, no speed
                     table.slice(1, 1)])  # a second copy of row 1
    rows = pl.concat([table, bad])
    build = build_batted_ball_features(rows)
    x, excluded = build.features, build.excluded
    assert x.height + excluded.height == rows.height
    assert x.height == table.height and x["row_id"].str.starts_with("mlb:").all()
    assert sorted(excluded["reason"]) == ["duplicate row_id (first copy kept)", "missing launch_speed or launch_angle"]
    zero = table.row(0, named=True)
    first = x.filter(pl.col("row_id") == f"mlb:{zero['game_pk']}:{zero['at_bat_number']}:{zero['pitch_number']}")
    assert first["has_spray"].item() == 0 and first["spray_angle"].item() == 0 and first["has_pull"].item() == 0
    second = table.row(1, named=True)
    got = x.filter(pl.col("row_id") == f"mlb:{second['game_pk']}:{second['at_bat_number']}:{second['pitch_number']}")
    assert got["spray_angle"].item() == pytest.approx(spray_angle(second["hc_x"], second["hc_y"]))
    sign = -1 if second["stand"] == "R" else 1
    assert got["pull_angle"].item() == pytest.approx(sign * got["spray_angle"].item())
    assert got["woba_value"].item() == second["woba_value"]  # Savant's own value where the export has it
    assert x["estimated_woba_using_speedangle"].null_count() < x.height


def test_batted_ball_label_is_savants_woba_value_where_the_export_has_it():
    """woba_value is Savant's own column where given (0.9 for a single, and 0.9 for a reached-on-error, which
    Savant credits as a single), else the FanGraphs credit of the season (2021: w1B 0.879), or of the latest
    earlier season with weights (2023 -> 2021)."""
    balls = pl.DataFrame({
        "game_pk": [1, 1, 1, 2], "at_bat_number": [1, 2, 3, 1], "pitch_number": [1, 1, 1, 1],
        "game_date": [date(2021, 6, 1)] * 3 + [date(2023, 6, 1)], "season": [2021, 2021, 2021, 2023],
        "launch_speed": [95.0, 80.0, 101.0, 99.0], "launch_angle": [12.0, -5.0, 15.0, 10.0],
        "events": ["single", "field_error", "single", "single"], "woba_value": [0.9, 0.9, None, None]},
        schema_overrides={"woba_value": pl.Float64})
    x = build_batted_ball_features(balls, load_woba_weights()).features.sort("row_id")
    assert x["row_id"].to_list() == ["mlb:1:1:1", "mlb:1:2:1", "mlb:1:3:1", "mlb:2:1:1"]
    assert x["woba_value"].to_list() == pytest.approx([0.9, 0.9, 0.879, 0.879])


# ---------------------------------------------------------------------------------------------- travel


def test_travel_follows_each_team_from_park_to_park(mlb_2008):
    """Real 2008 logs: the season opened in Tokyo (OAK-BOS), then both flew to Oakland; every row matches a
    slow reference walk over each team's previous game date with the shipped park table."""
    games, _ = mlb_2008
    features = build_game_features(games, None, None, leagues=("mlb",)).features
    x = {r["row_id"]: r for r in features.iter_rows(named=True)}
    cities = {r["city_code"]: (r["lat"], r["lon"]) for r in park_cities().iter_rows(named=True)}
    assert {loc[:3] for loc in games["location"].to_list()} <= set(cities)  # every 2008 park is known

    def miles(a, b):
        (la1, lo1), (la2, lo2) = (map(math.radians, a)), (map(math.radians, b))
        h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
        return 2 * 3958.8 * math.asin(math.sqrt(h))

    last: dict[str, tuple] = {}  # team -> (date, site) of its latest earlier date
    today: dict[str, tuple] = {}
    checked = 0
    for gid, day, home, away, loc, hs, as_ in games.sort("date", "game_id").select(
            "game_id", "date", "home_team", "away_team", "location", "home_score", "away_score").iter_rows():
        for team, side in ((home, "home"), (away, "away")):
            if team in today and today[team][0] != day:
                last[team] = today[team]
            today[team] = (day, cities[loc[:3]])
            expected = miles(last[team][1], cities[loc[:3]]) / 1000 if team in last else 0.0
            if gid in x:
                assert x[gid][f"travel_{side}"] == pytest.approx(expected, abs=1e-9), (gid, side)
                checked += 1
    assert checked == 2 * features.height
    oakland = games.filter((pl.col("date") == date(2008, 4, 1)) & (pl.col("home_team") == "OAK"))["game_id"]
    opener = features.filter(pl.col("row_id").is_in(oakland.implode()))
    assert opener["travel_away"].item() == pytest.approx(5.15, abs=0.02)  # Tokyo -> Oakland, about 5,150 miles
    assert opener["travel_diff"].item() == 0.0


def test_travel_is_zero_where_sites_have_no_coordinates(ncaa_games_build):
    """College games name a city, not a park: no distance is guessed."""
    assert ncaa_games_build.features["travel_home"].eq(0.0).all()
    assert ncaa_games_build.features["travel_away"].eq(0.0).all()


def test_sites_without_known_coordinates_and_a_bad_park_table(tmp_path, monkeypatch):
    """A park id of an unknown city, a college city, or no location gets no coordinates (travel 0, never a
    guess); a park table listing a city twice is refused."""
    from bsi_pipeline.features import travel

    sites = travel.with_site_coordinates(pl.DataFrame({"location": ["BOS07", "XYZ01", "Omaha, Neb.", None]}))
    assert sites["site_lat"].is_null().to_list() == [False, True, True, True]
    twice = tmp_path / "parks.csv"
    twice.write_text("city_code,city,lat,lon\nBOS,Boston,42.3,-71.1\nBOS,Boston,42.3,-71.1\n")
    monkeypatch.setattr(travel, "PARK_CITIES", twice)
    travel.park_cities.cache_clear()
    try:
        with pytest.raises(ValueError, match="a city code is listed twice"):
            travel.park_cities()
    finally:
        travel.park_cities.cache_clear()


def test_only_a_whole_park_id_is_a_park():
    """A park id is three capitals then two digits, nothing else: "BOS07" is in Boston; "BOS", "BOS7" and "BOS07A"
    are not park ids and get no coordinates (travel to them counts as unknown, never as Boston)."""
    sites = with_site_coordinates(pl.DataFrame({"location": ["BOS07", "BOS", "BOS7", "BOS07A"]}))
    assert sites["site_lat"].is_null().to_list() == [False, True, True, True]


def test_head_to_head_stops_at_last_season():
    """A 2022 meeting is two seasons before 2024: it does not count in g7's head-to-head (still 5 games)."""
    games = hand_schedule()
    older = games.head(1).with_columns(game_id=pl.lit("gm"), season=pl.lit(2022).cast(games["season"].dtype),
                                       date=pl.lit(date(2022, 4, 1)))
    x = build_game_features(pl.concat([older, games]), None, None, leagues=("ncaa",)).features
    g7 = x.filter(pl.col("row_id") == "g7").row(0, named=True)
    assert (g7["h2h_games"], g7["h2h_net"]) == (5, 1)
