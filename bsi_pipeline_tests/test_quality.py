"""Great Expectations suites catch what would corrupt downstream tables."""

import gzip

import polars as pl
import pytest

from bsi_pipeline import quality
from bsi_pipeline.ncaa.pbp_reader import lines_frame, read_pbp_files
from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables
from bsi_pipeline_tests.conftest import EMBEDDED_PBP, FIXTURES, REPO


@pytest.fixture(scope="module")
def plays(tmp_path_factory):
    folder = tmp_path_factory.mktemp("q")
    with gzip.open(EMBEDDED_PBP[-1], "rt", newline="") as f:
        head = f.readlines()[:400]
    path = folder / "sample.csv"
    path.write_text("".join(head[:-1]))  # whole real games, last (maybe partial) game aside
    return build_pbp_tables(lines_frame(read_pbp_files([path]))).plays


def failed(df):
    result = quality.validate("plays", quality.plays_frame_for_checks(df), quality.plays_suite())
    return result.passed, {f["expectation"] + ":" + str(f["kwargs"].get("column", f["kwargs"].get("column_list")))
                           for f in result.failures()}


def test_real_plays_pass(plays):
    assert failed(plays) == (True, set())


def test_a_validation_draws_no_progress_bars(plays, capfd):
    """GX's per-validation tqdm bars would fill `make run`'s log, even with tqdm imported before GX."""
    import tqdm  # noqa: F401  (as mlflow and others import it before the checks run)

    capfd.readouterr()
    assert failed(plays)[0]
    out, err = capfd.readouterr()
    assert "Calculating Metrics" not in out + err


def test_duplicate_key_fails(plays):
    ok, what = failed(pl.concat([plays, plays.head(1)]))
    assert not ok and any("compound_columns_to_be_unique" in w for w in what)


def test_out_of_range_outs_and_unknown_event_fail(plays):
    bad = plays.with_columns(
        outs_after=pl.when(pl.col("seq") == 3).then(4).otherwise(pl.col("outs_after")).cast(pl.Int8),
        event_type=pl.when(pl.col("seq") == 4).then(pl.lit("goal")).otherwise(pl.col("event_type")))
    ok, what = failed(bad)
    assert not ok
    assert "expect_column_values_to_be_between:outs_after" in what
    assert "expect_column_values_to_be_in_set:event_type" in what


def test_score_going_backwards_and_date_outside_season_fail(plays):
    first_game = plays["game_id"][0]
    bad = plays.with_columns(
        away_score=pl.when((pl.col("game_id") == first_game) & (pl.col("seq") == 20)).then(-1)
        .otherwise(pl.col("away_score")).cast(pl.Int16),
        date=pl.when(pl.col("seq") == 5).then(pl.date(2021, 11, 1)).otherwise(pl.col("date")))
    ok, what = failed(bad)
    assert not ok
    assert "expect_column_values_to_be_between:score_drop" in what
    assert "expect_column_values_to_be_between:away_score" in what
    assert "expect_column_values_to_be_between:date_month" in what


@pytest.mark.parametrize("table, counts, broken", [
    ("box_batting", quality.BOX_BATTING_COUNTS, ("SB", "SF")),
    ("box_pitching", quality.BOX_PITCHING_COUNTS, ("BF", "pitches")),
])
def test_box_score_suites_cover_every_count_column(tmp_path, table, counts, broken):
    """Real box lines pass; a negative value in any count column fails, naming that column."""
    from bsi_pipeline.ncaa import box_scores

    with gzip.open(EMBEDDED_PBP[-1], "rt", newline="") as f:
        head = f.readlines()[:400]
    path = tmp_path / "sample.csv"
    path.write_text("".join(head[:-1]))
    tables = build_pbp_tables(lines_frame(read_pbp_files([path])))
    box = (box_scores.box_batting(tables.plays, tables.play_runners) if table == "box_batting"
           else box_scores.box_pitching(tables.plays))
    suite = getattr(quality, f"{table}_suite")  # a fresh suite per validation: GX owns the expectations
    assert set(counts) <= set(box.columns) and box.height > 0
    assert quality.validate(table, box, suite()).passed
    for column in broken:
        bad = box.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(-1).otherwise(pl.col(column))
                               .cast(box.schema[column]).alias(column))
        result = quality.validate(table, bad, suite())
        assert not result.passed
        assert [f["kwargs"]["column"] for f in result.failures()] == [column]



# ------------------------------------------------------------------------------------------ feature tables


