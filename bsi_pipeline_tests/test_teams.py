"""Teams joined to the D1 registry: nearest registry year, non-D1 opponents kept and flagged."""

from datetime import date

import polars as pl
import pytest

from bsi_pipeline.ncaa.teams import RegistryError, load_registry, teams_table
from bsi_pipeline_tests.conftest import REGISTRY_FILES


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


def registry_frame(conferences: dict[str, list[str]], year: int = 2023) -> pl.DataFrame:
    rows = [{"academic_year": year, "conference_id": str(100 + i), "conference": conf,
             "ncaa_teams_id": str(1000 + 10 * i + j), "team_name": team}
            for i, (conf, teams) in enumerate(conferences.items()) for j, team in enumerate(teams)]
    return pl.DataFrame(rows).with_columns(pl.col("academic_year").cast(pl.Int32))


def series(season: int, home: str, away: str, day: date, games_in_series: int = 3) -> list[dict]:
    return [{"season": season, "date": day, "home_team": home, "away_team": away}] * games_in_series


def schedule(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"season": pl.Int32, "date": pl.Date, "away_team": pl.String,
                                      "home_team": pl.String})


def round_robin(season: int, teams: list[str], first_weekend: date) -> list[dict]:
    """Every pair of `teams` plays a three-game weekend series, one weekend per pair."""
    rows, weekend = [], 0
    for i, home in enumerate(teams):
        for away in teams[i + 1:]:
            rows += series(season, home, away, date.fromordinal(first_weekend.toordinal() + 7 * weekend))
            weekend += 1
    return rows


def test_the_schedule_corrects_a_conference_the_registry_dates_later():
    """Two teams that left Alpha for Beta after 2021 (as Southern Miss. left Conference USA) are labelled
    Beta by the 2023 registry, but their 2021 series were all against Alpha: the schedule says Alpha, and
    the note says why. Midweek single games and February series are not conference play."""
    alpha, beta = ["A1", "A2", "A3", "A4"], ["B1", "B2", "B3", "B4"]
    registry = registry_frame({"Alpha": alpha, "Beta": beta + ["Mover1", "Mover2"]})
    rows = round_robin(2021, alpha + ["Mover1", "Mover2"], date(2021, 3, 19)) + round_robin(2021, beta, date(2021, 3, 19))
    rows += series(2021, "Mover1", "B1", date(2021, 2, 20))          # non-conference, before mid-March
    rows += series(2021, "Mover2", "B2", date(2021, 4, 7), 1) * 2    # two midweek games
    rows += series(2021, "A1", "Saint Martin's", date(2021, 4, 2))   # a non-D1 opponent
    table = teams_table(schedule(rows), registry)
    rows_by_team = {r["team_name"]: r for r in table.iter_rows(named=True)}
    for mover in ("Mover1", "Mover2"):
        row = rows_by_team[mover]
        assert (row["conference"], row["schedule_conference"]) == ("Beta", "Alpha")
        assert row["series_games"] == 15 and row["series_games_in_conference"] == 15
        assert row["note"] == ("the 2021 schedule says Alpha (15 of 15 series games from mid-March); "
                               "the 2023 registry says Beta")
    for team in alpha + beta:
        assert rows_by_team[team]["schedule_conference"] == rows_by_team[team]["conference"]
        assert rows_by_team[team]["note"] is None
    assert rows_by_team["A1"]["series_games"] == 18  # five conference series and the non-D1 one
    assert not rows_by_team["Saint Martin's"]["is_d1"]
    assert rows_by_team["Saint Martin's"]["schedule_conference"] is None  # never relabelled
    assert "not in the 2023 D1 registry" in rows_by_team["Saint Martin's"]["note"]


def test_a_team_without_conference_play_keeps_its_label():
    """An Ivy League team in 2021 (the league cancelled its season) played a few series elsewhere: too few
    to say it changed conference."""
    registry = registry_frame({"Ivy": ["Penn", "Yale"], "Big East": ["V1", "V2", "V3"]})
    rows = round_robin(2021, ["V1", "V2", "V3"], date(2021, 3, 19))
    rows += series(2021, "V1", "Penn", date(2021, 4, 16)) + series(2021, "Penn", "V2", date(2021, 4, 23))
    row = teams_table(schedule(rows), registry).filter(pl.col("team_name") == "Penn").row(0, named=True)
    assert (row["conference"], row["schedule_conference"], row["series_games"]) == ("Ivy", "Ivy", 6)
    assert row["series_games_in_conference"] == 0 and row["note"] is None


