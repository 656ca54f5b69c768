"""A small wrapper around mlflow.MlflowClient: one experiment, one registered model per model key.

Store: tracking and registry share one URI, by default ``sqlite:////<abs workspace>/mlflow/mlflow.db``
(Settings.mlflow_uri; absolute, because MLflow's own default is relative to the working directory),
with run artifacts under ``<workspace>/mlflow/artifacts`` (see :func:`artifact_location`).

A trained model version is one MLflow run (parameters, numeric metrics, the whole artifact folder
under ``model/``: artifact.json, ONNX and native tree files, model card, plots) plus a version of
the registered model named after the model key, whose source is that run's ``model/`` folder. The
version carries a ``model_id`` tag, which makes registration idempotent, and gets the
``challenger`` alias. Aliases only: the deprecated stage APIs are never used.

Concurrency: a local SQLite store is one file that several processes (Dagster steps, the CLI, a
sensor) may open at once. Creating the schema and registering a version are read-check-write
sequences, so they run under exclusive locks (fcntl, same host): ``<db>.init.lock`` while a process
opens the store, ``<db>.lock`` while it registers; an SQLite "database is locked" error is retried.
Server URIs are left to the server.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping, TypeVar

from bsi_pipeline import locks

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no tqdm bars in logs

EXPERIMENT = "bsi_pipeline"
MODEL_FOLDER = "model"            # the artifact folder inside each run
ALIASES = ("champion", "challenger", "archived")
MODEL_ID_TAG = "model_id"
_PARAM_MAX = 6000                 # MLflow's limit on a parameter value
_TAG_MAX = 5000                   # and on a model version tag value
_BATCH = 100                      # log_batch: at most 100 params / tags per call
_LOCK_TIMEOUT = 300.0

T = TypeVar("T")


class RegistryError(RuntimeError):
    """A registry operation that cannot be done, with the reason."""


@dataclass(frozen=True)
class VersionInfo:
    """One registered model version, as plain values (``version`` as str, as MLflow's APIs take it)."""

    model_key: str
    version: str
    model_id: str | None
    run_id: str | None
    source: str
    aliases: tuple[str, ...]
    tags: dict
    created_ms: int

    @property
    def number(self) -> int:
        return int(self.version)

    @property
    def ident(self) -> tuple[int, str | None]:
        """(number, model_id): what identifies a version in the decision history. The number alone
        does not: a registered model that is recreated (its store reset, or mlflow_uri moved) numbers
        its versions from 1 again."""
        return self.number, self.model_id


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, None for any other URI."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///"):].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


@contextlib.contextmanager
def file_lock(path: str | os.PathLike, timeout: float = _LOCK_TIMEOUT) -> Iterator[None]:
    """An exclusive lock on ``path`` shared by every process on this host (locks.file_lock); a timeout is a
    RegistryError."""
    try:
        with locks.file_lock(path, timeout):
            yield
    except locks.LockTimeout as exc:
        raise RegistryError(str(exc)) from None


def _is_locked_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database table is locked" in text


def _quote(value: str) -> str:
    """A value inside a single-quoted MLflow search filter (model keys and ids are plain names)."""
    if "'" in str(value):
        raise RegistryError(f"{value!r}: a model key or id cannot contain a quote")
    return str(value)


def _error_code(exc: BaseException) -> str:
    return str(getattr(exc, "error_code", ""))


def _clean_name(name: str) -> str:
    """A metric/param key MLflow accepts (alphanumerics, _ - . / and space)."""
    return re.sub(r"[^0-9A-Za-z_\-./ ]", "_", str(name))[:250]


