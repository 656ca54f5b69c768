"""Jobs, schedules and the drift sensor (bsi_pipeline/defs/automation.py), and the monitoring assets
(bsi_pipeline/defs/monitoring.py) materialized the way the nightly job runs them.

Schedules are evaluated with dg.build_schedule_context at their tick, the sensor with
dg.build_sensor_context against a lake in tmp_path. The drift cases use real rows: the 2021-2022
Statcast samples with a ridge mlb_hr_prob champion, served as they are and with every 2022 exit
velocity raised by 8 mph; and MLB 2008-2009 games with a ridge mlb_home_win champion.
"""

from __future__ import annotations

import base64
import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from bsi_pipeline.config import load_settings
from bsi_pipeline.definitions import ASSETS, build_resources
from bsi_pipeline.defs.automation import (
    AUTOMATION_JOBS,
    AUTOMATION_SCHEDULES,
    AUTOMATION_SENSORS,
    drift_retrain_sensor,
    nightly_refresh_schedule,
    weekly_retrain_schedule,
)
from bsi_pipeline.defs.checks import CHECKS
from bsi_pipeline.defs.models import SPECS
from bsi_pipeline.defs.monitoring import MONITORING_ASSETS, MONITORING_TABLES, drift_reports
from bsi_pipeline.defs.resources import BsiConfig
from bsi_pipeline.lake import read_table, write_table
from bsi_pipeline.monitoring.drift import needs_retrain
from bsi_pipeline.monitoring.serving import champion_drift, retrain_request
from bsi_pipeline_tests.monitoring_helpers import (
    batted_balls_features, champion_on, mlb_games_features, train_champion,
)

UTC = dt.timezone.utc
MONDAY_0400 = dt.datetime(2026, 1, 5, 4, 0, tzinfo=UTC)   # 5 January 2026 is a Monday
TUESDAY_0600 = dt.datetime(2026, 1, 6, 6, 0, tzinfo=UTC)
TRAINING = {f"{stage}_{key}" for key in SPECS for stage in ("model", "calibrator", "evaluation")}


@dg.asset(name="registered_mlb_home_win", group_name="registry")
def fake_registered() -> None:
    """Stands in for registered_<key> where the registry's assets are not in ASSETS."""


@dg.asset(name="model_registry", deps=["registered_mlb_home_win"], group_name="registry")
def fake_model_registry() -> None:
    """Stands in for model_registry where the registry's assets are not in ASSETS."""


def is_registry(asset: dg.AssetsDefinition) -> bool:
    return any(k.path[-1].startswith("registered_") or k.path[-1] == "model_registry" for k in asset.keys)


def automation_defs(registry: bool = True) -> dg.Definitions:
    """Every asset with the automation, with the registry's assets (the real ones where definitions.py has
    them, else stand-ins) or without them (as before the registry landed). Assets already in ASSETS (the
    monitoring assets, once wired there) are not added twice."""
    base = [a for a in ASSETS if registry or not is_registry(a)]
    have = {k for a in base for k in a.keys}
    extra = [*MONITORING_ASSETS, *((fake_registered, fake_model_registry) if registry else ())]
    assets = base + [a for a in extra if not set(a.keys) & have]
    return dg.Definitions(assets=assets, asset_checks=CHECKS, jobs=AUTOMATION_JOBS,
                          schedules=AUTOMATION_SCHEDULES, sensors=AUTOMATION_SENSORS, resources=build_resources())


def job_keys(defs: dg.Definitions, name: str) -> set[str]:
    return {key.to_user_string() for key in defs.resolve_job_def(name).asset_layer.selected_asset_keys}


def write_workspace_config(folder: Path) -> Path:
    path = folder / "bsi.yaml"
    path.write_text(yaml.safe_dump({"workspace": str(folder / "workspace")}))
    return path


def evaluate_drift_sensor(config: Path, instance: dg.DagsterInstance | None = None):
    """One tick of the drift sensor. The `bsi` resource nests dagster-aws's S3Resource, so the context is
    opened as a context manager, as the daemon does."""
    with dg.build_sensor_context(instance=instance or dg.DagsterInstance.ephemeral(),
                                 resources={"bsi": BsiConfig(config_path=str(config))}) as context:
        return drift_retrain_sensor(context)


