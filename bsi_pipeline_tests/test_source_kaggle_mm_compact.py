"""Kaggle March Mania compact results: real 2018 games, the neutral-site convention, accounting, bad rows.

Expected values were checked by hand against the raw rows in fixtures/kaggle_mm_compact (2018 DayZero
is 10/30/2017 in MSeasons.csv).
"""

from __future__ import annotations

import gzip
import shutil
import zlib
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from bsi_pipeline.sources.common import TRUNCATED_GZIP_NOTE, SourceFormatError
from bsi_pipeline.sources.kaggle_mm_compact import DETAILS_SCHEMA, read_kaggle_mm_compact
from bsi_pipeline_tests.conftest import FIXTURES, SHARED_DATA
from bsi_pipeline_tests.source_helpers import check_file_accounting, check_schemas, detail, game

FIXTURE = FIXTURES / "kaggle_mm_compact"
REGULAR = "MRegularSeasonCompactResults_2018.csv"
TOURNEY = "MNCAATourneyCompactResults_2018.csv"
HEADER = "Season,DayNum,WTeamID,WScore,LTeamID,LScore,WLoc,NumOT"


def fixture_paths() -> list[Path]:
    return sorted(FIXTURE.iterdir())


@pytest.fixture(scope="module")
def result():
    return read_kaggle_mm_compact(fixture_paths())


def check_accounting(res, data_rows: dict[str, int]) -> None:
    files = {r["source_file"]: r for r in res.files.to_dicts()}
    check_file_accounting(res, data_rows)
    results = [f for f in files.values() if f["note"].startswith("results")]
    assert sum(f["rows_accepted"] for f in results) == res.games.height == res.details.height
    assert res.games.get_column("game_id").is_unique().all()
    assert res.games.get_column("game_id").sort().to_list() == res.details.get_column("game_id").sort().to_list()


def test_schemas(result):
    check_schemas(result, DETAILS_SCHEMA)


def test_home_win_butler_beats_villanova(result):
    # raw: 2018,61,1139,101,1437,93,H,0 -> Butler (1139) won at home, 10/30/2017 + 61 days
    g = game(result, "2018-61-1139-1437")
    assert g == {
        "game_id": "basketball:ncaam:2018:game:2018-61-1139-1437", "sport": "basketball", "league": "ncaam",
        "season": 2018, "date": date(2017, 12, 30), "away_team": "Villanova", "home_team": "Butler",
        "away_score": 93, "home_score": 101, "neutral": False, "away_conference": "Big East Conference",
        "home_conference": "Big East Conference", "game_type": "regular", "location": None,
        "source": "kaggle_mm_compact", "source_game_id": "2018-61-1139-1437",
    }
    d = detail(result, "2018-61-1139-1437")
    assert (d["season"], d["day_num"], d["home_team_id"], d["away_team_id"], d["winner_team_id"]) == (
        2018, 61, 1139, 1437, 1139)
    assert (d["wloc"], d["num_ot"], d["tournament"], d["home_seed"], d["away_seed"]) == ("H", 0, None, None, None)


def test_away_win_seton_hall_at_butler(result):
    # raw: 2018,68,1371,90,1139,87,A,0 -> Seton Hall (1371) won away, so Butler was at home
    g = game(result, "2018-68-1371-1139")
    assert (g["date"], g["home_team"], g["home_score"], g["away_team"], g["away_score"], g["neutral"]) == (
        date(2018, 1, 6), "Butler", 87, "Seton Hall", 90, False)
    assert detail(result, "2018-68-1371-1139")["winner_team_id"] == 1371


def test_neutral_site_lower_team_id_is_home(result):
    # raw: 2018,137,1420,74,1438,54,N,0 -> UMBC (1420) over Virginia (1438); 1420 < 1438, UMBC listed home
    g = game(result, "2018-137-1420-1438")
    assert (g["date"], g["home_team"], g["home_score"], g["away_team"], g["away_score"]) == (
        date(2018, 3, 16), "UMBC", 74, "Virginia", 54)
    assert g["neutral"] is True and g["game_type"] == "postseason"
    assert (g["home_conference"], g["away_conference"]) == ("America East Conference", "Atlantic Coast Conference")
    d = detail(result, "2018-137-1420-1438")
    assert (d["home_seed"], d["away_seed"], d["tournament"], d["wloc"]) == ("Y16", "Y01", "NCAA", "N")
    # the final, raw 2018,154,1437,79,1276,62,N,0: the loser Michigan (1276) has the lower id -> home
    g = game(result, "2018-154-1437-1276")
    assert (g["date"], g["home_team"], g["home_score"], g["away_team"], g["away_score"]) == (
        date(2018, 4, 2), "Michigan", 62, "Villanova", 79)
    d = detail(result, "2018-154-1437-1276")
    assert (d["home_team_id"], d["away_team_id"], d["winner_team_id"]) == (1276, 1437, 1437)
    assert (d["home_seed"], d["away_seed"]) == ("Z03", "W01")


