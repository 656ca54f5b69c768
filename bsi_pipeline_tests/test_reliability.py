"""Reliability (issue 6, item 8): two `bsi materialize` at once never corrupt the warehouse or the MLflow
registry, and a run killed mid-way leaves the last good outputs readable and the next run completes.

Every run here is a real `bsi materialize` process on the embedded play-by-play (conftest.write_config),
with a DAGSTER_HOME holding the repository's dagster.yaml, so the "duckdb" and "mlflow" pools apply
(default_limit 1). One full run makes the baseline: the warehouse's views with their rows, and every lake
table. The tests then pause, kill and overlap runs on that workspace and compare with the baseline; each
ends with a successful run, so the workspace stays good for the next one.

Concurrent registration of one model version is tested in test_registry.py, not here.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from bsi_pipeline.config import MLFLOW_URI_ENV, Settings, load_settings
from bsi_pipeline.lake import STALE_TMP_SECONDS, WRITE_LOCK, read_table, write_table
from bsi_pipeline.warehouse import build_warehouse
from bsi_pipeline_tests.conftest import EMBEDDED_PBP, REPO, write_config

# Columns that differ between two correct runs: wall-clock times and MLflow run ids.
VOLATILE = {"decided_at", "registered_at", "served_at", "run_id"}
RUN_TIMEOUT = 300  # seconds for one full run on the embedded data (about 15-30 s on 2 busy cores)


# ------------------------------------------------------------------------------------------ helpers


def dagster_home(folder: Path) -> Path:
    """A DAGSTER_HOME with the repository's dagster.yaml (pools default_limit 1), as `make run` makes."""
    folder.mkdir(parents=True)
    shutil.copy(REPO / "dagster.yaml", folder / "dagster.yaml")
    return folder


class Runs:
    """`bsi materialize` processes; any still alive at the end of a test is resumed and killed."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.procs: list[subprocess.Popen] = []

    def start(self, config: Path, home: Path | None, *args: str, name: str) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", MLFLOW_URI_ENV)}  # workspace's store
        if home is not None:
            env["DAGSTER_HOME"] = str(home)
        log = self.folder / f"{name}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bsi_pipeline.cli", "materialize", "--config", str(config),
                 "--log-level", "WARNING", *args],
                env=env, cwd=config.parent, stdout=out, stderr=subprocess.STDOUT)
        proc.log = log
        self.procs.append(proc)
        return proc

    @staticmethod
    def finish(proc: subprocess.Popen, timeout: float = RUN_TIMEOUT) -> str:
        """Wait for a run; fail with its output unless it exits 0 in time."""
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"bsi materialize still running after {timeout}s:\n{proc.log.read_text()[-3000:]}")
        text = proc.log.read_text()
        failed = [line for line in text.splitlines() if line.startswith("FAILED") or " - ERROR - " in line]
        assert code == 0, f"bsi materialize exited {code}:\n" + "\n".join(failed) + f"\n...\n{text[-3000:]}"
        return text

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
                proc.wait()


@pytest.fixture
def runs(tmp_path):
    made = Runs(tmp_path)
    yield made
    made.cleanup()


def transient_sqlite_error(exc: Exception) -> bool:
    """SQLite's "locking protocol" / "database is locked": a reader that raced the runs' writers on the
    instance database (SQLite gives up after its own retries when polled every few milliseconds). Asking
    again is the documented remedy; it says nothing about the pool."""
    import sqlalchemy.exc

    return isinstance(exc, sqlalchemy.exc.OperationalError) and any(
        text in str(exc) for text in ("locking protocol", "database is locked"))


def read_instance(call, attempts: int = 100):
    """``call()``, asked again after a transient SQLite error on the instance database."""
    for _ in range(attempts - 1):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - only transient SQLite errors are retried
            if not transient_sqlite_error(exc):
                raise
            time.sleep(0.01)
    return call()


def wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 120, every: float = 0.005):
    """Poll ``condition()`` until it returns something truthy, while ``proc`` runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = read_instance(condition)
        if found:
            return found
        if proc.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.returncode}) before {what}:\n{proc.log.read_text()[-3000:]}")
        time.sleep(every)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def warehouse_rows(path: Path) -> dict[str, int]:
    """Open the warehouse read-only and read every row of every view (not only the Parquet footers)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        views = [r[0] for r in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY view_name").fetchall()]
        return {view: len(con.execute(f'SELECT * FROM "{view}"').fetchall()) for view in views}
    finally:
        con.close()


def lake_snapshot(settings: Settings) -> dict[str, pl.DataFrame]:
    """Every lake table, sorted, without the volatile columns, with the workspace path written as <ws>."""
    out = {}
    for folder in sorted(p for p in settings.lake.iterdir() if p.is_dir()):
        frame = read_table(settings.lake, folder.name)
        frame = frame.drop([c for c in frame.columns if c in VOLATILE]).with_columns(
            pl.col(pl.String).str.replace_all(str(settings.workspace), "<ws>", literal=True))
        out[folder.name] = frame.sort(frame.columns) if frame.width else frame
    return out


def assert_same_lake(found: dict[str, pl.DataFrame], expected: dict[str, pl.DataFrame]) -> None:
    assert sorted(found) == sorted(expected)
    different = []
    for name in expected:
        try:
            assert_frame_equal(found[name], expected[name])
        except AssertionError as exc:
            different.append(f"{name}: {str(exc).splitlines()[0]}")
    assert not different, "lake tables differ from the baseline run:\n" + "\n".join(different)


def instance_is_writable(home: Path) -> bool:
    """Whether every SQLite database of the instance can take a write lock now (within 0.2 s)."""
    for db in sorted(home.rglob("*.db")):
        con = sqlite3.connect(db, timeout=0.2, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute("ROLLBACK")
        except sqlite3.OperationalError:
            return False
        finally:
            con.close()
    return True


def pause(proc: subprocess.Popen, home: Path, attempts: int = 200) -> None:
    """SIGSTOP a run at a moment it holds no lock on the instance's SQLite databases. Stopped mid-write it
    would keep the WAL write lock, and every other process touching the instance would fail with
    "locking protocol" or wait forever: a hang of the test's making, not the behaviour under test."""
    for _ in range(attempts):
        proc.send_signal(signal.SIGSTOP)
        if instance_is_writable(home):
            return
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    pytest.fail(f"could not pause the run outside an instance write in {attempts} attempts")