@pytest.fixture(scope="module")
def feature_tables():
    """Real-shaped feature tables built by the builders from the repository's data: MLB 2008-2009 games
    (Retrosheet logs through the Elo systems), the embedded college starts, the 2021-2022 Statcast samples."""
    from bsi_pipeline_tests.monitoring_helpers import (
        batted_balls_features,
        mlb_games_features,
        pitcher_starts_features,
    )

    return {"features_games": mlb_games_features(), "features_pitcher_starts": pitcher_starts_features(),
            "features_batted_balls": batted_balls_features()}


UNIQUE, UNIQUE_TOGETHER = "expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"
NOT_NULL, BETWEEN, IN_SET = ("expect_column_values_to_not_be_null", "expect_column_values_to_be_between",
                             "expect_column_values_to_be_in_set")
EQUAL, AT_LEAST = "expect_column_pair_values_to_be_equal", "expect_column_pair_values_a_to_be_greater_than_b"


def feature_failures(table: str, df: pl.DataFrame) -> set[str]:
    """The failed expectations as "<expectation>:<columns>"."""
    result = quality.validate_features(table, df)
    assert result.passed == (not result.failures())
    named = set()
    for f in result.failures():
        k = f["kwargs"]
        columns = k.get("column") or k.get("column_list") or k.get("missing") or [k["column_A"], k["column_B"]]
        named.add(f"{f['expectation']}:{','.join(columns) if isinstance(columns, list) else columns}")
    return named


def at(df: pl.DataFrame, where: pl.Expr, **values) -> pl.DataFrame:
    """`df` with the columns in `values` replaced on the first row matching `where`, keeping dtypes."""
    first = pl.int_range(pl.len()) == pl.arg_where(where).first()
    return df.with_columns(pl.when(first).then(v if isinstance(v, pl.Expr) else pl.lit(v))
                           .otherwise(pl.col(c)).cast(df.schema[c]).alias(c) for c, v in values.items())


def test_real_feature_tables_pass(feature_tables):
    from bsi_pipeline.batted_ball import batted_ball_features, load_woba_weights
    from bsi_pipeline.features.batted_balls import build_batted_ball_features
    from bsi_pipeline.sources.statcast_csv import read_statcast_csv
    from bsi_pipeline_tests.conftest import FIXTURES

    for table, df in feature_tables.items():
        assert df.height > 1000, table
        result = quality.validate_features(table, df)
        assert result.passed and len(result.expectations) > 20, (table, result.failures())
    # the full Savant export: measured spray angles and Savant's own xwOBA and woba_value
    full = build_batted_ball_features(batted_ball_features(
        read_statcast_csv([FIXTURES / "statcast" / "sc_2023-06-11_sample.csv"]).batted_balls, load_woba_weights()))
    assert full.features["has_spray"].sum() > 0
    assert quality.validate_features("features_batted_balls", full.features).passed
    # baselines are null where the source has none: p_elo, Savant's xwOBA (absent from the short export)
    assert feature_tables["features_batted_balls"]["estimated_woba_using_speedangle"].null_count() > 0
    games = feature_tables["features_games"].with_columns(p_elo=pl.lit(None, dtype=pl.Float64))
    assert quality.validate_features("features_games", games).passed
    # an empty table (a config without that source) passes
    for table, df in feature_tables.items():
        assert quality.validate_features(table, df.head(0)).passed