def test_big_east_final_in_overtime(result):
    # raw: 2018,131,1437,76,1344,66,N,1 -> Villanova over Providence in OT, in the regular-season file
    g = game(result, "2018-131-1437-1344")
    assert (g["date"], g["home_team"], g["away_team"], g["neutral"], g["game_type"]) == (
        date(2018, 3, 10), "Providence", "Villanova", True, "regular")
    d = detail(result, "2018-131-1437-1344")
    assert d["num_ot"] == 1 and d["home_seed"] is None  # seeds only on NCAA tournament games


def test_accounting_and_file_roles(result):
    check_accounting(result, {REGULAR: 35, TOURNEY: 5, "MTeams.csv": 11, "MSeasons.csv": 2,
                              "MTeamConferences.csv": 11, "Conferences.csv": 6, "MNCAATourneySeeds.csv": 11})
    assert result.quarantine.height == 0
    assert result.games.height == 40
    counts = dict(result.games.group_by("game_type").len().iter_rows())
    assert counts == {"regular": 35, "postseason": 5}
    notes = dict(result.files.select("source_file", "note").iter_rows())
    assert notes["README.md"] == "not used"
    assert notes[REGULAR] == "results: regular season" and notes[TOURNEY] == "results: NCAA tournament"
    assert notes["MTeams.csv"].startswith("reference")


def test_file_order_does_not_matter(result):
    again = read_kaggle_mm_compact(list(reversed(fixture_paths())))
    assert again.games.sort("game_id").equals(result.games.sort("game_id"))


def copy_fixture(tmp_path: Path, skip: tuple[str, ...] = ()) -> Path:
    folder = tmp_path / "mbb"
    folder.mkdir()
    for p in FIXTURE.glob("*.csv"):
        if p.name not in skip:
            shutil.copy(p, folder / p.name)
    return folder


@pytest.mark.parametrize("missing", ["MTeams.csv", "MSeasons.csv"])
def test_results_without_companion_file(tmp_path, missing):
    folder = copy_fixture(tmp_path, skip=(missing,))
    with pytest.raises(SourceFormatError, match=missing):
        read_kaggle_mm_compact(sorted(folder.iterdir()))


def test_optional_companions_absent(tmp_path):
    folder = copy_fixture(tmp_path, skip=("MTeamConferences.csv", "Conferences.csv", "MNCAATourneySeeds.csv"))
    res = read_kaggle_mm_compact(sorted(folder.iterdir()))
    assert res.games.height == 40
    assert res.games.get_column("home_conference").null_count() == 40
    assert res.details.get_column("home_seed").null_count() == 40


def test_conference_abbreviation_when_not_described(tmp_path):
    folder = copy_fixture(tmp_path, skip=("Conferences.csv",))
    res = read_kaggle_mm_compact(sorted(folder.iterdir()))
    assert game(res, "2018-61-1139-1437")["home_conference"] == "big_east"


def test_bad_rows_are_quarantined_with_reasons(tmp_path):
    folder = copy_fixture(tmp_path)
    real = (FIXTURE / REGULAR).read_text().splitlines()
    assert real[2] == "2018,61,1139,101,1437,93,H,0"
    damaged = [
        "2018,61,9999,101,1437,93,H,0",       # unknown TeamID
        "2018,61,1139,93,1437,101,H,0",       # winner score below loser score
        "2018,61,1139,93,1437,93,H,0",        # equal scores
        "2018,61,1139,101,1437,93,X,0",       # bad WLoc
        "2019,61,1139,101,1437,93,H,0",       # season not in MSeasons.csv
        "2018,61,1139,101,1437,93,H",         # a field short
        "2018,61,1139,abc,1437,93,H,0",       # non-numeric score
        "2018,61,1139,101,1139,93,H,0",       # same team on both sides
        real[2],                               # duplicate of line 3
        "2018,61,1139,80,1166,70,H,0",        # Butler already played that day
    ]
    (folder / REGULAR).write_text("\n".join(real + damaged) + "\n")
    res = read_kaggle_mm_compact(sorted(folder.iterdir()))
    q = res.quarantine.filter(pl.col("source_file") == REGULAR).sort("line_no")
    assert q.get_column("line_no").to_list() == list(range(37, 47))
    reasons = q.get_column("reason").to_list()
    expected = [
        "unknown TeamID 9999 (not in MTeams.csv)",
        "winner score 93 is not above loser score 101",
        "winner score 93 is not above loser score 93",
        "WLoc 'X' is not H, A or N",
        "season 2019 is not in MSeasons.csv",
        "expected 8 fields, found 7",
        "WScore 'abc' is not a number",
        "team 1139 on both sides",
        f"duplicate game: 2018-61-1139-1437 already read from {REGULAR} line 3",
        "team 1139 (Butler) already has a game on day 61 of 2018",
    ]
    for reason, want in zip(reasons, expected, strict=True):
        assert reason.startswith(want), (reason, want)
    assert q.get_column("raw").to_list() == damaged
    assert q.get_column("source_game_id")[0] == "2018-61-9999-1437"
    check_accounting(res, {REGULAR: 45, TOURNEY: 5})
    assert res.games.height == 40


