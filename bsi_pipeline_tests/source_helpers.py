"""Helpers shared by the source adapter tests (test_source_*.py): fixture rows in and out of CSV, finding a
game in a SourceResult, and the checks every adapter's result must pass (schemas, per-file accounting)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from bsi_pipeline.sources.common import FILES_SCHEMA, GAMES_SCHEMA, QUARANTINE_SCHEMA


def csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """A CSV file's header and data rows, as the csv module splits them."""
    with Path(path).open(newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """Write the header and rows as CSV (quoted where needed, "\\n" line ends) to path; returns path."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(out.getvalue())
    return path


def game(result, source_game_id: str) -> dict:
    """The one game row with that source_game_id."""
    rows = result.games.filter(pl.col("source_game_id") == source_game_id).to_dicts()
    assert len(rows) == 1, source_game_id
    return rows[0]


def detail(result, source_game_id: str) -> dict:
    """The one details row of the game with that source_game_id."""
    gid = game(result, source_game_id)["game_id"]
    rows = result.details.filter(pl.col("game_id") == gid).to_dicts()
    assert len(rows) == 1
    return rows[0]


def game_with_details(result, condition: pl.Expr) -> dict:
    """The one game row matching condition, with its details row's columns added as d_<column>."""
    games = result.games.filter(condition)
    assert games.height == 1, games
    g = games.row(0, named=True)
    (d,) = result.details.filter(pl.col("game_id") == g["game_id"]).to_dicts()
    return {**g, **{f"d_{k}": v for k, v in d.items()}}


def check_schemas(result, details_schema: dict) -> None:
    """Every frame of the result has its schema, columns in order."""
    assert result.games.schema == pl.Schema(GAMES_SCHEMA)
    assert result.details.schema == pl.Schema(details_schema)
    assert result.quarantine.schema == pl.Schema(QUARANTINE_SCHEMA)
    assert result.files.schema == pl.Schema(FILES_SCHEMA)


def check_file_accounting(result, data_rows: dict[str, int]) -> None:
    """Per named file: rows_read is its number of data rows, each accepted or quarantined, and the
    quarantine holds exactly its quarantined rows."""
    files = {r["source_file"]: r for r in result.files.to_dicts()}
    for name, rows in data_rows.items():
        f = files[name]
        assert f["rows_read"] == rows, name
        assert f["rows_accepted"] + f["rows_quarantined"] == rows, name
        assert result.quarantine.filter(pl.col("source_file") == name).height == f["rows_quarantined"], name
