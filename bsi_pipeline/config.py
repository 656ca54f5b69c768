"""The configuration contract shared by `make run`, the `bsi` command and the Dagster UI.

A YAML file names a `workspace` folder (outputs) and `sources` (inputs, a list of paths or globs
per source kind). Relative paths resolve against the config file's folder, so a config file and
the data it names can move together. Which file: an explicit path, else $BSI_CONFIG, else
./bsi.yaml, else the bsi.yaml shipped at the repository root.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_NAME = "bsi.yaml"

# Source kinds this version understands; later stages add theirs here.
SOURCE_KINDS = (
    "ncaa_baseball_pbp",         # stats.ncaa.org play-by-play CSV (plain or .gz)
    "retrosheet_gamelogs",       # MLB game logs GL*.TXT (plain or .gz), 161 fields
    "nfl_spreadspoke",           # NFL results with closing spread and total
    "cfbd_games",                # college football results (CollegeFootballData)
    "kaggle_mm_compact",         # men's college basketball, Kaggle March Mania files (results + companions)
    "espn_ncaa_baseball_games",  # ESPN college baseball results with starting pitchers
    "retrosheet_cwevent",        # MLB play-by-play, Chadwick cwevent CSV (with or without header) or Parquet
    "statcast_csv",              # Baseball Savant exports: short balls-in-play format or the full column set
)
REFERENCE_KINDS = (
    "ncaa_d1_teams",             # NCAA D1 baseball team -> conference registries, one per academic year
    "canonical_teams",           # canonical team registry: stats.ncaa.org names <-> ESPN names
)


TOP_LEVEL_KEYS = ("workspace", "storage", "s3_endpoint_url", "sources", "reference", "mlflow_uri")

MLFLOW_URI_ENV = "BSI_MLFLOW_URI"       # overrides the config file's mlflow_uri
STORAGE_ENV = "BSI_STORAGE"             # overrides the config file's storage (a folder or s3://bucket/prefix)
S3_ENDPOINT_ENV = "BSI_S3_ENDPOINT_URL"  # overrides the config file's s3_endpoint_url


class ConfigError(ValueError):
    """A configuration file that cannot be used, with the reason."""


@dataclass(frozen=True)
class Settings:
    config_path: Path
    workspace: Path
    sources: dict[str, list[str]] = field(default_factory=dict)
    reference: dict[str, list[str]] = field(default_factory=dict)
    mlflow_uri_config: str = ""   # the config file's `mlflow_uri`, "" when not given
    storage_config: str = ""      # the config file's `storage` (resolved if a folder), "" when not given
    s3_endpoint_config: str = ""  # the config file's `s3_endpoint_url`, "" when not given
    # Makes the S3 client from an endpoint URL (or None): the Dagster resource's S3Resource; boto3 if None.
    s3_client_factory: Callable[[str | None], Any] | None = field(default=None, compare=False, repr=False)

    @property
    def lake(self) -> Path:
        """The local lake folder, <workspace>/lake: where `storage` points unless it is set."""
        return self.workspace / "lake"

    @property
    def storage_uri(self) -> str:
        """Where the lake lives: $BSI_STORAGE, else the config's `storage`, else <workspace>/lake.
        $BSI_STORAGE is checked by the same rules as `storage` (a relative folder resolves against the
        working directory): a gs:// URI must not become a local folder named 'gs:'."""
        env = os.environ.get(STORAGE_ENV, "").strip()
        if env:
            return _storage(env, Path.cwd(), f"${STORAGE_ENV}")
        return self.storage_config or str(self.lake)

    @property
    def s3_endpoint_url(self) -> str:
        """The S3 endpoint for a non-AWS service (MinIO, moto ...): $BSI_S3_ENDPOINT_URL, else the
        config's `s3_endpoint_url`, else "" (boto3's default: AWS, or $AWS_ENDPOINT_URL)."""
        return os.environ.get(S3_ENDPOINT_ENV, "").strip() or self.s3_endpoint_config

    @property
    def storage(self):
        """The lake every asset reads and writes (bsi_pipeline.lake): a local folder or an S3 prefix."""
        uri = self.storage_uri
        if uri.startswith("s3://"):
            from bsi_pipeline.lake_s3 import S3Lake

            return S3Lake.from_uri(uri, endpoint_url=self.s3_endpoint_url or None,
                                   client_factory=self.s3_client_factory)
        from bsi_pipeline.lake import LocalLake

        return LocalLake(Path(uri))

    @property
    def models_dir(self) -> Path:
        """Model artifacts: <models_dir>/<model_key>/<model_id>/artifact.json and a `current` pointer."""
        return self.workspace / "models"

    @property
    def warehouse_path(self) -> Path:
        return self.workspace / "warehouse.duckdb"

    @property
    def mlflow_dir(self) -> Path:
        """The default MLflow store: <workspace>/mlflow/mlflow.db, run artifacts in artifacts/."""
        return self.workspace / "mlflow"

    @property
    def mlflow_uri(self) -> str:
        """MLflow tracking and registry URI: $BSI_MLFLOW_URI, else the config's `mlflow_uri`, else
        sqlite:////<absolute workspace>/mlflow/mlflow.db (absolute: MLflow's own default is relative
        to the working directory)."""
        env = os.environ.get(MLFLOW_URI_ENV, "").strip()
        if env:  # checked as the config's is; a relative sqlite path resolves against the working directory
            return resolve_mlflow_uri(env, Path.cwd(), f"${MLFLOW_URI_ENV}")
        if self.mlflow_uri_config:
            return self.mlflow_uri_config
        return f"sqlite:///{(self.mlflow_dir / 'mlflow.db').as_posix()}"

    def source_files(self, kind: str) -> list[Path]:
        """Every file matching the globs of one source kind, sorted and de-duplicated."""
        return _expand(self.sources.get(kind, []), self.config_path.parent)

    def reference_files(self, kind: str) -> list[Path]:
        return _expand(self.reference.get(kind, []), self.config_path.parent)


