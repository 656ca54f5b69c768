"""Play-by-play analytics across leagues: which plays feed them, and the chain RE24 -> run values -> weights.

College plays enter only from games that reconciled with the score column (a game whose runs or outs
do not add up would bend every state's expectancy); MLB plays come from Retrosheet events. Each league
keeps its own tables: the college run environment is not MLB's.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from bsi_pipeline.linear_weights import event_run_values, run_values, woba_weights
from bsi_pipeline.run_expectancy import run_expectancy

# The columns the analytics read, shared by the college plays table and the Retrosheet events. line_kind
# lets the linear weights keep substitutions out of the event run values; event_code (Retrosheet only,
# null for college) tells catcher's interference, a plate appearance that is not an at-bat.
PLAY_COLUMNS = (
    "game_id", "season", "seq", "inning", "half", "batting_team", "fielding_team", "batter", "pitcher",
    "event_type", "is_plate_appearance", "outs_before", "outs_after", "bases_before", "bases_after",
    "runs_on_play", "rbi", "sac", "away_score", "home_score", "line_kind",
)
EVENT_CODE = pl.Int8


def analytic_plays(ncaa_plays: pl.DataFrame, parse_report: pl.DataFrame, mlb_events: pl.DataFrame) -> pl.DataFrame:
    """Plays of every league in one frame with a `league` column: college (reconciled games, real plays
    and substitutions only) and MLB."""
    reconciled = parse_report.filter(pl.col("status") == "reconciled").select("game_id")
    college = (ncaa_plays.join(reconciled, on="game_id", how="semi")
               .filter(pl.col("line_kind").is_in(["play", "substitution"])))
    frames = []
    for league, frame in (("ncaa", college), ("mlb", mlb_events)):
        if frame.height:
            code = pl.col("event_code") if "event_code" in frame.columns else pl.lit(None)
            frames.append(frame.select(*[pl.col(c).cast(ncaa_plays.schema[c]) for c in PLAY_COLUMNS],
                                       code.cast(EVENT_CODE).alias("event_code"), league=pl.lit(league)))
    if not frames:
        return pl.DataFrame(schema={**{c: ncaa_plays.schema[c] for c in PLAY_COLUMNS}, "event_code": EVENT_CODE,
                                    "league": pl.String})
    return pl.concat(frames).sort("league", "season", "game_id", "seq")


@dataclass
class PlayAnalytics:
    run_expectancy: pl.DataFrame
    plays_with_run_values: pl.DataFrame
    event_run_values: pl.DataFrame
    woba_weights: pl.DataFrame


def play_analytics(plays: pl.DataFrame) -> PlayAnalytics:
    """RE24 per league and season, each play's run value, run values per event, derived wOBA weights."""
    re24 = run_expectancy(plays, by=("league", "season"))
    with_rv = run_values(plays, re24)
    events = event_run_values(with_rv, by=("league", "season"))
    weights = woba_weights(events, plays, by=("league", "season"))
    return PlayAnalytics(re24, with_rv, events, weights)
