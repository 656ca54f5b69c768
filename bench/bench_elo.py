"""Benchmark: the Elo replay in games per second, and the whole ratings stage's wall time.

    python bench/bench_elo.py            # shared data (../shared/data), else the embedded samples

Replay speed: every shared MLB season (Retrosheet game logs) plus college baseball games (from the
parsed play-by-play), replayed once with the MLB plain settings, on one core. Ratings stage: every
league through forecast_league (all systems, the whole walk-forward grid), the work of the
elo_ratings asset.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bsi_pipeline.games import pbp_games_to_shared, union_games  # noqa: E402
from bsi_pipeline.ncaa.box_scores import box_pitching, starter_lines  # noqa: E402
from bsi_pipeline.ncaa.pbp_reader import lines_frame, read_pbp_files  # noqa: E402
from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables  # noqa: E402
from bsi_pipeline.ncaa.teams import load_registry, teams_table  # noqa: E402
from bsi_pipeline.ratings.elo import EloGame, EloSettings, replay  # noqa: E402
from bsi_pipeline.ratings.systems import forecast_league, load_league_configs  # noqa: E402
from bsi_pipeline.sources.registry import GAME_SOURCES  # noqa: E402
from bsi_pipeline.config import Settings  # noqa: E402

SHARED = Path(os.environ.get("BSI_SHARED_DATA", REPO.parent / "shared" / "data"))


def settings() -> Settings:
    if (SHARED / "retrosheet_gamelogs").exists():
        base = SHARED
        sources = {
            "ncaa_baseball_pbp": [str(base / "ncaa_baseball_pbp" / "*.csv.gz")],
            "retrosheet_gamelogs": [str(base / "retrosheet_gamelogs" / "GL*.TXT.gz")],
            "nfl_spreadspoke": [str(base / "nfl_games" / "spreadspoke_scores_1966_2015.csv")],
            "cfbd_games": [str(base / "cfb_games" / "cfb_games_2001_2014.csv")],
            "kaggle_mm_compact": [str(base / "ncaa_mbb" / "*.csv")],
            "espn_ncaa_baseball_games": [str(base / "ncaa_baseball_teams" / "espn_games_2024_2025.csv")],
        }
        label = f"shared data in {base}"
    else:
        sources = {
            "ncaa_baseball_pbp": [str(REPO / "data/ncaa_baseball_pbp/*.csv.gz")],
            "retrosheet_gamelogs": [str(REPO / "data/retrosheet_gamelogs/GL*")],
            "nfl_spreadspoke": [str(REPO / "data/nfl_games/*.csv")],
            "cfbd_games": [str(REPO / "data/cfb_games/*.csv")],
            "kaggle_mm_compact": [str(REPO / "data/ncaa_mbb/*.csv")],
            "espn_ncaa_baseball_games": [str(REPO / "data/espn_ncaa_baseball/*.csv")],
        }
        label = "embedded samples (shared data not found)"
    reference = {"ncaa_d1_teams": [str(REPO / "data/ncaa_baseball_teams/ncaa_d1_teams_*.csv")],
                 "canonical_teams": [str(REPO / "data/ncaa_baseball_teams/canonical_teams_2026.csv")]}
    print(f"inputs: {label}")
    return Settings(REPO / "bsi.yaml", REPO / ".state" / "bench", sources, reference)


def main() -> None:
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    print(f"pinned to one core (cpu {cpu})")
    s = settings()
    t0 = time.perf_counter()
    results = {kind: read(s) for kind, (_, read) in GAME_SOURCES.items()}
    pbp = build_pbp_tables(lines_frame(read_pbp_files(s.source_files("ncaa_baseball_pbp"))))
    teams = teams_table(pbp.games, load_registry(s.reference_files("ncaa_d1_teams")))
    games, _ = union_games([pbp_games_to_shared(pbp.games, teams), *(r.games for r in results.values())])
    print(f"loading and parsing inputs: {time.perf_counter() - t0:.1f} s ({games.height:,} games)")

    replay_games = games.filter(pl.col("league").is_in(["mlb", "ncaa"]) & (pl.col("sport") == "baseball"))
    replay_games = replay_games.sort("league", "date", "game_id")
    elo_games = [EloGame(r["season"], r["home_team"], r["away_team"], r["home_score"], r["away_score"], day=r["date"])
                 for r in replay_games.iter_rows(named=True)]
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        replay(elo_games, EloSettings(k=4, home_advantage=24, mov="log", reversion=1 / 3))
        best = min(best, time.perf_counter() - t)
    print(f"Elo replay, MLB + college baseball: {len(elo_games):,} games in {best:.3f} s "
          f"= {len(elo_games) / best:,.0f} games/s (best of 5)")

    configs = load_league_configs()
    details = results["retrosheet_gamelogs"].details
    college_starters = starter_lines(pbp.plays, box_pitching(pbp.plays))
    spreads = results["nfl_spreadspoke"].details.select("game_id", "home_spread")
    t = time.perf_counter()
    for league, config in configs.items():
        tl = time.perf_counter()
        league_games = games.filter(pl.col("league") == league)
        forecast_league(league_games, config, game_details=details if league == "mlb" else None,
                        home_spread=spreads if league == "nfl" else None,
                        starter_lines=college_starters if league == "ncaa" else None)
        print(f"  {league:<6} {league_games.height:>7,} games  {time.perf_counter() - tl:6.1f} s "
              f"({len(config.grid)} grid settings)")
    print(f"ratings stage (all leagues, all systems): {time.perf_counter() - t:.1f} s")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
