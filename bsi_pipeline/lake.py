"""The Parquet lake: the storage of record. One folder per table, one file per season.

Writes are atomic per file (write a temporary file in the same folder, then rename over the
target), and a table write removes the partitions it did not rewrite, so re-running an asset
replaces its output instead of adding to it.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import polars as pl

PARTITION_COLUMN = "season"


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
    return written


def read_table(root: Path, name: str) -> pl.DataFrame:
    folder = table_dir(root, name)
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"table {name!r} has no data in {folder}; materialize it first")
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
