"""The lake in S3-compatible storage, against a local S3 endpoint (moto's server): the same tables, the
same idempotent rewrites and the same warehouse as on disk, and the whole asset graph run against it."""

from __future__ import annotations

import socket
import uuid

import dagster as dg
import duckdb
import polars as pl
import pytest
import yaml
from dagster_aws.s3 import S3Resource

from bsi_pipeline.catalog import TABLES
from bsi_pipeline.cli import _print_summary
from bsi_pipeline.config import ConfigError, load_settings
from bsi_pipeline.definitions import ASSETS, CHECKS, build_resources
from bsi_pipeline.defs.resources import BsiConfig
from bsi_pipeline.lake import LocalLake, has_table, read_table, unknown_tables, write_table
from bsi_pipeline.lake_s3 import S3Lake, parse_s3_uri
from bsi_pipeline.sources.retrosheet_gamelogs import read_retrosheet_gamelogs
from bsi_pipeline.warehouse import build_warehouse
from bsi_pipeline_tests.conftest import REPO, default_config

server_module = pytest.importorskip("moto.server", reason="moto[server] (a dev dependency) is not installed")
boto3 = pytest.importorskip("boto3")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint():
    """A local S3 endpoint with throwaway credentials, for this module's tests."""
    port = _free_port()
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                            ("AWS_DEFAULT_REGION", "us-east-1")):
            patch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "BSI_STORAGE", "BSI_S3_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(endpoint):
    name = f"bsi-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def mlb_games() -> pl.DataFrame:
    """Every 2008 and 2009 MLB game from the embedded Retrosheet logs: two season partitions."""
    return read_retrosheet_gamelogs(sorted((REPO / "data" / "retrosheet_gamelogs").glob("GL*"))).games


def object_keys(endpoint: str, bucket: str) -> list[str]:
    listing = boto3.client("s3", endpoint_url=endpoint).list_objects_v2(Bucket=bucket)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def test_a_table_round_trips_one_object_per_season(endpoint, bucket, mlb_games):
    lake = S3Lake.from_uri(f"s3://{bucket}/bsi/lake", endpoint_url=endpoint)
    assert not has_table(lake, "games")
    written = write_table(lake, "games", mlb_games)
    assert written == [f"s3://{bucket}/bsi/lake/games/season=2008.parquet",
                       f"s3://{bucket}/bsi/lake/games/season=2009.parquet"]
    assert object_keys(endpoint, bucket) == ["bsi/lake/games/season=2008.parquet", "bsi/lake/games/season=2009.parquet"]
    back = read_table(lake, "games").sort("game_id")
    assert back.height == 4858 and back.equals(mlb_games.sort("game_id"))
    assert lake.location("games") == f"s3://{bucket}/bsi/lake/games/"


def test_a_rewrite_replaces_the_table_and_a_rerun_changes_nothing(endpoint, bucket, mlb_games):
    lake = S3Lake.from_uri(f"s3://{bucket}", endpoint_url=endpoint)
    write_table(lake, "games", mlb_games)
    only_2009 = mlb_games.filter(pl.col("season") == 2009)
    write_table(lake, "games", only_2009)
    assert object_keys(endpoint, bucket) == ["games/season=2009.parquet"]  # the 2008 partition is gone
    first = read_table(lake, "games")
    write_table(lake, "games", only_2009)
    assert object_keys(endpoint, bucket) == ["games/season=2009.parquet"]
    assert read_table(lake, "games").equals(first) and first.height == only_2009.height