def resolve_config_path(path: str | os.PathLike | None = None) -> Path:
    if path:
        return Path(path).expanduser().resolve()
    env = os.environ.get("BSI_CONFIG")
    if env:
        return Path(env).expanduser().resolve()
    local = Path.cwd() / DEFAULT_CONFIG_NAME
    if local.exists():
        return local.resolve()
    return REPO_ROOT / DEFAULT_CONFIG_NAME


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    config_path = resolve_config_path(path)
    if not config_path.exists():
        raise ConfigError(f"config file not found: {config_path}")
    try:
        raw = yaml.safe_load(config_path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config_path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_path}: expected a mapping at the top level")
    if "workspace" not in raw:
        raise ConfigError(f"{config_path}: missing required key 'workspace'")
    unknown = sorted(set(raw) - set(TOP_LEVEL_KEYS))
    if unknown:  # a misspelt `storage` must not quietly write to the local default instead
        raise ConfigError(f"{config_path}: unknown key(s) {', '.join(map(str, unknown))} "
                          f"(known: {', '.join(TOP_LEVEL_KEYS)})")
    base = config_path.parent
    workspace = _workspace(raw["workspace"], base, config_path)
    sources = _kind_lists(raw.get("sources") or {}, SOURCE_KINDS, "sources", config_path)
    reference = _kind_lists(raw.get("reference") or {}, REFERENCE_KINDS, "reference", config_path)
    mlflow_uri = raw.get("mlflow_uri") or ""
    if not isinstance(mlflow_uri, str):
        raise ConfigError(f"{config_path}: mlflow_uri must be a URI string, e.g. sqlite:////abs/path/mlflow.db")
    mlflow_uri = resolve_mlflow_uri(mlflow_uri, base, f"{config_path}: mlflow_uri") if mlflow_uri.strip() else ""
    storage = _storage(raw.get("storage"), base, f"{config_path}: storage")
    endpoint = raw.get("s3_endpoint_url") or ""
    if not isinstance(endpoint, str):
        raise ConfigError(f"{config_path}: s3_endpoint_url must be a URL string, e.g. http://127.0.0.1:9000")
    settings = Settings(config_path, workspace, sources, reference, mlflow_uri, storage,
                        _expand_vars(endpoint.strip(), f"{config_path}: s3_endpoint_url"))
    _check_overrides(settings)
    return settings


def _check_overrides(settings: Settings) -> None:
    """Reads the environment overrides once, so a bad one stops `bsi` at load (exit 2) instead of
    failing a run midway. They are still read on every use: the environment may change later."""
    _ = settings.storage_uri
    _ = settings.mlflow_uri