# ----------------------------------------------------------------------------------------- schedules


@pytest.mark.parametrize("registry", [False, True], ids=["without_registry", "with_registry"])
def test_definitions_load_with_and_without_the_registry(registry):
    dg.Definitions.validate_loadable(automation_defs(registry))


def test_weekly_retrain_runs_mondays_0400_utc_on_every_model_asset():
    schedule = weekly_retrain_schedule
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 4 * * 1", "UTC")
    assert schedule.job_name == "weekly_retrain"
    result = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=MONDAY_0400))
    assert len(result.run_requests) == 1
    assert result.run_requests[0].job_name in (None, "weekly_retrain")   # None: the schedule's own job

    keys = job_keys(automation_defs(), "weekly_retrain")
    assert TRAINING <= keys                                   # every spec, by group, so new specs are in
    assert {"registered_mlb_home_win", "model_registry", "eval_snapshots", "model_candidates"} <= keys
    assert not keys & ({"features_games", "games", "warehouse"} | set(MONITORING_TABLES))
    assert TRAINING <= job_keys(automation_defs(registry=False), "weekly_retrain")   # and without the registry


def test_nightly_refresh_runs_every_day_0600_utc_without_training():
    schedule = nightly_refresh_schedule
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", "UTC")
    assert schedule.job_name == "nightly_refresh"
    result = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=TUESDAY_0600))
    assert len(result.run_requests) == 1

    keys = job_keys(automation_defs(), "nightly_refresh")
    assert set(MONITORING_TABLES) <= keys
    assert {"games", "game_forecasts", "features_games", "features_batted_balls", "warehouse"} <= keys
    assert not keys & (TRAINING | {"registered_mlb_home_win", "model_registry", "model_candidates"})


