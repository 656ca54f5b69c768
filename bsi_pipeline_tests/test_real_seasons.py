"""Acceptance on the full shared seasons (../shared/data): reconciliation and classification targets.

Marked slow; they run in CI (`make test`) and skip when the shared data is not beside the checkout.
"""

import polars as pl
import pytest

from bsi_pipeline.linear_weights import event_run_values, player_season_value, run_values, team_woba_slope, woba_weights
from bsi_pipeline.ncaa import box_scores
from bsi_pipeline.ncaa.pbp_reader import file_report_frame, lines_frame, quarantine_frame, read_pbp_files
from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables, parse_summary
from bsi_pipeline.run_expectancy import run_expectancy
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

    # The conference adjustment's conversion (bsi_pipeline.linear_weights): across the season's teams, wOBA
    # moves about woba_scale per run per plate appearance. Measured on every parsed game: 1.120 / 1.066 / 1.044
    # against woba_scale 1.025 / 1.036 / 1.004 for 2019 / 2020 / 2021 (multiplying wOBA by a run ratio assumes
    # about 2.4).
    plays = tables.plays.with_columns(league=pl.lit("ncaa"))
    rv = run_values(plays, run_expectancy(plays))
    weights = woba_weights(event_run_values(rv), plays)
    hitting = player_season_value(plays, weights).hitting
    slope = team_woba_slope(hitting, plays, weights).row(0, named=True)
    assert slope["teams"] >= 200 and abs(slope["slope"] / slope["woba_scale"] - 1) < 0.1, slope
