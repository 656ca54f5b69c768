"""Real feature tables and small real champions for the monitoring tests (test_serving, test_automation).

Everything comes from the repository's data/ folder (never .state/): MLB 2008-2009 game logs through the
Elo systems into features_games, the 2021-2022 Statcast samples into features_batted_balls, and the
embedded college play-by-play (2019, 2021) into features_pitcher_starts. Champions are the spec's ridge
candidate only (seconds, not minutes), trained by the factory's own stages, with the `current` pointer set
and a model_registry row written as the registry would (the test plays the registry).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from bsi_pipeline.batted_ball import batted_ball_features, load_woba_weights
from bsi_pipeline.features.batted_balls import build_batted_ball_features
from bsi_pipeline.features.games import build_game_features
from bsi_pipeline.features.pitcher_starts import build_pitcher_start_features
from bsi_pipeline.games import pbp_games_to_shared
from bsi_pipeline.models.factory import calibrate_stage, evaluate_stage, train_stage
from bsi_pipeline.models.scoring import load_scorer, set_current
from bsi_pipeline.models.specs import ModelSpec, load_specs
from bsi_pipeline.monitoring.serving import Champion, resolve_champion
from bsi_pipeline.ncaa import box_scores
from bsi_pipeline.ncaa.pbp_reader import lines_frame, read_pbp_files
from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables
from bsi_pipeline.ncaa.teams import load_registry, teams_table
from bsi_pipeline.ratings.systems import forecast_league, load_league_configs
from bsi_pipeline.registry.decisions import SCHEMA as REGISTRY_SCHEMA
from bsi_pipeline.sources.retrosheet_gamelogs import read_retrosheet_gamelogs
from bsi_pipeline.sources.statcast_csv import read_statcast_csv
from bsi_pipeline_tests.conftest import EMBEDDED_PBP, REGISTRY_FILES, REPO

DECIDED = dt.datetime(2026, 1, 5, 4, 30, tzinfo=dt.timezone.utc)


def mlb_games_features() -> pl.DataFrame:
    """features_games of the MLB 2008 and 2009 seasons (every game of both, from the Retrosheet logs)."""
    logs = read_retrosheet_gamelogs(sorted((REPO / "data" / "retrosheet_gamelogs").glob("GL*.TXT.gz")))
    starters = logs.details.select("game_id", home_starter="home_starting_pitcher_id",
                                   away_starter="away_starting_pitcher_id")
    forecasts = forecast_league(logs.games, load_league_configs()["mlb"], game_details=logs.details)
    return build_game_features(logs.games, forecasts.team_ratings, forecasts.forecasts, leagues=("mlb",),
                               starters=starters).features


def batted_balls_features() -> pl.DataFrame:
    """features_batted_balls of the 2021 and 2022 Statcast samples (every 8th ball in play)."""
    read = read_statcast_csv(sorted((REPO / "data" / "statcast").glob("statcast_*_every8th.csv")))
    return build_batted_ball_features(batted_ball_features(read.batted_balls, load_woba_weights())).features


def pitcher_starts_features() -> pl.DataFrame:
    """features_pitcher_starts of the embedded college play-by-play (2019 SEC, 2021 SEC + Big 12)."""
    tables = build_pbp_tables(lines_frame(read_pbp_files(EMBEDDED_PBP)))
    registry = load_registry(REGISTRY_FILES)
    games = pbp_games_to_shared(tables.games, teams_table(tables.games, registry))
    return build_pitcher_start_features(tables.plays, box_scores.box_pitching(tables.plays),
                                        box_scores.box_batting(tables.plays, tables.play_runners), games).features


def ridge_spec(key: str) -> ModelSpec:
    return dataclasses.replace(load_specs()[key], algorithms=("ridge",))


def registry_row(key: str, version: int, model_id: str, status: str = "champion",
                 decided_at: dt.datetime = DECIDED) -> dict:
    """One model_registry row (bsi_pipeline.registry.decisions.SCHEMA)."""
    return {"model_key": key, "version": version, "model_id": model_id, "status": status, "event": "decision",
            "reason": "test registry decision", "metrics": "{}", "window_start": "2009-04-05",
            "window_end": "2009-10-04", "decided_at": decided_at, "registered_at": decided_at}


def registry_table(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=REGISTRY_SCHEMA)


@dataclass
class Trained:
    spec: ModelSpec
    champion: Champion
    scorer: object
    snapshot: pl.DataFrame        # the evaluation's eval_snapshots rows
    registry: pl.DataFrame        # model_registry rows making it the champion, version 1


def train_champion(table: pl.DataFrame, key: str, models_dir: Path, version: int = 1) -> Trained:
    """Train, calibrate and evaluate the key's ridge candidate on ``table``; make it the champion."""
    spec = ridge_spec(key)
    candidates = train_stage(table, spec, models_dir)
    calibration = calibrate_stage(table, spec, candidates, models_dir)
    outcome = evaluate_stage(table, spec, calibration.comparison, models_dir)
    set_current(models_dir, key, outcome.model_id)   # the registry's job; acceptance is not the point here
    registry = registry_table([registry_row(key, version, outcome.model_id)])
    champion = resolve_champion(models_dir, key, registry)
    return Trained(spec, champion, load_scorer(champion.artifact_path), outcome.snapshot, registry)


def champion_on(make_table, key: str, models_dir: Path) -> Trained:
    """train_champion on ``make_table()``, one thread (BSI_N_JOBS=1: reproducible, and light on CI's two
    cores), with the table kept on the result as ``.table``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BSI_N_JOBS", "1")
        table = make_table()
        trained = train_champion(table, key, models_dir)
    trained.table = table
    return trained
