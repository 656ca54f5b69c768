"""The analysts' DuckDB warehouse: one view (or table) per lake table, in one file.

The file is rebuilt in a temporary path and renamed over the old one, so a reader never sees a
half-written warehouse and a failed build leaves the last good one in place. The old file's WAL (the
writes of a session that ended without a checkpoint) goes with it: the warehouse is the pipeline's
output, not a place to keep one's own tables. For a local lake the views read the Parquet files
directly (a glob of each table's folder, absolute), so the warehouse stays small and always current. For
a lake in S3 the rows are copied into tables: reading s3:// from DuckDB needs its httpfs extension, a
download from outside the package registries, and analysts' queries then need no credentials. DuckDB
cannot open a database path with "?" or a backslash, nor glob a folder with a backslash: such paths are
refused before any work. A build removes the temporary files that killed builds left, once they are
lake.STALE_TMP_SECONDS old (a younger one may belong to a build still running).
"""

from __future__ import annotations

import glob
import os
import uuid
from pathlib import Path

import duckdb
import polars as pl

from bsi_pipeline.lake import Lake, LocalLake, as_lake, read_table_if_written, remove_stale_temporaries


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def build_warehouse(path: Path, lake: Lake | Path, tables: list[str],
                    descriptions: dict[str, str] | None = None) -> dict:
    """Create `path` with a view (local lake) or table (S3 lake) per lake table that has data; returns
    {table: row count}."""
    lake = as_lake(lake)
    _check_paths(path, lake)
    path.parent.mkdir(parents=True, exist_ok=True)
    # what a build killed before its cleanup (SIGKILL) left: .<name>.<id>.tmp and its .wal
    remove_stale_temporaries(path.parent, pattern=f".{glob.escape(path.name)}.*.tmp*")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    counts: dict[str, int] = {}
    try:
        con = duckdb.connect(str(tmp))
        try:
            for name in tables:
                kind = _add_view(con, lake, name) if isinstance(lake, LocalLake) else _add_table(con, lake, name)
                if kind is None:
                    continue
                if descriptions and name in descriptions:
                    con.execute(f'COMMENT ON {kind} "{name}" IS {_quote(descriptions[name])}')
                counts[name] = con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]
            con.execute("CHECKPOINT")
        finally:
            con.close()
        # The new file is checkpointed and has no WAL; a WAL left beside the old one (a session killed before
        # its checkpoint) would be replayed into the new file, which DuckDB refuses: the file would not open.
        path.with_name(path.name + ".wal").unlink(missing_ok=True)
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            if leftover.exists():
                leftover.unlink()
    return counts


def _check_paths(path: Path, lake: Lake) -> None:
    """Refuse, before any work, paths DuckDB cannot use: it reads what follows a "?" in a database path as
    options, and takes a backslash for a folder separator (in a database path and in a view's glob)."""
    if "?" in str(path) or "\\" in str(path):
        raise ValueError(f"the warehouse path {str(path)!r} contains '?' or '\\', which DuckDB cannot open; "
                         "choose a warehouse path without them")
    if isinstance(lake, LocalLake) and "\\" in str(lake.root.resolve()):
        raise ValueError(f"the lake path {str(lake.root)!r} contains '\\', which DuckDB's views cannot read; "
                         "choose a workspace path without it")


def _parquet_glob(folder: Path) -> str:
    """A DuckDB glob of the Parquet files in `folder`: the folder's own glob characters ([ ] * ?) each in a
    character class of its own, so they match themselves."""
    return "".join(f"[{c}]" if c in "[]*?" else c for c in str(folder)) + "/*.parquet"


# A table with no files, or only column-less ones (an asset that produced nothing, e.g. a model skipped
# for lack of data), has no data yet and gets no view: DuckDB cannot read a Parquet file without columns.

def _add_view(con: duckdb.DuckDBPyConnection, lake: LocalLake, name: str) -> str | None:
    files = lake.files(name)
    if not any(pl.scan_parquet(f, glob=False).collect_schema() for f in files):  # glob=False: [ ] in a path
        return None
    source = _parquet_glob(lake.folder(name).resolve())  # DuckDB reads a relative path from its reader's CWD
    # The season is a column inside every file; hive_partitioning off, or a key=value folder anywhere in the
    # workspace path (/runs/season=2021/ws) would add a column or overwrite one in every row.
    con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM read_parquet({_quote(source)}, union_by_name = true, '
                'hive_partitioning = false)')
    return "VIEW"


def _add_table(con: duckdb.DuckDBPyConnection, lake: Lake, name: str) -> str | None:
    frame = read_table_if_written(lake, name)
    if frame is None or frame.width == 0:
        return None
    con.register("_lake_rows", frame.to_arrow())
    try:
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _lake_rows')
    finally:
        con.unregister("_lake_rows")
    return "TABLE"