def test_values_beyond_the_tables_columns_are_quarantined(tmp_path):
    """A score, an overtime count or an id too large for the games/details columns (Int16, Int8, Int32) used
    to stop the whole read with a polars overflow."""
    folder = copy_fixture(tmp_path)
    real = (FIXTURE / REGULAR).read_text().splitlines()
    damaged = [
        "2018,61,1139,40000,1437,93,H,0",       # score
        "2018,61,1139,101,1437,93,H,300",        # overtimes
        "2018,61,1139,101,99999999999,93,H,0",   # a team id beyond 32 bits
    ]
    (folder / REGULAR).write_text("\n".join(real + damaged) + "\n")
    res = read_kaggle_mm_compact(sorted(folder.iterdir()))
    q = res.quarantine.filter(pl.col("source_file") == REGULAR).sort("line_no")
    assert q.get_column("reason").to_list() == [
        "score 40000-93 is above 250", "NumOT 300 is above 10", "LTeamID '99999999999' is not a number"]
    assert q.get_column("line_no").to_list() == [37, 38, 39]
    check_accounting(res, {REGULAR: 38, TOURNEY: 5})


def test_a_companion_file_given_twice_keeps_the_first_copy(tmp_path):
    """A second MTeams.csv (from another folder) used to overwrite the first one's names silently."""
    folder = copy_fixture(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    teams = (FIXTURE / "MTeams.csv").read_text().splitlines()
    renamed = [teams[0], *[line.replace("Butler", "Butler Again") for line in teams[1:]]]
    (other / "MTeams.csv").write_text("\n".join(renamed) + "\n")
    res = read_kaggle_mm_compact([*sorted(folder.iterdir()), other / "MTeams.csv"])
    names = set(res.games["home_team"]) | set(res.games["away_team"])
    assert "Butler" in names and "Butler Again" not in names
    files = res.files.filter(pl.col("source_file").str.ends_with("MTeams.csv")).sort("rows_quarantined").to_dicts()
    assert [(f["source_file"], f["rows_accepted"], f["rows_quarantined"]) for f in files] == [
        ("mbb/MTeams.csv", len(teams) - 1, 0), ("other/MTeams.csv", 0, len(teams) - 1)]
    butler_line = next(k for k, line in enumerate(teams, start=1) if line.startswith("1139,"))
    (reason,) = res.quarantine.filter(pl.col("raw").str.starts_with("1139,"))["reason"].to_list()
    assert reason == f"TeamID 1139 already listed at mbb/MTeams.csv line {butler_line}"


def test_bad_companion_rows_are_quarantined(tmp_path):
    folder = copy_fixture(tmp_path)
    teams = (folder / "MTeams.csv").read_text()
    (folder / "MTeams.csv").write_text(teams + "1139,Butler Again,1985,2025\nx,Nobody,1985,2025\n")
    seasons = (folder / "MSeasons.csv").read_text()
    (folder / "MSeasons.csv").write_text(seasons + "2019,31/31/2018,East,West,Midwest,South\n")
    res = read_kaggle_mm_compact(sorted(folder.iterdir()))
    q = res.quarantine.sort("source_file", "line_no").select("source_file", "line_no", "reason").rows()
    assert q == [
        ("MSeasons.csv", 4, "DayZero '31/31/2018' is not a date (MM/DD/YYYY or YYYY-MM-DD)"),
        ("MTeams.csv", 13, "TeamID 1139 already listed at line 2"),
        ("MTeams.csv", 14, "TeamID 'x' is not a number"),
    ]
    assert game(res, "2018-61-1139-1437")["home_team"] == "Butler"  # the first listing wins
    check_accounting(res, {"MTeams.csv": 13, "MSeasons.csv": 3, REGULAR: 35})


def test_undecodable_bytes_quarantine_the_row(tmp_path):
    # Real rows with a byte that is not UTF-8. The Big East description used to be decoded with U+FFFD and
    # accepted, so the games showed a made-up conference name; now the row is quarantined (the games fall
    # back to the abbreviation), as the other readers do. A results row is quarantined the same way.
    folder = copy_fixture(tmp_path)
    conferences = (FIXTURE / "Conferences.csv").read_bytes().split(b"\n")
    assert conferences[3] == b"big_east,Big East Conference"
    conferences[3] = b"big_east,Big East Conf\xffrence"
    (folder / "Conferences.csv").write_bytes(b"\n".join(conferences))
    results = (FIXTURE / REGULAR).read_bytes().split(b"\n")
    assert results[2] == b"2018,61,1139,101,1437,93,H,0"
    results[2] = b"2018,61,1139,101,1437,93,H\xff,0"
    (folder / REGULAR).write_bytes(b"\n".join(results))
    res = read_kaggle_mm_compact(sorted(folder.iterdir()))
    bad = "row holds bytes that are not valid UTF-8"
    assert res.quarantine.sort("source_file").select("source_file", "line_no", "reason", "raw").rows() == [
        ("Conferences.csv", 4, bad, "big_east,Big East Conf\\xffrence"),
        (REGULAR, 3, bad, "2018,61,1139,101,1437,93,H\\xff,0"),
    ]
    check_accounting(res, {"Conferences.csv": 6, REGULAR: 35, TOURNEY: 5})
    files = {r["source_file"]: r for r in res.files.to_dicts()}
    assert (files["Conferences.csv"]["rows_accepted"], files[REGULAR]["rows_accepted"]) == (5, 34)
    assert res.games.height == 39
    assert game(res, "2018-68-1371-1139")["home_conference"] == "big_east"  # Butler, description quarantined


def test_gzip_file_and_truncated_gzip(tmp_path, result):
    folder = copy_fixture(tmp_path)
    packed = gzip.compress((FIXTURE / REGULAR).read_bytes())
    (folder / REGULAR).write_bytes(packed)  # gzip content under the usual name
    res = read_kaggle_mm_compact(sorted(folder.iterdir()))
    assert res.games.sort("game_id").equals(result.games.sort("game_id"))
    # cut short: the rows read so far are kept, the last one (it may be cut) is quarantined
    (folder / REGULAR).write_bytes(packed[: len(packed) // 2])
    text = zlib.decompressobj(wbits=31).decompress(packed[: len(packed) // 2]).decode()
    n_rows = len(text.splitlines()) - 1
    assert 5 < n_rows < 35
    res = read_kaggle_mm_compact(sorted(folder.iterdir()))
    check_accounting(res, {REGULAR: n_rows, TOURNEY: 5})
    f = res.files.filter(pl.col("source_file") == REGULAR).row(0, named=True)
    assert f["note"] == f"results: regular season; {TRUNCATED_GZIP_NOTE}"
    assert (f["rows_accepted"], f["rows_quarantined"]) == (n_rows - 1, 1)
    (q,) = res.quarantine.to_dicts()
    assert (q["line_no"], q["reason"]) == (n_rows + 1, f"last row of a truncated file ({TRUNCATED_GZIP_NOTE})")
    assert res.games.height == n_rows - 1 + 5


def test_whole_file_problems(tmp_path):
    folder = copy_fixture(tmp_path)
    (folder / REGULAR).write_text(HEADER.replace(",WLoc", "") + "\n2018,61,1139,101,1437,93,0\n")
    with pytest.raises(SourceFormatError, match=f"{REGULAR}: missing required column.*WLoc"):
        read_kaggle_mm_compact(sorted(folder.iterdir()))
    (folder / REGULAR).write_text("")
    with pytest.raises(SourceFormatError, match="empty file"):
        read_kaggle_mm_compact(sorted(folder.iterdir()))
    (folder / REGULAR).unlink()
    (folder / "MTeams.csv").write_text("TeamID,Name\n1139,Butler\n")
    with pytest.raises(SourceFormatError, match="MTeams.csv: missing required column.*TeamName"):
        read_kaggle_mm_compact(sorted(folder.iterdir()))


def test_other_files_are_listed_not_used(tmp_path):
    folder = copy_fixture(tmp_path)
    (folder / "WRegularSeasonCompactResults.csv").write_text(HEADER + "\n2018,61,3139,70,3437,60,H,0\n")
    (folder / "MRegularSeasonDetailedResults.csv").write_text("Season,DayNum\n2018,61\n")
    res = read_kaggle_mm_compact(sorted(folder.iterdir()))
    notes = dict(res.files.select("source_file", "note").iter_rows())
    assert notes["WRegularSeasonCompactResults.csv"] == "not used"
    assert notes["MRegularSeasonDetailedResults.csv"] == "not used"
    assert res.games.height == 40


SHARED_MBB = SHARED_DATA / "ncaa_mbb"


@pytest.mark.slow
def test_full_shared_files():
    paths = sorted(SHARED_MBB.glob("*.csv"))
    names = {p.name for p in paths}
    needed = {"MRegularSeasonCompactResults_2017_2018.csv", "MNCAATourneyCompactResults_1985_2018.csv",
              "MTeams.csv", "MSeasons.csv"}
    if not needed <= names:
        pytest.skip(f"shared real data not present: {SHARED_MBB}")
    res = read_kaggle_mm_compact(paths)
    check_accounting(res, {"MRegularSeasonCompactResults_2017_2018.csv": 10800,
                           "MNCAATourneyCompactResults_1985_2018.csv": 2184})
    assert res.quarantine.height == 0
    by = {(s, t): n for s, t, n in res.games.group_by("season", "game_type").len().iter_rows()}
    assert by[(2017, "regular")] == 5395 and by[(2018, "regular")] == 5405
    assert all(by[(s, "postseason")] == 67 for s in range(2011, 2019))  # First Four from 2011
    assert all(by[(s, "postseason")] == 63 for s in range(1985, 2001))  # 64 teams, no play-in game
    g = res.games
    assert g.filter(pl.col("game_type") == "postseason").get_column("neutral").all()  # all NCAA games are N
    regular = g.filter(pl.col("game_type") == "regular")
    assert regular.get_column("neutral").sum() == 1216  # WLoc N in the 2017-18 regular seasons
    assert g.get_column("home_conference").null_count() == 0 and g.get_column("away_conference").null_count() == 0
    d = res.details.filter(pl.col("tournament") == "NCAA")
    assert d.get_column("home_seed").null_count() == 0 and d.get_column("away_seed").null_count() == 0
    # 2018 title game: Villanova 79, Michigan 62 on 2 April 2018
    final = g.filter(pl.col("source_game_id") == "2018-154-1437-1276").row(0, named=True)
    assert (final["date"], final["away_team"], final["away_score"], final["home_score"]) == (
        date(2018, 4, 2), "Villanova", 79, 62)
    assert g.filter(pl.col("game_type") == "regular").get_column("date").is_between(
        date(2016, 11, 1), date(2018, 3, 12)).all()


def test_secondary_tournament_games_carry_their_tournament(tmp_path):
    """No test reads an MSecondaryTourneyCompactResults file. The 2018 NIT final (real: Penn St 82, Utah 66,
    3/29/2018 at Madison Square Garden; TeamIDs 1336 and 1428 as in the shared MTeams.csv; DayNum 150 from
    DayZero 10/30/2017): postseason, neutral, the lower TeamID (Penn St) listed home, tournament "NIT", no
    seeds (seeds are for NCAA tournament games)."""
    import shutil

    for p in FIXTURE.glob("*.csv"):
        shutil.copy(p, tmp_path / p.name)
    with (tmp_path / "MTeams.csv").open("a") as f:
        f.write("1336,Penn St,1985,2025\n1428,Utah,1985,2025\n")
    (tmp_path / "MSecondaryTourneyCompactResults_2018.csv").write_text(
        "Season,DayNum,WTeamID,WScore,LTeamID,LScore,WLoc,NumOT,SecondaryTourney\n2018,150,1336,82,1428,66,N,0,NIT\n")
    r = read_kaggle_mm_compact(sorted(tmp_path.glob("*.csv")))
    g = r.games.filter(pl.col("source_game_id") == "2018-150-1336-1428").row(0, named=True)
    assert (g["date"], g["home_team"], g["home_score"], g["away_team"], g["away_score"]) == (
        date(2018, 3, 29), "Penn St", 82, "Utah", 66)
    assert (g["neutral"], g["game_type"]) == (True, "postseason")
    d = r.details.filter(pl.col("game_id") == g["game_id"]).row(0, named=True)
    assert (d["tournament"], d["wloc"], d["home_seed"], d["away_seed"]) == ("NIT", "N", None, None)
    files = {f["source_file"]: f for f in r.files.to_dicts()}
    assert files["MSecondaryTourneyCompactResults_2018.csv"]["note"] == "results: secondary tournaments"
