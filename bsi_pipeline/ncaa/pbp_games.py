"""College baseball games and starters straight from play-by-play files, outside Dagster.

The pipeline builds these through its assets (ncaa_plays -> teams -> games); scripts and slow tests that
score forecasts on the full shared seasons (bench/college_target_bound.py, test_forecast_targets) need the
same tables without a workspace. Each file is parsed on its own (memory: a season at a time), and the games
of all files are then given teams and conferences together, as the pipeline does: a home city seen in an
earlier season carries over.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from bsi_pipeline.games import pbp_games_to_shared
from bsi_pipeline.ncaa import box_scores
from bsi_pipeline.ncaa.pbp_reader import lines_frame, read_pbp_files
from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables
from bsi_pipeline.ncaa.teams import load_registry, teams_table


@dataclass(frozen=True)
class CollegeGames:
    games: pl.DataFrame     # the shared games schema (bsi_pipeline.sources.common.GAMES_SCHEMA)
    starters: pl.DataFrame  # box_scores.starter_lines of every game, for ridge_stack
    teams: pl.DataFrame     # teams_table: team-seasons with their conference and where it came from


def college_pbp_games(pbp_paths: list[Path], registry_paths: list[Path]) -> CollegeGames:
    """Games, starters and teams of the play-by-play files (one season each), with the D1 registry files."""
    pbp_games, starters = [], []
    for path in pbp_paths:
        tables = build_pbp_tables(lines_frame(read_pbp_files([path])))
        pbp_games.append(tables.games)
        starters.append(box_scores.starter_lines(tables.plays, box_scores.box_pitching(tables.plays)))
    games = pl.concat(pbp_games)
    teams = teams_table(games, load_registry(registry_paths))
    return CollegeGames(pbp_games_to_shared(games, teams), pl.concat(starters), teams)