WON, LOST, ANY = pl.col("home_win") == 1, pl.col("home_win") == 0, pl.lit(True)
GAME_DEFECTS = {
    "a game twice": (lambda d: pl.concat([d, d.head(1)]), {f"{UNIQUE}:row_id"}),
    "no label": (lambda d: at(d, WON, home_win=None),
                 {f"{NOT_NULL}:home_win", f"{EQUAL}:home_win,home_win_from_score"}),
    "label against the score": (lambda d: at(d, WON, home_win=0.0), {f"{EQUAL}:home_win,home_win_from_score"}),
    "a tie labelled": (lambda d: at(d, LOST, home_score=pl.col("away_score")),
                       {f"{EQUAL}:home_win,home_win_from_score"}),
    "label not 0/1": (lambda d: at(d, WON, home_win=2.0),
                      {f"{IN_SET}:home_win", f"{EQUAL}:home_win,home_win_from_score"}),
    "negative score": (lambda d: at(d, WON, away_score=-1.0), {f"{BETWEEN}:away_score"}),
    "probability outside [0, 1]": (lambda d: at(d, ANY, p_elo=1.2, p_components=-0.1),
                                   {f"{BETWEEN}:p_elo", f"{BETWEEN}:p_components"}),
    "same-date game read as history": (lambda d: at(d, ANY, rest_away=0.0), {f"{BETWEEN}:rest_away"}),
    "season not the year of the date": (lambda d: at(d, ANY, season=pl.col("season") + 1),
                                        {f"{EQUAL}:date_year,season"}),
    "NaN feature": (lambda d: at(d, ANY, logit_elo_fit=float("nan")), {f"{NOT_NULL}:logit_elo_fit"}),
    "null key": (lambda d: at(d, ANY, league=None), {f"{NOT_NULL}:league"}),
    "league out of scope": (lambda d: at(d, ANY, league="nfl"), {f"{IN_SET}:league"}),
    "declared column missing": (lambda d: d.drop("home_edge"), {"declared_columns_present:home_edge"}),
}
OVER, UNDER = pl.col("over_line") == 1, pl.col("over_line") == 0
START_DEFECTS = {
    "two starters for a team": (lambda d: pl.concat([d, d.head(1).with_columns(row_id=pl.lit("other"))]),
                                {f"{UNIQUE_TOGETHER}:game_id,team"}),
    "more strikeouts than batters": (lambda d: at(d, OVER, strikeouts=pl.col("batters_faced") + 1),
                                     {f"{AT_LEAST}:batters_faced,strikeouts"}),
    "negative strikeouts": (lambda d: at(d, UNDER, strikeouts=-1.0), {f"{BETWEEN}:strikeouts"}),
    "over_line against strikeouts": (lambda d: at(d, OVER, over_line=0.0),
                                     {f"{EQUAL}:over_line,over_line_from_strikeouts"}),
    "line below the minimum": (lambda d: at(d, pl.col("strikeouts") == 0, line=1.5), {f"{BETWEEN}:line"}),
    "P(over) above 1": (lambda d: at(d, ANY, baseline_p_over=1.5), {f"{BETWEEN}:baseline_p_over"}),
    "same-day appearance read as history": (lambda d: at(d, ANY, days_rest=0.0), {f"{BETWEEN}:days_rest"}),
    "no pitcher": (lambda d: at(d, ANY, player=None), {f"{NOT_NULL}:player"}),
    "season not the year of the date": (lambda d: at(d, ANY, season=pl.col("season") - 1),
                                        {f"{EQUAL}:date_year,season"}),
    "null feature": (lambda d: at(d, ANY, opp_k_rate=None), {f"{NOT_NULL}:opp_k_rate"}),
}
HOME_RUN, HIT = pl.col("is_home_run") == 1, pl.col("is_hit") == 1
BALL_DEFECTS = {
    "a ball twice": (lambda d: pl.concat([d, d.head(1)]), {f"{UNIQUE}:row_id"}),
    "home run not a hit": (lambda d: at(d, HOME_RUN, is_hit=0.0), {f"{AT_LEAST}:is_hit,is_home_run"}),
    "label not 0/1": (lambda d: at(d, HIT, is_hit=0.5), {f"{IN_SET}:is_hit"}),
    "no wOBA label": (lambda d: at(d, ANY, woba_value=None), {f"{NOT_NULL}:woba_value"}),
    "negative wOBA": (lambda d: at(d, ANY, woba_value=-0.9), {f"{BETWEEN}:woba_value"}),
    "negative xwOBA": (lambda d: at(d, ANY, estimated_woba_using_speedangle=-0.1),
                       {f"{BETWEEN}:estimated_woba_using_speedangle"}),
    "zero exit velocity": (lambda d: at(d, ANY, launch_speed=0.0), {f"{BETWEEN}:launch_speed"}),
    "launch angle past vertical": (lambda d: at(d, ANY, launch_angle=120.0), {f"{BETWEEN}:launch_angle"}),
    "null input": (lambda d: at(d, ANY, launch_angle=None), {f"{NOT_NULL}:launch_angle"}),
    "season not the year of the date": (lambda d: at(d, ANY, season=2030), {f"{EQUAL}:date_year,season"}),
}


@pytest.mark.parametrize("table, defect", [
    (table, defect) for table, defects in (("features_games", GAME_DEFECTS), ("features_pitcher_starts", START_DEFECTS),
                                           ("features_batted_balls", BALL_DEFECTS)) for defect in defects])
def test_feature_suites_catch_each_defect(feature_tables, table, defect):
    """One defect in otherwise real rows fails exactly the expectations that state the broken promise."""
    mutate, expected = {"features_games": GAME_DEFECTS, "features_pitcher_starts": START_DEFECTS,
                        "features_batted_balls": BALL_DEFECTS}[table][defect]
    assert feature_failures(table, mutate(feature_tables[table])) == expected


