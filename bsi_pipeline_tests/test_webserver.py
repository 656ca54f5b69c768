"""The Dagster UI for real: start dagster-webserver headless on the repo's workspace.yaml and ask it over GraphQL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bsi_pipeline_tests.conftest import EMBEDDED_PBP, REPO, write_config

STARTUP_TIMEOUT = 120.0
LOCATION = "bsi_pipeline"
EXPECTED_ASSETS = {
    "ncaa_pbp_lines", "plays", "play_runners", "pbp_parse_report", "games",
    "teams", "box_batting", "box_pitching", "warehouse",
}

WORKSPACE_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { name repositories { name } }
          ... on PythonError { message stack }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""

ASSETS_QUERY = """
{
  assetsOrError {
    __typename
    ... on AssetConnection { nodes { key { path } } }
    ... on PythonError { message }
  }
}
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _webserver_command() -> list[str]:
    exe = Path(sys.executable).parent / "dagster-webserver"
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-m", "dagster_webserver"]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no output>"


def _get_json(url: str, timeout: float = 5.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def _graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql", data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    assert not body.get("errors"), f"GraphQL errors: {body['errors']}"
    return body["data"]


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the whole process group (webserver and its code server), then SIGKILL what is left."""
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = None
    if pgid is not None:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    if pgid is not None:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def webserver(tmp_path: Path):
    """Base URL of a dagster-webserver serving workspace.yaml, with DAGSTER_HOME and BSI_CONFIG under tmp_path."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    config = write_config(tmp_path, EMBEDDED_PBP)
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "BSI_CONFIG": str(config)}
    stdout_path, stderr_path = tmp_path / "webserver.out", tmp_path / "webserver.err"
    base = f"http://127.0.0.1:{port}"
    with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(
            [*_webserver_command(), "-w", str(REPO / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
            start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dagster-webserver exited early with code {proc.returncode}; stderr tail:\n"
                            f"{_tail(stderr_path)}")
            try:
                info = _get_json(f"{base}/server_info")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"dagster-webserver did not answer {base}/server_info within {STARTUP_TIMEOUT:.0f} s; "
                            f"stderr tail:\n{_tail(stderr_path)}")
            time.sleep(0.5)
        assert "dagster_webserver_version" in info, info
        yield base
    finally:
        _stop(proc)


def _loaded_workspace(base: str, timeout: float = STARTUP_TIMEOUT) -> dict:
    """workspaceOrError once no location is still LOADING."""
    deadline = time.monotonic() + timeout
    while True:
        workspace = _graphql(base, WORKSPACE_QUERY)["workspaceOrError"]
        entries = workspace.get("locationEntries") or []
        if workspace["__typename"] != "Workspace" or all(e["loadStatus"] != "LOADING" for e in entries):
            return workspace
        if time.monotonic() > deadline:
            return workspace
        time.sleep(0.5)


def test_webserver_loads_code_location_and_assets(webserver: str):
    workspace = _loaded_workspace(webserver)
    assert workspace["__typename"] == "Workspace", workspace
    entries = {entry["name"]: entry for entry in workspace["locationEntries"]}
    assert LOCATION in entries, f"code location {LOCATION!r} missing; have {sorted(entries)}"
    entry = entries[LOCATION]
    location = entry["locationOrLoadError"]
    assert location is not None, entry
    assert location["__typename"] == "RepositoryLocation", (
        f"code location {LOCATION!r} failed to load: {location.get('message')}\n{''.join(location.get('stack') or [])}")
    assert entry["loadStatus"] == "LOADED", entry
    assert location["repositories"], location

    assets = _graphql(webserver, ASSETS_QUERY)["assetsOrError"]
    assert assets["__typename"] == "AssetConnection", assets
    keys = {"/".join(node["key"]["path"]) for node in assets["nodes"]}
    missing = EXPECTED_ASSETS - keys
    assert not missing, f"assets missing from the UI: {sorted(missing)}; have {sorted(keys)}"