def test_a_write_that_fails_on_its_data_leaves_the_previous_table_whole(endpoint, bucket, mlb_games, monkeypatch):
    lake = S3Lake.from_uri(f"s3://{bucket}", endpoint_url=endpoint)
    write_table(lake, "games", mlb_games)
    real, calls = pl.DataFrame.write_parquet, []

    def second_fails(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("cannot serialize the 2009 partition")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", second_fails)
    with pytest.raises(ValueError, match="cannot serialize"):
        write_table(lake, "games", mlb_games.with_columns(home_score=pl.col("home_score") + 1))
    monkeypatch.setattr(pl.DataFrame, "write_parquet", real)
    assert read_table(lake, "games").sort("game_id").equals(mlb_games.sort("game_id"))


class DeniesDeletes:
    """An S3 client whose DeleteObjects answers as S3 does for keys the caller may not delete: HTTP 200, each
    key listed under Errors (boto3 raises nothing)."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def delete_objects(self, Bucket, Delete):
        return {"Errors": [{"Key": o["Key"], "Code": "AccessDenied", "Message": "Access Denied"}
                           for o in Delete["Objects"]]}


def test_a_stale_partition_s3_did_not_delete_is_an_error_naming_it(endpoint, bucket, mlb_games):
    write_table(S3Lake.from_uri(f"s3://{bucket}/lake", endpoint_url=endpoint), "games", mlb_games)
    lake = S3Lake.from_uri(f"s3://{bucket}/lake", client=DeniesDeletes(boto3.client("s3", endpoint_url=endpoint)))
    with pytest.raises(OSError, match=rf"table 'games': S3 did not delete the stale partition\(s\) "
                                      rf"s3://{bucket}/lake/games/season=2008.parquet \(AccessDenied"):
        write_table(lake, "games", mlb_games.filter(pl.col("season") == 2009))


def test_tables_and_prefixes_do_not_see_each_other(endpoint, bucket, mlb_games):
    lake = S3Lake.from_uri(f"s3://{bucket}/a", endpoint_url=endpoint)
    other = S3Lake.from_uri(f"s3://{bucket}/a2", endpoint_url=endpoint)
    write_table(lake, "games", mlb_games.head(10))
    write_table(lake, "games_extra", mlb_games.head(3))
    write_table(other, "games", mlb_games.head(5))
    assert read_table(lake, "games").height == 10
    assert read_table(lake, "games_extra").height == 3
    assert read_table(other, "games").height == 5
    write_table(lake, "games", mlb_games.head(2))  # rewriting "games" leaves games_extra and the other prefix
    assert [read_table(lake, "games_extra").height, read_table(other, "games").height] == [3, 5]
    assert lake.table_names() == ["games", "games_extra"] and other.table_names() == ["games"]
    assert unknown_tables(lake, TABLES) == ["games_extra"]


def test_a_missing_table_is_a_clear_error(endpoint, bucket):
    lake = S3Lake.from_uri(f"s3://{bucket}/lake", endpoint_url=endpoint)
    with pytest.raises(FileNotFoundError, match=r"table 'plays' has no data in s3://.*materialize it first"):
        read_table(lake, "plays")


def test_the_warehouse_over_an_s3_lake_holds_tables(endpoint, bucket, mlb_games, tmp_path):
    lake = S3Lake.from_uri(f"s3://{bucket}/lake", endpoint_url=endpoint)
    write_table(lake, "games", mlb_games)
    write_table(lake, "model_skipped", pl.DataFrame())  # an asset that produced nothing gets no table
    path = tmp_path / "warehouse.duckdb"
    counts = build_warehouse(path, lake, ["games", "model_skipped", "never_written"], {"games": "every game"})
    assert counts == {"games": 4858}
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'games'").fetchall() == [
            ("every game",)]
        assert con.execute("SELECT count(DISTINCT season) FROM games").fetchall() == [(2,)]
    finally:
        con.close()


def _config_with(folder, **keys):
    path = default_config(folder)
    config = yaml.safe_load(path.read_text())
    config.update(keys)
    path.write_text(yaml.safe_dump(config))
    return path


def test_storage_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("BSI_STORAGE", raising=False)
    monkeypatch.delenv("BSI_S3_ENDPOINT_URL", raising=False)
    default = load_settings(default_config(tmp_path))
    assert default.storage == LocalLake(default.workspace / "lake")

    s3 = load_settings(_config_with(tmp_path, storage="s3://warehouse-bucket/bsi/", s3_endpoint_url="http://minio:9000"))
    assert (s3.storage.bucket, s3.storage.prefix, s3.storage.endpoint_url) == ("warehouse-bucket", "bsi",
                                                                                 "http://minio:9000")
    folder = load_settings(_config_with(tmp_path, storage="elsewhere/lake"))
    assert folder.storage == LocalLake(tmp_path / "elsewhere" / "lake")

    monkeypatch.setenv("BSI_STORAGE", "s3://from-env")
    monkeypatch.setenv("BSI_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    assert (folder.storage.bucket, folder.storage.prefix, folder.storage.endpoint_url) == (
        "from-env", "", "http://127.0.0.1:9000")


def test_the_pipeline_makes_its_s3_client_with_dagster_aws(endpoint, bucket, mlb_games, tmp_path, monkeypatch):
    """Assets reach an S3 lake through BsiConfig's dagster-aws S3Resource: its options (here retries) shape
    the client; the endpoint comes from the settings when they name one, else from the resource."""
    monkeypatch.delenv("BSI_STORAGE", raising=False)
    monkeypatch.delenv("BSI_S3_ENDPOINT_URL", raising=False)
    with_endpoint = _config_with(tmp_path, storage=f"s3://{bucket}/lake", s3_endpoint_url=endpoint)
    lake = BsiConfig(config_path=str(with_endpoint), s3=S3Resource(max_attempts=2)).settings().storage
    write_table(lake, "games", mlb_games)
    assert lake.s3.meta.config.retries["total_max_attempts"] == 3 and lake.s3.meta.endpoint_url == endpoint
    assert read_table(S3Lake.from_uri(f"s3://{bucket}/lake", endpoint_url=endpoint), "games").height == 4858

    (tmp_path / "other").mkdir()
    no_endpoint = _config_with(tmp_path / "other", storage=f"s3://{bucket}/lake")
    lake = BsiConfig(config_path=str(no_endpoint), s3=S3Resource(endpoint_url=endpoint)).settings().storage
    assert read_table(lake, "games").height == 4858 and lake.s3.meta.endpoint_url == endpoint


@pytest.mark.parametrize("value, reason", [("s3://", "not an s3://bucket"), ("gs://bucket/x", "only local folders"),
                                           (["s3://a"], "must be a folder or an s3://")])
def test_bad_storage_settings_are_refused(tmp_path, value, reason):
    with pytest.raises(ConfigError, match=reason):
        load_settings(_config_with(tmp_path, storage=value))


def test_parse_s3_uri():
    assert parse_s3_uri("s3://b/x/y/") == ("b", "x/y")
    with pytest.raises(ValueError):
        parse_s3_uri("/local/path")


def test_the_whole_graph_runs_against_s3(endpoint, bucket, tmp_path, capsys):
    """`make run`'s graph (every embedded source) with the lake in S3: every catalog table lands there, none
    on local disk, and the warehouse holds them as tables; re-running the parse leaves its objects as they were."""
    config = _config_with(tmp_path, storage=f"s3://{bucket}/bsi", s3_endpoint_url=endpoint)
    settings = load_settings(config)

    def run():
        with dg.instance_for_test() as instance:
            result = dg.materialize([*ASSETS, *CHECKS], instance=instance, resources=build_resources(str(config)),
                                    raise_on_error=False)
        assert result.success

    run()
    lake = settings.storage
    assert not settings.lake.exists()  # nothing went to the local lake folder
    assert all(lake.has_table(name) for name in TABLES)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert set(TABLES) <= tables
        assert con.execute("SELECT count(*) FROM games WHERE source = 'retrosheet_gamelogs'").fetchall() == [(4858,)]
        read, accepted, quarantined = con.execute(
            "SELECT sum(rows_read), sum(rows_accepted), sum(rows_quarantined) FROM pbp_source_files").fetchall()[0]
        assert read == accepted + quarantined and accepted > 0
        assert con.execute("SELECT count(*) FROM plays").fetchall()[0][0] == accepted
    finally:
        con.close()
    capsys.readouterr()
    _print_summary(settings)  # what `bsi summary` and the end of `make run` print
    summary = capsys.readouterr().out
    assert f"lake:      s3://{bucket}/bsi" in summary
    assert "play-by-play parsing, per season:" in summary
    assert any(line.split()[:1] == ["games"] and line.split()[1].replace(",", "").isdigit()
               for line in summary.splitlines())

    client = boto3.client("s3", endpoint_url=endpoint)

    def snapshot():
        return {o["Key"]: o["ETag"] for o in client.list_objects_v2(Bucket=bucket, Prefix="bsi/plays/")["Contents"]}

    before = snapshot()
    with dg.instance_for_test() as instance:
        again = dg.materialize([*ASSETS, *CHECKS], instance=instance, resources=build_resources(str(config)),
                               selection=["ncaa_pbp_lines", "plays"], raise_on_error=False)
    assert again.success
    assert snapshot() == before and before
