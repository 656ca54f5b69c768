"""Benchmark: read, parse and reconcile NCAA play-by-play files on one core.

Usage: python bench/bench_pbp_parse.py [FILE ...]

Default input is the full 2019 season beside the checkout
(../shared/data/ncaa_baseball_pbp/ncaa_baseball_pbp_2019.csv.gz); when that is absent, the embedded
sample data/ncaa_baseball_pbp/*.csv.gz. Runs the same path as the pipeline: read_pbp_files ->
lines_frame (read), then build_pbp_tables (build), and prints lines, seconds, lines per second,
peak memory (max RSS) and the share of games reconciled.

The target is >= 100,000 lines/s on one core with < 2 GB peak memory, so the process pins itself
to a single CPU before polars is imported (polars sizes its thread pool from the allowed CPUs).
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_2019 = REPO.parent / "shared" / "data" / "ncaa_baseball_pbp" / "ncaa_baseball_pbp_2019.csv.gz"
EMBEDDED = sorted((REPO / "data" / "ncaa_baseball_pbp").glob("*.csv.gz"))


def _pin_one_core() -> str:
    """Pin this process to the first CPU it may use, so the figure is a one-core figure."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (os.sched_setaffinity unavailable on this platform)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu} (1 core; {os.cpu_count()} on the machine)"


def main(argv: list[str]) -> int:
    pinned = _pin_one_core()
    # Imported after pinning: polars' thread pool then has one thread's worth of CPU.
    from bsi_pipeline.ncaa.pbp_reader import lines_frame, read_pbp_files
    from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables

    paths = [Path(a) for a in argv] or ([SHARED_2019] if SHARED_2019.exists() else EMBEDDED)
    if not paths:
        print("no input files", file=sys.stderr)
        return 1
    print(f"bench_pbp_parse: {pinned}")
    for path in paths:
        print(f"  input {path}")

    c0, t0 = time.process_time(), time.perf_counter()
    read = read_pbp_files(paths)
    lines = lines_frame(read)
    rows_read = sum(f.rows_read for f in read.files)  # input rows, accepted or quarantined
    del read  # as in the pipeline, the reader's lists are freed once the frame exists
    t1 = time.perf_counter()
    tables = build_pbp_tables(lines)
    t2, c2 = time.perf_counter(), time.process_time()

    n = rows_read
    read_s, build_s, total_s = t1 - t0, t2 - t1, t2 - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    games = tables.parse_report.height
    reconciled = int((tables.parse_report["status"] == "reconciled").sum())
    print(f"lines           {n:,} read, {lines.height:,} accepted")
    print(f"read  seconds   {read_s:.2f}")
    print(f"build seconds   {build_s:.2f}")
    print(f"total seconds   {total_s:.2f}")
    print(f"cpu seconds     {c2 - c0:.2f}  (less sensitive than wall time to other load on the core)")
    print(f"lines/s         {n / total_s:,.0f}")
    print(f"peak memory MB  {peak_mb:,.0f}")
    print(f"games           {games:,}")
    print(f"reconciled      {reconciled:,} ({100 * reconciled / games if games else 0:.2f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
