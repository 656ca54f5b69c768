"""`bsi`: what users do outside the Dagster UI.

    bsi materialize [--config PATH] [--select SELECTION]   materialize headless, in-process
    bsi summary [--config PATH]                             where the outputs are, and what is in them
    bsi predict MODEL_KEY --features JSON [--line X]        the current model's prediction, explained
    bsi rollback MODEL_KEY [--reason TEXT]                  serve the previous champion again
    bsi mlflow-uri [--config PATH]                          the MLflow tracking/registry URI in use

`materialize` exits non-zero when any step or blocking check fails. With DAGSTER_HOME set, runs are
recorded in that instance (and show in the UI); otherwise an ephemeral instance is used.

A run executes in the `bsi` process itself, so nothing gives back the concurrency-pool slot (pools
"duckdb", "mlflow") of a run whose process was killed: every later run would wait on that pool
forever. Each run is therefore tagged with its process (host, pid, start time), and `materialize`
first marks failed, and frees the slots of, any such run whose process is gone.

That clean-up writes to the instance's SQLite databases. While another process holds their write lock
(a run writing, or one stopped or frozen mid-write) it waits and tries again, for up to
$BSI_INSTANCE_LOCK_WAIT seconds (default 120), then exits 1 saying which instance is locked.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import sqlite3
import sys
import time
from pathlib import Path

from bsi_pipeline.config import ConfigError, load_settings


OWNER_TAG = "bsi/process"  # "<host>:<pid>:<start time>" of the `bsi materialize` executing the run
LOCK_WAIT_ENV = "BSI_INSTANCE_LOCK_WAIT"  # seconds to keep retrying a locked instance database
DEFAULT_LOCK_WAIT_S = 120.0
# SQLite's words for "another connection holds the lock" (SQLITE_BUSY, SQLITE_LOCKED, SQLITE_PROTOCOL):
# transient unless that connection's process never lets go.
_LOCK_MESSAGES = ("database is locked", "database table is locked", "locking protocol")


class InstanceLocked(RuntimeError):
    """The Dagster instance's SQLite databases stayed locked by another process for the whole wait."""


def is_sqlite_lock_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps: SQLAlchemy keeps the driver's error in ``orig``) is SQLite
    reporting a lock held by another connection, as opposed to any other database failure."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sqlite3.OperationalError) and any(m in str(exc).lower() for m in _LOCK_MESSAGES):
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__
    return False


def lock_wait_seconds() -> float:
    """$BSI_INSTANCE_LOCK_WAIT as seconds >= 0, else the default; a bad value is an error, not ignored."""
    raw = os.environ.get(LOCK_WAIT_ENV, "").strip()
    if not raw:
        return DEFAULT_LOCK_WAIT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise ConfigError(f"${LOCK_WAIT_ENV} must be a number of seconds >= 0; got {raw!r}")
    return value


def retry_while_locked(action, wait_s: float, what: str, *, pause_s: float = 1.0,
                       clock=time.monotonic, sleep=time.sleep):
    """``action()``, tried again every ``pause_s`` while it fails only because SQLite is locked by
    another process, until ``wait_s`` seconds have passed; then :class:`InstanceLocked` naming ``what``.
    ``action`` must be safe to repeat (each try re-reads the state it acts on)."""
    deadline = clock() + wait_s
    while True:
        try:
            return action()
        except Exception as exc:
            if not is_sqlite_lock_error(exc):
                raise
            if clock() >= deadline:
                reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                raise InstanceLocked(
                    f"{what} stayed locked by another process for {wait_s:g} s (SQLite: {reason}). A `bsi "
                    "materialize` or Dagster process that is stopped (Ctrl-Z, SIGSTOP) or frozen mid-write keeps "
                    f"the lock: resume or end it, then run again (${LOCK_WAIT_ENV} sets the wait).") from exc
            sleep(pause_s)


def _process_start(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, /proc/<pid>/stat field 22); '' without /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def _owner_tag() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_process_start(os.getpid())}"