def claimed(instance: dg.DagsterInstance, pool: str) -> list[str]:
    """Run ids holding a slot of ``pool``."""
    return read_instance(lambda: [slot.run_id for slot in
                                  instance.event_log_storage.get_concurrency_info(pool).claimed_slots])


def step_window(instance: dg.DagsterInstance, run_id: str, step_key: str) -> tuple[float, float]:
    """(start, end) of a step of a run, from the instance's event log."""
    times = {}
    for record in instance.all_logs(run_id, of_type={dg.DagsterEventType.STEP_START,
                                                     dg.DagsterEventType.STEP_SUCCESS}):
        if record.step_key == step_key:
            times[record.dagster_event.event_type] = record.timestamp
    return times[dg.DagsterEventType.STEP_START], times[dg.DagsterEventType.STEP_SUCCESS]


def temp_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.name.endswith(".tmp"))


def newest(folder: Path) -> int:
    """The newest modification time (ns) of a table's Parquet files; 0 when there are none."""
    times = [0]
    for path in folder.glob("*.parquet"):
        try:
            times.append(path.stat().st_mtime_ns)
        except FileNotFoundError:  # replaced meanwhile
            pass
    return max(times)


def assert_lake_readable(lake: Path) -> None:
    """Every file a reader can see (``*.parquet``) reads whole; anything else is a hidden temporary file or
    the table's write lock."""
    for table in lake.iterdir():
        for path in table.iterdir():
            if path.name.endswith(".parquet"):
                pl.read_parquet(path, glob=False)
            elif path.name != WRITE_LOCK:
                assert path.name.startswith(".") and path.name.endswith(".tmp"), path


@dataclass
class Baseline:
    config: Path
    home: Path
    settings: Settings
    rows: dict[str, int]
    lake: dict[str, pl.DataFrame]
    registry: dict[str, list[str]]


def workspace_store(settings: Settings):
    """The MLflow store under the workspace, which the runs used (they run without $BSI_MLFLOW_URI)."""
    from bsi_pipeline.registry.mlflow_store import store_for

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(MLFLOW_URI_ENV, raising=False)
        return store_for(settings)


