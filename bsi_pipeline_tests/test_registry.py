"""Model registry: MLflow logging and registration, champion/challenger decisions, rollback, the
registry sensor, and concurrent registration on one SQLite store.

The life cycle runs on real data: mlb_hr_prob features from the embedded Statcast samples (2021
trains and validates, 2022 is the held-out test season), three versions trained with the
factory's own stages on spec variants of different strength, registered and decided through
the Dagster assets:

  v1  ridge on launch angle only       passes calibration acceptance on the test window: first champion
  v2  ridge on has_spray (constant 1)  a base-rate model: well calibrated but worse: stays challenger
  v3  xgboost on exit velocity         better on Brier and log loss: promoted, v1 archived
  `bsi rollback` then restores v1, after models/ was deleted (so v1 comes back from MLflow).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest
import yaml

from bsi_pipeline.batted_ball import batted_ball_features, load_woba_weights
from bsi_pipeline.cli import main
from bsi_pipeline.config import ConfigError, load_settings
from bsi_pipeline.definitions import ASSETS, build_resources
from bsi_pipeline.defs.models import SPECS
from bsi_pipeline.defs.registry import REGISTRY_ASSETS, MlflowResource, model_registry_sensor
from bsi_pipeline.defs.resources import BsiConfig
from bsi_pipeline.features.batted_balls import build_batted_ball_features
from bsi_pipeline.lake import read_table, write_table
from bsi_pipeline.models.factory import calibrate_stage, evaluate_stage, train_stage
from bsi_pipeline.models.scoring import CURRENT_FILE, load_scorer, resolve_artifact
from bsi_pipeline.registry.decisions import SCHEMA
from bsi_pipeline.registry.mlflow_store import MlflowStore, store_for
from bsi_pipeline.sources.statcast_csv import read_statcast_csv
from bsi_pipeline_tests.conftest import REPO

HR = "mlb_hr_prob"
STATCAST = sorted((REPO / "data" / "statcast").glob("statcast_*.csv"))


@pytest.fixture(autouse=True)
def _registry_env(monkeypatch):
    monkeypatch.setenv("BSI_N_JOBS", "1")          # trees on one thread (see test_model_factory)
    monkeypatch.delenv("BSI_MLFLOW_URI", raising=False)


@pytest.fixture(scope="module")
def hr_features() -> pl.DataFrame:
    read = read_statcast_csv(STATCAST)
    return build_batted_ball_features(batted_ball_features(read.batted_balls, load_woba_weights())).features


def make_config(folder: Path, **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bsi.yaml"
    path.write_text(yaml.safe_dump({"workspace": str(folder / "workspace"), **extra}))
    return path


def train(features: pl.DataFrame, models_dir: Path, algorithms: tuple[str, ...], names: tuple[str, ...]):
    """One model version through the factory's stages, on a variant of the mlb_hr_prob spec."""
    spec = dataclasses.replace(SPECS[HR], algorithms=algorithms, features=names)
    candidates = train_stage(features, spec, models_dir)
    calibrated = calibrate_stage(features, spec, candidates, models_dir)
    return evaluate_stage(features, spec, calibrated.comparison, models_dir)


def resources(config: Path) -> dict:
    return {**build_resources(str(config)), "mlflow": MlflowResource(config=BsiConfig(config_path=str(config)))}


def materialize(config: Path, instance, *names: str) -> dg.ExecuteInProcessResult:
    result = dg.materialize([*ASSETS, *REGISTRY_ASSETS], selection=list(names), resources=resources(config),
                            instance=instance, raise_on_error=False)
    assert result.success, [e.step_failure_data.error.to_string() for e in result.all_events
                            if e.event_type_value == "STEP_FAILURE"]
    return result


def register_and_decide(config: Path, instance, outcome) -> tuple[dict, pl.DataFrame]:
    """What registered_mlb_hr_prob and model_registry make of one evaluation."""
    settings = load_settings(config)
    write_table(settings.lake, f"evaluation_{HR}", outcome.snapshot)
    materialize(config, instance, f"registered_{HR}", "model_registry")
    [row] = read_table(settings.lake, f"registered_{HR}").rows(named=True)
    return row, read_table(settings.lake, "model_registry")


def aliases(store: MlflowStore) -> dict:
    return {alias: store.alias_version(HR, alias) for alias in ("champion", "challenger", "archived")}


def current_id(settings) -> str:
    return (settings.models_dir / HR / CURRENT_FILE).read_text().strip()


# ------------------------------------------------------------------------------ the life cycle


