"""The Parquet lake: the storage of record. One folder per table, one file per season.

Writes are atomic per file (write a temporary file in the same folder, then rename over the
target), and a table write removes the partitions it did not rewrite, so re-running an asset
replaces its output instead of adding to it. A run killed mid-write (SIGKILL skips the cleanup) leaves a
hidden `.<file>.<id>.tmp` that no reader globs; the next write of the table removes such files once they
are STALE_TMP_SECONDS old (a younger one may belong to a writer still running).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import polars as pl

PARTITION_COLUMN = "season"
STALE_TMP_SECONDS = 6 * 3600


def table_dir(root: Path, name: str) -> Path:
    return Path(root) / name


def table_glob(root: Path, name: str) -> str:
    return str(table_dir(root, name) / "*.parquet")


def write_parquet_atomic(df: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        df.write_parquet(tmp, compression="zstd", statistics=True)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_table(root: Path, name: str, df: pl.DataFrame) -> list[Path]:
    """Replace table `name` with `df`, partitioned by season when it has that column."""
    folder = table_dir(root, name)
    written: list[Path] = []
    if PARTITION_COLUMN in df.columns and df.height:
        for (season,), part in df.group_by(PARTITION_COLUMN, maintain_order=True):
            label = "unknown" if season is None else season
            path = folder / f"{PARTITION_COLUMN}={label}.parquet"
            write_parquet_atomic(part, path)
            written.append(path)
    else:
        path = folder / "data.parquet"
        write_parquet_atomic(df, path)
        written.append(path)
    keep = {p.name for p in written}
    for stale in folder.glob("*.parquet"):
        if stale.name not in keep:
            stale.unlink(missing_ok=True)  # a concurrent writer of the same table may have removed it
    remove_stale_temporaries(folder)
    return written


def remove_stale_temporaries(folder: Path, older_than: float = STALE_TMP_SECONDS) -> list[Path]:
    """Delete temporary files a killed writer left in folder, if older than `older_than` seconds."""
    removed = []
    now = time.time()
    for leftover in folder.glob(".*.tmp"):
        try:
            if now - leftover.stat().st_mtime > older_than:
                leftover.unlink()
                removed.append(leftover)
        except FileNotFoundError:  # its writer finished or another cleanup got there first
            continue
    return removed


def read_table(root: Path, name: str) -> pl.DataFrame:
    folder = table_dir(root, name)
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"table {name!r} has no data in {folder}; materialize it first")
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
