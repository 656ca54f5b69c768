"""Acceptance on the full shared seasons (../shared/data): reconciliation and classification targets.

Marked slow; they run in CI (`make test`) and skip when the shared data is not beside the checkout.
"""

import polars as pl
import pytest

from bsi_pipeline.ncaa import box_scores
from bsi_pipeline.ncaa.pbp_reader import file_report_frame, lines_frame, quarantine_frame, read_pbp_files
from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables, parse_summary
from bsi_pipeline_tests.conftest import shared_pbp_file

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("season", [2019, 2020, 2021])
def test_full_season_meets_parse_targets(season):
    path = shared_pbp_file(season)
    read = read_pbp_files([path])
    lines, quarantine, files = lines_frame(read), quarantine_frame(read), file_report_frame(read)
    assert files["rows_read"][0] == lines.height + quarantine.height
    assert quarantine["reason"].null_count() == 0

    tables = build_pbp_tables(lines)
    summary = parse_summary(tables.parse_report, tables.plays).row(0, named=True)
    assert summary["season"] == season
    assert summary["reconciled_pct"] >= 98.0, summary
    assert summary["classified_pct"] >= 99.5, summary
    assert tables.plays.height == lines.height

    # Box scores agree with the final score in every reconciled game.
    box = box_scores.box_batting(tables.plays, tables.play_runners)
    runs = box.group_by("game_id", "team").agg(pl.col("R").sum())
    games = tables.games.filter(pl.col("reconciled"))
    for side in ("away", "home"):
        joined = games.join(runs, left_on=["game_id", f"{side}_team"], right_on=["game_id", "team"], how="left")
        wrong = joined.filter(pl.col("R").fill_null(0) != pl.col(f"{side}_score"))
        assert wrong.height == 0, wrong.head(3)
