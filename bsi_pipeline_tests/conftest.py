"""Shared test helpers: where the embedded sample and the shared real data are, and a workspace config."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EMBEDDED_PBP = sorted((REPO / "data" / "ncaa_baseball_pbp").glob("*.csv.gz"))
REGISTRY_FILES = sorted((REPO / "data" / "ncaa_baseball_teams").glob("ncaa_d1_teams_*.csv"))
# A config glob: the checkout's own path escaped, so a checkout in "bsi [copy]" still matches.
REGISTRY_GLOB = os.path.join(glob.escape(str(REPO / "data" / "ncaa_baseball_teams")), "ncaa_d1_teams_*.csv")
# The shared real data beside the checkout (../shared/data), or wherever BSI_SHARED_DATA points.
SHARED_DATA = Path(os.environ.get("BSI_SHARED_DATA", REPO.parent / "shared" / "data"))
SHARED_PBP = SHARED_DATA / "ncaa_baseball_pbp"


def shared_pbp_file(season: int) -> Path:
    """The full shared season, or skip the test when ../shared/data is not beside the checkout."""
    path = SHARED_PBP / f"ncaa_baseball_pbp_{season}.csv.gz"
    if not path.exists():
        pytest.skip(f"shared real data not present: {path}")
    return path


def write_config(folder: Path, pbp_files: list[Path | str], workspace: Path | None = None) -> Path:
    """A bsi.yaml in `folder` pointing at the given play-by-play files and the shipped registry."""
    config = {
        "workspace": str(workspace or folder / "workspace"),
        "sources": {"ncaa_baseball_pbp": [str(p) for p in pbp_files]},
        "reference": {"ncaa_d1_teams": [REGISTRY_GLOB]},
    }
    path = folder / "bsi.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def embedded_config(tmp_path: Path) -> Path:
    return write_config(tmp_path, EMBEDDED_PBP)


@pytest.fixture(autouse=True)
def _no_user_dagster_home(monkeypatch):
    """Tests never touch a developer's Dagster instance: ephemeral or test instances only."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


def default_config(folder: Path) -> Path:
    """The repository's bsi.yaml (every embedded source), with its workspace in `folder`."""
    config = yaml.safe_load((REPO / "bsi.yaml").read_text())
    config["workspace"] = str(folder / "workspace")
    for section in ("sources", "reference"):
        config[section] = {kind: [os.path.join(glob.escape(str(REPO)), p) for p in paths]
                           for kind, paths in config[section].items()}
    path = folder / "bsi.yaml"
    path.write_text(yaml.safe_dump(config))
    return path