def test_a_plurality_short_of_half_the_series_is_not_enough():
    """A team of a vanished conference plays its old mates, now labelled Alpha, Beta or non-D1: Alpha
    has the most of its series games (12), but not more than half (30), so its label stays."""
    registry = registry_frame({"Alpha": ["A1", "A2", "A3", "A4"], "Beta": ["B1", "B2", "B3"], "Gamma": ["Old"]})
    rows = round_robin(2021, ["A1", "A2", "A3", "A4"], date(2021, 3, 19)) + round_robin(2021, ["B1", "B2", "B3"], date(2021, 3, 19))
    for k, opponent in enumerate(["A1", "A2", "A3", "A4", "B1", "B2", "B3", "X1", "X2", "X3"]):
        rows += series(2021, "Old", opponent, date.fromordinal(date(2021, 3, 16).toordinal() + 7 * k))
    row = teams_table(schedule(rows), registry).filter(pl.col("team_name") == "Old").row(0, named=True)
    assert (row["conference"], row["schedule_conference"], row["series_games"]) == ("Gamma", "Gamma", 30)
    assert row["note"] is None



def test_a_team_the_registry_does_not_list_takes_its_schedules_conference():
    """Furman dropped baseball before the 2023 registry: its 2019 conference season against Alpha makes it
    Alpha; in 2020 (stopped before mid-March, no series) it keeps 2019's Alpha. Hartford, listed as
    independent (in no conference) by the later registry, played Beta's season: it is Beta. A non-D1
    opponent's one series, and an unlisted team or an independent whose series are split with no majority,
    keep what the registry says (nothing, or independent)."""
    alpha, beta = ["A1", "A2", "A3", "A4", "A5", "A6", "A7"], ["B1", "B2", "B3", "B4", "B5", "B6"]
    registry = registry_frame({"Alpha": alpha, "Beta": beta, "DI Independent": ["Hartford", "Loner"]})
    rows = round_robin(2019, alpha + ["Furman"], date(2019, 3, 16))
    rows += round_robin(2019, beta + ["Hartford"], date(2019, 3, 16))
    rows += series(2019, "A1", "Saint Martin's", date(2019, 4, 2))
    for k, opponent in enumerate(["A1", "A2", "A3", "B1", "B2", "B3"]):  # 9 of 18 against Alpha: not a majority
        rows += series(2019, "Split", opponent, date.fromordinal(date(2019, 3, 16).toordinal() + 7 * k))
        rows += series(2019, "Loner", opponent, date.fromordinal(date(2019, 3, 17).toordinal() + 7 * k))
    rows += series(2020, "Furman", "A1", date(2020, 3, 6)) + series(2020, "B1", "Split", date(2020, 3, 6))
    rows += series(2020, "Newcomer", "B2", date(2020, 3, 6))
    table = teams_table(schedule(rows), registry)
    by = {(r["season"], r["team_name"]): r for r in table.iter_rows(named=True)}
    furman = by[(2019, "Furman")]
    assert (furman["conference"], furman["conference_source"], furman["is_d1"]) == ("Alpha", "schedule", True)
    assert furman["conference_id"] == by[(2019, "A1")]["conference_id"] and furman["ncaa_teams_id"] is None
    assert furman["note"] == ("not in the 2023 D1 registry; conference from the 2019 schedule "
                              "(21 of 21 series games from mid-March)")
    carried = by[(2020, "Furman")]
    assert (carried["conference"], carried["conference_source"], carried["is_d1"]) == (
        "Alpha", "previous season's schedule", True)
    assert carried["note"] == ("not in the 2023 D1 registry and no series from mid-March; conference from the "
                               "2019 schedule")
    for key in ((2019, "Saint Martin's"), (2019, "Split"), (2020, "Split"), (2020, "Newcomer")):
        row = by[key]
        assert (row["conference"], row["conference_source"], row["is_d1"]) == (None, None, False), key
        assert row["note"] == "not in the 2023 D1 registry (non-D1 opponent, or a name spelled differently)"
    assert by[(2019, "Split")]["series_games"] == 18
    hartford = by[(2019, "Hartford")]
    assert (hartford["conference"], hartford["conference_source"], hartford["is_d1"]) == ("Beta", "schedule", True)
    assert hartford["conference_id"] == by[(2019, "B1")]["conference_id"]
    assert hartford["note"] == ("the 2023 registry says DI Independent; conference from the 2019 schedule "
                                "(18 of 18 series games from mid-March)")
    loner = by[(2019, "Loner")]
    assert (loner["conference"], loner["conference_source"], loner["is_d1"]) == ("DI Independent", "registry", True)
    assert loner["schedule_conference"] == "DI Independent" and loner["note"] is None
    assert by[(2019, "A1")]["conference_source"] == "registry" and by[(2019, "A1")]["note"] is None


