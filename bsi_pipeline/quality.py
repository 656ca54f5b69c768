"""Data-quality suites, run with Great Expectations 1.x on polars frames.

Each suite is a list of expectations built in code; `validate` runs one suite in an ephemeral GX
context and returns a plain summary (passed, and per expectation: success and unexpected count
with a few examples), so callers need no GX types. GX imports slowly, so it is imported inside
the functions that need it. Columns that GX cannot express directly (a score drop within a game,
the year of the date) are derived with polars first and then checked by GX like any other column.

The features tables (features_games, features_pitcher_starts, features_batted_balls) each have a suite
of what training relies on: one row per row_id with its keys, the season the year of the date, no
null/NaN in any model input (provenance pre_game/input), labels present and valid and agreeing with the
event they come from, probabilities within [0, 1], and rest days of at least 1 (a same-day game or
appearance counted as history would give 0). `validate_features` runs them.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from bsi_pipeline.features.games import REST_CAP
from bsi_pipeline.features.pitcher_starts import DAYS_REST_CAP, MIN_LINE
from bsi_pipeline.features.provenance import PROVENANCE, feature_columns
from bsi_pipeline.ncaa.pbp_text import EVENT_TYPES

SEASON_MONTHS = (1, 7)  # college baseball is played February to June; allow January and July


@dataclass
class SuiteResult:
    suite: str
    passed: bool
    rows: int
    expectations: list[dict]

    def failures(self) -> list[dict]:
        return [e for e in self.expectations if not e["success"]]


def _gx():
    import great_expectations as gx

    return gx


def validate(name: str, df: pl.DataFrame, expectations: list) -> SuiteResult:
    gx = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    # GX draws a tqdm bar per validation, a wall of them in `make run`'s log. TQDM_DISABLE cannot stop
    # it: tqdm reads the variable when first imported, which mlflow and others do earlier.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas(name=f"{name}_source")
    asset = source.add_dataframe_asset(name=name)
    batch = asset.add_batch_definition_whole_dataframe(f"{name}_batch").get_batch(
        batch_parameters={"dataframe": df.to_pandas()})
    suite = context.suites.add(gx.ExpectationSuite(name=f"{name}_suite"))
    for expectation in expectations:
        suite.add_expectation(expectation)
    outcome = batch.validate(suite, result_format="SUMMARY")
    details = []
    for res in outcome.results:
        config = res.expectation_config
        result = res.result or {}
        details.append({
            "expectation": config.type,
            "kwargs": {k: v for k, v in config.kwargs.items() if k not in ("batch_id",)},
            "success": bool(res.success),
            "unexpected_count": result.get("unexpected_count"),
            "examples": [str(v) for v in (result.get("partial_unexpected_list") or [])[:5]],
        })
    return SuiteResult(name, bool(outcome.success), df.height, details)


def plays_suite() -> list:
    e = _gx().expectations
    return [
        e.ExpectCompoundColumnsToBeUnique(column_list=["game_id", "seq"]),
        e.ExpectColumnValuesToNotBeNull(column="game_id"),
        e.ExpectColumnValuesToNotBeNull(column="seq"),
        e.ExpectColumnValuesToBeBetween(column="outs_before", min_value=0, max_value=3),
        e.ExpectColumnValuesToBeBetween(column="outs_after", min_value=0, max_value=3),
        e.ExpectColumnValuesToBeBetween(column="away_score", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="home_score", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="score_drop", min_value=0, max_value=0),
        e.ExpectColumnValuesToBeInSet(column="event_type", value_set=list(EVENT_TYPES)),
        e.ExpectColumnPairValuesToBeEqual(column_A="date_year", column_B="season"),
        e.ExpectColumnValuesToBeBetween(column="date_month", min_value=SEASON_MONTHS[0], max_value=SEASON_MONTHS[1]),
    ]


def plays_frame_for_checks(plays: pl.DataFrame) -> pl.DataFrame:
    """The columns the plays suite checks, with the derived ones: score drop and date parts.

    `score_drop` is how far either team's score fell since the previous line of the same game
    (inning summaries excluded: they may carry the next half's score); it must be 0 everywhere.
    """
    scored = plays.filter(pl.col("line_kind") != "summary")
    drop = pl.max_horizontal(
        (pl.col("away_score").shift(1).over("game_id", order_by="seq") - pl.col("away_score")).clip(0),
        (pl.col("home_score").shift(1).over("game_id", order_by="seq") - pl.col("home_score")).clip(0),
    ).fill_null(0)
    return scored.select(
        "game_id", "seq", "season", "outs_before", "outs_after", "away_score", "home_score", "event_type",
        score_drop=drop, date_year=pl.col("date").dt.year().cast(pl.Int32), date_month=pl.col("date").dt.month(),
    )


def games_suite() -> list:
    e = _gx().expectations
    return [
        e.ExpectColumnValuesToBeUnique(column="game_id"),
        e.ExpectColumnValuesToNotBeNull(column="game_id"),
        e.ExpectColumnValuesToNotBeNull(column="home_team"),
        e.ExpectColumnValuesToNotBeNull(column="away_team"),
        e.ExpectColumnValuesToNotBeNull(column="date"),
        e.ExpectColumnValuesToBeBetween(column="away_score", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="home_score", min_value=0),
        e.ExpectColumnValuesToBeInSet(column="sport", value_set=["baseball", "football", "basketball"]),
        e.ExpectColumnValuesToNotBeNull(column="season"),
        e.ExpectColumnValuesToNotBeNull(column="source"),
    ]


BOX_BATTING_COUNTS = ("PA", "AB", "H", "2B", "3B", "HR", "R", "RBI", "BB", "IBB", "HBP", "K", "SB", "CS", "SH", "SF")


def box_batting_suite() -> list:
    e = _gx().expectations
    return [
        e.ExpectCompoundColumnsToBeUnique(column_list=["game_id", "team", "player"]),
        e.ExpectColumnValuesToNotBeNull(column="game_id"),
        *(e.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in BOX_BATTING_COUNTS),
    ]


BOX_PITCHING_COUNTS = ("BF", "outs_recorded", "H", "R", "BB", "HBP", "K", "HR", "pitches")


def box_pitching_suite() -> list:
    """One line per game and known pitcher, counts non-negative: the pitcher ratings and the strikeout
    features read these lines."""
    e = _gx().expectations
    return [
        e.ExpectCompoundColumnsToBeUnique(column_list=["game_id", "team", "player"]),
        e.ExpectColumnValuesToNotBeNull(column="game_id"),
        e.ExpectColumnValuesToNotBeNull(column="player"),
        *(e.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in BOX_PITCHING_COUNTS),
    ]


FEATURE_KEYS = ("row_id", "league", "season", "date")


def _features_common(e, table: str) -> list:
    """Every features table: unique non-null row ids and keys, the season the year of the date, and every
    model input (provenance pre_game/input) non-null and not NaN (GX counts NaN as null on pandas)."""
    return [
        e.ExpectColumnValuesToBeUnique(column="row_id"),
        *(e.ExpectColumnValuesToNotBeNull(column=c) for c in FEATURE_KEYS),
        e.ExpectColumnPairValuesToBeEqual(column_A="date_year", column_B="season"),
        *(e.ExpectColumnValuesToNotBeNull(column=c) for c in feature_columns(table)),
    ]


def _not_null(e, *columns: str) -> list:
    return [e.ExpectColumnValuesToNotBeNull(column=c) for c in columns]


def _probabilities(e, *columns: str) -> list:
    return [e.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1) for c in columns]


GAME_PROBABILITIES = tuple(c for c in PROVENANCE["features_games"] if c.startswith("p_"))  # p_<system>, p_elo


def features_games_suite() -> list:
    """The ncaa/mlb home_win models: the label 0/1 and the one the final score gives (a tie has none),
    scores non-negative, every system's probability and the p_elo baseline (null where absent) within
    [0, 1], rest days 1..REST_CAP (0 would mean a same-date game was read as history)."""
    e = _gx().expectations
    return [
        *_features_common(e, "features_games"),
        e.ExpectColumnValuesToBeInSet(column="league", value_set=["ncaa", "mlb"]),
        *_not_null(e, "home_win", "home_score", "away_score"),
        e.ExpectColumnValuesToBeInSet(column="home_win", value_set=[0.0, 1.0]),
        e.ExpectColumnPairValuesToBeEqual(column_A="home_win", column_B="home_win_from_score"),
        e.ExpectColumnValuesToBeBetween(column="home_score", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="away_score", min_value=0),
        *_probabilities(e, *GAME_PROBABILITIES),
        e.ExpectColumnValuesToBeBetween(column="rest_home", min_value=1, max_value=REST_CAP),
        e.ExpectColumnValuesToBeBetween(column="rest_away", min_value=1, max_value=REST_CAP),
    ]


def features_pitcher_starts_suite() -> list:
    """The strikeout model: one start per game and fielding team, a named pitcher and opponent, strikeouts
    between 0 and the batters he faced, over_line 0/1 and equal to strikeouts > line, the line at least
    MIN_LINE, rates and P(over) within [0, 1], days of rest 1..DAYS_REST_CAP (0: a same-day appearance
    read as history)."""
    e = _gx().expectations
    return [
        *_features_common(e, "features_pitcher_starts"),
        e.ExpectCompoundColumnsToBeUnique(column_list=["game_id", "team"]),
        *_not_null(e, "game_id", "team", "player", "opponent", "strikeouts", "batters_faced", "over_line", "line"),
        e.ExpectColumnValuesToBeBetween(column="strikeouts", min_value=0),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="batters_faced", column_B="strikeouts", or_equal=True),
        e.ExpectColumnValuesToBeInSet(column="over_line", value_set=[0.0, 1.0]),
        e.ExpectColumnPairValuesToBeEqual(column_A="over_line", column_B="over_line_from_strikeouts"),
        e.ExpectColumnValuesToBeBetween(column="line", min_value=MIN_LINE),
        *_probabilities(e, "k_per_bf", "opp_k_rate", "league_k_rate", "baseline_p_over"),
        e.ExpectColumnValuesToBeBetween(column="days_rest", min_value=1, max_value=DAYS_REST_CAP),
    ]


def features_batted_balls_suite() -> list:
    """The home-run and xwOBA models: is_home_run and is_hit 0/1 with every home run a hit, woba_value
    present and non-negative, Savant's xwOBA non-negative where given, exit velocity positive and launch
    angle within [-90, 90] degrees."""
    e = _gx().expectations
    return [
        *_features_common(e, "features_batted_balls"),
        *_not_null(e, "is_home_run", "is_hit", "woba_value"),
        e.ExpectColumnValuesToBeInSet(column="is_home_run", value_set=[0.0, 1.0]),
        e.ExpectColumnValuesToBeInSet(column="is_hit", value_set=[0.0, 1.0]),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="is_hit", column_B="is_home_run", or_equal=True),
        e.ExpectColumnValuesToBeBetween(column="woba_value", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="estimated_woba_using_speedangle", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="launch_speed", min_value=0, strict_min=True),
        e.ExpectColumnValuesToBeBetween(column="launch_angle", min_value=-90, max_value=90),
    ]


FEATURE_SUITES = {"features_games": features_games_suite, "features_pitcher_starts": features_pitcher_starts_suite,
                  "features_batted_balls": features_batted_balls_suite}


def features_frame_for_checks(table: str, features: pl.DataFrame) -> pl.DataFrame:
    """The declared columns of a features table with the derived ones its suite compares: date_year, and
    the label the event gives (home_win_from_score: 1/0, null on a tie; over_line_from_strikeouts)."""
    derived = {"date_year": pl.col("date").dt.year().cast(pl.Int32)}
    if table == "features_games":
        derived["home_win_from_score"] = (pl.when(pl.col("home_score") > pl.col("away_score")).then(1.0)
                                          .when(pl.col("home_score") < pl.col("away_score")).then(0.0))
    elif table == "features_pitcher_starts":
        derived["over_line_from_strikeouts"] = (pl.col("strikeouts") > pl.col("line")).cast(pl.Float64)
    return features.select(*PROVENANCE[table], **derived)


def validate_features(table: str, features: pl.DataFrame) -> SuiteResult:
    """Run the table's suite. A table lacking a declared column (written by an older build) fails without
    running GX, naming the columns."""
    missing = [c for c in PROVENANCE[table] if c not in features.columns]
    if missing:
        return SuiteResult(table, False, features.height, [{
            "expectation": "declared_columns_present", "kwargs": {"missing": missing},
            "success": False, "unexpected_count": len(missing), "examples": missing[:5]}])
    return validate(table, features_frame_for_checks(table, features), FEATURE_SUITES[table]())