def test_weekly_retrain_checks_the_feature_tables_and_a_failed_check_stops_their_training(games, tmp_path,
                                                                                          monkeypatch):
    """weekly_retrain runs the blocking checks of every feature table a spec trains on, on the tables in the
    lake (not rebuilt), and the nightly job keeps them. A features_games with a game twice: the check
    fails, the run fails with it, and mlb_home_win is not trained."""
    defs = automation_defs()
    checks = {dg.AssetCheckKey(dg.AssetKey(spec.feature_table), f"{spec.feature_table}_quality")
              for spec in SPECS.values()}
    assert len(checks) == 3
    assert set(defs.resolve_job_def("weekly_retrain").asset_layer.asset_graph.asset_check_keys) == checks
    assert checks <= set(defs.resolve_job_def("nightly_refresh").asset_layer.asset_graph.asset_check_keys)
    assert not job_keys(defs, "weekly_retrain") & {key.asset_key.to_user_string() for key in checks}

    config = write_workspace_config(tmp_path)
    write_table(load_settings(config).lake, "features_games", pl.concat([games, games.head(1)]))
    monkeypatch.setenv("BSI_CONFIG", str(config))
    check = dg.AssetCheckKey(dg.AssetKey("features_games"), "features_games_quality")
    training = {dg.AssetKey(f"{stage}_mlb_home_win") for stage in ("model", "calibrator", "evaluation")}
    job = defs.resolve_job_def("weekly_retrain").get_subset(asset_selection=training, asset_check_selection={check})
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.asset_check_key == check and not evaluation.passed
    assert "expect_column_values_to_be_unique {'column': 'row_id'} failed on 2 rows" in evaluation.description
    started = [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"]
    failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert started == failed and len(started) == 1 and started[0].endswith("features_games_quality")
    assert not result.get_asset_materialization_events()


def test_schedules_and_the_sensor_start_running():
    assert {s.default_status for s in AUTOMATION_SCHEDULES} == {dg.DefaultScheduleStatus.RUNNING}
    assert drift_retrain_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert drift_retrain_sensor.job_name == "weekly_retrain"


# ----------------------------------------------------------------------------------------- drift sensor


def hand_report(status: str, value: float, version: str = "3", model_id: str = "ncaa_home_win-ridge-aaa") -> pl.DataFrame:
    return pl.DataFrame({
        "model_key": ["ncaa_home_win", "ncaa_home_win"], "model_version": [version, version],
        "model_id": [model_id, model_id],
        "check": ["psi", "ks_prediction"], "feature": ["rating_diff", None], "value": [value, 0.4],
        "threshold": [0.2, 0.01], "status": [status, "ok"], "n_reference": [800, 300], "n_current": [900, 900],
        "computed_at": [TUESDAY_0600, TUESDAY_0600]})


def test_drift_sensor_requests_one_retrain_per_report(tmp_path):
    config = write_workspace_config(tmp_path)
    lake = load_settings(config).lake
    skip = evaluate_drift_sensor(config)
    assert isinstance(skip, dg.SkipReason) and "no drift_reports" in skip.skip_message

    write_table(lake, "drift_reports", hand_report("critical", 0.31))
    first = evaluate_drift_sensor(config)
    assert isinstance(first, dg.RunRequest) and first.run_key.startswith("drift-")
    assert first.tags["bsi/drift_models"] == "ncaa_home_win"
    again = evaluate_drift_sensor(config)
    assert again.run_key == first.run_key          # the same report: Dagster runs it once
    write_table(lake, "drift_reports", hand_report("critical", 0.35).with_columns(computed_at=pl.lit(MONDAY_0400)))
    assert evaluate_drift_sensor(config).run_key == first.run_key   # same findings, recomputed
    # a retrain that reproduced the same model under a new version: drift training cannot fix, no new run
    write_table(lake, "drift_reports", hand_report("critical", 0.31, version="4"))
    assert evaluate_drift_sensor(config).run_key == first.run_key
    write_table(lake, "drift_reports", hand_report("critical", 0.31, version="4", model_id="ncaa_home_win-ridge-bbb"))
    assert evaluate_drift_sensor(config).run_key != first.run_key   # a new model drifts anew

    write_table(lake, "drift_reports", hand_report("warning", 0.15))
    ok = evaluate_drift_sensor(config)
    assert isinstance(ok, dg.SkipReason) and "no critical check" in ok.skip_message


def feed_report() -> pl.DataFrame:
    """A critical missing row: mlb_home_win's starters' Elo feed broken for every row of the latest window."""
    return pl.DataFrame({
        "model_key": ["mlb_home_win"], "model_version": ["7"], "model_id": ["mlb_home_win-ridge-ccc"],
        "check": ["missing"], "feature": ["logit_elo_pitcher"], "value": [1.0], "threshold": [0.01],
        "status": ["critical"], "n_reference": pl.Series([None], dtype=pl.Int64), "n_current": [166],
        "computed_at": [TUESDAY_0600]})


def test_drift_sensor_asks_no_retrain_for_a_broken_feed(tmp_path):
    config = write_workspace_config(tmp_path)
    lake = load_settings(config).lake
    # only a feed problem is critical: a retrain on the same data would give the same model
    write_table(lake, "drift_reports", pl.concat([hand_report("ok", 0.05), feed_report()]))
    skip = evaluate_drift_sensor(config)
    assert isinstance(skip, dg.SkipReason)
    assert skip.skip_message == (
        "drift_reports: critical feed problem(s), not fixable by a retrain: mlb_home_win version 7: feature "
        "'logit_elo_pitcher' is null/NaN/infinite in 100.0% of the served rows > 1% (n_current 166): the model "
        "could not score them")
    # beside real drift: the retrain the drift asks for, for the drifting model only, with the drift's own key
    write_table(lake, "drift_reports", hand_report("critical", 0.31))
    drift_only = evaluate_drift_sensor(config)
    write_table(lake, "drift_reports", pl.concat([hand_report("critical", 0.31), feed_report()]))
    both = evaluate_drift_sensor(config)
    assert isinstance(both, dg.RunRequest) and both.run_key == drift_only.run_key
    assert both.tags["bsi/drift_models"] == "ncaa_home_win"


def test_drift_sensor_waits_while_a_retrain_is_queued_or_running(tmp_path):
    config = write_workspace_config(tmp_path)
    write_table(load_settings(config).lake, "drift_reports", hand_report("critical", 0.31))
    with dg.instance_for_test() as instance:
        defs = automation_defs()
        run = instance.create_run_for_job(defs.resolve_job_def("weekly_retrain"),
                                          status=dg.DagsterRunStatus.NOT_STARTED)   # submitted, not yet running
        waiting = evaluate_drift_sensor(config, instance)
        assert isinstance(waiting, dg.SkipReason) and run.run_id in waiting.skip_message
        instance.report_run_failed(run)   # over: the drift report asks again
        assert isinstance(evaluate_drift_sensor(config, instance), dg.RunRequest)


@pytest.fixture(scope="module")
def hr(tmp_path_factory):
    return champion_on(batted_balls_features, "mlb_hr_prob", tmp_path_factory.mktemp("hr_models"))


def test_faster_exit_velocities_make_a_critical_report_and_a_retrain_request(hr, tmp_path):
    plain = champion_drift(hr.table, hr.spec, hr.champion, hr.scorer, hr.snapshot)
    shifted_table = hr.table.with_columns(launch_speed=pl.when(pl.col("season") == 2022)
                                          .then(pl.col("launch_speed") + 8.0).otherwise(pl.col("launch_speed")))
    shifted = champion_drift(shifted_table, hr.spec, hr.champion, hr.scorer, hr.snapshot)

    def status(report, check, feature=None):
        rows = report.filter((pl.col("check") == check) & (pl.col("feature").eq_missing(feature)))
        assert rows.height == 1, (check, feature)
        return rows["status"][0]

    # 2022 as it was: exit velocity and launch angle look like 2021's training rows, no retrain
    assert status(plain, "psi", "launch_speed") == "ok" and status(plain, "psi", "launch_angle") == "ok"
    assert not needs_retrain(plain)[0] and set(plain["model_status"]) == {"ok"}
    # +8 mph: the feature, the predictions and the accuracy all move
    assert status(shifted, "psi", "launch_speed") == "critical"
    assert status(shifted, "psi", "launch_angle") == "ok"
    assert status(shifted, "ks_prediction") == "critical"
    assert status(shifted, "concept_brier") == "critical"
    assert set(shifted["model_status"]) == {"critical"}

    config = write_workspace_config(tmp_path)
    lake = load_settings(config).lake
    write_table(lake, "drift_reports", plain)
    assert isinstance(evaluate_drift_sensor(config), dg.SkipReason)
    write_table(lake, "drift_reports", shifted)
    request = evaluate_drift_sensor(config)
    assert isinstance(request, dg.RunRequest) and request.tags["bsi/drift_models"] == "mlb_hr_prob"
    assert request.run_key == retrain_request(shifted)[0]
    later = champion_drift(shifted_table, hr.spec, hr.champion, hr.scorer, hr.snapshot,
                           computed_at=TUESDAY_0600 + dt.timedelta(days=1))
    assert retrain_request(later)[0] == request.run_key   # tomorrow's identical findings: no second retrain


# ----------------------------------------------------------------------------------------- the nightly assets


@pytest.fixture(scope="module")
def games() -> pl.DataFrame:
    return mlb_games_features()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, hr, games):
    """A workspace with two feature tables, two champions (mlb_home_win, mlb_hr_prob) in the registry and
    eval_snapshots: what the nightly job finds after a weekly retrain. The other keys have no features."""
    folder = tmp_path_factory.mktemp("nightly")
    config = write_workspace_config(folder)
    settings = load_settings(config)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BSI_N_JOBS", "1")
        home = train_champion(games, "mlb_home_win", settings.models_dir)
        balls = train_champion(hr.table, "mlb_hr_prob", settings.models_dir)
    write_table(settings.lake, "features_games", games)
    write_table(settings.lake, "features_batted_balls", hr.table)
    write_table(settings.lake, "model_registry", pl.concat([home.registry, balls.registry]))
    write_table(settings.lake, "eval_snapshots", pl.concat([home.snapshot, balls.snapshot], how="diagonal_relaxed"))
    return config, settings, games


