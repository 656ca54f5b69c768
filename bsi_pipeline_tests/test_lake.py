"""The local Parquet lake: a table write replaces the table, and a write that fails leaves the old one."""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

import polars as pl
import pytest

from bsi_pipeline import lake

OLD = pl.DataFrame({"season": [2019, 2020, 2021], "game_id": ["a", "b", "c"], "version": ["old"] * 3})
NEW = pl.DataFrame({"season": [2019, 2019, 2021], "game_id": ["a", "b", "c"], "version": ["new"] * 3})


def table(root) -> list[tuple]:
    return lake.read_table(root, "games").sort("game_id").rows()


def files(folder) -> list[str]:
    """The folder's files but the table's write lock, which stays."""
    return sorted(p.name for p in folder.iterdir() if p.name != lake.WRITE_LOCK)


def test_a_write_replaces_the_table_and_drops_partitions_it_did_not_rewrite(tmp_path):
    lake.write_table(tmp_path, "games", OLD)
    lake.write_table(tmp_path, "games", NEW)  # b moved from 2020 into 2019
    assert table(tmp_path) == NEW.sort("game_id").rows()
    assert files(tmp_path / "games") == ["season=2019.parquet", "season=2021.parquet"]


def test_a_write_that_fails_part_way_leaves_the_previous_table_whole(tmp_path, monkeypatch):
    lake.write_table(tmp_path, "games", OLD)
    real = pl.DataFrame.write_parquet
    calls = []

    def second_fails(self, *args, **kwargs):
        calls.append(table(tmp_path))  # what a reader sees while the write is under way
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", second_fails)
    with pytest.raises(OSError, match="No space left"):
        lake.write_table(tmp_path, "games", NEW)
    monkeypatch.setattr(pl.DataFrame, "write_parquet", real)
    assert calls == [OLD.rows(), OLD.rows()]
    assert table(tmp_path) == OLD.rows()
    assert files(tmp_path / "games") == [
        "season=2019.parquet", "season=2020.parquet", "season=2021.parquet"]  # no temporary file left


def test_a_lake_whose_path_has_glob_characters_reads(tmp_path):
    root = tmp_path / "ws [copy 1]" / "lake"  # polars took the path for a pattern that matched no file
    lake.write_table(root, "games", OLD)
    assert table(root) == OLD.rows()


def test_two_writes_of_one_table_at_once_take_turns(tmp_path, monkeypatch):
    """Two runs writing one table: the second write starts while the first is about to remove the partitions
    it did not write. Without a lock each removed the other's fresh partitions and the table was left with
    no file; now the second waits for the lock, then replaces the first's table whole."""
    lake.write_table(tmp_path, "games", OLD)
    first, second = NEW.filter(pl.col("season") == 2019), OLD.filter(pl.col("season") == 2020)
    second_waits_or_ends = threading.Event()

    def write_second():
        try:
            lake.write_table(tmp_path, "games", second)
        finally:
            second_waits_or_ends.set()

    writer = threading.Thread(target=write_second)
    real_flock, real_glob = fcntl.flock, Path.glob

    def flock(fd, operation):
        try:
            return real_flock(fd, operation)
        except BlockingIOError:  # the table's lock is held: the second write waits for it
            second_waits_or_ends.set()
            raise

    def glob(self, pattern, *args, **kwargs):  # the first write's sweep of the partitions it did not write
        if pattern == "*.parquet" and threading.current_thread() is threading.main_thread() and not writer.ident:
            writer.start()
            second_waits_or_ends.wait()
        return real_glob(self, pattern, *args, **kwargs)

    monkeypatch.setattr(fcntl, "flock", flock)
    monkeypatch.setattr(Path, "glob", glob)
    lake.write_table(tmp_path, "games", first)
    writer.join(timeout=60)
    monkeypatch.undo()
    assert not writer.is_alive()
    assert table(tmp_path) == second.rows()
    assert files(tmp_path / "games") == ["season=2020.parquet"]
