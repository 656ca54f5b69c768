"""The analysts' DuckDB warehouse: one view per lake table, in one file.

The file is rebuilt in a temporary path and renamed over the old one, so a reader never sees a
half-written warehouse and a failed build leaves the last good one in place. Views read the
Parquet files directly (absolute paths), so the warehouse stays small and always current.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb
import polars as pl

from bsi_pipeline.lake import table_dir, table_glob


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def build_warehouse(path: Path, lake_root: Path, tables: list[str], descriptions: dict[str, str] | None = None) -> dict:
    """Create `path` with a view per table that has data; returns {table: row count}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    counts: dict[str, int] = {}
    try:
        con = duckdb.connect(str(tmp))
        try:
            for name in tables:
                files = list(table_dir(lake_root, name).glob("*.parquet"))
                # no files, or only column-less ones (an asset that produced nothing, e.g. a model
                # skipped for lack of data): no data yet; DuckDB cannot read a Parquet file without columns
                if not any(pl.read_parquet_schema(f) for f in files):
                    continue
                source = f"read_parquet({_quote(table_glob(lake_root, name))}, union_by_name = true)"
                con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM {source}')
                if descriptions and name in descriptions:
                    con.execute(f'COMMENT ON VIEW "{name}" IS {_quote(descriptions[name])}')
                counts[name] = con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            if leftover.exists():
                leftover.unlink()
    return counts
