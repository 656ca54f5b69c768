"""Benchmark: play-by-play analytics over the shared college seasons and MLB 2016.

    python bench/bench_analytics.py

Parses the three shared college seasons (2019-2021, ~1.8M lines) and reads the 2016 Retrosheet events,
then times what the analytics assets compute: RE24, run values, event values and wOBA weights,
player season value, win expectancy with WPA and leverage. Prints each stage's seconds, the total
wall time and the peak memory. Uses the machine's cores as the pipeline would (polars threads).
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

from bsi_pipeline.analytics import analytic_plays, play_analytics  # noqa: E402
from bsi_pipeline.linear_weights import player_season_value  # noqa: E402
from bsi_pipeline.ncaa.pbp_reader import lines_frame, read_pbp_files  # noqa: E402
from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables  # noqa: E402
from bsi_pipeline.sources.retrosheet_cwevent import read_retrosheet_cwevent  # noqa: E402
from bsi_pipeline.win_expectancy import play_win_probability, win_expectancy_table  # noqa: E402

SHARED = Path(os.environ.get("BSI_SHARED_DATA", REPO.parent / "shared" / "data"))


def stage(name: str, started: float) -> float:
    now = time.perf_counter()
    print(f"  {name:<44} {now - started:7.2f} s", flush=True)
    return now


def main() -> None:
    pbp = sorted((SHARED / "ncaa_baseball_pbp").glob("*.csv.gz"))
    events = SHARED / "retrosheet_events_2016" / "retro2016_events.parquet"
    if not pbp or not events.exists():
        sys.exit(f"shared data not found under {SHARED} (set BSI_SHARED_DATA)")
    print(f"cores available: {len(os.sched_getaffinity(0))}, polars threads: {pl.thread_pool_size()}")
    t0 = t = time.perf_counter()
    read = read_pbp_files(pbp)
    lines = lines_frame(read)
    t = stage(f"read college play-by-play ({lines.height:,} lines)", t)
    tables = build_pbp_tables(lines)
    t = stage(f"parse and reconcile ({tables.plays.height:,} plays)", t)
    mlb = read_retrosheet_cwevent([events]).events
    t = stage(f"read MLB 2016 events ({mlb.height:,})", t)
    parse_done = t

    plays = analytic_plays(tables.plays, tables.parse_report, mlb)
    t = stage(f"analytic plays ({plays.height:,})", t)
    result = play_analytics(plays)
    t = stage("RE24, run values, event values, wOBA weights", t)
    player_season_value(plays, result.woba_weights)
    t = stage("player season value", t)
    for (league,), league_plays in plays.group_by("league", maintain_order=True):
        table = win_expectancy_table(league_plays, league)
        play_win_probability(league_plays, table)
    t = stage("win expectancy, WPA, leverage (per league)", t)
    print(f"analytics alone: {t - parse_done:.1f} s; whole run including parsing: {t - t0:.1f} s")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
