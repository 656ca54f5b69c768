"""Model registry assets: every evaluated model version goes to MLflow (registered_<key>), and
model_registry decides champion vs challenger, moves the aliases and the served `current` pointer,
and keeps the decision history. A sensor starts model_registry_job when MLflow has a new version.

model_registry writes its lake table itself, under the registry lock it shares with `bsi rollback`,
and returns only metadata: an output handed to the IO manager would be written again after the lock
is released, over any rollback made in between. Downstream assets read the table from the lake (deps).

Every asset that writes MLflow is in the "mlflow" concurrency pool (dagster.yaml: one at a time).
"""


import json

import dagster as dg
import polars as pl

from bsi_pipeline.config import Settings
from bsi_pipeline.defs.models import SPECS
from bsi_pipeline.defs.resources import BsiConfig
from bsi_pipeline.markdown import markdown_table
from bsi_pipeline.models.specs import ModelSpec
from bsi_pipeline.registry import decisions
from bsi_pipeline.registry.mlflow_store import MlflowStore, VersionInfo, store_for
from bsi_pipeline.registry.registration import register_evaluation, registered_frame

POOL = "mlflow"
REGISTRY_TABLES = {
    "model_registry": "Champion/challenger decision history: one row per event on a model version (decision, "
                      "replaced, rollback) with its status, the reason, both versions' metrics on the same "
                      "held-out window (JSON), decided_at and registered_at.",
}


class MlflowResource(dg.ConfigurableResource):
    """MLflow tracking + registry. ``tracking_uri`` empty: the configuration's (Settings.mlflow_uri:
    $BSI_MLFLOW_URI, bsi.yaml `mlflow_uri`, else sqlite under <workspace>/mlflow)."""

    config: dg.ResourceDependency[BsiConfig]
    tracking_uri: str = ""

    def store(self) -> MlflowStore:
        return store_for(self.config.settings(), self.tracking_uri)


def _registered_asset(spec: ModelSpec) -> dg.AssetsDefinition:
    @dg.asset(name=f"registered_{spec.key}", ins={"evaluation": dg.AssetIn(f"evaluation_{spec.key}")},
              group_name="registry", kinds={"mlflow", "polars"}, pool=POOL,
              description=f"The evaluated {spec.key} version logged to MLflow (run + registered model version "
                          "with alias challenger); idempotent per model_id.")
    def registered(context: dg.AssetExecutionContext, bsi: BsiConfig, mlflow: MlflowResource,
                   evaluation: pl.DataFrame) -> dg.Output:
        if evaluation.height == 0:
            return dg.Output(registered_frame(None), metadata={"skipped": f"evaluation_{spec.key} is empty"})
        row = register_evaluation(mlflow.store(), bsi.settings().models_dir, evaluation)
        context.log.info(f"{spec.key} {row['model_id']}: version {row['version']} "
                         f"({'registered now' if row['registered'] else 'already registered'})")
        return dg.Output(registered_frame(row), metadata={
            "version": row["version"], "model_id": row["model_id"], "run_id": row["run_id"] or "",
            "registered": row["registered"]})

    return registered


REGISTERED_ASSETS = [_registered_asset(spec) for spec in SPECS.values()]


@dg.asset(deps=[a.key for a in REGISTERED_ASSETS], group_name="registry", kinds={"mlflow", "polars", "parquet"},
          pool=POOL, description=REGISTRY_TABLES["model_registry"])
def model_registry(context: dg.AssetExecutionContext, bsi: BsiConfig,
                   mlflow: MlflowResource) -> dg.MaterializeResult:
    settings = bsi.settings()
    try:
        run = decisions.run_registry(mlflow.store(), settings, SPECS)
    except decisions.RegistryRunError as exc:
        # the other keys were decided and synced: say what was done, and fail the step on the rest
        _log_run(context, exc.run)
        raise dg.Failure(description=str(exc), metadata=_run_metadata(settings, exc.run)) from exc
    _log_run(context, run)
    return dg.MaterializeResult(metadata=_run_metadata(settings, run))