@pytest.mark.slow
def test_realigned_2021_teams_on_the_shared_play_by_play():
    """The 2021 season against the 2023 registry: the moves the schedule shows are real ones."""
    from bsi_pipeline.ncaa.pbp_reader import lines_frame, read_pbp_files
    from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables
    from bsi_pipeline_tests.conftest import shared_pbp_file

    pbp = build_pbp_tables(lines_frame(read_pbp_files([shared_pbp_file(2021)])))
    table = teams_table(pbp.games, load_registry(REGISTRY_FILES))
    says = dict(table.filter(pl.col("is_d1")).select("team_name", "schedule_conference").iter_rows())
    registry = dict(table.filter(pl.col("is_d1")).select("team_name", "conference").iter_rows())
    expected = {"Southern Miss.": "CUSA", "Old Dominion": "CUSA", "Marshall": "CUSA", "James Madison": "CAA",
                "Murray St.": "OVC", "Belmont": "OVC", "Austin Peay": "OVC", "Eastern Ky.": "OVC",
                "Jacksonville St.": "OVC", "UIC": "Horizon", "DBU": "MVC", "Sam Houston": "Southland",
                "Little Rock": "Sun Belt", "UT Arlington": "Sun Belt"}
    assert {team: says[team] for team in expected} == expected
    assert all(registry[team] != conference for team, conference in expected.items())
    # the registry's "DI Independent" is no conference: Hartford's schedule fills it
    hartford = table.filter(pl.col("team_name") == "Hartford").row(0, named=True)
    assert (hartford["conference"], hartford["schedule_conference"], hartford["conference_source"]) == (
        "America East", "America East", "schedule")
    assert hartford["note"].startswith("the 2023 registry says DI Independent; conference from the 2021 schedule")
    # Florida A&M was in the MEAC, a baseball conference the registries no longer have: its series are
    # split between its old mates' new conferences, none with a majority, so the registry label stays.
    for team, conference in {"LSU": "SEC", "Vanderbilt": "SEC", "Texas": "Big 12", "Penn": "Ivy League",
                             "Florida A&M": "SWAC"}.items():
        assert says[team] == registry[team] == conference
    moved = table.filter(pl.col("is_d1") & (pl.col("schedule_conference") != pl.col("conference")))
    assert moved.height == 22  # the 14 above and 8 more, each a real move
    assert moved["note"].str.starts_with("the 2021 schedule says").all()


def test_last_seasons_conference_is_carried_only_into_a_season_without_series():
    """teams._fill_unlisted: an unlisted team keeps its previous season's schedule conference only "in a
    season without series". Furman (not in the registry) plays Alpha's 2019 round robin: Alpha. In 2020 it
    plays two series from mid-March, one against Alpha and one against Beta: 3 of 6 games is no majority,
    and it had series, so nothing is carried: no conference, not D1 (as "Split" in the test above)."""
    alpha, beta = ["A1", "A2", "A3", "A4", "A5", "A6", "A7"], ["B1", "B2", "B3", "B4", "B5", "B6"]
    registry = registry_frame({"Alpha": alpha, "Beta": beta})
    rows = round_robin(2019, alpha + ["Furman"], date(2019, 3, 16))
    rows += round_robin(2020, alpha, date(2020, 3, 14)) + round_robin(2020, beta, date(2020, 3, 14))
    rows += series(2020, "Furman", "A1", date(2020, 3, 20)) + series(2020, "B1", "Furman", date(2020, 3, 27))
    by = {(r["season"], r["team_name"]): r for r in teams_table(schedule(rows), registry).iter_rows(named=True)}
    assert (by[(2019, "Furman")]["conference"], by[(2019, "Furman")]["conference_source"]) == ("Alpha", "schedule")
    furman = by[(2020, "Furman")]
    assert furman["series_games"] == 6
    assert (furman["conference"], furman["conference_source"], furman["is_d1"]) == (None, None, False)