def registry_model_ids(settings: Settings) -> dict[str, list[str]]:
    """Registered model -> the model_id of each of its versions, oldest first."""
    store = workspace_store(settings)
    return {key: [v.model_id for v in store.versions(key)] for key in sorted(store.version_numbers())}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Baseline:
    """One full run on the embedded data, alone: the outputs every other run must reproduce."""
    root = tmp_path_factory.mktemp("baseline")
    config = write_config(root, EMBEDDED_PBP)
    home = dagster_home(root / "dagster_home")
    made = Runs(root)
    try:
        made.finish(made.start(config, home, name="baseline"))
    finally:
        made.cleanup()
    settings = load_settings(config)
    rows = warehouse_rows(settings.warehouse_path)
    assert rows["plays"] > 40_000 and rows["games"] > 500, rows
    registry = registry_model_ids(settings)
    assert registry, "the embedded data should register at least one model version in MLflow"
    return Baseline(config, home, settings, rows, lake_snapshot(settings), registry)


# ------------------------------------------------------------------------------------------ two runs at once


def test_the_duckdb_pool_makes_a_second_run_wait_for_the_first(baseline, runs):
    """Across processes: while one run's warehouse step holds the "duckdb" slot (the process is paused
    there), a second run's warehouse step waits in the pool's queue, and starts only after the first
    one has finished."""
    instance = dg.DagsterInstance.from_config(str(baseline.home))
    first = runs.start(baseline.config, baseline.home, "--select", "warehouse", name="first")
    holder = wait_for(lambda: claimed(instance, "duckdb"), first, "the first run claims the duckdb slot")[0]
    pause(first, baseline.home)
    try:
        second = runs.start(baseline.config, baseline.home, "--select", "warehouse", name="second")
        waiting = wait_for(lambda: [p.run_id for p in instance.event_log_storage.get_concurrency_info(
            "duckdb").pending_steps if p.run_id != holder], second, "the second run queues on the duckdb pool")
        time.sleep(2)
        assert second.poll() is None and claimed(instance, "duckdb") == [holder], "the pool let a second writer in"
        assert warehouse_rows(baseline.settings.warehouse_path) == baseline.rows  # readers are not blocked
    finally:
        first.send_signal(signal.SIGCONT)
    runs.finish(first)
    runs.finish(second)
    assert step_window(instance, waiting[0], "warehouse")[0] >= step_window(instance, holder, "warehouse")[1]
    assert warehouse_rows(baseline.settings.warehouse_path) == baseline.rows


def test_without_an_instance_two_warehouse_builds_overlap_safely(baseline, runs):
    """Without DAGSTER_HOME each run has its own ephemeral instance, so no pool serializes them: the
    warehouse must be safe on its own. One build is paused half-way (its temporary file exists), a whole
    second build runs meanwhile, then the first one finishes: readers always see a complete warehouse."""
    path = baseline.settings.warehouse_path
    first = runs.start(baseline.config, None, "--select", "warehouse", name="first")
    wait_for(lambda: list(path.parent.glob(f".{path.name}.*.tmp")), first, "the first build's temporary file")
    first.send_signal(signal.SIGSTOP)
    try:
        assert warehouse_rows(path) == baseline.rows
        runs.finish(runs.start(baseline.config, None, "--select", "warehouse", name="second"))
        assert warehouse_rows(path) == baseline.rows
    finally:
        first.send_signal(signal.SIGCONT)
    runs.finish(first)
    assert warehouse_rows(path) == baseline.rows
    assert not list(path.parent.glob(f".{path.name}*")), "a build left its temporary files behind"