def _param_value(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= _PARAM_MAX else text[:_PARAM_MAX - 3] + "..."


def tag_value(value) -> str:
    """A model version tag value as stored (MLflow caps them at 5000 characters)."""
    text = str(value)
    return text if len(text) <= _TAG_MAX else text[:_TAG_MAX - 3] + "..."


def numeric_metrics(metrics: Mapping[str, object]) -> dict[str, float]:
    """Only finite numbers (bools excluded): MLflow metrics are floats."""
    out = {}
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        value = float(value)
        if math.isfinite(value):
            out[_clean_name(name)] = value
    return out


class MlflowStore:
    """Tracking + registry on one URI. ``artifact_location``: where the experiment stores run
    artifacts when it is created (needed for a local SQLite store; a server decides itself)."""

    def __init__(self, uri: str, artifact_location: str | os.PathLike | None = None,
                 experiment: str = EXPERIMENT):
        self.uri = uri
        self.experiment = experiment
        self.db_path = sqlite_path(uri)
        if artifact_location is not None and "://" not in str(artifact_location):
            artifact_location = Path(artifact_location).resolve().as_uri()
        self.artifact_location = artifact_location
        self._client = None
        self._experiment_id: str | None = None
        self._lock_depth = 0

    # ------------------------------------------------------------------ plumbing

    def exists(self) -> bool:
        """Whether there is a store to read (a SQLite file exists; a server is assumed to)."""
        return self.db_path is None or self.db_path.is_file()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive inter-process lock for read-check-write sequences on a local SQLite store
        (re-entrant within this object); a no-op for a server."""
        if self.db_path is None or self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        with file_lock(self.db_path.with_name(self.db_path.name + ".lock")):
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0

    def _retry(self, action: Callable[[], T], attempts: int = 5) -> T:
        for attempt in range(attempts):
            try:
                return action()
            except Exception as exc:  # noqa: BLE001 - only SQLite lock contention is retried
                if attempt == attempts - 1 or not _is_locked_error(exc):
                    raise
                time.sleep(0.2 * 2 ** attempt)
        raise AssertionError("unreachable")

    @property
    def client(self):
        """The MlflowClient. Opening a SQLite store creates its schema the first time, so that is done
        under a lock (two processes creating the tables at once break each other's migrations)."""
        if self._client is None:
            from mlflow import MlflowClient

            if self.db_path is not None:  # its own lock: readers never wait for a registration in progress
                with file_lock(self.db_path.with_name(self.db_path.name + ".init.lock")):
                    self._client = self._retry(lambda: MlflowClient(tracking_uri=self.uri, registry_uri=self.uri))
            else:
                self._client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        return self._client

    # ------------------------------------------------------------------ experiment and training runs

    def ensure_experiment(self) -> str:
        """The experiment's id, created on first use; a concurrent creator's experiment is reused."""
        if self._experiment_id is not None:
            return self._experiment_id
        client = self.client

        def create() -> str:
            found = client.get_experiment_by_name(self.experiment)
            if found is not None:
                if found.lifecycle_stage == "deleted":
                    client.restore_experiment(found.experiment_id)
                return found.experiment_id
            try:
                return client.create_experiment(self.experiment, artifact_location=self.artifact_location)
            except Exception as exc:  # noqa: BLE001
                if _error_code(exc) != "RESOURCE_ALREADY_EXISTS" and "already exists" not in str(exc).lower():
                    raise
                return client.get_experiment_by_name(self.experiment).experiment_id

        with self.lock():
            self._experiment_id = self._retry(create)
        return self._experiment_id

    def find_version(self, model_key: str, model_id: str) -> VersionInfo | None:
        """The (earliest) version of ``model_key`` tagged with ``model_id``, if any."""
        if not self.exists():
            return None
        query = f"name='{_quote(model_key)}' and tag.{MODEL_ID_TAG}='{_quote(model_id)}'"
        found = sorted((self._info(mv) for mv in self._retry(lambda: list(self.client.search_model_versions(query)))),
                       key=lambda v: v.number)
        return found[0] if found else None

    def log_training(self, model_key: str, model_dir: str | os.PathLike, params: Mapping[str, object],
                     metrics: Mapping[str, object], tags: Mapping[str, object] | None = None) -> str:
        """Log one trained model and register it; returns the version (str).

        One run: ``params`` (stringified), ``metrics`` (finite numbers only; name them e.g.
        valid_brier, test_brier), ``tags``, and the whole ``model_dir`` as the run's ``model/``
        artifacts. Then a new version of the registered model ``model_key``, source = that
        folder, tagged model_id (read from model_dir/artifact.json), alias ``challenger``.
        Idempotent: a version already tagged with this model_id is returned as it is."""
        model_dir = Path(model_dir)
        artifact = model_dir / "artifact.json"
        if not artifact.is_file():
            raise RegistryError(f"{model_dir} holds no artifact.json: nothing to register for {model_key}")
        model_id = json.loads(artifact.read_text())["model_id"]
        tags = {str(k): str(v) for k, v in (tags or {}).items()}
        if tags.get(MODEL_ID_TAG, model_id) != model_id:
            raise RegistryError(f"tag model_id {tags[MODEL_ID_TAG]!r} differs from {artifact}'s {model_id!r}")
        tags.update(model_key=model_key, model_id=model_id)
        experiment_id = self.ensure_experiment()
        with self.lock():
            return self._retry(lambda: self._log_training(model_key, model_id, model_dir, experiment_id,
                                                          params, metrics, tags))

    def _log_training(self, model_key, model_id, model_dir, experiment_id, params, metrics, tags) -> str:
        from mlflow.entities import Metric, Param

        existing = self.find_version(model_key, model_id)
        if existing is not None:
            return existing.version
        client = self.client
        run = client.create_run(experiment_id, run_name=model_id, tags=tags)
        run_id = run.info.run_id
        try:
            now = int(time.time() * 1000)
            param_list = [Param(_clean_name(k), _param_value(v)) for k, v in params.items()]
            metric_list = [Metric(k, v, now, 0) for k, v in numeric_metrics(metrics).items()]
            for i in range(0, max(len(param_list), len(metric_list)), _BATCH):
                client.log_batch(run_id, metrics=metric_list[i:i + _BATCH], params=param_list[i:i + _BATCH])
            client.log_artifacts(run_id, str(model_dir), MODEL_FOLDER)
            client.set_terminated(run_id, "FINISHED")
        except BaseException:
            with contextlib.suppress(Exception):
                client.set_terminated(run_id, "FAILED")
            raise
        try:
            client.create_registered_model(model_key, tags={"model_key": model_key})
        except Exception as exc:  # noqa: BLE001
            if _error_code(exc) != "RESOURCE_ALREADY_EXISTS":
                raise
        version = client.create_model_version(
            model_key, source=f"{run.info.artifact_uri}/{MODEL_FOLDER}", run_id=run_id,
            tags={MODEL_ID_TAG: model_id, "model_key": model_key}, description=f"{model_key} {model_id}")
        client.set_registered_model_alias(model_key, "challenger", str(version.version))
        return str(version.version)

    # ------------------------------------------------------------------ reading versions

    @staticmethod
    def _info(mv) -> VersionInfo:
        return VersionInfo(model_key=mv.name, version=str(mv.version), model_id=(mv.tags or {}).get(MODEL_ID_TAG),
                           run_id=mv.run_id, source=mv.source, aliases=tuple(mv.aliases or ()),
                           tags=dict(mv.tags or {}), created_ms=int(mv.creation_timestamp or 0))

    def versions(self, model_key: str) -> list[VersionInfo]:
        """Every version of ``model_key``, oldest first (none when the model is not registered)."""
        if not self.exists():
            return []
        found = self._retry(lambda: list(self.client.search_model_versions(f"name='{_quote(model_key)}'")))
        return sorted((self._info(mv) for mv in found), key=lambda v: v.number)

    def all_versions(self) -> dict[str, list[VersionInfo]]:
        """Registered model name -> its versions, oldest first (what the registry sensor watches;
        one query, nothing written)."""
        if not self.exists():
            return {}
        found: dict[str, list[VersionInfo]] = {}
        for mv in self._retry(lambda: list(self.client.search_model_versions())):
            found.setdefault(mv.name, []).append(self._info(mv))
        return {name: sorted(infos, key=lambda v: v.number) for name, infos in found.items()}

    def version_numbers(self) -> dict[str, list[int]]:
        """Registered model name -> its version numbers, ascending."""
        return {name: [v.number for v in infos] for name, infos in self.all_versions().items()}

    def version_info(self, model_key: str, version: str | int) -> VersionInfo:
        try:
            return self._info(self._retry(lambda: self.client.get_model_version(model_key, str(version))))
        except Exception as exc:  # noqa: BLE001
            if _error_code(exc) in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise RegistryError(f"{model_key} has no version {version}") from None
            raise

    def alias_version(self, model_key: str, alias: str) -> str | None:
        """The version (str) ``alias`` points at, None when the alias or the model does not exist."""
        if not self.exists():
            return None
        try:
            return str(self._retry(lambda: self.client.get_model_version_by_alias(model_key, alias)).version)
        except Exception as exc:  # noqa: BLE001
            if _error_code(exc) in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise

    # ------------------------------------------------------------------ aliases and tags

    def set_alias(self, model_key: str, alias: str, version: str | int) -> None:
        self._retry(lambda: self.client.set_registered_model_alias(model_key, alias, str(version)))

    def delete_alias(self, model_key: str, alias: str) -> None:
        """Remove ``alias``; nothing happens when it is not set."""
        if self.alias_version(model_key, alias) is not None:
            self._retry(lambda: self.client.delete_registered_model_alias(model_key, alias))

    def set_version_tags(self, model_key: str, version: str | int, tags: Mapping[str, object]) -> None:
        for key, value in tags.items():
            text = tag_value(value)
            self._retry(lambda k=key, t=text: self.client.set_model_version_tag(model_key, str(version), k, t))

    # ------------------------------------------------------------------ artifacts

    def download_version(self, model_key: str, version: str | int, destination: str | os.PathLike) -> Path:
        """Copy a version's artifact folder (artifact.json, ONNX, ...) to ``destination``, which is
        replaced as a whole (built beside it, then renamed)."""
        info = self.version_info(model_key, version)
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
        try:
            if info.run_id:
                local = self._retry(lambda: self.client.download_artifacts(info.run_id, MODEL_FOLDER, str(staging)))
            else:
                import mlflow.artifacts

                local = mlflow.artifacts.download_artifacts(artifact_uri=info.source, dst_path=str(staging),
                                                            tracking_uri=self.uri)
            local = Path(local)
            if not (local / "artifact.json").is_file():
                raise RegistryError(f"{model_key} version {info.version}: its artifacts hold no artifact.json")
            if destination.exists():
                shutil.rmtree(destination)
            local.rename(destination)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return destination

    def locate_version(self, model_key: str, version: str | int, models_dir: str | os.PathLike) -> Path:
        """The version's artifact folder under ``<models_dir>/<key>/<model_id>/``: the one on disk
        when its artifact.json is there, else downloaded from MLflow (so a champion can be
        re-scored and served after models/ was cleaned)."""
        info = self.version_info(model_key, version)
        if not info.model_id:
            raise RegistryError(f"{model_key} version {info.version} has no {MODEL_ID_TAG} tag")
        folder = Path(models_dir) / model_key / info.model_id
        if (folder / "artifact.json").is_file():
            return folder
        return self.download_version(model_key, info.version, folder)


SERVER_SCHEMES = ("http", "https", "databricks", "databricks-uc", "uc")  # MLflow's REST stores


def store_for(settings, uri: str = "") -> MlflowStore:
    """The store of a Settings (bsi_pipeline.config): settings.mlflow_uri, or ``uri`` (the Dagster
    resource's tracking_uri) checked by the same rules, so neither can be an in-memory store."""
    from bsi_pipeline.config import resolve_mlflow_uri

    if uri.strip():
        uri = resolve_mlflow_uri(uri, Path.cwd(), "the MLflow resource's tracking_uri")
    else:
        uri = settings.mlflow_uri
    return MlflowStore(uri, artifact_location(settings, uri))


def artifact_location(settings, uri: str) -> Path | None:
    """Where a new experiment of ``uri`` keeps its run artifacts: beside a SQLite database file, for
    another database <workspace>/mlflow/artifacts, for a tracking server None (the server decides).
    Why set it: a database store opened in this process otherwise puts them in ./mlruns under
    whatever the working directory is."""
    if uri.split(":", 1)[0] in SERVER_SCHEMES:
        return None
    db = sqlite_path(uri)
    return (db.parent if db is not None else settings.mlflow_dir) / "artifacts"


__all__ = ["ALIASES", "EXPERIMENT", "MODEL_FOLDER", "MlflowStore", "RegistryError", "SERVER_SCHEMES",
           "VersionInfo", "artifact_location", "file_lock", "numeric_metrics", "sqlite_path", "store_for",
           "tag_value"]
