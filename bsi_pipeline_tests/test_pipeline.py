"""The whole asset graph materialized on the embedded real sample, then queried like an analyst would."""

import hashlib

import dagster as dg
import duckdb
import polars as pl
import pytest

from bsi_pipeline.catalog import TABLES
from bsi_pipeline.config import load_settings
from bsi_pipeline.definitions import ASSETS, CHECKS, build_resources, defs
from bsi_pipeline.lake import read_table
from bsi_pipeline.sources.registry import GAME_SOURCES
from bsi_pipeline_tests.conftest import EMBEDDED_PBP, write_config


def materialize(config_path, selection=None):
    with dg.instance_for_test() as instance:
        return dg.materialize([*ASSETS, *CHECKS], selection=selection, instance=instance,
                              resources=build_resources(str(config_path)), raise_on_error=False)


def lake_digest(lake) -> dict[str, str]:
    return {p.relative_to(lake).as_posix(): hashlib.sha256(
        pl.read_parquet(p, glob=False).write_ndjson().encode()).hexdigest() for p in sorted(lake.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline")
    config = write_config(folder, EMBEDDED_PBP)
    result = materialize(config)
    return result, load_settings(config)


@pytest.fixture(scope="module")
def con(run):
    _, settings = run
    connection = duckdb.connect(str(settings.warehouse_path), read_only=True)
    yield connection
    connection.close()


def q(con, sql):
    return con.execute(sql).fetchall()


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def test_everything_materializes_and_every_check_passes(run):
    result, _ = run
    assert result.success
    evaluations = [e.asset_check_evaluation_data for e in result.all_events
                   if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert {e.check_name for e in evaluations} == {
        "plays_quality", "games_quality", "box_batting_quality", "box_pitching_quality",
        "features_games_quality", "features_pitcher_starts_quality", "features_batted_balls_quality"}
    assert all(e.passed for e in evaluations)


def test_warehouse_has_a_view_per_table(con):
    views = {r[0] for r in q(con, "SELECT view_name FROM duckdb_views() WHERE NOT internal")}
    assert set(TABLES) <= views
    assert q(con, "SELECT count(*) FROM ncaa_pbp_games")[0][0] == 524
    assert q(con, "SELECT count(*) FROM games WHERE source = 'ncaa_baseball_pbp'")[0][0] == 524


def test_counts_in_equal_accepted_plus_quarantined(con):
    rows_read, accepted, quarantined = q(con, """
        SELECT sum(rows_read), sum(rows_accepted), sum(rows_quarantined) FROM pbp_source_files""")[0]
    assert rows_read == accepted + quarantined
    assert accepted == q(con, "SELECT count(*) FROM ncaa_pbp_lines")[0][0] == q(con, "SELECT count(*) FROM plays")[0][0]
    assert quarantined == q(con, "SELECT count(*) FROM pbp_quarantine")[0][0]


def test_every_source_game_is_in_games_or_games_excluded(con):
    sources = ["ncaa_pbp_games", *(f"{kind}_games" for kind in GAME_SOURCES)]
    read = sum(q(con, f"SELECT count(*) FROM {table}")[0][0] for table in sources)
    games, excluded = (q(con, f"SELECT count(*) FROM {table}")[0][0] for table in ("games", "games_excluded"))
    assert read == games + excluded and games > 0


def test_reconciliation_rate_on_the_sample(con):
    for season, pct, classified in q(con, "SELECT season, reconciled_pct, classified_pct FROM pbp_parse_summary"):
        assert pct >= 98.0, season
        assert classified >= 99.5, season


def test_box_score_runs_equal_final_score_for_reconciled_games(con):
    bad = q(con, """
        WITH runs AS (SELECT game_id, team, sum(R) AS r FROM box_batting GROUP BY ALL)
        SELECT g.game_id, g.away_score, a.r, g.home_score, h.r
        FROM ncaa_pbp_games g JOIN pbp_parse_report p USING (game_id)
        LEFT JOIN runs a ON a.game_id = g.game_id AND a.team = g.away_team
        LEFT JOIN runs h ON h.game_id = g.game_id AND h.team = g.home_team
        WHERE p.status = 'reconciled'
          AND (coalesce(a.r, 0) <> g.away_score OR coalesce(h.r, 0) <> g.home_score)""")
    assert bad == []


def test_box_batting_is_consistent_with_plays(con):
    pa_plays = q(con, "SELECT count(*) FROM plays WHERE is_plate_appearance")[0][0]
    pa_box, h, ab = q(con, "SELECT sum(PA), sum(H), sum(AB) FROM box_batting")[0]
    assert pa_box == pa_plays
    assert 0.2 < h / ab < 0.35  # a college batting average, not an artefact
    assert q(con, "SELECT count(*) FROM box_batting WHERE H > AB OR HR > H OR AB < 0")[0][0] == 0


def test_box_pitching_outs_match_innings(con):
    # In reconciled games every out is recorded by some pitcher when all of a team's pitchers are known.
    rows = q(con, """
        WITH known AS (
            SELECT game_id, fielding_team FROM plays WHERE line_kind = 'play'
            GROUP BY ALL HAVING count(*) FILTER (pitcher IS NULL) = 0)
        SELECT sum(b.outs_recorded), (SELECT sum(outs_after - outs_before) FROM plays p
                                      JOIN known k USING (game_id, fielding_team) WHERE p.line_kind = 'play')
        FROM box_pitching b JOIN known k ON k.game_id = b.game_id AND k.fielding_team = b.team""")
    assert rows[0][0] is not None and rows[0][0] == rows[0][1]
    assert q(con, "SELECT count(*) FROM box_pitching WHERE pitches IS NOT NULL")[0][0] > 0


def test_teams_carry_conferences(con):
    confs = dict(q(con, "SELECT team_name, conference FROM teams WHERE season = 2021"))
    assert confs["LSU"] == "SEC" and confs["Texas"] == "Big 12"


def test_every_event_type_is_in_the_vocabulary_and_plays_are_ordered(con):
    assert q(con, "SELECT count(*) FROM (SELECT game_id, seq FROM plays GROUP BY ALL HAVING count(*) > 1)")[0][0] == 0
    assert q(con, "SELECT min(outs_before), max(outs_after) FROM plays")[0] == (0, 3)


def test_rematerializing_is_idempotent(run):
    _, settings = run
    before = lake_digest(settings.lake)
    result = materialize(settings.config_path)
    assert result.success
    assert lake_digest(settings.lake) == before
    plays = read_table(settings.lake, "plays")
    assert plays.select("game_id", "seq").is_duplicated().sum() == 0


def test_the_warehouse_reports_lake_tables_no_asset_writes(tmp_path):
    """A table left by a renamed asset stays out of the warehouse, is named in the asset's metadata, and is
    not deleted (it may be somebody's)."""
    from bsi_pipeline.defs.warehouse import warehouse
    from bsi_pipeline.lake import unknown_tables, write_table

    config = write_config(tmp_path, EMBEDDED_PBP)
    settings = load_settings(config)
    write_table(settings.lake, "games", pl.DataFrame({"season": [2021], "game_id": ["g1"]}))
    write_table(settings.lake, "games_v0", pl.DataFrame({"season": [2020], "game_id": ["old"]}))
    write_table(settings.lake, "model_mlb_home_win", pl.DataFrame({"x": [1]}))  # an asset's own output
    (settings.lake / "empty_folder").mkdir()
    assert unknown_tables(settings.lake, TABLES) == ["games_v0", "model_mlb_home_win"]
    with dg.instance_for_test() as instance:
        result = dg.materialize([warehouse], instance=instance, resources=build_resources(str(config)))
    metadata = result.asset_materializations_for_node("warehouse")[0].metadata
    assert metadata["unknown_lake_tables"].value == "games_v0"
    assert metadata["rows_games"].value == 1
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        assert q(con, "SELECT view_name FROM duckdb_views() WHERE NOT internal") == [("games",)]
    finally:
        con.close()
    assert read_table(settings.lake, "games_v0").height == 1
