"""Teams joined to the D1 registry: nearest registry year, non-D1 opponents kept and flagged."""

from datetime import date

import polars as pl
import pytest

from bsi_pipeline.ncaa.teams import RegistryError, load_registry, teams_table
from bsi_pipeline_tests.conftest import REPO

REGISTRY_FILES = sorted((REPO / "data" / "ncaa_baseball_teams").glob("ncaa_d1_teams_*.csv"))


def games(rows):
    return pl.DataFrame(
        [{"season": s, "date": date(s, 3, 1), "away_team": a, "home_team": h} for s, a, h in rows],
        schema={"season": pl.Int32, "date": pl.Date, "away_team": pl.String, "home_team": pl.String})


def test_conferences_from_the_nearest_registry_and_non_d1_flagged():
    registry = load_registry(REGISTRY_FILES)
    table = teams_table(games([
        (2021, "LSU", "Texas"), (2021, "Saint Martin's", "Utah Tech"), (2025, "Texas", "LSU"),
        (2021, "Texas A&M", "St. John's (NY)"),
    ]), registry)
    rows = {(r["season"], r["team_name"]): r for r in table.iter_rows(named=True)}
    assert rows[(2021, "LSU")]["conference"] == "SEC" and rows[(2021, "LSU")]["registry_year"] == 2023
    assert rows[(2021, "Texas")]["conference"] == "Big 12"
    assert rows[(2025, "Texas")]["conference"] == "SEC" and rows[(2025, "Texas")]["registry_year"] == 2025
    st_martins = rows[(2021, "Saint Martin's")]
    assert not st_martins["is_d1"] and st_martins["conference"] is None
    assert "not in the 2023 D1 registry" in st_martins["note"]
    assert rows[(2021, "LSU")]["team_id"] == "baseball:ncaa:2021:team:lsu"
    assert rows[(2021, "LSU")]["games"] == 1
    # the registry spells these with HTML entities; they must still match the play-by-play names
    assert rows[(2021, "Texas A&M")]["conference"] == "SEC"
    assert rows[(2021, "St. John's (NY)")]["conference"] == "Big East"


def test_registry_missing_a_column_or_listing_a_team_twice(tmp_path):
    bad = tmp_path / "r.csv"
    bad.write_text("academic_year,conference,team_name\n2024,SEC,LSU\n")
    with pytest.raises(RegistryError, match="missing required column"):
        load_registry([bad])
    twice = tmp_path / "t.csv"
    twice.write_text("academic_year,conference_id,conference,ncaa_teams_id,team_name\n"
                     "2024,911,SEC,1,LSU\n2024,911,SEC,2,LSU\n")
    with pytest.raises(RegistryError, match="'LSU' listed twice in the 2024 registry"):
        load_registry([twice])