def _storage(value, base: Path, where: str) -> str:
    """A `storage` value (the config's, or $BSI_STORAGE's; ``where`` names which in errors): an
    s3://bucket[/prefix] URI as given, a folder made absolute against ``base``, or "". One function
    for both sources, so the override cannot accept what the file refuses."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a folder or an s3://bucket/prefix URI")
    value = _expand_vars(value.strip(), where)
    if value.startswith("s3://"):
        from bsi_pipeline.lake_s3 import parse_s3_uri

        try:
            parse_s3_uri(value)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        return value
    if "://" in value:
        raise ConfigError(f"{where} {value!r}: only local folders and s3:// URIs are supported")
    return str(_local_path(value, base))


def _workspace(value, base: Path, config_path: Path) -> Path:
    """The `workspace` folder, absolute. Only a non-empty string: YAML's `workspace:` (null), a list or
    a mapping would otherwise become a folder named 'None' or after its repr, and '' the config folder."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{config_path}: workspace must be a folder path (a non-empty string); got {value!r}")
    return _local_path(_expand_vars(value.strip(), f"{config_path}: workspace"), base)


def _local_path(value: str, base: Path) -> Path:
    """A folder or file setting (~ expanded) made absolute: relative ones resolve against ``base``."""
    path = Path(value).expanduser()
    return (path if path.is_absolute() else base / path).resolve()


_VAR = re.compile(r"\$(\w+|\{[^}]*\})")  # the references os.path.expandvars replaces


def _expand_vars(value: str, where: str) -> str:
    """``value`` with its $VAR and ${VAR} references replaced from the environment. Why not
    os.path.expandvars alone: it leaves an unset variable as literal text, which then names a folder
    '$VAR' (or a glob that quietly matches nothing) instead of saying the variable is missing."""
    for ref in _VAR.finditer(value):
        if ref.group(1).strip("{}") not in os.environ:
            raise ConfigError(f"{where}: environment variable {ref.group(0)} is not set (in {value!r})")
    return os.path.expandvars(value)


def resolve_mlflow_uri(uri: str, base: Path, where: str) -> str:
    """An MLflow tracking/registry URI as used: $VARs expanded, a relative sqlite:///path.db made
    absolute against ``base``. ``where`` names the setting in errors. An in-memory SQLite store is
    refused: every process (each Dagster step, `bsi rollback`) would get its own empty registry, and
    the versions it registers would vanish when it exits."""
    uri = _expand_vars(uri.strip(), where)
    if _in_memory_sqlite(uri):
        raise ConfigError(f"{where} {uri!r}: an in-memory SQLite store is lost when the process ends; "
                          "name a database file, e.g. sqlite:////abs/path/mlflow.db")
    return _absolute_sqlite(uri, base)


def _in_memory_sqlite(uri: str) -> bool:
    """Whether a sqlite URI names no file: sqlite://, sqlite:///, sqlite:///:memory:, or SQLite's
    file::memory: / mode=memory forms (what SQLAlchemy opens as a private in-memory database)."""
    match = re.match(r"sqlite(\+\w+)?://(.*)$", uri)
    if match is None:
        return False
    path, _, query = match.group(2).removeprefix("/").partition("?")
    return path in ("", ":memory:") or path.startswith("file::memory:") or "mode=memory" in query


def _absolute_sqlite(uri: str, base: Path) -> str:
    """A relative sqlite:///path.db made absolute against `base` (sqlite:////abs/path.db); other
    URIs unchanged."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or uri.startswith(prefix + "/"):
        return uri
    path, sep, query = uri[len(prefix):].partition("?")
    return f"{prefix}{(base / Path(path).expanduser()).resolve().as_posix()}{sep}{query}"


def _kind_lists(section, known: tuple[str, ...], name: str, config_path: Path) -> dict[str, list[str]]:
    if not isinstance(section, dict):
        raise ConfigError(f"{config_path}: '{name}' must map a kind to a list of paths")
    out: dict[str, list[str]] = {}
    for kind, paths in section.items():
        if kind not in known:
            raise ConfigError(f"{config_path}: unknown {name} kind '{kind}' (known: {', '.join(known)})")
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ConfigError(f"{config_path}: {name}.{kind} must be a list of paths or globs")
        out[kind] = [_expand_vars(p, f"{config_path}: {name}.{kind}") for p in paths]
    return out


def _expand(patterns: list[str], base: Path) -> list[Path]:
    found: set[Path] = set()
    for pattern in patterns:
        pattern = os.path.expanduser(pattern)  # $VARs were expanded (or refused) at load
        literal = base / pattern  # an absolute pattern stays as it is
        if literal.is_file():  # a file named outright is that file, even with [ ] in its path
            found.add(literal.resolve())
            continue
        if not os.path.isabs(pattern):  # the config's folder is a path, not a pattern: "bsi [copy]" matches itself
            pattern = os.path.join(glob.escape(str(base)), pattern)
        found.update(Path(p).resolve() for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    return sorted(found)