@pytest.mark.slow
def test_two_full_runs_at_once_on_a_fresh_workspace_and_instance(baseline, tmp_path, runs):
    """Both start on a DAGSTER_HOME with no instance yet and an empty workspace (no lake, no MLflow
    store, no experiment, no model folders): both exit 0, the experiment exists once, each model version
    is registered once, and the outputs equal the single run's.

    The pooled steps are not required to be apart here: Dagster's SQLite storage claims a slot with a
    select-then-update that is not atomic (no row locks in SQLite), so two claims within a few
    milliseconds can both succeed; seen once in about 25 such pairs. The writers do not rely on the
    pools: the warehouse is built in a private temporary file and renamed, and MLflow writes take file
    locks. test_the_duckdb_pool_makes_a_second_run_wait_for_the_first shows the pool at work."""
    config = write_config(tmp_path, EMBEDDED_PBP)
    home = dagster_home(tmp_path / "dagster_home")
    pair = [runs.start(config, home, name=f"run{i}") for i in (1, 2)]
    for proc in pair:
        runs.finish(proc)
    settings = load_settings(config)

    assert warehouse_rows(settings.warehouse_path) == baseline.rows
    assert_same_lake(lake_snapshot(settings), baseline.lake)

    from bsi_pipeline.registry.mlflow_store import EXPERIMENT

    store = workspace_store(settings)
    assert store.db_path.is_file()
    assert [e.name for e in store.client.search_experiments()].count(EXPERIMENT) == 1
    assert registry_model_ids(settings) == baseline.registry  # one version per model id, as one run makes

    from bsi_pipeline.definitions import ASSETS

    pools = {a.op.name: a.op.pool for a in ASSETS if a.op.pool}
    assert set(pools.values()) == {"duckdb", "mlflow"}
    instance = dg.DagsterInstance.from_config(str(home))
    records = instance.get_runs()
    assert len(records) == 2 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in records)
    for pool in ("duckdb", "mlflow"):
        info = instance.event_log_storage.get_concurrency_info(pool)
        assert info.slot_count == 1 and not info.claimed_slots and not info.pending_steps  # used, and given back


# ------------------------------------------------------------------------------------------ killed runs


def test_a_run_killed_holding_the_duckdb_slot_does_not_block_the_next_run(baseline, runs):
    """SIGKILL while the warehouse step holds the "duckdb" slot: the slot stays claimed by a run that
    will never end, and every later run would wait on the pool forever. The last warehouse still
    answers, and the next `bsi materialize` marks the dead run failed, frees its slot and completes."""
    instance = dg.DagsterInstance.from_config(str(baseline.home))
    path = baseline.settings.warehouse_path
    doomed = runs.start(baseline.config, baseline.home, "--select", "warehouse", name="doomed")
    holder = wait_for(lambda: claimed(instance, "duckdb"), doomed, "the run claims the duckdb slot")[0]
    doomed.kill()
    doomed.wait()
    assert claimed(instance, "duckdb") == [holder]
    assert warehouse_rows(path) == baseline.rows

    out = runs.finish(runs.start(baseline.config, baseline.home, "--select", "warehouse", name="next"), timeout=120)
    assert f"marked run {holder} failed" in out and f"freed the concurrency slots of run {holder}" in out
    assert instance.get_run_by_id(holder).status == dg.DagsterRunStatus.FAILURE
    info = instance.event_log_storage.get_concurrency_info("duckdb")
    assert not info.claimed_slots and not info.pending_steps
    assert warehouse_rows(path) == baseline.rows


