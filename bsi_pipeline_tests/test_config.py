"""The configuration contract: one YAML file, relative paths resolved against it, clear errors."""

import re

import pytest

from bsi_pipeline.config import ConfigError, load_settings
from bsi_pipeline_tests.conftest import EMBEDDED_PBP, REPO


def test_repo_default_config_finds_the_embedded_sample(monkeypatch, tmp_path):
    monkeypatch.delenv("BSI_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./bsi.yaml here: falls back to the repository's
    settings = load_settings()
    assert settings.config_path == REPO / "bsi.yaml"
    assert settings.source_files("ncaa_baseball_pbp") == EMBEDDED_PBP
    assert settings.workspace == (REPO / ".state" / "workspace").resolve()
    assert len(settings.reference_files("ncaa_d1_teams")) == 4


def test_env_variable_and_relative_paths(monkeypatch, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("x")
    (tmp_path / "in" / "b.csv.gz").write_bytes(b"x")
    config = tmp_path / "my.yaml"
    config.write_text("workspace: out\nsources:\n  ncaa_baseball_pbp: ['in/*.csv', 'in/*.gz', 'in/a.csv']\n")
    monkeypatch.setenv("BSI_CONFIG", str(config))
    settings = load_settings()
    assert settings.workspace == tmp_path / "out"
    assert [p.name for p in settings.source_files("ncaa_baseball_pbp")] == ["a.csv", "b.csv.gz"]
    assert settings.warehouse_path == tmp_path / "out" / "warehouse.duckdb"


def test_a_config_folder_with_glob_characters(tmp_path):
    """A checkout in 'bsi [copy]' finds its relative sources (the folder is a path, not a pattern), and
    the files read: the D1 registry CSV, which polars would otherwise take for a pattern too."""
    from bsi_pipeline.ncaa.teams import load_registry

    folder = tmp_path / "bsi [copy]"
    (folder / "data").mkdir(parents=True)
    registry = REPO / "data" / "ncaa_baseball_teams"
    for source in sorted(registry.glob("ncaa_d1_teams_*.csv")):
        (folder / "data" / source.name).write_bytes(source.read_bytes())
    config = folder / "bsi.yaml"
    config.write_text("workspace: out\nreference:\n  ncaa_d1_teams: ['data/ncaa_d1_teams_*.csv']\n")
    files = load_settings(config).reference_files("ncaa_d1_teams")
    assert [p.name for p in files] == [p.name for p in sorted(registry.glob("ncaa_d1_teams_*.csv"))] and files
    assert load_registry(files).height > 0
    # a file named outright, [ ] and all, is that file (a glob would take "[copy]" for one letter)
    config.write_text(f"workspace: out\nreference:\n  ncaa_d1_teams: ['{files[0]}']\n")
    assert load_settings(config).reference_files("ncaa_d1_teams") == files[:1]


@pytest.mark.parametrize("text, message", [
    ("sources: {}\n", "missing required key 'workspace'"),
    ("workspace: w\nsources:\n  soccer_games: [a.csv]\n", "unknown sources kind 'soccer_games'"),
    ("workspace: w\nsources:\n  ncaa_baseball_pbp: 7\n", "must be a list of paths"),
    ("workspace: [unclosed\n", "not valid YAML"),
    ("- a\n- b\n", "expected a mapping"),
    ("workspace: w\nstorgae: s3://bucket/lake\n", r"unknown key\(s\) storgae"),
    ("workspace: w\ns3_endpoint_url: 9000\n", "s3_endpoint_url must be a URL string"),
])
def test_bad_configs_say_what_is_wrong(tmp_path, text, message):
    config = tmp_path / "bsi.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(config)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml")


@pytest.mark.parametrize("value, message", [
    ("gs://bucket/lake", r"\$BSI_STORAGE 'gs://bucket/lake': only local folders and s3:// URIs"),
    ("s3://", r"\$BSI_STORAGE: not an s3://bucket\[/prefix\] URI: 's3://'"),
])
def test_bsi_storage_is_checked_like_the_config_files_storage(tmp_path, monkeypatch, value, message):
    config = tmp_path / "bsi.yaml"
    config.write_text("workspace: w\n")
    monkeypatch.setenv("BSI_STORAGE", value)
    with pytest.raises(ConfigError, match=message):  # at load, before any run starts
        load_settings(config)
    monkeypatch.delenv("BSI_STORAGE")
    settings = load_settings(config)
    monkeypatch.setenv("BSI_STORAGE", value)  # set after loading: refused where it is read
    with pytest.raises(ConfigError, match=message):
        settings.storage


def test_bsi_storage_folder_resolves_against_the_working_directory(tmp_path, monkeypatch):
    config = tmp_path / "bsi.yaml"
    config.write_text("workspace: w\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BSI_STORAGE", "elsewhere/lake")
    assert load_settings(config).storage_uri == str(tmp_path.resolve() / "elsewhere" / "lake")


@pytest.mark.parametrize("text", ["workspace:\n", "workspace: [a, b]\n", "workspace: {x: 1}\n", "workspace: ''\n",
                                  "workspace: '  '\n"])
def test_workspace_must_be_a_non_empty_path(tmp_path, text):
    config = tmp_path / "bsi.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=r"workspace must be a folder path \(a non-empty string\)"):
        load_settings(config)


@pytest.mark.parametrize("text, where, ref", [
    ("workspace: $BSI_TEST_UNSET/ws\n", "workspace", "$BSI_TEST_UNSET"),
    ("workspace: w\nstorage: ${BSI_TEST_UNSET}/lake\n", "storage", "${BSI_TEST_UNSET}"),
    ("workspace: w\nmlflow_uri: sqlite:///$BSI_TEST_UNSET/m.db\n", "mlflow_uri", "$BSI_TEST_UNSET"),
    ("workspace: w\ns3_endpoint_url: http://$BSI_TEST_UNSET:9000\n", "s3_endpoint_url", "$BSI_TEST_UNSET"),
    ("workspace: w\nsources:\n  ncaa_baseball_pbp: [$BSI_TEST_UNSET/*.csv]\n", "sources.ncaa_baseball_pbp",
     "$BSI_TEST_UNSET"),
    ("workspace: w\nreference:\n  ncaa_d1_teams: ${BSI_TEST_UNSET}.csv\n", "reference.ncaa_d1_teams",
     "${BSI_TEST_UNSET}"),
])
def test_an_unset_variable_in_a_path_is_named_not_kept_as_text(tmp_path, monkeypatch, text, where, ref):
    monkeypatch.delenv("BSI_TEST_UNSET", raising=False)
    config = tmp_path / "bsi.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=f"{where}: environment variable {re.escape(ref)} is not set"):
        load_settings(config)


def test_set_variables_expand_in_paths(tmp_path, monkeypatch):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("x")
    monkeypatch.setenv("BSI_TEST_ROOT", str(tmp_path))
    config = tmp_path / "bsi.yaml"
    config.write_text("workspace: ${BSI_TEST_ROOT}/ws\nstorage: $BSI_TEST_ROOT/lake\n"
                      "sources:\n  ncaa_baseball_pbp: [$BSI_TEST_ROOT/in/*.csv]\n")
    settings = load_settings(config)
    assert settings.workspace == tmp_path.resolve() / "ws"
    assert settings.storage_uri == str(tmp_path.resolve() / "lake")
    assert settings.source_files("ncaa_baseball_pbp") == [(tmp_path / "in" / "a.csv").resolve()]