def test_feature_check_runs_with_its_table_blocks_what_reads_it_and_stays_out_of_other_subsets():
    """features_batted_balls is an optional output of the batted_ball_features multi-asset (can_subset): its
    check runs when the table is produced, a failure stops an asset that reads the table, and a run of the
    `_excluded` output alone neither runs the check nor fails."""
    import dagster as dg

    from bsi_pipeline.batted_ball import batted_ball_features as with_labels
    from bsi_pipeline.batted_ball import load_woba_weights
    from bsi_pipeline.defs.checks import features_batted_balls_quality
    from bsi_pipeline.defs.features import batted_ball_features
    from bsi_pipeline.sources.statcast_csv import read_statcast_csv
    from bsi_pipeline_tests.conftest import FIXTURES

    raw = {"table": with_labels(read_statcast_csv([FIXTURES / "statcast" / "sc_2023-06-11_sample.csv"]).batted_balls,
                                load_woba_weights())}

    @dg.asset(name="batted_balls")
    def batted_balls() -> pl.DataFrame:
        return raw["table"]

    @dg.asset
    def reads_features(features_batted_balls: pl.DataFrame) -> int:
        return features_batted_balls.height

    def run(*selection: str) -> dg.ExecuteInProcessResult:
        with dg.instance_for_test() as instance:
            return dg.materialize([batted_balls, batted_ball_features, features_batted_balls_quality, reads_features],
                                  selection=list(selection), instance=instance, raise_on_error=False)

    def materialized(result) -> set[str]:
        return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}

    excluded_only = run("batted_balls", "features_batted_balls_excluded")
    assert excluded_only.success and not excluded_only.get_asset_check_evaluations()
    assert materialized(excluded_only) == {"batted_balls", "features_batted_balls_excluded"}

    clean = run("batted_balls", "features_batted_balls", "reads_features")
    assert clean.success and [e.passed for e in clean.get_asset_check_evaluations()] == [True]
    assert materialized(clean) == {"batted_balls", "features_batted_balls", "reads_features"}

    # a launch angle past vertical: the builder keeps the row (it is not null), the check refuses the table
    raw["table"] = raw["table"].with_columns(launch_angle=pl.when(pl.int_range(pl.len()) == 0).then(120.0)
                                             .otherwise(pl.col("launch_angle")))
    bad = run("batted_balls", "features_batted_balls", "reads_features")
    [evaluation] = bad.get_asset_check_evaluations()
    assert not bad.success and not evaluation.passed
    assert "launch_angle" in evaluation.description and evaluation.metadata["failed"].value == 1
    assert materialized(bad) == {"batted_balls", "features_batted_balls"}   # reads_features did not run


def test_home_score_going_backwards_fails(plays):
    """score_drop must see a home drop too (test_score_going_backwards_and_date_outside_season_fail drops
    the away score). One line of the first real game, after the home team has runs, gets home score 0 (the lines after it go back up: one drop)."""
    first_game = plays["game_id"][0]
    game = plays.filter((pl.col("game_id") == first_game) & (pl.col("line_kind") != "summary")).sort("seq")
    seqs, home = game["seq"].to_list(), game["home_score"].to_list()
    k = next(i for i in range(1, len(seqs)) if home[i - 1] > 0)
    bad = plays.with_columns(
        home_score=pl.when((pl.col("game_id") == first_game) & (pl.col("seq") == seqs[k])).then(0)
        .otherwise(pl.col("home_score")).cast(pl.Int16))
    ok, what = failed(bad)
    assert not ok
    assert what == {"expect_column_values_to_be_between:score_drop"}


def test_games_suite_fails_on_a_game_listed_twice():
    """The games table holds each game once (union_games): the games suite must fail on a repeated game_id.
    Real ESPN sample games pass; with the first one appended again, only uniqueness fails."""
    from bsi_pipeline.sources.espn_ncaa_baseball_games import read_espn_ncaa_baseball_games

    teams_dir = REPO / "data" / "ncaa_baseball_teams"
    games = read_espn_ncaa_baseball_games([FIXTURES / "espn_ncaa_baseball_games" / "espn_games_sample.csv"],
                                          teams_dir / "canonical_teams_2026.csv",
                                          sorted(teams_dir.glob("ncaa_d1_teams_20*.csv"))).games
    assert quality.validate("games", games, quality.games_suite()).passed
    result = quality.validate("games", pl.concat([games, games.head(1)]), quality.games_suite())
    assert not result.passed
    assert [(f["expectation"], f["kwargs"]["column"]) for f in result.failures()] == [
        ("expect_column_values_to_be_unique", "game_id")]
