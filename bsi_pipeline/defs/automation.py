"""Jobs, schedules and the drift sensor. Schedules and sensors start RUNNING (Dagster's default is
STOPPED), so a deployed code location refreshes and retrains without anyone switching them on.

* ``weekly_retrain`` (Mondays 04:00 UTC): every asset of the "models" group (model_<key>,
  calibrator_<key>, evaluation_<key> and the tables that gather them), every ``registered_*`` asset
  and ``model_registry``. Selected by group and key pattern, so a new spec's assets are included and
  the selection resolves even before the registry assets exist. Before any training it runs the
  blocking Great Expectations checks of the feature tables the specs train on (features_games,
  features_pitcher_starts, features_batted_balls; defs/checks.py) on the tables as they are in the
  lake, without rebuilding them (nightly_refresh does that). Dagster gates this by itself: a job may
  select asset checks without their assets (AssetSelection.checks_for_assets), and the steps of the
  assets that read a table wait on its blocking checks even when the table is only loaded
  (BlockingAssetChecksDependencyDefinition in dagster's asset_job.build_node_deps). A failed check
  fails its step, so the run fails with the failed check and its expectations in it, and nothing
  downstream of that table runs: its models' training, calibration, evaluation and registration, and
  the tables that gather every key (model_candidates, calibrators, model_reports' tables,
  model_registry). The other tables' models still train, calibrate, evaluate and register.
* ``nightly_refresh`` (every day 06:00 UTC): everything else: ingest, ratings and forecasts,
  features (and every asset check, the feature tables' included), prediction_log, drift_reports,
  model_health and the analyst views, the warehouse. No training. A failed feature-table check there
  holds back what reads the table: prediction_log, drift_reports and the warehouse.
* ``drift_retrain_sensor``: reads the drift_reports table from the lake and asks for a
  ``weekly_retrain`` run when a check is critical (drift.needs_retrain). The run key is derived from
  the critical findings (serving.retrain_request), so the same report triggers one retrain; it
  does not ask while a weekly_retrain run is queued or running. Critical missing values are a broken
  feed, which a retrain on the same data cannot fix: they ask for no run, and when they are the only
  critical findings the skip reason names them (serving.feed_problems).
"""

import dagster as dg

from bsi_pipeline.defs.models import SPECS
from bsi_pipeline.defs.resources import BsiConfig
from bsi_pipeline.lake import read_table_if_written
from bsi_pipeline.monitoring.drift import retrain_findings
from bsi_pipeline.monitoring.serving import feed_problems, retrain_request

# materializable(): until the registry assets land, model_registry is only a dependency of the
# monitoring assets (an external asset), which a job may not select.
# (group:models in the selection string would warn that include_sources is beta, hence groups().)
RETRAIN_ASSETS = (dg.AssetSelection.groups("models")
                  | dg.AssetSelection.from_string('key:"registered_*" or key:model_registry')).materializable()
# The feature tables the specs train on: their checks (not the tables) run in weekly_retrain and gate the training.
TRAINING_TABLES = tuple(sorted({spec.feature_table for spec in SPECS.values()}))
RETRAIN_SELECTION = RETRAIN_ASSETS | dg.AssetSelection.checks_for_assets(*TRAINING_TABLES)
# The assets only: subtracting RETRAIN_SELECTION would take the feature tables' checks out of the nightly run.
NIGHTLY_SELECTION = dg.AssetSelection.all() - RETRAIN_ASSETS
DRIFT_TABLE = "drift_reports"
_WAITING_OR_RUNNING = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
                       dg.DagsterRunStatus.STARTED]

weekly_retrain = dg.define_asset_job(
    "weekly_retrain", selection=RETRAIN_SELECTION,
    description="Check the feature tables in the lake (blocking), then train, calibrate, evaluate and register "
                "every model key; the registry decides the champions.")
nightly_refresh = dg.define_asset_job(
    "nightly_refresh", selection=NIGHTLY_SELECTION,
    description="Ingest what is new, recompute ratings, forecasts and features, append prediction_log, update "
                "drift_reports, model_health, the analyst views and the warehouse. No model training.")

weekly_retrain_schedule = dg.ScheduleDefinition(
    name="weekly_retrain_schedule", job=weekly_retrain, cron_schedule="0 4 * * 1", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING, tags={"bsi/trigger": "schedule"},
    description="Mondays 04:00 UTC: weekly_retrain.")
nightly_refresh_schedule = dg.ScheduleDefinition(
    name="nightly_refresh_schedule", job=nightly_refresh, cron_schedule="0 6 * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING, tags={"bsi/trigger": "schedule"},
    description="Every day 06:00 UTC: nightly_refresh.")


@dg.sensor(job=weekly_retrain, default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=300,
           description="Requests a weekly_retrain run when the latest drift_reports has a critical check; "
                       "one run per distinct set of critical findings. Critical missing values (a broken "
                       "feed) ask for none.")
def drift_retrain_sensor(context: dg.SensorEvaluationContext, bsi: BsiConfig):
    busy = context.instance.get_run_records(
        filters=dg.RunsFilter(job_name=weekly_retrain.name, statuses=_WAITING_OR_RUNNING), limit=1)
    if busy:
        return dg.SkipReason(f"weekly_retrain run {busy[0].dagster_run.run_id} is queued or running; "
                             "the next drift report will show whether it helped")
    report = read_table_if_written(bsi.settings().storage, DRIFT_TABLE)
    if report is None:
        return dg.SkipReason(f"no {DRIFT_TABLE} table in the lake yet")
    run_key, reasons = retrain_request(report)
    feed = feed_problems(report)
    feed_note = "critical feed problem(s), not fixable by a retrain: " + "; ".join(feed)
    if run_key is None:
        if feed:
            return dg.SkipReason(f"{DRIFT_TABLE}: {feed_note}")
        models = report["model_key"].n_unique() if report.height else 0
        return dg.SkipReason(f"{DRIFT_TABLE}: no critical check ({report.height} checks, {models} model(s))")
    context.log.info(f"retrain requested ({run_key}): " + "; ".join(reasons))
    if feed:
        context.log.warning(feed_note)
    keys = sorted(set(retrain_findings(report)["model_key"].to_list()))
    return dg.RunRequest(run_key=run_key, tags={"bsi/trigger": "drift", "bsi/drift_models": ",".join(keys)})


AUTOMATION_JOBS = [nightly_refresh, weekly_retrain]
AUTOMATION_SCHEDULES = [nightly_refresh_schedule, weekly_retrain_schedule]
AUTOMATION_SENSORS = [drift_retrain_sensor]
__all__ = ["AUTOMATION_JOBS", "AUTOMATION_SCHEDULES", "AUTOMATION_SENSORS", "NIGHTLY_SELECTION",
           "RETRAIN_ASSETS", "RETRAIN_SELECTION", "TRAINING_TABLES"]