def materialize(config: Path) -> dg.ExecuteInProcessResult:
    with dg.instance_for_test() as instance:
        result = dg.materialize(MONITORING_ASSETS, resources=build_resources(str(config)), instance=instance)
    assert result.success
    return result


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    [mat] = result.asset_materializations_for_node(asset)
    return {k: v.value for k, v in mat.metadata.items()}


def is_png_markdown(value: str) -> bool:
    """A markdown image whose data URI decodes to PNG bytes (metrics.png_to_markdown's output)."""
    head, _, data = value.partition("](data:image/png;base64,")
    return head.startswith("![") and data.endswith(")") and base64.b64decode(data[:-1]).startswith(b"\x89PNG\r\n\x1a\n")


def test_nightly_monitoring_assets_append_once_and_feed_the_sensor(workspace):
    config, settings, games = workspace
    first = materialize(config)
    log = read_table(settings.lake, "prediction_log")
    n_games = games.filter(pl.col("season") == 2009).height
    n_balls = read_table(settings.lake, "features_batted_balls").filter(pl.col("season") == 2022).height
    counts = dict(log.group_by("system").len().iter_rows())
    assert counts == {"model:mlb_home_win": n_games, "elo": n_games, "ensemble": n_games, "model:mlb_hr_prob": n_balls}
    assert log["outcome"].null_count() == 0 and log["p"].null_count() == 0
    skipped = metadata(first, "prediction_log")["skipped"]
    for key in ("ncaa_home_win", "mlb_xwoba", "ncaa_pitcher_strikeouts"):
        assert key in skipped
    assert "features_pitcher_starts has not been materialized" in skipped
    assert "mlb_xwoba: no current model" in skipped
    assert metadata(first, "prediction_log")["elo_only"] == "none"
    # explain with data: PSI by feature of both champions, Brier by day of every system served
    assert is_png_markdown(metadata(first, "drift_reports")["psi_by_feature"])
    assert is_png_markdown(metadata(first, "model_health")["health_by_day"])

    # drift_history: the first run's report, checked on the served rows up to the last 2009 game
    report = read_table(settings.lake, "drift_reports")
    history = read_table(settings.lake, "drift_history")
    assert history.height == report.height > 0
    horizon = dict(history.group_by("model_key").agg(pl.col("served_through").unique()).rows())
    assert horizon["mlb_home_win"] == [games.filter(pl.col("season") == 2009)["date"].max()]
    # reports from an earlier horizon (as a nightly run a week before would have left) stay in the history
    week = dt.timedelta(days=7)
    earlier = history.with_columns(pl.col("served_through") - week, status=pl.lit("critical"))
    write_table(settings.lake, "drift_history", pl.concat([earlier, history]))

    second = materialize(config)
    assert metadata(second, "prediction_log")["new_rows"] == 0
    again = read_table(settings.lake, "prediction_log")
    assert again.sort("model_key", "system", "row_id").equals(log.sort("model_key", "system", "row_id"))
    history = read_table(settings.lake, "drift_history")  # the re-check of the same rows replaced its own rows
    assert history.height == 2 * report.height
    assert history.join(earlier, on=list(history.columns), how="anti", nulls_equal=True).height == report.height
    latest = history.join(report.select("model_id", "served_through").unique(), on=["model_id", "served_through"])
    assert latest.height == report.height and latest["computed_at"].min() > report["computed_at"].max()
    assert metadata(second, "drift_history")["reports"] == 2 * report["model_key"].n_unique()

    for table in MONITORING_TABLES:
        assert read_table(settings.lake, table).height > 0, table
    coverage = read_table(settings.lake, "daily_coverage")
    assert coverage["missing"].sum() == 0
    health = read_table(settings.lake, "model_health")
    assert health.filter(pl.col("model_key") == "mlb_home_win")["n"].sum() == 3 * n_games

    report = read_table(settings.lake, "drift_reports")
    assert set(report["model_key"]) == {"mlb_home_win", "mlb_hr_prob"}
    assert set(report.filter(pl.col("model_key") == "mlb_hr_prob")["model_status"]) == {"ok"}
    expected_key, _ = retrain_request(report)
    result = evaluate_drift_sensor(config)
    if expected_key is None:
        assert isinstance(result, dg.SkipReason)
    else:
        assert isinstance(result, dg.RunRequest) and result.run_key == expected_key


