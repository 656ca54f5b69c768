"""Great Expectations suites catch what would corrupt downstream tables."""

import gzip

import polars as pl
import pytest

from bsi_pipeline import quality
from bsi_pipeline.ncaa.pbp_reader import lines_frame, read_pbp_files
from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables
from bsi_pipeline_tests.conftest import EMBEDDED_PBP


@pytest.fixture(scope="module")
def plays(tmp_path_factory):
    folder = tmp_path_factory.mktemp("q")
    with gzip.open(EMBEDDED_PBP[-1], "rt", newline="") as f:
        head = f.readlines()[:400]
    path = folder / "sample.csv"
    path.write_text("".join(head[:-1]))  # whole real games, last (maybe partial) game aside
    return build_pbp_tables(lines_frame(read_pbp_files([path]))).plays


def failed(df):
    result = quality.validate("plays", quality.plays_frame_for_checks(df), quality.plays_suite())
    return result.passed, {f["expectation"] + ":" + str(f["kwargs"].get("column", f["kwargs"].get("column_list")))
                           for f in result.failures()}


def test_real_plays_pass(plays):
    assert failed(plays) == (True, set())


def test_a_validation_draws_no_progress_bars(plays, capfd):
    """GX's per-validation tqdm bars would fill `make run`'s log, even with tqdm imported before GX."""
    import tqdm  # noqa: F401  (as mlflow and others import it before the checks run)

    capfd.readouterr()
    assert failed(plays)[0]
    out, err = capfd.readouterr()
    assert "Calculating Metrics" not in out + err


def test_duplicate_key_fails(plays):
    ok, what = failed(pl.concat([plays, plays.head(1)]))
    assert not ok and any("compound_columns_to_be_unique" in w for w in what)


def test_out_of_range_outs_and_unknown_event_fail(plays):
    bad = plays.with_columns(
        outs_after=pl.when(pl.col("seq") == 3).then(4).otherwise(pl.col("outs_after")).cast(pl.Int8),
        event_type=pl.when(pl.col("seq") == 4).then(pl.lit("goal")).otherwise(pl.col("event_type")))
    ok, what = failed(bad)
    assert not ok
    assert "expect_column_values_to_be_between:outs_after" in what
    assert "expect_column_values_to_be_in_set:event_type" in what


def test_score_going_backwards_and_date_outside_season_fail(plays):
    first_game = plays["game_id"][0]
    bad = plays.with_columns(
        away_score=pl.when((pl.col("game_id") == first_game) & (pl.col("seq") == 20)).then(-1)
        .otherwise(pl.col("away_score")).cast(pl.Int16),
        date=pl.when(pl.col("seq") == 5).then(pl.date(2021, 11, 1)).otherwise(pl.col("date")))
    ok, what = failed(bad)
    assert not ok
    assert "expect_column_values_to_be_between:score_drop" in what
    assert "expect_column_values_to_be_between:away_score" in what
    assert "expect_column_values_to_be_between:date_month" in what


@pytest.mark.parametrize("table, counts, broken", [
    ("box_batting", quality.BOX_BATTING_COUNTS, ("SB", "SF")),
    ("box_pitching", quality.BOX_PITCHING_COUNTS, ("BF", "pitches")),
])
def test_box_score_suites_cover_every_count_column(tmp_path, table, counts, broken):
    """Real box lines pass; a negative value in any count column fails, naming that column."""
    from bsi_pipeline.ncaa import box_scores

    with gzip.open(EMBEDDED_PBP[-1], "rt", newline="") as f:
        head = f.readlines()[:400]
    path = tmp_path / "sample.csv"
    path.write_text("".join(head[:-1]))
    tables = build_pbp_tables(lines_frame(read_pbp_files([path])))
    box = (box_scores.box_batting(tables.plays, tables.play_runners) if table == "box_batting"
           else box_scores.box_pitching(tables.plays))
    suite = getattr(quality, f"{table}_suite")  # a fresh suite per validation: GX owns the expectations
    assert set(counts) <= set(box.columns) and box.height > 0
    assert quality.validate(table, box, suite()).passed
    for column in broken:
        bad = box.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(-1).otherwise(pl.col(column))
                               .cast(box.schema[column]).alias(column))
        result = quality.validate(table, bad, suite())
        assert not result.passed
        assert [f["kwargs"]["column"] for f in result.failures()] == [column]

