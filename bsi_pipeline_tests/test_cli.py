"""`bsi materialize`: headless, in-process, non-zero exit on failure."""

import contextlib
import gzip
import json
import os
import socket
import sqlite3
import subprocess
import threading

import duckdb
import pytest

from bsi_pipeline.cli import (LOCK_WAIT_ENV, OWNER_TAG, InstanceLocked, is_sqlite_lock_error, main, release_dead_runs,
                              retry_while_locked)
from bsi_pipeline.config import load_settings
from bsi_pipeline_tests.conftest import EMBEDDED_PBP, write_config


def small_sample(tmp_path, games=6):
    """The first few real games of the embedded 2021 sample, as a plain CSV."""
    with gzip.open(EMBEDDED_PBP[-1], "rt", newline="") as f:
        lines = f.readlines()
    keep, seen = [lines[0]], []
    for line in lines[1:]:
        gid = line.split(",", 1)[0]
        if gid not in seen:
            if len(seen) == games:
                break
            seen.append(gid)
        keep.append(line)
    path = tmp_path / "sample.csv"
    path.write_text("".join(keep))
    return path, seen


def test_materialize_selection_then_everything(tmp_path, capsys, monkeypatch):
    sample, game_ids = small_sample(tmp_path)
    config = write_config(tmp_path, [sample])
    monkeypatch.delenv("BSI_CONFIG", raising=False)
    assert main(["materialize", "--config", str(config), "--select", "ncaa_pbp_lines"]) == 0
    # the config reaches the resources explicitly; the process environment is left as it was (it used
    # to keep $BSI_CONFIG pointing at this run's file, for every later in-process caller)
    assert "BSI_CONFIG" not in os.environ
    settings = load_settings(config)
    assert (settings.lake / "ncaa_pbp_lines").exists() and not (settings.lake / "plays").exists()
    assert main(["materialize", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert str(settings.warehouse_path) in out and "play-by-play parsing" in out
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.execute("SELECT count(*) FROM games").fetchall()[0][0] == len(game_ids)
    con.close()


def test_missing_column_fails_the_run_with_the_reason(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("game_id,date,inning\n1,02/19/2021,1\n")
    config = write_config(tmp_path, [bad])
    assert main(["materialize", "--config", str(config)]) == 1
    assert "missing required column(s)" in capsys.readouterr().err


def test_bad_config_exits_2(tmp_path, capsys):
    config = tmp_path / "bsi.yaml"
    config.write_text("sources: {}\n")
    assert main(["materialize", "--config", str(config)]) == 2
    assert "missing required key 'workspace'" in capsys.readouterr().err


def test_unknown_selection_exits_2(tmp_path, capsys):
    sample, _ = small_sample(tmp_path, games=1)
    config = write_config(tmp_path, [sample])
    assert main(["materialize", "--config", str(config), "--select", "no_such_asset"]) == 2
    assert "invalid --select 'no_such_asset'" in capsys.readouterr().err


# --- a locked Dagster instance: waited for, then a clear error ------------------------------------

class FakeClock:
    """time.monotonic and time.sleep for retry_while_locked, without waiting."""

    def __init__(self):
        self.now, self.sleeps = 0.0, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_only_sqlite_lock_errors_count_as_a_locked_instance():
    import sqlalchemy.exc

    locked = sqlite3.OperationalError("database is locked")
    wrapped = sqlalchemy.exc.OperationalError("UPDATE runs SET status=?", {}, locked)
    assert is_sqlite_lock_error(locked) and is_sqlite_lock_error(wrapped)
    assert is_sqlite_lock_error(sqlite3.OperationalError("locking protocol"))
    try:  # a lock error re-raised by other code still counts, through __cause__
        raise RuntimeError("could not mark the run failed") from wrapped
    except RuntimeError as exc:
        assert is_sqlite_lock_error(exc)
    assert not is_sqlite_lock_error(sqlite3.OperationalError("no such table: runs"))
    assert not is_sqlite_lock_error(sqlalchemy.exc.OperationalError("x", {}, sqlite3.OperationalError("disk I/O error")))
    assert not is_sqlite_lock_error(ValueError("database is locked"))  # not SQLite's


def test_retry_while_locked_tries_again_until_the_lock_goes_then_gives_up_with_the_reason():
    clock = FakeClock()
    outcomes = [sqlite3.OperationalError("database is locked")] * 2 + ["done"]

    def action():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert retry_while_locked(action, 10, "the instance", pause_s=1, clock=clock, sleep=clock.sleep) == "done"
    assert clock.sleeps == [1, 1]

    clock = FakeClock()

    def always_locked():
        raise sqlite3.OperationalError("locking protocol")

    with pytest.raises(InstanceLocked, match=r"the instance stayed locked by another process for 3 s "
                                             r"\(SQLite: locking protocol\).*BSI_INSTANCE_LOCK_WAIT"):
        retry_while_locked(always_locked, 3, "the instance", pause_s=1, clock=clock, sleep=clock.sleep)
    assert clock.now == 3

    def broken():
        raise sqlite3.OperationalError("no such table: runs")

    clock = FakeClock()
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        retry_while_locked(broken, 10, "the instance", clock=clock, sleep=clock.sleep)
    assert clock.sleeps == []  # not a lock: no retry


def _instance_with_a_dead_run(home):
    """A real SQLite Dagster instance in ``home`` holding one STARTED run whose `bsi materialize` is gone."""
    import dagster as dg

    gone = subprocess.Popen(["true"])
    gone.wait()
    instance = dg.DagsterInstance.get()
    run = instance.add_run(dg.DagsterRun(job_name="__ASSET_JOB", status=dg.DagsterRunStatus.STARTED,
                                         tags={OWNER_TAG: f"{socket.gethostname()}:{gone.pid}:1"}))
    return instance, run.run_id


@contextlib.contextmanager
def write_lock_held(db, seconds):
    """Another connection holds ``db``'s write lock for ``seconds``, or until the block ends if sooner
    (a run writing, or one stopped mid-write)."""
    con = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    con.execute("BEGIN IMMEDIATE")
    guard = threading.Lock()

    def release():
        with guard:
            if con.in_transaction:
                con.execute("ROLLBACK")

    timer = threading.Timer(seconds, release)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        release()
        con.close()


def test_releasing_a_dead_run_waits_out_a_lock_longer_than_sqlites_own_timeout(tmp_path, monkeypatch):
    """The runs database locked for 7 s, beyond SQLite's 5 s busy timeout: the first try fails, a later
    one marks the dead run failed."""
    import dagster as dg

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    instance, run_id = _instance_with_a_dead_run(tmp_path)
    tries = []

    def release():
        tries.append(1)
        return release_dead_runs(instance)

    with write_lock_held(tmp_path / "history" / "runs.db", 7):
        done = retry_while_locked(release, 60, "the instance", pause_s=0.2)
    assert len(tries) >= 2
    assert done == [f"marked run {run_id} failed: its process is gone"]
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE


def test_materialize_on_a_locked_instance_exits_1_naming_it(tmp_path, monkeypatch, capsys):
    sample, _ = small_sample(tmp_path, games=1)
    config = write_config(tmp_path, [sample])
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv(LOCK_WAIT_ENV, "0")
    _, run_id = _instance_with_a_dead_run(home)
    with write_lock_held(home / "history" / "runs.db", 30):
        assert main(["materialize", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"the Dagster instance in {home} stayed locked by another process for 0 s" in err
    assert "database is locked" in err

    monkeypatch.setenv(LOCK_WAIT_ENV, "soon")
    assert main(["materialize", "--config", str(config)]) == 2
    assert "$BSI_INSTANCE_LOCK_WAIT must be a number of seconds >= 0; got 'soon'" in capsys.readouterr().err


def test_bad_bsi_storage_exits_2_with_the_reason(tmp_path, monkeypatch, capsys):
    config = tmp_path / "bsi.yaml"
    config.write_text("workspace: w\n")
    monkeypatch.setenv("BSI_STORAGE", "s3://")
    assert main(["rollback", "mlb_hr_prob", "--config", str(config)]) == 2
    assert capsys.readouterr().err.strip() == ("config error: $BSI_STORAGE: not an s3://bucket[/prefix] URI: "
                                              "'s3://'")


# --- bsi predict --line -----------------------------------------------------------------------------

def _serve_linear(tmp_path, model_key: str, count: bool):
    """A config whose `model_key` serves a small ridge model: a count model (with a Poisson
    distribution, dispersion 0) or a plain regression, as the factory exports them."""
    from sklearn.linear_model import Ridge

    from bsi_pipeline.models import artifact as art
    from bsi_pipeline.models.scoring import set_current
    from bsi_pipeline_tests.model_helpers import FEATURES, game_data, linear_pipeline

    X, _, margin = game_data(n=200)
    pipe = linear_pipeline(Ridge(alpha=3.0)).fit(X, margin + 6)
    artifact = art.export_linear(pipe, model_key=model_key, model_id=f"{model_key}-1", task="count" if count else
                                 "regression", features=FEATURES, calibrator=None, metrics={},
                                 train_window={"start": "2020-01-01", "end": "2020-12-31"})
    if count:
        artifact["count"] = {"dispersion": 0.0}
    models = tmp_path / "workspace" / "models"
    folder = models / model_key / f"{model_key}-1"
    folder.mkdir(parents=True)
    art.write_artifact(folder, artifact)
    set_current(models, model_key, folder.name)
    config = tmp_path / "bsi.yaml"
    config.write_text(f"workspace: {tmp_path / 'workspace'}\n")
    return config, json.dumps(dict.fromkeys(FEATURES, 0.5))


@pytest.mark.parametrize("line, message", [
    ("0.5", "--line is for count models; margin_model is not one (it has no count distribution)"),
    ("nan", None), ("inf", None), ("-inf", None),
])
def test_predict_refuses_a_line_it_cannot_answer(tmp_path, capsys, line, message):
    config, features = _serve_linear(tmp_path, "margin_model", count=False)
    assert main(["predict", "margin_model", "--features", features, f"--line={line}", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {message or f'--line must be a finite number; got {float(line)}'}"


@pytest.mark.parametrize("line", ["nan", "inf"])
def test_a_count_model_refuses_a_non_finite_line_and_answers_a_finite_one(tmp_path, capsys, line):
    config, features = _serve_linear(tmp_path, "strikeouts", count=True)
    argv = ["predict", "strikeouts", "--features", features, "--config", str(config)]
    assert main([*argv, "--line", line]) == 2
    assert capsys.readouterr().err.strip() == f"error: --line must be a finite number; got {float(line)}"
    assert main([*argv, "--line", "5.5"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["line"] == 5.5 and 0 < out["p_over"] < 1


# --- blank option values are refused, not taken as "not given" ---------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["materialize", "--select", ""], "bsi materialize: empty selection"),
    (["materialize", "--select", "  "], "bsi materialize: empty selection"),
    (["materialize", "--config", ""], "bsi materialize: empty --config path"),
    (["summary", "--config", " "], "bsi summary: empty --config path"),
    (["mlflow-uri", "--config", ""], "bsi mlflow-uri: empty --config path"),
])
def test_a_blank_option_exits_2_and_runs_nothing(tmp_path, monkeypatch, capsys, argv, message):
    import dagster as dg

    runs = []
    monkeypatch.setattr(dg, "materialize", lambda *a, **kw: runs.append(kw.get("selection")))
    config = write_config(tmp_path, [])
    if "--config" not in argv:
        argv = [*argv, "--config", str(config)]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err.startswith(message) and err.count("\n") == 1 and out == ""
    assert runs == []  # before: --select "" materialized everything (selection=None)
