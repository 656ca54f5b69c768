"""Data-quality suites, run with Great Expectations 1.x on polars frames.

Each suite is a list of expectations built in code; `validate` runs one suite in an ephemeral GX
context and returns a plain summary (passed, and per expectation: success and unexpected count
with a few examples), so callers need no GX types. GX imports slowly, so it is imported inside
the functions that need it. Columns that GX cannot express directly (a score drop within a game,
the year of the date) are derived with polars first and then checked by GX like any other column.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

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