def test_life_cycle_champion_challenger_promotion_rollback(tmp_path, hr_features, capsys):
    started = time.perf_counter()
    config = make_config(tmp_path)
    settings = load_settings(config)
    assert settings.mlflow_uri == f"sqlite:///{settings.workspace}/mlflow/mlflow.db"
    assert settings.mlflow_uri.startswith("sqlite:////")          # absolute: 4 slashes
    write_table(settings.lake, "features_batted_balls", hr_features)
    store = store_for(settings)
    models = settings.models_dir

    with dg.instance_for_test() as instance:
        # ---- v1: the first version that passes acceptance becomes champion
        v1 = train(hr_features, models, ("ridge",), ("launch_angle",))
        assert v1.accepted, v1.reasons
        assert not (models / HR / CURRENT_FILE).exists()          # the factory no longer serves
        row, history = register_and_decide(config, instance, v1)
        assert row == {"model_key": HR, "version": 1, "model_id": v1.model_id, "run_id": row["run_id"]}
        assert dict(history.schema) == SCHEMA
        [decision] = history.rows(named=True)
        assert (decision["version"], decision["model_id"], decision["status"], decision["event"]) == \
            (1, v1.model_id, "champion", "decision")
        assert decision["reason"].startswith("promoted: no champion yet")
        window = v1.snapshot.row(0, named=True)
        assert (decision["window_start"], decision["window_end"]) == (window["window_start"], window["window_end"])
        metrics = json.loads(decision["metrics"])
        assert metrics["champion"] is None
        assert metrics["challenger"]["calibration_accepted"] is True   # as promotion.decide sees it
        test_brier = v1.snapshot.filter(system="model", metric="brier")["value"][0]
        assert metrics["challenger"]["brier"] == pytest.approx(test_brier, abs=1e-12)   # same rows as evaluation
        assert aliases(store) == {"champion": "1", "challenger": None, "archived": None}
        assert current_id(settings) == v1.model_id

        # what the MLflow run holds: parameters, valid + test metrics, the whole artifact folder
        info = store.version_info(HR, 1)
        assert info.model_id == v1.model_id and info.tags["status"] == "champion"
        run = store.client.get_run(info.run_id)
        assert run.data.params["algorithm"] == "ridge" and json.loads(run.data.params["features"]) == ["launch_angle"]
        assert run.data.metrics["test_brier"] == pytest.approx(test_brier)
        assert "valid_brier" in run.data.metrics and "test_log_loss" in run.data.metrics
        files = {f.path for f in store.client.list_artifacts(info.run_id, "model")}
        assert {f"model/{n}" for n in ("artifact.json", "model_card.md", "reliability.png",
                                       "feature_importance.png", "feature_importance.parquet")} <= files
        assert info.source.endswith("/model") and str(settings.mlflow_dir / "artifacts") in info.source

        # idempotent: the same evaluation again registers nothing and decides nothing
        row_again, history_again = register_and_decide(config, instance, v1)
        assert row_again == row                      # same version, same run: the table is unchanged
        assert history_again.equals(history)
        assert [v.version for v in store.versions(HR)] == ["1"]

        # ---- v2: calibrated (a base-rate forecast) but worse: stays challenger, with the numbers
        v2 = train(hr_features, models, ("ridge",), ("has_spray",))
        row, history = register_and_decide(config, instance, v2)
        assert row["version"] == 2 and history.height == 2
        last = history.row(-1, named=True)
        assert (last["version"], last["status"], last["event"]) == (2, "challenger", "decision")
        assert last["reason"].startswith("not promoted: brier") and "worse than champion" in last["reason"]
        metrics = json.loads(last["metrics"])
        assert metrics["challenger"]["calibration_accepted"] is True
        assert metrics["champion"]["model_version"] == 1 and metrics["champion_version"] == 1
        assert metrics["challenger"]["brier"] > metrics["champion"]["brier"]
        assert aliases(store) == {"champion": "1", "challenger": "2", "archived": None}
        assert current_id(settings) == v1.model_id

        # ---- v3: better on both metrics: promoted; v1 archived
        v3 = train(hr_features, models, ("xgboost",), ("launch_speed",))
        row, history = register_and_decide(config, instance, v3)
        assert row["version"] == 3 and history.height == 4
        promoted, archived = history.tail(2).rows(named=True)
        assert (promoted["version"], promoted["status"], promoted["event"]) == (3, "champion", "decision")
        assert promoted["reason"].startswith("promoted: brier")
        assert (archived["version"], archived["status"], archived["event"]) == (1, "archived", "replaced")
        assert archived["reason"].startswith("replaced by version 3")
        metrics = json.loads(promoted["metrics"])
        first = json.loads(history.row(0, named=True)["metrics"])["challenger"]
        assert metrics["champion"]["brier"] == pytest.approx(first["brier"], abs=1e-12)   # v1 re-scored, same rows
        assert metrics["challenger"]["brier"] < metrics["champion"]["brier"]
        assert metrics["challenger"]["log_loss"] < metrics["champion"]["log_loss"]
        assert aliases(store) == {"champion": "3", "challenger": None, "archived": "1"}
        assert {v.version: v.tags["status"] for v in store.versions(HR)} == \
            {"1": "archived", "2": "challenger", "3": "champion"}
        assert current_id(settings) == v3.model_id

        # ---- rollback to v1, after models/ was cleaned: v1's artifact comes back from MLflow
        shutil.rmtree(models)
        capsys.readouterr()
        assert main(["rollback", HR, "--reason", "v3 misprices pulled fly balls", "--config", str(config)]) == 0
        assert "champion is version 1" in capsys.readouterr().out
        history = read_table(settings.lake, "model_registry")
        assert history.height == 6
        away, back = history.tail(2).rows(named=True)
        assert (away["version"], away["status"], away["event"]) == (3, "archived", "rollback")
        assert (back["version"], back["status"], back["event"]) == (1, "champion", "rollback")
        assert "v3 misprices pulled fly balls" in away["reason"] and "v3 misprices pulled fly balls" in back["reason"]
        # v2 was decided against v1, which is champion again: it is the challenger again
        assert aliases(store) == {"champion": "1", "challenger": "2", "archived": "3"}
        assert current_id(settings) == v1.model_id
        assert load_scorer(resolve_artifact(models, HR)).model_id == v1.model_id

        # the registry does not undo the rollback: nothing new, nothing appended, v1 still served
        materialize(config, instance, "model_registry")
        assert read_table(settings.lake, "model_registry").equals(history)
        assert aliases(store)["champion"] == "1" and current_id(settings) == v1.model_id

    # ---- clear refusals: nothing before v1 (v3 was rolled back from), unknown key
    assert main(["rollback", HR, "--config", str(config)]) == 2
    assert "no previous champion" in capsys.readouterr().err
    assert main(["rollback", "mlb_hr_prb", "--config", str(config)]) == 2
    assert "unknown model key 'mlb_hr_prb'" in capsys.readouterr().err
    assert read_table(settings.lake, "model_registry").height == 6
    print(f"\nregistry life cycle: {time.perf_counter() - started:.1f}s")