def test_a_run_killed_mid_way_leaves_the_last_outputs_readable_and_the_next_run_completes(baseline, runs):
    """SIGKILL a full run once it is past the start of the plays (at the first new temporary lake file
    seen after that, which often means in the middle of writing the plays' second season, else once
    team_ratings is rewritten). Readers still get the last good outputs: every visible Parquet
    file reads whole and the warehouse answers with the baseline's rows. Temporary files like the ones a
    killed writer leaves (half a Parquet file, half a warehouse) are never read. The next run marks the
    killed one failed and completes, and its outputs equal the baseline's."""
    settings, lake = baseline.settings, baseline.settings.lake
    before = {table: newest(lake / table) for table in ("plays", "team_ratings")}
    old_temps = set(temp_files(lake))  # killed writers' leftovers stay (hidden, never read)
    doomed = runs.start(baseline.config, baseline.home, name="doomed")
    wait_for(lambda: newest(lake / "plays") > before["plays"], doomed, "plays is rewritten", timeout=RUN_TIMEOUT)
    wait_for(lambda: set(temp_files(lake)) - old_temps or newest(lake / "team_ratings") > before["team_ratings"],
             doomed, "a later step", timeout=RUN_TIMEOUT)
    doomed.kill()
    doomed.wait()
    instance = dg.DagsterInstance.from_config(str(baseline.home))
    [killed] = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))

    # what a writer killed half-way leaves beside the real files
    plays_file = sorted((lake / "plays").glob("*.parquet"))[-1]
    data = plays_file.read_bytes()
    plays_file.with_name(f".{plays_file.name}.{uuid.uuid4().hex}.tmp").write_bytes(data[: len(data) // 2])
    warehouse = settings.warehouse_path
    warehouse.with_name(f".{warehouse.name}.{uuid.uuid4().hex}.tmp").write_bytes(warehouse.read_bytes()[:4096])

    assert_lake_readable(lake)
    assert read_table(lake, "plays").height == baseline.rows["plays"]
    assert warehouse_rows(warehouse) == baseline.rows

    out = runs.finish(runs.start(baseline.config, baseline.home, name="next"))
    assert f"marked run {killed.run_id} failed" in out
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    assert warehouse_rows(warehouse) == baseline.rows
    assert_same_lake(lake_snapshot(settings), baseline.lake)
    assert registry_model_ids(settings) == baseline.registry
    assert_lake_readable(lake)


# ------------------------------------------------------------------------------------------ the writers


def test_warehouse_views_read_the_lake_from_any_working_directory(tmp_path, monkeypatch):
    """A lake given as a relative path: the views must still find it when an analyst opens the warehouse
    from another folder (DuckDB resolves a view's relative path against the reader's CWD)."""
    write_table(tmp_path / "lake", "t", pl.DataFrame({"season": [2021, 2021], "x": [1, 2]}))
    monkeypatch.chdir(tmp_path)
    build_warehouse(Path("w.duckdb"), Path("lake"), ["t"])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert warehouse_rows(tmp_path / "w.duckdb") == {"t": 2}


def test_a_rebuild_opens_after_a_session_on_the_old_warehouse_died_without_a_checkpoint(tmp_path):
    """A WAL left beside the old file is not the new file's: DuckDB would refuse to replay it into the
    rebuilt warehouse ("WAL does not match database file"), so the build deletes it."""
    path = tmp_path / "w.duckdb"
    write_table(tmp_path / "lake", "t", pl.DataFrame({"season": [2021], "x": [1]}))
    build_warehouse(path, tmp_path / "lake", ["t"])
    subprocess.run([sys.executable, "-c", f"""
import duckdb, os
con = duckdb.connect({str(path)!r})
con.execute("SET checkpoint_threshold = '1GB'")
con.execute("CREATE TABLE my_notes AS SELECT 42 AS answer")
os._exit(9)
"""], check=False)
    assert path.with_name(path.name + ".wal").exists()
    write_table(tmp_path / "lake", "t", pl.DataFrame({"season": [2021, 2022], "x": [1, 2]}))
    assert build_warehouse(path, tmp_path / "lake", ["t"]) == {"t": 2}
    assert warehouse_rows(path) == {"t": 2}


def test_a_key_value_folder_in_the_workspace_path_leaves_the_views_alone(tmp_path):
    """DuckDB reads key=value folders as Hive partitions unless told not to: a workspace under season=2021/
    gave every row of the view season 2021, one under env=prod an extra column."""
    frame = pl.DataFrame({"season": [2019, 2020], "x": [1, 2]})
    for folder in ("season=2021", "env=prod"):
        lake = tmp_path / folder / "ws" / "lake"
        write_table(lake, "t", frame)
        build_warehouse(lake.parent / "w.duckdb", lake, ["t"])
        con = duckdb.connect(str(lake.parent / "w.duckdb"), read_only=True)
        try:
            assert_frame_equal(con.sql("SELECT * FROM t ORDER BY x").pl(), frame)
        finally:
            con.close()


def test_views_over_a_lake_whose_path_has_glob_characters_read_it_and_stay_current(tmp_path):
    """The views glob the table's folder (a season file written after the build must show), with the
    folder's own [ ] * ? matched literally; DuckDB read "ws [copy 1]" as a character class and found nothing."""
    lake = tmp_path / "ws [copy 1] *?" / "lake"
    write_table(lake, "t", pl.DataFrame({"season": [2020, 2021], "x": [1, 2]}))
    write_table(lake, "nothing", pl.DataFrame())
    assert build_warehouse(tmp_path / "w.duckdb", lake, ["t", "nothing"]) == {"t": 2}
    write_table(lake, "t", pl.DataFrame({"season": [2021, 2022, 2022], "x": [2, 3, 4]}))  # 2022 new, 2020 gone
    assert warehouse_rows(tmp_path / "w.duckdb") == {"t": 3}


@pytest.mark.parametrize("warehouse, lake, refused", [
    ("run?1/w.duckdb", "lake", "warehouse path"),  # DuckDB read "?1/w.duckdb" as options and failed at commit
    ("run\\1/w.duckdb", "lake", "warehouse path"),  # DuckDB took the backslash for a "/"
    ("w.duckdb", "ws\\1/lake", "lake path"),  # and so found no file for the views
])
def test_paths_duckdb_cannot_use_are_refused_before_any_work(tmp_path, warehouse, lake, refused):
    write_table(tmp_path / lake, "t", pl.DataFrame({"season": [2021], "x": [1]}))
    with pytest.raises(ValueError, match=f"the {refused} '.*' contains"):
        build_warehouse(tmp_path / warehouse, tmp_path / lake, ["t"])
    assert not list(tmp_path.rglob("*w.duckdb*"))  # nothing was built


def test_a_build_removes_what_killed_builds_left_once_it_is_old(tmp_path):
    """A build killed by SIGKILL leaves its .<name>.<id>.tmp (and .wal): the next build removes them once
    they are STALE_TMP_SECONDS old; a younger one may be a build still running, another file is not its own."""
    ws = tmp_path / "ws [1]"
    write_table(ws / "lake", "t", pl.DataFrame({"season": [2021], "x": [1]}))
    killed = [ws / f".w.duckdb.{uuid.uuid4().hex}.tmp", ws / f".w.duckdb.{uuid.uuid4().hex}.tmp.wal"]
    running, other = ws / f".w.duckdb.{uuid.uuid4().hex}.tmp", ws / f".other.{uuid.uuid4().hex}.tmp"
    old = time.time() - STALE_TMP_SECONDS - 60
    for leftover in (*killed, running, other):
        leftover.write_bytes(b"cut short")
        if leftover is not running:
            os.utime(leftover, (old, old))
    assert build_warehouse(ws / "w.duckdb", ws / "lake", ["t"]) == {"t": 1}
    assert sorted(p.name for p in ws.iterdir()) == sorted(["lake", "w.duckdb", running.name, other.name])


def test_readers_ignore_the_files_a_killed_lake_writer_leaves(tmp_path):
    lake = tmp_path / "lake"
    frame = pl.DataFrame({"season": [2020, 2021, 2021], "x": [1, 2, 3]})
    write_table(lake, "t", frame)
    real = lake / "t" / "season=2021.parquet"
    (lake / "t" / f".{real.name}.{uuid.uuid4().hex}.tmp").write_bytes(real.read_bytes()[:100])  # cut short
    complete = lake / "t" / f".season=2019.parquet.{uuid.uuid4().hex}.tmp"  # killed just before its rename
    pl.DataFrame({"season": [2019], "x": [9]}).write_parquet(complete)

    assert read_table(lake, "t").sort("x").equals(frame)
    assert build_warehouse(tmp_path / "w.duckdb", lake, ["t"]) == {"t": 3}
    write_table(lake, "t", frame.head(1))
    assert read_table(lake, "t").equals(frame.head(1))
    assert warehouse_rows(tmp_path / "w.duckdb") == {"t": 1}
    # the leftovers are young (a writer might still be running): kept; once old, the next write removes them
    leftovers = sorted((lake / "t").glob(".*.tmp"))
    assert len(leftovers) == 2
    old = time.time() - STALE_TMP_SECONDS - 60
    os.utime(leftovers[0], (old, old))
    write_table(lake, "t", frame)
    assert sorted((lake / "t").glob(".*.tmp")) == leftovers[1:]
    assert read_table(lake, "t").sort("x").equals(frame)


def test_model_folders_and_files_survive_concurrent_writers(tmp_path):
    """Two runs at once train the same model id into the same folder: the folder swap and the model
    card/plot writes must neither fail nor leave a mixed or partial result."""
    from bsi_pipeline.models.factory import _replace_dir, _write_atomic

    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def write_file(i: int) -> None:
        start.wait()
        try:
            for _ in range(40):
                _write_atomic(tmp_path / "model_card.md", str(i).encode() * 300_000)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def replace_folder(i: int) -> None:
        def build(folder: Path) -> None:
            for n in range(4):
                (folder / f"part{n}").write_text(str(i) * 20_000)

        start.wait()
        try:
            for _ in range(25):
                _replace_dir(tmp_path / "model", build)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=f, args=(i,)) for i in range(4) for f in (write_file, replace_folder)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    card = (tmp_path / "model_card.md").read_bytes()
    assert len(card) == 300_000 and len(set(card)) == 1
    parts = {(tmp_path / "model" / f"part{n}").read_text() for n in range(4)}
    assert len(parts) == 1 and len(parts.pop()) == 20_000  # one writer's complete folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "model_card.md"]  # nothing left behind


def test_a_model_folder_that_already_holds_the_same_model_is_kept(tmp_path):
    """A re-run, or a second run at once, rebuilds the same model id with the same content: the folder
    is left in place with its evaluation files (another run may be reading its model card) instead of
    being swapped for one without them. Different content still replaces it."""
    from bsi_pipeline.models.factory import _replace_dir

    def build(created_at: str, coefficient: float):
        def write(folder: Path) -> None:
            (folder / "artifact.json").write_text(
                json.dumps({"model_id": "m-1", "created_at": created_at, "coefficient": coefficient}))
            (folder / "model.onnx").write_bytes(b"onnx")
        return write

    target = tmp_path / "m-1"
    _replace_dir(target, build("2026-01-01T00:00:00Z", 0.5))
    (target / "model_card.md").write_text("card")  # written by the evaluation afterwards
    inode = target.stat().st_ino
    _replace_dir(target, build("2026-02-01T00:00:00Z", 0.5))
    assert target.stat().st_ino == inode and (target / "model_card.md").read_text() == "card"
    _replace_dir(target, build("2026-03-01T00:00:00Z", 0.7))
    assert json.loads((target / "artifact.json").read_text())["coefficient"] == 0.7
    assert not (target / "model_card.md").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-1"]


def test_model_reports_reads_eval_snapshots_only_once_it_has_a_file(tmp_path):
    """A run writing eval_snapshots for the first time creates the folder before its file is renamed
    in: another run's model_reports must take that as "no history yet", not fail."""
    from bsi_pipeline.defs.models import SPECS, model_reports
    from bsi_pipeline.defs.resources import BsiConfig

    config = write_config(tmp_path, EMBEDDED_PBP)
    folder = load_settings(config).lake / "eval_snapshots"
    folder.mkdir(parents=True)
    (folder / f".data.parquet.{uuid.uuid4().hex}.tmp").write_bytes(b"PAR1")  # the other run's write
    outputs = {o.output_name: o.value for o in model_reports(
        bsi=BsiConfig(config_path=str(config)), **{f"evaluation_{key}": pl.DataFrame() for key in SPECS})}
    assert outputs["eval_snapshots"].height == 0


def test_model_reports_keep_the_eval_history_when_no_key_is_evaluated(tmp_path):
    """A run in which every key is short of data (all evaluations empty) must not wipe earlier model
    versions' evaluations: eval_snapshots is the only record of them."""
    from bsi_pipeline.defs.models import SPECS, model_reports
    from bsi_pipeline.defs.resources import BsiConfig

    config = write_config(tmp_path, EMBEDDED_PBP)
    earlier = pl.DataFrame({"model_key": ["mlb_home_win"] * 2, "model_id": ["m-old"] * 2,
                            "system": ["model"] * 2, "metric": ["brier", "log_loss"], "value": [0.243, 0.679]})
    write_table(load_settings(config).lake, "eval_snapshots", earlier)
    outputs = {o.output_name: o.value for o in model_reports(
        bsi=BsiConfig(config_path=str(config)), **{f"evaluation_{key}": pl.DataFrame() for key in SPECS})}
    assert_frame_equal(outputs["eval_snapshots"], earlier)
    assert outputs["model_cards"].height == 0