def test_drift_reports_lists_a_broken_feed_apart_and_asks_no_retrain_for_it(hr, tmp_path):
    """mlb_hr_prob's champion (no drift on the 2022 rows as they are) with launch_angle null in the last 3 days."""
    config = write_workspace_config(tmp_path)
    settings = load_settings(config)
    shutil.copytree(hr.champion.artifact_path.parent.parent, settings.models_dir / "mlb_hr_prob")
    last = hr.table.filter(pl.col("season") == 2022)["date"].max()
    broken = hr.table.with_columns(launch_angle=pl.when(pl.col("date") > last - dt.timedelta(days=3))
                                   .then(None).otherwise(pl.col("launch_angle")))
    write_table(settings.lake, "features_batted_balls", broken)
    write_table(settings.lake, "model_registry", hr.registry)
    write_table(settings.lake, "eval_snapshots", hr.snapshot)
    with dg.instance_for_test() as instance:
        result = dg.materialize([drift_reports], resources=build_resources(str(config)), instance=instance)
    assert result.success
    report = read_table(settings.lake, "drift_reports")
    critical = report.filter(pl.col("status") == "critical")
    assert critical.select("check", "feature").rows() == [("missing", "launch_angle")]   # recorded as critical
    meta = metadata(result, "drift_reports")
    assert meta["needs_retrain"] is False and meta["critical"] == "none"
    assert meta["feed_problems"] == f"- mlb_hr_prob version 1: feature 'launch_angle' is null/NaN/infinite in " \
        f"{critical['value'][0]:.1%} of the served rows > 1% (n_current {critical['n_current'][0]}): " \
        "the model could not score them"