def _log_run(context: dg.AssetExecutionContext, run: decisions.RegistryRun) -> None:
    for key, why in run.skipped.items():
        context.log.warning(f"{key}: undecided versions wait: {why}")
    for key, why in run.failed.items():
        context.log.error(f"{key}: failed: {why}")
    for change in run.changes:
        context.log.info(change)


def _run_metadata(settings: Settings, run: decisions.RegistryRun) -> dict:
    champions = (run.history.filter(pl.col("status") == "champion").group_by("model_key").agg(pl.all().last())
                 .select("model_key", "version", "model_id").sort("model_key") if run.history.height else None)
    return {
        "rows": run.history.height,
        "path": dg.MetadataValue.path(settings.storage.location(decisions.TABLE)),
        "new_rows": run.new_rows.height,
        "decisions": dg.MetadataValue.md(markdown_table(run.new_rows.select(
            "model_key", "version", "status", "event", "reason")) if run.new_rows.height else "nothing new"),
        "champions": dg.MetadataValue.md(markdown_table(champions) if champions is not None and champions.height
                                         else "none"),
        "skipped": dg.MetadataValue.json(run.skipped),
        "changes": dg.MetadataValue.md("\n".join(f"- {c}" for c in run.changes) or "none"),
        "failed": dg.MetadataValue.json(run.failed),
    }


model_registry_job = dg.define_asset_job(
    "model_registry_job", selection=dg.AssetSelection.assets(model_registry),
    description="Decide champion vs challenger for every new model version (started by model_registry_sensor).")


def _cursor(text: str | None) -> dict[str, dict]:
    """model key -> {"version", "created_ms"} of the newest version seen. The earlier form
    {model key: "version"} reads as a version without its registration time."""
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): v if isinstance(v, dict) else {"version": str(v)} for k, v in value.items()}


def _is_new(info: VersionInfo, seen: dict | None) -> bool:
    """Whether ``info`` was registered after the version the cursor names: by registration time, then
    number. A number alone would miss every version of a recreated registered model (its store reset,
    or mlflow_uri moved), which numbers them from 1 again."""
    if not seen:
        return True
    if "created_ms" in seen:
        return (info.created_ms, info.number) > (int(seen["created_ms"]), int(seen["version"]))
    return info.number > int(seen["version"])


@dg.sensor(job=model_registry_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Starts model_registry_job once per model version registered after the cursor "
                       "(cursor: JSON {model_key: {version, created_ms} of the newest version seen}; run key "
                       "key:version:model_id); reads MLflow only.")
def model_registry_sensor(context: dg.SensorEvaluationContext, mlflow: MlflowResource):
    store = mlflow.store()
    if not store.exists():
        return dg.SkipReason(f"no MLflow store yet at {store.uri}")
    seen = _cursor(context.cursor)
    requests = []
    for key, infos in sorted(store.all_versions().items()):
        if key not in SPECS:
            continue
        new = [info for info in infos if _is_new(info, seen.get(key))]
        # the run key is the version's identity in the decision history, unique across a recreated model
        requests += [dg.RunRequest(run_key=f"{key}:{info.version}:{info.model_id}",
                                   tags={"model_key": key, "model_version": info.version}) for info in new]
        if new:
            newest = max(new, key=lambda info: (info.created_ms, info.number))
            seen[key] = {"version": newest.version, "created_ms": newest.created_ms}
    if not requests:
        return dg.SkipReason("no new model version")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))


REGISTRY_ASSETS = [*REGISTERED_ASSETS, model_registry]
REGISTRY_SENSORS = [model_registry_sensor]
REGISTRY_JOBS = [model_registry_job]
__all__ = ["POOL", "REGISTRY_ASSETS", "REGISTRY_JOBS", "REGISTRY_SENSORS", "REGISTRY_TABLES", "MlflowResource",
           "model_registry", "model_registry_job", "model_registry_sensor"]
