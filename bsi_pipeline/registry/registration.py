"""What an evaluated model version logs to MLflow: parameters and tags from its artifact.json,
validation metrics from the artifact, test metrics from its evaluation snapshot (eval_snapshots
rows), and the whole artifact folder."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from bsi_pipeline.models.artifact import read_artifact
from bsi_pipeline.registry.mlflow_store import MlflowStore, RegistryError

# No "registered now" flag in the table: a re-run must write the same table (it is in the metadata).
REGISTERED_SCHEMA = {"model_key": pl.String, "version": pl.Int64, "model_id": pl.String, "run_id": pl.String}


def training_payload(artifact_dir: Path, snapshot: pl.DataFrame) -> tuple[dict, dict, dict]:
    """(params, metrics, tags) of one evaluated version. Metrics: valid_<name> from the artifact,
    test_<name> for the model on the test slice, test_<system>_<name> for the baseline rows."""
    art = read_artifact(Path(artifact_dir) / "artifact.json")
    extra = art.get("extra") or {}
    params: dict = {"algorithm": extra.get("algorithm"), "task": art.get("task"), "format": art.get("format"),
                    "calibrator": (art.get("calibrator") or {}).get("method", "identity"),
                    "features": [f["name"] if isinstance(f, dict) else f for f in art.get("features", [])],
                    "train_window": art.get("train_window")}
    params.update({f"param.{k}": v for k, v in (extra.get("params") or {}).items()})
    metrics = {f"valid_{k}": v for k, v in ((art.get("metrics") or {}).get("valid") or {}).items()}
    for system, metric, value in snapshot.select("system", "metric", "value").iter_rows():
        metrics[f"test_{metric}" if system == "model" else f"test_{system}_{metric}"] = value
    first = snapshot.row(0, named=True)
    calibration = (art.get("metrics") or {}).get("calibration") or {}
    tags = {"model_id": art["model_id"], "algorithm": extra.get("algorithm") or "",
            "evaluation_accepted": str(bool(snapshot["accepted"].all())).lower(),
            "valid_calibration_passed": str(calibration.get("passed")).lower(),
            "test_window_start": first["window_start"], "test_window_end": first["window_end"],
            "test_rows": first["rows"], "git_hash": art.get("git_hash") or ""}
    return {k: v for k, v in params.items() if v is not None}, metrics, tags


def register_evaluation(store: MlflowStore, models_dir: Path, snapshot: pl.DataFrame) -> dict:
    """Log the version an evaluation_<key> snapshot describes (idempotent); its registry row."""
    keys = snapshot.select("model_key", "model_id").unique()
    if keys.height != 1:
        raise RegistryError(f"an evaluation snapshot must describe one model version; got {keys.rows()}")
    key, model_id = keys.row(0)
    folder = Path(models_dir) / key / model_id
    existing = store.find_version(key, model_id)
    if existing is None:
        params, metrics, tags = training_payload(folder, snapshot)
        version = store.log_training(key, folder, params, metrics, tags)
    else:
        version = existing.version
    info = store.version_info(key, version)
    return {"model_key": key, "version": int(version), "model_id": model_id, "run_id": info.run_id,
            "registered": existing is None}


def registered_frame(row: dict | None) -> pl.DataFrame:
    return pl.DataFrame([{k: row[k] for k in REGISTERED_SCHEMA}] if row else [], schema=REGISTERED_SCHEMA)


__all__ = ["REGISTERED_SCHEMA", "register_evaluation", "registered_frame", "training_payload"]