def _owner_alive(tag: str) -> bool | None:
    """Whether the process named by an OWNER_TAG value still runs; None when this host cannot tell
    (no tag: a run started by the UI or daemon; or a run of another host)."""
    host, _, rest = tag.partition(":")
    pid, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    return not start or _process_start(int(pid)) == start  # a reused pid is another process


def release_dead_runs(instance) -> list[str]:
    """Clean up after `bsi materialize` processes that were killed: their runs, still STARTED, are
    marked failed, and the pool slots and pending claims they hold, which nothing else would give back,
    are freed (as are those of runs already finished or deleted). Returns what was done, one line each.
    Runs of live processes, of other hosts, or launched by the UI or daemon are left alone."""
    import dagster as dg

    done = []
    for run in instance.get_runs(filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED])):
        if _owner_alive(run.tags.get(OWNER_TAG, "")) is False:
            instance.report_run_failed(run, f"its bsi materialize process ({run.tags[OWNER_TAG]}) is gone: "
                                            "killed before the run ended")
            done.append(f"marked run {run.run_id} failed: its process is gone")
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        for run_id in sorted(storage.get_concurrency_run_ids()):
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                storage.free_concurrency_slots_for_run(run_id)
                done.append(f"freed the concurrency slots of run {run_id}")
    return done


def _materialize(args) -> int:
    import dagster as dg

    from bsi_pipeline.definitions import ASSETS, CHECKS, build_resources

    settings = load_settings(args.config)
    home = os.environ.get("DAGSTER_HOME")
    if home:
        from bsi_pipeline.registry.mlflow_store import file_lock

        os.makedirs(home, exist_ok=True)  # a fresh checkout has no instance folder yet
        # Two processes creating a fresh instance's SQLite tables at once break each other ("table runs
        # already exists"): one at a time, and the same for freeing the slots of dead runs.
        wait_s = lock_wait_seconds()  # a bad value is a config error (exit 2)
        try:
            with file_lock(Path(home) / ".bsi_instance.lock"):
                instance = dg.DagsterInstance.get()
                released = retry_while_locked(lambda: release_dead_runs(instance), wait_s,
                                              f"the Dagster instance in {home}")
        except InstanceLocked as exc:
            print(f"bsi materialize: {exc}", file=sys.stderr)
            return 1
    else:
        instance, released = dg.DagsterInstance.ephemeral(), []
    print(f"config:    {settings.config_path}\nworkspace: {settings.workspace}", flush=True)
    for line in released:
        print(line, flush=True)
    try:
        result = dg.materialize(
            [*ASSETS, *CHECKS],
            selection=args.select,  # None: everything; a blank one was refused by main
            resources=build_resources(str(settings.config_path)),
            instance=instance,
            tags={OWNER_TAG: _owner_tag()},
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": args.log_level}}}},
        )
    except (dg.DagsterInvalidSubsetError, dg.DagsterInvalidDefinitionError) as exc:
        cause = exc.__cause__ or exc
        print(f"invalid --select {args.select!r}: {cause}", file=sys.stderr)
        return 2
    failed_checks = [
        f"{e.asset_check_evaluation_data.asset_key.to_user_string()}:{e.asset_check_evaluation_data.check_name}"
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.asset_check_evaluation_data.passed
    ]
    if not result.success or failed_checks:
        failed_steps = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        print(f"FAILED: steps {failed_steps or 'none'}; checks {failed_checks or 'none'}", file=sys.stderr)
        for event in result.all_events:
            if event.event_type_value == "STEP_FAILURE" and event.step_failure_data.error:
                print(event.step_failure_data.error.to_string(), file=sys.stderr)
        return 1
    _print_summary(settings)
    return 0


