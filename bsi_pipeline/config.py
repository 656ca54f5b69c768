"""The configuration contract shared by `make run`, the `bsi` command and the Dagster UI.

A YAML file names a `workspace` folder (outputs) and `sources` (inputs, a list of paths or globs
per source kind). Relative paths resolve against the config file's folder, so a config file and
the data it names can move together. Which file: an explicit path, else $BSI_CONFIG, else
./bsi.yaml, else the bsi.yaml shipped at the repository root.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

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


MLFLOW_URI_ENV = "BSI_MLFLOW_URI"       # overrides the config file's mlflow_uri


class ConfigError(ValueError):
    """A configuration file that cannot be used, with the reason."""


@dataclass(frozen=True)
class Settings:
    config_path: Path
    workspace: Path
    sources: dict[str, list[str]] = field(default_factory=dict)
    reference: dict[str, list[str]] = field(default_factory=dict)
    mlflow_uri_config: str = ""   # the config file's `mlflow_uri`, "" when not given

    @property
    def lake(self) -> Path:
        return self.workspace / "lake"

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
        if env:
            return _absolute_sqlite(env, Path.cwd())
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
    base = config_path.parent
    workspace = Path(os.path.expandvars(str(raw["workspace"]))).expanduser()
    if not workspace.is_absolute():
        workspace = base / workspace
    sources = _kind_lists(raw.get("sources") or {}, SOURCE_KINDS, "sources", config_path)
    reference = _kind_lists(raw.get("reference") or {}, REFERENCE_KINDS, "reference", config_path)
    mlflow_uri = raw.get("mlflow_uri") or ""
    if not isinstance(mlflow_uri, str):
        raise ConfigError(f"{config_path}: mlflow_uri must be a URI string, e.g. sqlite:////abs/path/mlflow.db")
    mlflow_uri = _absolute_sqlite(os.path.expandvars(mlflow_uri.strip()), base) if mlflow_uri.strip() else ""
    return Settings(config_path, workspace.resolve(), sources, reference, mlflow_uri)


def _absolute_sqlite(uri: str, base: Path) -> str:
    """A relative sqlite:///path.db made absolute against `base` (sqlite:////abs/path.db); other
    URIs unchanged."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or uri.startswith(prefix + "/") or uri[len(prefix):] in ("", ":memory:"):
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
        out[kind] = paths
    return out


def _expand(patterns: list[str], base: Path) -> list[Path]:
    found: set[Path] = set()
    for pattern in patterns:
        pattern = os.path.expandvars(os.path.expanduser(pattern))
        if not os.path.isabs(pattern):
            pattern = str(base / pattern)
        found.update(Path(p).resolve() for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    return sorted(found)