def test_failing_calibration_stays_challenger_with_the_reasons(tmp_path, hr_features):
    """A first version that fails calibration acceptance is not served: no champion, no `current`."""
    config = make_config(tmp_path)
    settings = load_settings(config)
    write_table(settings.lake, "features_batted_balls", hr_features)
    outcome = train(hr_features, settings.models_dir, ("ridge",), ("launch_speed", "launch_angle"))
    assert not outcome.accepted
    with dg.instance_for_test() as instance:
        _, history = register_and_decide(config, instance, outcome)
    [row] = history.rows(named=True)
    assert row["status"] == "challenger"
    assert row["reason"].startswith("not promoted: the challenger failed calibration acceptance (reliability bin")
    assert json.loads(row["metrics"])["challenger"]["calibration_accepted"] is False
    assert aliases(store_for(settings)) == {"champion": None, "challenger": "1", "archived": None}
    assert not (settings.models_dir / HR / CURRENT_FILE).exists()


def test_registered_asset_skips_an_empty_evaluation(tmp_path):
    config = make_config(tmp_path)
    settings = load_settings(config)
    write_table(settings.lake, f"evaluation_{HR}", pl.DataFrame())
    with dg.instance_for_test() as instance:
        result = materialize(config, instance, f"registered_{HR}")
    [mat] = result.asset_materializations_for_node(f"registered_{HR}")
    assert "is empty" in mat.metadata["skipped"].value
    assert read_table(settings.lake, f"registered_{HR}").height == 0
    assert not (settings.mlflow_dir / "mlflow.db").exists()     # nothing opened, nothing created


# ------------------------------------------------------------------------------ the sensor


def fake_version(store: MlflowStore, folder: Path, key: str, model_id: str) -> str:
    directory = folder / key / model_id
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "artifact.json").write_text(json.dumps({"model_id": model_id}))
    return store.log_training(key, directory, {"algorithm": "none"}, {"test_brier": 0.2}, {})


def test_sensor_requests_one_run_per_new_version(tmp_path):
    config = make_config(tmp_path)
    settings = load_settings(config)
    mlflow = MlflowResource(config=BsiConfig(config_path=str(config)))
    with dg.instance_for_test() as instance:
        def tick(cursor):
            with dg.build_sensor_context(cursor=cursor, instance=instance, resources={"mlflow": mlflow}) as context:
                return model_registry_sensor.evaluate_tick(context)

        empty = tick(None)                       # no store yet: skipped, and no store created
        assert not empty.run_requests and "no MLflow store" in empty.skip_message
        assert not (settings.mlflow_dir / "mlflow.db").exists()

        store = store_for(settings)
        for key, model_id in [(HR, "hr-a"), (HR, "hr-b"), ("ncaa_home_win", "nhw-a"), ("scratch_model", "x")]:
            fake_version(store, tmp_path / "m", key, model_id)
        first = tick(None)
        assert sorted(r.run_key for r in first.run_requests) == [f"{HR}:1:hr-a", f"{HR}:2:hr-b",
                                                                 "ncaa_home_win:1:nhw-a"]
        assert {r.job_name for r in first.run_requests} <= {"model_registry_job", None}
        cursor = json.loads(first.cursor)
        assert {key: seen["version"] for key, seen in cursor.items()} == {HR: "2", "ncaa_home_win": "1"}
        assert cursor[HR]["created_ms"] == store.version_info(HR, 2).created_ms

        again = tick(first.cursor)                # nothing new: nothing requested
        assert not again.run_requests and again.cursor in (None, first.cursor)

        fake_version(store, tmp_path / "m", HR, "hr-c")
        fake_version(store, tmp_path / "m", HR, "hr-a")   # already registered: no new version
        third = tick(first.cursor)
        assert [r.run_key for r in third.run_requests] == [f"{HR}:3:hr-c"]
        assert json.loads(third.cursor)[HR]["version"] == "3"
        # a cursor of the earlier form {key: "version"} still reads as the last version seen
        legacy = tick(json.dumps({HR: "2", "ncaa_home_win": "1"}))
        assert [r.run_key for r in legacy.run_requests] == [f"{HR}:3:hr-c"]

        # the registered model is recreated: its versions are numbered from 1 again, and are new
        store.client.delete_registered_model(HR)
        for model_id in ("hr-x", "hr-y"):
            fake_version(store, tmp_path / "m", HR, model_id)
        fourth = tick(third.cursor)
        assert [r.run_key for r in fourth.run_requests] == [f"{HR}:1:hr-x", f"{HR}:2:hr-y"]
        assert json.loads(fourth.cursor)[HR]["version"] == "2"
        assert not tick(fourth.cursor).run_requests


# ------------------------------------------------------------------------------ concurrency


WORKER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from bsi_pipeline.registry.mlflow_store import MlflowStore

    uri, artifacts, folder, name = sys.argv[1:5]
    go = Path(folder) / "go"
    while not go.exists():
        time.sleep(0.01)
    store = MlflowStore(uri, artifacts)
    store.ensure_experiment()
    out = {}
    for model_id in ("shared-model", f"own-{name}"):
        directory = Path(folder) / name / model_id
        directory.mkdir(parents=True)
        (directory / "artifact.json").write_text(json.dumps({"model_id": model_id}))
        out[model_id] = store.log_training("race_key", directory, {"worker": name}, {"test_brier": 0.2}, {})
    print(json.dumps(out))