def _print_champions(models_dir) -> None:
    """Which model each key serves (models/<key>/current), so `make run` says what `bsi predict` uses."""
    keys = sorted(p.name for p in models_dir.iterdir() if p.is_dir()) if models_dir.exists() else []
    if keys:
        print("models served (bsi predict KEY):")
        for key in keys:
            current = models_dir / key / "current"
            served = current.read_text().strip() if current.is_file() else "none yet (see model_registry)"
            print(f"  {key:<36} {served}")
        print()


def _summary(args) -> int:
    _print_summary(load_settings(args.config))
    return 0


def _print_summary(settings) -> None:
    import duckdb

    path = settings.warehouse_path
    if not path.exists():
        print(f"no warehouse yet at {path}: run `bsi materialize` first")
        return
    con = duckdb.connect(str(path), read_only=True)
    try:
        # views over a local lake, tables copied from an S3 lake (bsi_pipeline/warehouse.py)
        views = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = 'main' ORDER BY table_name").fetchall()]
        print(f"\nwarehouse: {path}\nlake:      {settings.storage}\nmodels:    {settings.models_dir}"
              f"\nmlflow:    {settings.mlflow_uri}  (make mlflow-ui)\n")
        _print_champions(settings.models_dir)
        print("tables:")
        for view in views:
            print(f"  {view:<36} {con.execute(f'SELECT count(*) FROM {view}').fetchall()[0][0]:>10,} rows")
        if "pbp_parse_summary" in views:
            print("\nplay-by-play parsing, per season:")
            print(con.sql("""
                SELECT season, games, reconciled, reconciled_pct, lines, note_lines, classified_pct,
                       classified_pct_all_lines
                FROM pbp_parse_summary ORDER BY season"""))
        # this interpreter has the duckdb package; the DuckDB CLI is a separate install
        print(f"\nquery it:  {sys.executable} -c \"import duckdb; print(duckdb.connect('{path}', read_only=True)"
              f".sql('show tables'))\"  (or the DuckDB CLI, if installed: duckdb {path})")
    finally:
        con.close()


def _predict(args) -> int:
    """Calibrated probability (or value) of the key's current model and its top five contributions."""
    import json

    from bsi_pipeline.models.scoring import ArtifactError, FeatureError, UnknownModelError, load_scorer

    settings = load_settings(args.config)
    try:
        values = json.loads(args.features)
    except json.JSONDecodeError as exc:
        print(f"--features is not valid JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(values, dict):
        print("--features must be a JSON object of feature name -> number", file=sys.stderr)
        return 2
    try:
        path = _served_artifact(settings, args.model_key)
        scorer = load_scorer(path)
        explanation = scorer.explain(values, top=5)
    except (UnknownModelError, FeatureError, ArtifactError, LookupError) as exc:  # ArtifactError: broken files
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = {"model_key": args.model_key, "model_id": scorer.artifact["model_id"],
           "value": explanation.value, "raw_value": explanation.raw_value, "link": explanation.link,
           "top_contributions": [{"feature": name, "contribution": c} for name, c in explanation.contributions]}
    dispersion = scorer.artifact.get("count", {}).get("dispersion")
    problem = _line_problem(args.line, dispersion, args.model_key)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.line is not None:
        from bsi_pipeline.models.counts import prob_over
        out["line"] = args.line
        out["p_over"] = float(prob_over([explanation.value], [args.line], dispersion)[0])
    print(json.dumps(out, indent=2))
    return 0


def _line_problem(line: float | None, dispersion: float | None, model_key: str) -> str | None:
    """Why ``--line`` cannot be answered, or None. Refused rather than dropped: a user who asked for
    P(over a line) from a model without a count distribution would otherwise get an answer without
    it and not know; and a NaN or infinite line has no probability to give."""
    if line is None:
        return None
    if not math.isfinite(line):
        return f"--line must be a finite number; got {line}"
    if dispersion is None:
        return f"--line is for count models; {model_key} is not one (it has no count distribution)"
    return None


def _served_artifact(settings, model_key: str):
    """The artifact `bsi predict` serves: the one `current` names, checked against the model_registry table
    once it exists, as prediction_log checks it. Why: the registry writes its history before it moves
    `current`, so an interrupted run can leave `current` on an archived model; that is an error naming
    both, not a stale answer."""
    from bsi_pipeline.lake import read_table_if_written
    from bsi_pipeline.models.scoring import resolve_artifact
    from bsi_pipeline.monitoring.serving import resolve_champion
    from bsi_pipeline.registry.decisions import TABLE

    path = resolve_artifact(settings.models_dir, model_key)  # unknown key or no current model: named errors
    registry = read_table_if_written(settings.storage, TABLE)
    if registry is None or registry.height == 0:
        return path
    return resolve_champion(settings.models_dir, model_key, registry).artifact_path


def _rollback(args) -> int:
    """Restore the champion before the current one (aliases, `current`, a model_registry row)."""
    from bsi_pipeline.models.specs import load_specs
    from bsi_pipeline.registry.decisions import rollback
    from bsi_pipeline.registry.mlflow_store import RegistryError, store_for

    settings = load_settings(args.config)
    store = store_for(settings)
    try:
        done = rollback(store, settings, args.model_key, args.reason, known_keys=list(load_specs()))
    except RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{done['model_key']}: champion is version {done['to_version']} ({done['model_id']}) again; "
          f"version {done['from_version']} archived. Reason: {done['reason']}")
    for change in done["changes"]:
        print(f"  {change}")
    return 0