def test_without_champions_the_game_key_is_still_served_by_elo_and_the_ensemble(games, tmp_path):
    """features_games and nothing else (no model, no registry): what the embedded data gives while the
    registry keeps the game models as challengers."""
    config = write_workspace_config(tmp_path)
    settings = load_settings(config)
    write_table(settings.lake, "features_games", games)
    first = materialize(config)
    log = read_table(settings.lake, "prediction_log")
    n_games = games.filter(pl.col("season") == 2009).height
    assert sorted(log.group_by("model_key", "system", "model_version").len().rows()) == [
        ("mlb_home_win", "elo", "p_elo", n_games), ("mlb_home_win", "ensemble", "none", n_games)]
    assert log.filter(pl.col("system") == "ensemble")["note"].str.contains(
        "fallback to elo: failed model:mlb_home_win unavailable: no champion (mlb_home_win: no current model",
        literal=True).all()
    meta = metadata(first, "prediction_log")
    assert "mlb_home_win" in meta["elo_only"] and "mlb_home_win" not in meta["skipped"]
    assert "ncaa_home_win: features_games has no rows" in meta["skipped"]   # no NCAA games in the MLB logs
    assert "mlb_xwoba" in meta["skipped"]                                   # not a game key: no Elo to serve
    assert read_table(settings.lake, "system_comparison").height == n_games
    assert read_table(settings.lake, "drift_reports").height == 0           # no champion, no drift report
    assert "mlb_home_win: no current model" in metadata(first, "drift_reports")["skipped"]
    assert metadata(first, "drift_reports")["psi_by_feature"] == "none"     # and no picture, not a failure
    assert is_png_markdown(metadata(first, "model_health")["health_by_day"])   # Elo and the ensemble were scored

    assert metadata(materialize(config), "prediction_log")["new_rows"] == 0