""")


def test_two_processes_registering_at_once(tmp_path):
    """Two processes open a fresh SQLite store and register at the same moment: both succeed, the
    shared model_id gets one version, and the store stays readable."""
    uri = f"sqlite:///{tmp_path}/mlflow/mlflow.db"
    artifacts = tmp_path / "mlflow" / "artifacts"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, uri, str(artifacts), str(tmp_path), name],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for name in ("a", "b")]
    time.sleep(1.0)                                  # both imported and waiting
    (tmp_path / "go").touch()
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    store = MlflowStore(uri, artifacts)
    versions = store.versions("race_key")
    assert sorted(v.model_id for v in versions) == ["own-a", "own-b", "shared-model"]
    assert [v.version for v in versions] == ["1", "2", "3"]
    assert results[0]["shared-model"] == results[1]["shared-model"]
    assert {results[0]["own-a"], results[1]["own-b"]} | {results[0]["shared-model"]} == {"1", "2", "3"}
    assert store.alias_version("race_key", "challenger") == "3"
    assert len([e for e in store.client.search_experiments() if e.name == "bsi_pipeline"]) == 1


# ------------------------------------------------------------------------------ configuration


def test_mlflow_uri_config_and_environment(tmp_path, monkeypatch, capsys):
    default = make_config(tmp_path / "a")
    assert load_settings(default).mlflow_uri == f"sqlite:///{(tmp_path / 'a' / 'workspace').resolve()}/mlflow/mlflow.db"
    relative = make_config(tmp_path / "b", mlflow_uri="sqlite:///registry/mlflow.db")
    assert load_settings(relative).mlflow_uri == f"sqlite:///{(tmp_path / 'b').resolve()}/registry/mlflow.db"
    server = make_config(tmp_path / "c", mlflow_uri="http://127.0.0.1:5000")
    assert load_settings(server).mlflow_uri == "http://127.0.0.1:5000"
    assert store_for(load_settings(server)).artifact_location is None
    monkeypatch.setenv("BSI_MLFLOW_URI", "sqlite:////srv/other.db")
    assert load_settings(server).mlflow_uri == "sqlite:////srv/other.db"
    assert main(["mlflow-uri", "--config", str(default)]) == 0
    assert capsys.readouterr().out.strip() == "sqlite:////srv/other.db"


@pytest.mark.parametrize("uri", ["sqlite:///:memory:", "sqlite:///", "sqlite://", "sqlite:///file::memory:?cache=shared",
                                 "sqlite:///m.db?mode=memory&uri=true"])
def test_an_in_memory_mlflow_store_is_refused(tmp_path, monkeypatch, capsys, uri):
    """Each process would register its own "version 1" in a store that vanishes when it exits."""
    monkeypatch.delenv("BSI_MLFLOW_URI", raising=False)
    with pytest.raises(ConfigError, match="mlflow_uri .*an in-memory SQLite store is lost when the process ends"):
        load_settings(make_config(tmp_path / "file", mlflow_uri=uri))
    settings = load_settings(make_config(tmp_path / "ok"))
    with pytest.raises(ConfigError, match="tracking_uri .*an in-memory SQLite store"):
        store_for(settings, uri)  # the Dagster resource's tracking_uri
    monkeypatch.setenv("BSI_MLFLOW_URI", uri)
    assert main(["mlflow-uri", "--config", str(make_config(tmp_path / "ok"))]) == 2
    assert "$BSI_MLFLOW_URI" in capsys.readouterr().err


def test_run_artifacts_of_a_database_store_go_to_the_workspace_not_the_working_directory(tmp_path):
    """MLflow's default for a database store opened in-process is ./mlruns under the working directory;
    beside a SQLite file, else <workspace>/mlflow/artifacts. A tracking server keeps its own."""
    postgres = load_settings(make_config(tmp_path / "pg", mlflow_uri="postgresql://bsi@db.example/mlflow"))
    assert store_for(postgres).artifact_location == (postgres.workspace / "mlflow" / "artifacts").as_uri()
    elsewhere = load_settings(make_config(tmp_path / "lite", mlflow_uri=f"sqlite:///{tmp_path}/reg/m.db"))
    assert store_for(elsewhere).artifact_location == (tmp_path / "reg" / "artifacts").as_uri()
    for server in ("http://127.0.0.1:5000", "https://mlflow.example", "databricks"):
        assert store_for(postgres, server).artifact_location is None


# ------------------------------------------------------------------------------ promotion creep


def stand_in_registry(tmp_path: Path, monkeypatch, briers: dict[str, float],
                      log_losses: dict[str, float] | None = None):
    """(config, settings, store) of a real SQLite MLflow store whose versions are scored by stand-in
    Brier scores (and log losses, 0.18 unless given) per model_id on one window, so decisions can be
    driven without training."""
    from bsi_pipeline.registry import decisions

    config = make_config(tmp_path)
    settings = load_settings(config)
    write_table(settings.lake, SPECS[HR].feature_table, pl.DataFrame({"row_id": ["a"]}))
    window = decisions.Window(pl.DataFrame({"row_id": ["a"]}), "2022-04-07", "2022-10-05", f"{HR}:test:1")

    def stand_in_score(folder, spec, win):
        model_id = json.loads((Path(folder) / "artifact.json").read_text())["model_id"]
        record = {"task": "classification", "brier": briers[model_id],
                  "log_loss": (log_losses or {}).get(model_id, 0.18),
                  "calibration_accepted": True, "calibration_reasons": [], **win.as_record()}
        return record, np.zeros(1)

    monkeypatch.setattr(decisions, "held_out_window", lambda features, spec: window)
    monkeypatch.setattr(decisions, "score_on_window", stand_in_score)
    monkeypatch.setattr(decisions, "baseline_problem", lambda spec, win, pred: None)
    return config, settings, store_for(settings)


def test_a_chain_of_small_losses_stops_at_the_best_former_champion(tmp_path, monkeypatch):
    """Three versions decided in one registry run, scored (stand-in scores) on one window: v1 becomes
    champion; v2, 0.0004 Brier worse (within the 0.0005 tolerance) and better on log loss, is promoted;
    v3, 0.0004 Brier worse than v2 and better on log loss, but 0.0008 Brier worse than the former champion
    v1, stays challenger with v1 named in the reason."""
    from bsi_pipeline.registry import decisions

    briers = {"hr-v1": 0.0500, "hr-v2": 0.0504, "hr-v3": 0.0508}
    log_losses = {"hr-v1": 0.1800, "hr-v2": 0.1790, "hr-v3": 0.1780}
    _, settings, store = stand_in_registry(tmp_path, monkeypatch, briers, log_losses)
    for model_id in briers:
        fake_version(store, tmp_path / "m", HR, model_id)
    run = decisions.run_registry(store, settings, {HR: SPECS[HR]})
    rows = {(r["version"], r["event"]): r for r in run.new_rows.iter_rows(named=True)}
    assert rows[(1, "decision")]["status"] == "champion"
    assert rows[(2, "decision")]["status"] == "champion" and rows[(1, "replaced")]["status"] == "archived"
    v3 = rows[(3, "decision")]
    assert v3["status"] == "challenger"
    assert "worse than former champion version 1's 0.0500 by 0.0008 > tolerance 0.0005" in v3["reason"]
    assert json.loads(v3["metrics"])["evidence"]["former_champions"]["1"]["brier"] == 0.05
    assert aliases(store) == {"champion": "2", "challenger": "3", "archived": "1"}


def test_a_deleted_champion_does_not_lower_the_bar(tmp_path, monkeypatch):
    """v1 champion, v2 (better) promoted, then v2 is deleted from MLflow. v3, far worse than the former
    champion v1, stays challenger with v1 named (it used to be promoted as "no champion yet"); v4, within
    the tolerance of v1, is promoted as "no current champion" and the vanished v2 is archived."""
    from bsi_pipeline.registry import decisions

    briers = {"hr-v1": 0.0500, "hr-v2": 0.0490, "hr-v3": 0.0600, "hr-v4": 0.0503}
    _, settings, store = stand_in_registry(tmp_path, monkeypatch, briers)
    for model_id in ("hr-v1", "hr-v2"):
        fake_version(store, tmp_path / "m", HR, model_id)
    decisions.run_registry(store, settings, {HR: SPECS[HR]})
    store.client.delete_model_version(HR, "2")
    fake_version(store, tmp_path / "m", HR, "hr-v3")
    v3 = decisions.run_registry(store, settings, {HR: SPECS[HR]}).new_rows.row(0, named=True)
    assert (v3["version"], v3["status"]) == (3, "challenger")
    assert v3["reason"].startswith("not promoted: no current champion")
    assert "brier 0.0600 is worse than former champion version 1's 0.0500" in v3["reason"]

    fake_version(store, tmp_path / "m", HR, "hr-v4")
    rows = {(r["version"], r["event"]): r for r in
            decisions.run_registry(store, settings, {HR: SPECS[HR]}).new_rows.iter_rows(named=True)}
    assert rows[(4, "decision")]["status"] == "champion"
    assert rows[(4, "decision")]["reason"].startswith("promoted: no current champion; brier 0.0503 vs former "
                                                      "champion version 1's 0.0500")
    assert rows[(2, "replaced")]["status"] == "archived"
    assert rows[(2, "replaced")]["reason"] == "no longer in MLflow; replaced by version 4"


def test_a_deleted_only_champion_is_named_not_taken_for_no_champion_yet(tmp_path, monkeypatch):
    from bsi_pipeline.registry import decisions

    _, settings, store = stand_in_registry(tmp_path, monkeypatch, {"hr-v1": 0.0500, "hr-v2": 0.0700})
    fake_version(store, tmp_path / "m", HR, "hr-v1")
    decisions.run_registry(store, settings, {HR: SPECS[HR]})
    store.client.delete_model_version(HR, "1")
    fake_version(store, tmp_path / "m", HR, "hr-v2")
    rows = {(r["version"], r["event"]): r for r in
            decisions.run_registry(store, settings, {HR: SPECS[HR]}).new_rows.iter_rows(named=True)}
    assert rows[(2, "decision")]["status"] == "champion"
    assert rows[(2, "decision")]["reason"].startswith(
        "promoted: no current champion (version 1 is no longer in MLflow) and no former champion to compare with")
    assert rows[(1, "replaced")]["reason"] == "no longer in MLflow; replaced by version 2"


def test_rollback_from_a_champion_deleted_from_mlflow(tmp_path, monkeypatch, capsys):
    """v2 (champion) is deleted from MLflow: `bsi rollback` still restores v1, recording v2's model_id
    and registration time from the history (it used to fail with "mlb_hr_prob has no version 2")."""
    from bsi_pipeline.registry import decisions

    config, settings, store = stand_in_registry(tmp_path, monkeypatch, {"hr-v1": 0.050, "hr-v2": 0.049})
    for model_id in ("hr-v1", "hr-v2"):
        fake_version(store, tmp_path / "m", HR, model_id)
    decided = decisions.run_registry(store, settings, {HR: SPECS[HR]}).history
    store.client.delete_model_version(HR, "2")
    assert main(["rollback", HR, "--reason", "v2 deleted", "--config", str(config)]) == 0, capsys.readouterr().err
    history = read_table(settings.lake, "model_registry")
    away, back = history.tail(2).rows(named=True)
    assert (away["version"], away["model_id"], away["status"], away["event"]) == (2, "hr-v2", "archived", "rollback")
    assert away["registered_at"] == decided.filter(version=2)["registered_at"][0]
    assert (back["version"], back["model_id"], back["status"], back["event"]) == (1, "hr-v1", "champion", "rollback")
    assert aliases(store) == {"champion": "1", "challenger": None, "archived": None}
    assert current_id(settings) == "hr-v1"


def test_a_recreated_registered_model_is_decided_not_taken_for_the_history(tmp_path, monkeypatch, capsys):
    """The MLflow registered model is recreated (store reset) after v1 and v2 (champion) were decided.
    The pipeline registers old-v1 again (version 1 once more, the same model: already decided) and then a
    much worse model, which gets version 2: the history's version 2 is old-v2, so this version 2 is new,
    decided against the former champion v1 (the champion old-v2 is no longer in MLflow) and kept, with the
    reset in its reason; old-v2 stays champion and served, no alias names the new version 2 champion.
    A better version 3 is then promoted; a rollback to "version 2" is refused (it is another model now)."""
    from bsi_pipeline.monitoring.serving import resolve_champion
    from bsi_pipeline.registry import decisions

    briers = {"old-v1": 0.0500, "old-v2": 0.0490, "new-bad": 0.3000, "new-good": 0.0480}
    config, settings, store = stand_in_registry(tmp_path, monkeypatch, briers)
    for model_id in ("old-v1", "old-v2"):
        fake_version(store, tmp_path / "m", HR, model_id)
    decisions.run_registry(store, settings, {HR: SPECS[HR]})
    assert current_id(settings) == "old-v2"

    store.client.delete_registered_model(HR)
    assert [fake_version(store, tmp_path / "m", HR, m) for m in ("old-v1", "new-bad")] == ["1", "2"]
    run = decisions.run_registry(store, settings, {HR: SPECS[HR]})
    [bad] = run.new_rows.rows(named=True)
    assert (bad["version"], bad["model_id"], bad["status"], bad["event"]) == (2, "new-bad", "challenger", "decision")
    assert bad["reason"].startswith("not promoted: no current champion, and brier 0.3000 is worse than former "
                                    "champion version 1's 0.0500")
    assert bad["reason"].endswith("; registry reset: MLflow version 2 is now model new-bad, but the history's "
                                  "version 2 is old-v2 (the registered model was recreated and reused the number), "
                                  "so it is decided as a new version")
    assert aliases(store) == {"champion": None, "challenger": "2", "archived": "1"}
    assert current_id(settings) == "old-v2"
    assert resolve_champion(settings.models_dir, HR, run.history).model_id == "old-v2"

    fake_version(store, tmp_path / "m", HR, "new-good")
    rows = {(r["version"], r["event"]): r for r in
            decisions.run_registry(store, settings, {HR: SPECS[HR]}).new_rows.iter_rows(named=True)}
    assert rows[(3, "decision")]["status"] == "champion"
    assert rows[(3, "decision")]["reason"].startswith("promoted: no current champion; brier 0.0480 vs former "
                                                      "champion version 1's 0.0500")
    assert (rows[(2, "replaced")]["model_id"], rows[(2, "replaced")]["status"]) == ("old-v2", "archived")
    assert aliases(store)["champion"] == "3" and current_id(settings) == "new-good"

    assert main(["rollback", HR, "--config", str(config)]) == 2
    assert ("MLflow version 2 is now model new-bad, not old-v2 (the registered model was recreated)"
            in capsys.readouterr().err)
    assert current_id(settings) == "new-good"


# ------------------------------------------------------------------------------ one writer of the history


def test_a_rollback_right_after_the_registry_run_is_not_overwritten(tmp_path, monkeypatch):
    """`bsi rollback` takes the registry lock as soon as run_registry lets go of it. Whatever the
    model_registry asset does after that must not write the table again: the rollback's rows (and the
    champion they restore) would be lost, with `current` and the aliases left on the restored version."""
    from bsi_pipeline.defs import registry as registry_defs
    from bsi_pipeline.registry import decisions

    briers = {"hr-v1": 0.0500, "hr-v2": 0.0490, "hr-v3": 0.0600}
    config, settings, store = stand_in_registry(tmp_path, monkeypatch, briers)
    for model_id in briers:
        fake_version(store, tmp_path / "m", HR, model_id)
    run_registry = decisions.run_registry

    def then_a_rollback(*args, **kwargs):
        run = run_registry(*args, **kwargs)
        assert main(["rollback", HR, "--reason", "v2 misprices", "--config", str(config)]) == 0
        return run

    monkeypatch.setattr(registry_defs.decisions, "run_registry", then_a_rollback)
    with dg.instance_for_test() as instance:
        result = materialize(config, instance, "model_registry")
    history = read_table(settings.lake, "model_registry")
    assert history.tail(2).select("version", "status", "event").rows() == \
        [(2, "archived", "rollback"), (1, "champion", "rollback")]
    assert history.height == 6                                  # 3 decisions, 1 replaced, 2 rollback
    assert aliases(store)["champion"] == "1"
    [mat] = result.asset_materializations_for_node("model_registry")
    assert mat.metadata["new_rows"].value == 4 and mat.metadata["rows"].value == 4


def test_the_registry_table_is_written_on_the_first_run_even_with_nothing_to_decide(tmp_path):
    """The warehouse gets a model_registry view (with its columns) as soon as the asset has run, now
    that the asset writes the table itself instead of handing it to the IO manager."""
    import duckdb

    config = make_config(tmp_path)
    settings = load_settings(config)
    with dg.instance_for_test() as instance:
        materialize(config, instance, "model_registry", "warehouse")
    assert dict(read_table(settings.lake, "model_registry").schema) == SCHEMA
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert [c[0] for c in con.execute("DESCRIBE model_registry").fetchall()] == list(SCHEMA)


# ------------------------------------------------------------------------------ one key's failure


def test_a_champion_that_cannot_be_loaded_fails_its_key_only_and_is_retried(tmp_path, monkeypatch):
    """mlb_hr_prob's champion v1 loses its artifact (models/ cleaned, its MLflow artifacts moved away)
    while a better v2 and ncaa_home_win's first version wait. The registry run fails, naming
    mlb_hr_prob, but ncaa_home_win is decided AND served; v2 gets no final decision ("cannot re-score
    champion" is a reason to wait, not a verdict), and once the artifact is back v2 is promoted."""
    from urllib.parse import urlparse

    from bsi_pipeline.registry import decisions

    nhw = "ncaa_home_win"
    config, settings, store = stand_in_registry(tmp_path, monkeypatch, {"hr-v1": 0.050, "hr-v2": 0.040,
                                                                        "nhw-v1": 0.20})
    write_table(settings.lake, SPECS[nhw].feature_table, pl.DataFrame({"row_id": ["a"]}))
    specs = {HR: SPECS[HR], nhw: SPECS[nhw]}
    fake_version(store, tmp_path / "m", HR, "hr-v1")
    decisions.run_registry(store, settings, specs)
    source = Path(urlparse(store.version_info(HR, 1).source).path)
    shutil.move(source, tmp_path / "moved_away")
    shutil.rmtree(settings.models_dir / HR / "hr-v1")
    fake_version(store, tmp_path / "m", HR, "hr-v2")
    fake_version(store, tmp_path / "m", nhw, "nhw-v1")

    with dg.instance_for_test() as instance:
        result = dg.materialize([*ASSETS, *REGISTRY_ASSETS], selection=["model_registry"],
                                resources=resources(config), instance=instance, raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "model_registry failed for 1 key(s): mlb_hr_prob: " in failure.step_failure_data.error.to_string()
    history = read_table(settings.lake, "model_registry")
    assert history.select("model_key", "version", "status").rows() == [(HR, 1, "champion"), (nhw, 1, "champion")]
    assert store.alias_version(nhw, "champion") == "1"
    assert (settings.models_dir / nhw / CURRENT_FILE).read_text().strip() == "nhw-v1"

    with pytest.raises(decisions.RegistryRunError, match="mlb_hr_prob") as failed:   # every run, until fixed
        decisions.run_registry(store, settings, specs)
    assert failed.value.run.new_rows.height == 0
    assert failed.value.run.skipped[HR].startswith("cannot re-score champion version 1 on the test window")

    shutil.move(tmp_path / "moved_away", source)
    run = decisions.run_registry(store, settings, specs)
    assert run.new_rows.select("version", "status", "event").rows() == [(2, "champion", "decision"),
                                                                        (1, "archived", "replaced")]
    assert aliases(store) == {"champion": "2", "challenger": None, "archived": "1"}


def test_a_challenger_that_cannot_be_fetched_waits_and_fails_its_key(tmp_path, monkeypatch):
    """mlb_hr_prob v2 (better than champion v1) is registered, then its artifact is lost: models/ cleaned
    and its MLflow artifacts moved away, as in an outage. That is no verdict on the model: no decision row,
    the run fails naming the key, every later run too; once the artifact is back, v2 is decided (promoted).
    Before, it was refused for good ("refused: cannot score version 2")."""
    from urllib.parse import urlparse

    from bsi_pipeline.registry import decisions

    config, settings, store = stand_in_registry(tmp_path, monkeypatch, {"hr-v1": 0.050, "hr-v2": 0.040})
    specs = {HR: SPECS[HR]}
    fake_version(store, tmp_path / "m", HR, "hr-v1")
    decisions.run_registry(store, settings, specs)
    fake_version(store, tmp_path / "m", HR, "hr-v2")
    source = Path(urlparse(store.version_info(HR, 2).source).path)
    shutil.move(source, tmp_path / "moved_away")
    shutil.rmtree(tmp_path / "m" / HR / "hr-v2")
    assert not (settings.models_dir / HR / "hr-v2").exists()

    for _ in range(2):
        with pytest.raises(decisions.RegistryRunError, match="mlb_hr_prob: cannot fetch version 2's artifact") as failed:
            decisions.run_registry(store, settings, specs)
        assert failed.value.run.new_rows.height == 0
        assert failed.value.run.skipped[HR].startswith("cannot fetch version 2's artifact")
    history = read_table(settings.lake, "model_registry")
    assert history.select("version", "status").rows() == [(1, "champion")]
    assert aliases(store)["champion"] == "1"

    shutil.move(tmp_path / "moved_away", source)
    run = decisions.run_registry(store, settings, specs)
    assert run.new_rows.select("version", "status", "event").rows() == [(2, "champion", "decision"),
                                                                        (1, "archived", "replaced")]

    # an artifact that is there but cannot score the window (here: no stand-in score) is a verdict: refused
    fake_version(store, tmp_path / "m", HR, "hr-v3")
    run = decisions.run_registry(store, settings, specs)
    assert run.new_rows.select("version", "status").rows() == [(3, "challenger")]
    assert run.new_rows["reason"][0] == "refused: cannot score version 3 on the test window (KeyError: 'hr-v3')"


def test_a_version_rolled_back_from_does_not_set_the_bar(tmp_path, monkeypatch, capsys):
    """promotion_policy.yaml and the README: a challenger must not be worse than any former champion by more
    than the tolerance, "versions rolled back from excepted". v1 (Brier 0.0500) champion, v2 (0.0490)
    promoted, then rolled back by the operator (v1 champion again, v2 archived by a rollback). v3 (0.0497,
    log loss 0.1790 against 0.1800) beats the champion v1 on both metrics and is promoted: 0.0497 - 0.0490 =
    0.0007 is beyond the 0.0005 tolerance against v2, but v2 is the version rolled back from."""
    from bsi_pipeline.registry import decisions

    briers = {"hr-v1": 0.0500, "hr-v2": 0.0490, "hr-v3": 0.0497}
    log_losses = {"hr-v1": 0.1800, "hr-v2": 0.1800, "hr-v3": 0.1790}
    config, settings, store = stand_in_registry(tmp_path, monkeypatch, briers, log_losses)
    for model_id in ("hr-v1", "hr-v2"):
        fake_version(store, tmp_path / "m", HR, model_id)
    decisions.run_registry(store, settings, {HR: SPECS[HR]})
    assert main(["rollback", HR, "--reason", "v2 misprices", "--config", str(config)]) == 0, capsys.readouterr().err
    fake_version(store, tmp_path / "m", HR, "hr-v3")
    rows = {(r["version"], r["event"]): r for r in
            decisions.run_registry(store, settings, {HR: SPECS[HR]}).new_rows.iter_rows(named=True)}
    v3 = rows[(3, "decision")]
    assert v3["status"] == "champion", v3["reason"]
    assert v3["reason"].startswith("promoted: brier 0.0497")
    assert (rows[(1, "replaced")]["status"]) == "archived"
    assert aliases(store)["champion"] == "3"


def test_the_challenger_alias_names_the_newest_challenger(tmp_path, monkeypatch):
    """v1 (0.0500) champion; v2 (0.0600) and v3 (0.0550), both worse, stay challengers. The `challenger`
    alias, which `registered_<key>` gives every new version (README), names the newest of them, v3."""
    from bsi_pipeline.registry import decisions

    briers = {"hr-v1": 0.0500, "hr-v2": 0.0600, "hr-v3": 0.0550}
    _, settings, store = stand_in_registry(tmp_path, monkeypatch, briers)
    for model_id in briers:
        fake_version(store, tmp_path / "m", HR, model_id)
    run = decisions.run_registry(store, settings, {HR: SPECS[HR]})
    assert run.new_rows.select("version", "status").rows() == [(1, "champion"), (2, "challenger"), (3, "challenger")]
    assert aliases(store) == {"champion": "1", "challenger": "3", "archived": None}


def test_a_registered_version_not_yet_decided_keeps_the_challenger_alias(tmp_path, monkeypatch):
    """README: `registered_<key>` registers a version "aliased `challenger`". A version registered after the
    last registry run has no decision yet; bringing the aliases in line with the history (sync_key) must
    leave it the challenger (v2), not clear the alias because the history has no challenger row."""
    from bsi_pipeline.registry import decisions

    _, settings, store = stand_in_registry(tmp_path, monkeypatch, {"hr-v1": 0.0500, "hr-v2": 0.0400})
    fake_version(store, tmp_path / "m", HR, "hr-v1")
    history = decisions.run_registry(store, settings, {HR: SPECS[HR]}).history
    fake_version(store, tmp_path / "m", HR, "hr-v2")       # registered, not decided
    decisions.sync_key(store, settings, HR, history)
    assert aliases(store) == {"champion": "1", "challenger": "2", "archived": None}


def test_the_registry_refuses_a_version_that_does_not_beat_its_baseline():
    """README: the challenger must "beat its baseline where the spec demands it". mlb_home_win demands it
    (baseline p_elo, compare_with p_components). Four held-out games, home_win 1, 0, 1, 0, p_elo 0.6, 0.4,
    0.6, 0.4: baseline Brier 0.16, log loss -ln 0.6 = 0.511. A coin-flip model (0.5 everywhere: Brier 0.25,
    log loss 0.693) does not beat it, and is refused with the reason; a sharper one (0.7, 0.3, ...: Brier
    0.09, log loss 0.357) does, and is not."""
    from bsi_pipeline.registry import decisions

    spec = SPECS["mlb_home_win"]
    assert spec.must_beat_baseline and spec.baseline == "p_elo"
    rows = pl.DataFrame({"row_id": ["a", "b", "c", "d"], "home_win": [1.0, 0.0, 1.0, 0.0],
                         "p_elo": [0.6, 0.4, 0.6, 0.4], "p_components": [0.6, 0.4, 0.6, 0.4]})
    window = decisions.Window(rows, "2009-04-05", "2009-10-04", "mlb_home_win:test:4")
    assert decisions.baseline_problem(spec, window, np.array([0.5, 0.5, 0.5, 0.5])) == (
        "not promoted: does not beat the baseline p_elo on the same 4 test rows (Brier and log loss)")
    assert decisions.baseline_problem(spec, window, np.array([0.7, 0.3, 0.7, 0.3])) is None