def _mlflow_uri(args) -> int:
    print(load_settings(args.config).mlflow_uri)
    return 0


# Options whose blank value is refused, with the message: blank must not mean "not given".
_BLANK_REFUSED = {
    "select": "empty selection: --select needs a Dagster asset selection (omit it to materialize everything)",
    "config": "empty --config path (omit it to use $BSI_CONFIG, ./bsi.yaml or the repository's bsi.yaml)",
}


def _blank_option(args) -> str | None:
    """The error for an option given a blank value, or None. Why: a blank value (often an unset shell
    variable, --select "$SEL") would otherwise count as not given: --select "" materialized the whole
    graph, training included, and --config "" quietly used the default configuration."""
    for option, message in _BLANK_REFUSED.items():
        value = getattr(args, option, None)
        if value is not None and not value.strip():
            return message
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bsi", description="Blaze Sports Intel pipeline")
    sub = parser.add_subparsers(dest="command", required=True)
    mat = sub.add_parser("materialize", help="materialize assets headless, in-process")
    mat.add_argument("--config", help="config YAML (default: $BSI_CONFIG, ./bsi.yaml, the repo's bsi.yaml)")
    mat.add_argument("--select", help="Dagster asset selection, e.g. 'plays+' (default: everything)")
    mat.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                     help="console log level of the run (default INFO)")
    mat.set_defaults(func=_materialize)
    summ = sub.add_parser("summary", help="print where the warehouse is and what it holds")
    summ.add_argument("--config")
    summ.set_defaults(func=_summary)
    pred = sub.add_parser("predict", help="score one row with a model key's current model, with explanation")
    pred.add_argument("model_key")
    pred.add_argument("--features", required=True, help='JSON object, e.g. \'{"launch_speed": 104, ...}\'')
    pred.add_argument("--line", type=float, help="count models only: P(over this line), a finite number")
    pred.add_argument("--config")
    pred.set_defaults(func=_predict)
    roll = sub.add_parser("rollback", help="make the previous champion of a model key the champion again")
    roll.add_argument("model_key")
    roll.add_argument("--reason", default="manual rollback (no reason given)", help="recorded in model_registry")
    roll.add_argument("--config")
    roll.set_defaults(func=_rollback)
    uri = sub.add_parser("mlflow-uri", help="print the MLflow tracking/registry URI of the configuration")
    uri.add_argument("--config")
    uri.set_defaults(func=_mlflow_uri)
    args = parser.parse_args(argv)
    problem = _blank_option(args)
    if problem:
        print(f"bsi {args.command}: {problem}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
