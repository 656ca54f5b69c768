"""The Parquet lake: the storage of record. One folder per table, one file per season.

The lake lives on local disk (`LocalLake`, the default: <workspace>/lake) or in S3-compatible object
storage (`bsi_pipeline.lake_s3.S3Lake`, an `s3://bucket/prefix` storage URI). Both lay tables out the
same way (<root>/<table>/season=<year>.parquet, or data.parquet) and every caller goes through
`write_table` / `read_table` / `has_table`, which accept either a lake or a local folder.

Local writes are atomic per file (write a temporary file in the same folder, then rename over the
target). A table write writes all its partitions to temporary files before it renames any, so a failed
write leaves the previous table whole; then it removes the partitions it did not rewrite, so re-running
an asset replaces its output instead of adding to it. Two writes of one table (two runs of its asset at
once) take turns under an exclusive lock on the hidden `<table>/.write.lock` (bsi_pipeline.locks: the
processes of one host); run at once, each one's removal of the partitions it did not write would delete
the other's. A run killed mid-write (SIGKILL skips the cleanup) leaves a hidden `.<file>.<id>.tmp` that
no reader globs; the next write of the table removes such files once they are STALE_TMP_SECONDS old (a
younger one may belong to a writer still running).
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import polars as pl

from bsi_pipeline.locks import file_lock

PARTITION_COLUMN = "season"
STALE_TMP_SECONDS = 6 * 3600
WRITE_LOCK = ".write.lock"  # in each table's folder; hidden, so no reader globs it


@runtime_checkable
class Lake(Protocol):
    """Where lake tables are stored."""

    def write_table(self, name: str, df: pl.DataFrame) -> list[str]: ...

    def read_table(self, name: str) -> pl.DataFrame: ...

    def has_table(self, name: str) -> bool: ...

    def location(self, name: str) -> str: ...

    def table_names(self) -> list[str]: ...


def partitions(df: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
    """(file name, rows) per file of a table: one per season when it has that column, else data.parquet."""
    if PARTITION_COLUMN in df.columns and df.height:
        return [(f"{PARTITION_COLUMN}={'unknown' if season is None else season}.parquet", part)
                for (season,), part in df.group_by(PARTITION_COLUMN, maintain_order=True)]
    return [("data.parquet", df)]


class TableNotWritten(FileNotFoundError):
    """A lake table with no file at all: never materialized."""


def concat_parts(name: str, parts: list[pl.DataFrame], where: str) -> pl.DataFrame:
    if not parts:
        raise TableNotWritten(f"table {name!r} has no data in {where}; materialize it first")
    return pl.concat(parts, how="diagonal_relaxed")


@dataclass(frozen=True)
class LocalLake:
    """A lake in a local folder."""

    root: Path

    def __str__(self) -> str:
        return str(self.root)

    def folder(self, name: str) -> Path:
        return table_dir(self.root, name)

    def files(self, name: str) -> list[Path]:
        return sorted(self.folder(name).glob("*.parquet"))

    def location(self, name: str) -> str:
        return str(self.folder(name))

    def has_table(self, name: str) -> bool:
        return bool(self.files(name))

    def table_names(self) -> list[str]:
        """Every table with at least one file, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and any(p.glob("*.parquet")))

    def write_table(self, name: str, df: pl.DataFrame) -> list[str]:
        """Every partition is written to a temporary file before any is renamed into place, so a write
        that fails (disk full, an error in the writer) leaves the previous table whole, and a reader sees
        a mix of old and new partitions only during the renames themselves, not while files are written.
        Writes of one table take turns (WRITE_LOCK), or each one's sweep of the partitions it did not
        write would delete the other's and could leave the table with no file."""
        folder = self.folder(name)
        # wait as long as a writer may run (STALE_TMP_SECONDS, as remove_stale_temporaries assumes)
        with file_lock(folder / WRITE_LOCK, timeout=STALE_TMP_SECONDS):
            staged: list[tuple[Path, Path]] = []
            try:
                for file_name, part in partitions(df):
                    staged.append((write_parquet_temporary(part, folder / file_name), folder / file_name))
            except BaseException:
                for tmp, _ in staged:
                    tmp.unlink(missing_ok=True)
                raise
            for tmp, path in staged:
                os.replace(tmp, path)
            written = [path for _, path in staged]
            keep = {p.name for p in written}
            for stale in folder.glob("*.parquet"):
                if stale.name not in keep:
                    stale.unlink(missing_ok=True)
            remove_stale_temporaries(folder)
        return [str(p) for p in written]

    def read_table(self, name: str) -> pl.DataFrame:
        parts = [pl.read_parquet(f, glob=False) for f in self.files(name)]  # a path, not a pattern: "ws [1]"
        return concat_parts(name, parts, str(self.folder(name)))


def as_lake(root: Lake | Path | str) -> Lake:
    """A lake object for `root`; a plain path or string is a local folder."""
    return root if isinstance(root, Lake) else LocalLake(Path(root))


def table_dir(root: Path, name: str) -> Path:
    return Path(root) / name


def write_parquet_temporary(df: pl.DataFrame, path: Path) -> Path:
    """``df`` written to a hidden temporary file beside ``path`` (no reader globs it); the caller renames
    it into place. A failed write removes its temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        df.write_parquet(tmp, compression="zstd", statistics=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_parquet_atomic(df: pl.DataFrame, path: Path) -> None:
    os.replace(write_parquet_temporary(df, path), path)


def write_table(root: Lake | Path, name: str, df: pl.DataFrame) -> list[str]:
    """Replace table `name` with `df`, partitioned by season when it has that column; returns the files."""
    return as_lake(root).write_table(name, df)


def read_table(root: Lake | Path, name: str) -> pl.DataFrame:
    return as_lake(root).read_table(name)


def read_table_if_written(root: Lake | Path, name: str) -> pl.DataFrame | None:
    """Table `name`, or None when it has never been written (one listing, where has_table + read_table
    would list twice)."""
    try:
        return as_lake(root).read_table(name)
    except TableNotWritten:
        return None


def unknown_tables(root: Lake | Path, known) -> list[str]:
    """Tables in the lake whose names are not in `known` (what the code location writes): left by a
    renamed or removed asset, or put there by hand. Nothing reads them; reported, never deleted."""
    known = set(known)
    return [name for name in as_lake(root).table_names() if name not in known]


def has_table(root: Lake | Path, name: str) -> bool:
    """Whether table `name` has been written (at least one file)."""
    return as_lake(root).has_table(name)


def remove_stale_temporaries(folder: Path, older_than: float = STALE_TMP_SECONDS,
                             pattern: str = ".*.tmp") -> list[Path]:
    """Delete the temporary files (`pattern`, a glob) a killed writer left in folder, if older than
    `older_than` seconds."""
    removed = []
    now = time.time()
    for leftover in folder.glob(pattern):
        try:
            if now - leftover.stat().st_mtime > older_than:
                leftover.unlink()
                removed.append(leftover)
        except FileNotFoundError:  # its writer finished or another cleanup got there first
            continue
    return removed
