"""Plays built from real play-by-play text lines, for the tests of what reads the replay (box scores, linear
weights)."""

from __future__ import annotations

import polars as pl

from bsi_pipeline.ncaa.pbp_replay import GameLine, replay_game
from bsi_pipeline.plays_schema import PLAYS_SCHEMA


def replayed(lines: list[tuple[int, str, str, str, str]], game_id: str = "g2021",
             season: int = 2021) -> tuple[pl.DataFrame, pl.DataFrame]:
    """plays and play_runners of one game from (inning, half, batting, fielding, text) lines, scores left out."""
    result = replay_game([GameLine(n, inning, half, 0, 0, bat, fld, text)
                          for n, (inning, half, bat, fld, text) in enumerate(lines, 1)])
    plays = pl.DataFrame(result.plays).with_columns(game_id=pl.lit(game_id), season=pl.lit(season))
    plays = plays.cast({c: dtype for c, dtype in PLAYS_SCHEMA.items() if c in plays.columns})
    runners = pl.DataFrame(result.runners).with_columns(game_id=pl.lit(game_id), season=pl.lit(season, pl.Int32))
    return plays, runners
