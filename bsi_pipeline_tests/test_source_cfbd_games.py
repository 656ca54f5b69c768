"""cfbd_games adapter: real rows from saiemgilani/cfbscrapR-data (CollegeFootballData.com) and the full file (slow).

Expected values below were checked by hand against the raw fixture rows (see fixtures/cfbd_games/README.md).
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import polars as pl
import pytest

from bsi_pipeline.sources.cfbd_games import DETAILS_SCHEMA, read_cfbd_games
from bsi_pipeline.sources.common import SourceFormatError
from bsi_pipeline_tests.conftest import FIXTURES, SHARED_DATA
from bsi_pipeline_tests.source_helpers import check_schemas, csv_rows, game_with_details, write_csv

FIXTURE = FIXTURES / "cfbd_games" / "cfb_games_sample.csv"
SHARED_FILE = SHARED_DATA / "cfb_games" / "cfb_games_2001_2014.csv"
N_FIXTURE_ROWS = 38


def _row(rows: list[list[str]], gid: str) -> list[str]:
    (match,) = [r for r in rows if r[0] == gid]
    return list(match)


def _game(result, gid: str) -> dict:
    return game_with_details(result, pl.col("source_game_id") == gid)


@pytest.fixture(scope="module")
def fixture_result():
    return read_cfbd_games([FIXTURE])


# ----------------------------------------------------------------------------------------------- real rows


def test_every_fixture_row_is_accepted_and_accounted(fixture_result):
    r = fixture_result
    check_schemas(r, DETAILS_SCHEMA)  # games, details, quarantine and files, columns in order
    (f,) = r.files.to_dicts()
    assert f["source"] == "cfbd_games" and f["source_file"] == FIXTURE.name
    assert f["rows_read"] == N_FIXTURE_ROWS == f["rows_accepted"] + f["rows_quarantined"]
    assert r.games.height + r.quarantine.height == N_FIXTURE_ROWS
    assert r.quarantine.height == 0 and f["note"] is None
    assert r.details["game_id"].to_list() == r.games["game_id"].to_list()
    assert set(r.games["sport"]) == {"football"} and set(r.games["league"]) == {"ncaaf"}
    assert set(r.games["game_type"]) == {"regular"}  # the file holds no bowl game


def test_army_navy_2008_real_values(fixture_result):
    # 283410349,2008,15,regular,2008-12-06T12:00:00.000Z,,True,False,69144.0,3806.0,Lincoln Financial Field,
    # 349,Army,FBS Independents,0.0,,2426,Navy,FBS Independents,34.0,,
    g = _game(fixture_result, "283410349")
    assert g["game_id"] == "football:ncaaf:2008:game:283410349"
    assert (g["season"], g["date"]) == (2008, date(2008, 12, 6))
    assert (g["home_team"], g["home_score"], g["away_team"], g["away_score"]) == ("Army", 0, "Navy", 34)
    assert g["neutral"] is True and g["location"] == "Lincoln Financial Field" and g["game_type"] == "regular"
    assert g["home_conference"] == g["away_conference"] == "FBS Independents"
    assert g["source"] == "cfbd_games"
    assert (g["d_week"], g["d_season_type"], g["d_conference_game"]) == (15, "regular", False)
    assert (g["d_attendance"], g["d_venue_id"], g["d_home_id"], g["d_away_id"]) == (69144, 3806, 349, 2426)
    assert g["d_home_post_win_prob"] is None and g["d_excitement_index"] is None
    assert g["d_start_date"] == datetime(2008, 12, 6, 12, 0, tzinfo=timezone.utc)


def test_big_ten_championship_2014_win_probability(fixture_result):
    # 400609096,2014,15,regular,2014-12-06T20:17:00.000Z,,True,True,60229.0,3812.0,Lucas Oil Stadium,194,
    # Ohio State,Big Ten,59.0,0.9999970036914057,275,Wisconsin,Big Ten,0.0,2.996308594349628e-06,1.4594103584
    g = _game(fixture_result, "400609096")
    assert (g["home_team"], g["home_score"], g["away_team"], g["away_score"]) == ("Ohio State", 59, "Wisconsin", 0)
    assert g["neutral"] is True and g["d_conference_game"] is True and g["location"] == "Lucas Oil Stadium"
    assert g["d_home_post_win_prob"] == 0.9999970036914057
    assert g["d_away_post_win_prob"] == 2.996308594349628e-06
    assert g["d_excitement_index"] == 1.4594103584
    assert g["d_attendance"] == 60229


def test_old_short_id_without_venue(fixture_result):
    # 63770,2001,1,regular,2001-08-25T00:00:00.000Z,,False,,,,,158,Nebraska,Big 12,21.0,,2628,TCU,Conference USA,7.0,,
    g = _game(fixture_result, "63770")
    assert g["game_id"] == "football:ncaaf:2001:game:63770"
    assert (g["home_team"], g["home_score"], g["away_team"], g["away_score"]) == ("Nebraska", 21, "TCU", 7)
    assert (g["home_conference"], g["away_conference"]) == ("Big 12", "Conference USA")
    assert g["location"] is None and g["neutral"] is False
    assert g["d_conference_game"] is None and g["d_attendance"] is None and g["d_venue_id"] is None


def test_fcs_teams_have_no_conference(fixture_result):
    g = _game(fixture_result, "63772")  # Washington State 53, Montana State 28
    assert (g["home_conference"], g["away_conference"]) == ("Pac-10", None)
    g = _game(fixture_result, "213280149")  # Montana 33, Idaho 27 (Montana at home, FCS)
    assert (g["home_team"], g["home_conference"], g["away_conference"]) == ("Montana", None, "Sun Belt")


def test_date_is_the_date_part_as_written(fixture_result):
    # Hawai'i home games: the clock reads 01:05 and 23:00; the date is taken as written, no time-zone shift.
    g = _game(fixture_result, "292480062")
    assert g["date"] == date(2009, 9, 5) and g["home_team"] == "Hawai'i"
    assert g["d_start_date"] == datetime(2009, 9, 5, 1, 5, tzinfo=timezone.utc)
    g = _game(fixture_result, "332410062")
    assert g["date"] == date(2013, 8, 29)
    assert (g["away_team"], g["away_score"], g["home_score"]) == ("USC", 30, 13)


def test_rematch_in_a_season_is_not_a_duplicate(fixture_result):
    # 2004: Auburn won at Tennessee in October and again in the SEC championship (Georgia Dome).
    games = fixture_result.games.filter((pl.col("home_team") == "Tennessee") & (pl.col("away_team") == "Auburn"))
    assert games.sort("date").select("date", "home_score", "away_score", "location").rows() == [
        (date(2004, 10, 2), 10, 34, "Neyland Stadium"),
        (date(2004, 12, 4), 28, 38, "Georgia Dome"),
    ]


def test_attendance_zero_is_kept_as_given(fixture_result):
    g = _game(fixture_result, "242762633")
    assert g["d_attendance"] == 0


def test_neutral_flag_follows_the_source(fixture_result):
    # Army-Navy is always at a neutral site, but the source flags it only from 2008 on.
    army_navy = fixture_result.games.filter(pl.col("home_team").is_in(["Army", "Navy"])
                                            & pl.col("away_team").is_in(["Army", "Navy"])).sort("date")
    assert army_navy.select("season", "neutral").rows() == [
        (2001, False), (2003, False), (2006, False), (2007, False), (2008, True), (2010, True), (2014, True)]
    dublin = _game(fixture_result, "400547642")  # UCF - Penn State at Croke Park
    assert dublin["neutral"] is True and dublin["location"] == "Croke Park Stadium"
    assert (dublin["home_score"], dublin["away_score"]) == (24, 26)


# ------------------------------------------------------------------------------------------- bad inputs


def test_bad_rows_are_quarantined_with_reasons(tmp_path):
    header, rows = csv_rows(FIXTURE)
    ix = {c: i for i, c in enumerate(header)}
    good = _row(rows, "400548461")
    no_points = _row(rows, "400609098"); no_points[ix["home_points"]] = no_points[ix["away_points"]] = ""
    half = _row(rows, "400608167"); half[ix["away_points"]] = "37.5"
    bad_gid = _row(rows, "400547870"); bad_gid[ix["game_id"]] = "4005x7870"
    bad_home_id = _row(rows, "400547742"); bad_home_id[ix["home_id"]] = ""
    no_team = _row(rows, "400547826"); no_team[ix["away_team"]] = ""
    bad_date = _row(rows, "400548013"); bad_date[ix["start_date"]] = "2014-09-31T12:00:00.000Z"
    outside = _row(rows, "400548389"); outside[ix["season"]] = "2010"
    short = _row(rows, "400547835")[:-1]
    neutral = _row(rows, "400548169"); neutral[ix["neutral_site"]] = "maybe"
    negative = _row(rows, "400548257"); negative[ix["home_points"]] = "-3.0"
    bad = [no_points, half, bad_gid, bad_home_id, no_team, bad_date, outside, short, neutral, negative]
    path = write_csv(tmp_path / "bad.csv", header, [good, *bad, good])

    r = read_cfbd_games([path])
    (f,) = r.files.to_dicts()
    assert f["rows_read"] == 12 == f["rows_accepted"] + f["rows_quarantined"]
    assert (f["rows_accepted"], f["rows_quarantined"]) == (1, 11)
    assert r.games["source_game_id"].to_list() == ["400548461"]
    q = {row["line_no"]: row for row in r.quarantine.to_dicts()}
    assert sorted(q) == list(range(3, 14))
    assert q[3]["reason"] == "no final score" and q[3]["source_game_id"] == "400609098"
    assert q[4]["reason"] == "away_points '37.5' is not a score (a whole number from 0 to 300)"
    assert q[5]["reason"] == "bad id: game_id '4005x7870' is not a whole number"
    assert q[6]["reason"] == "bad id: home_id '' is not a team id"
    assert q[7]["reason"] == "missing team: away_team is empty"
    assert q[8]["reason"].startswith("bad date: start_date '2014-09-31T12:00:00.000Z'")
    assert q[9]["reason"] == "start_date 2014-09-13T19:00:00.000Z lies outside season 2010"
    assert q[10]["reason"] == "expected 22 fields, found 21" and q[10]["source_game_id"] == "400547835"
    assert q[11]["reason"] == "neutral_site 'maybe' is not True or False"
    assert q[12]["reason"].startswith("home_points '-3.0' is not a score")
    assert q[13]["reason"] == "duplicate game: game_id 400548461 was already read from bad.csv line 2"
    assert r.quarantine["raw"].null_count() == 0


def test_a_game_in_the_year_after_its_season_is_accepted_only_in_january_february(tmp_path):
    """Bowls are played in January; a fall game filed under the season before would land in the wrong season."""
    header, rows = csv_rows(FIXTURE)
    ix = {c: i for i, c in enumerate(header)}
    bowl = _row(rows, "400609076"); bowl[ix["start_date"]] = "2015-01-01T17:00:00.000Z"
    late_feb = _row(rows, "400548461"); late_feb[ix["start_date"]] = "2015-02-28T17:00:00.000Z"
    march = _row(rows, "400609098"); march[ix["start_date"]] = "2015-03-01T17:00:00.000Z"
    fall = _row(rows, "400548389"); fall[ix["season"]] = "2013"
    r = read_cfbd_games([write_csv(tmp_path / "next_year.csv", header, [bowl, late_feb, march, fall])])
    assert r.games.select("source_game_id", "season").rows() == [("400609076", 2014), ("400548461", 2014)]
    why = "(a game in the year after its season must be in January-February: bowls, playoffs)"
    assert r.quarantine.select("line_no", "reason").rows() == [
        (4, f"start_date 2015-03-01T17:00:00.000Z lies outside season 2014 {why}"),
        (5, f"start_date 2014-09-13T19:00:00.000Z lies outside season 2013 {why}")]
    assert r.files.select("rows_read", "rows_accepted", "rows_quarantined").row(0) == (4, 2, 2)


def test_a_season_int_refuses_and_a_time_before_year_one_utc_are_quarantined(tmp_path):
    header, rows = csv_rows(FIXTURE)
    ix = {c: i for i, c in enumerate(header)}
    superscript = _row(rows, "400548461"); superscript[ix["season"]] = "²"
    year_one = _row(rows, "400609098"); year_one[ix["start_date"]] = "0001-01-01T00:00:00+01:00"
    r = read_cfbd_games([write_csv(tmp_path / "bad.csv", header, [superscript, year_one])])
    assert r.quarantine["reason"].to_list() == [
        "season '²' is not a year",
        "bad date: start_date '0001-01-01T00:00:00+01:00' is not an ISO date or timestamp"]
    assert r.games.height == 0


def test_duplicate_game_id_across_files_keeps_the_first(tmp_path):
    header, rows = csv_rows(FIXTURE)
    a = write_csv(tmp_path / "a.csv", header, rows[:10])
    b = write_csv(tmp_path / "b.csv", header, rows[8:15])
    r = read_cfbd_games([a, b])
    assert r.games.height == 15
    files = {f["source_file"]: f for f in r.files.to_dicts()}
    assert (files["b.csv"]["rows_accepted"], files["b.csv"]["rows_quarantined"]) == (5, 2)
    assert r.quarantine["line_no"].to_list() == [2, 3]
    assert r.quarantine["reason"].str.contains("already read from a.csv line ").all()


def test_a_game_id_with_leading_zeros_is_the_same_game(tmp_path):
    header, rows = csv_rows(FIXTURE)
    zeros = _row(rows, "400548461"); zeros[0] = "0400548461"
    r = read_cfbd_games([write_csv(tmp_path / "zeros.csv", header, [zeros, _row(rows, "400548461")])])
    assert r.games.select("game_id", "source_game_id").rows() == [
        (f"football:ncaaf:{r.games['season'][0]}:game:400548461", "400548461")]
    assert r.quarantine["reason"].to_list() == [
        "duplicate game: game_id 400548461 was already read from zeros.csv line 2"]


def test_postseason_and_detail_values(tmp_path):
    """Derived from real rows: a season_type 'postseason' row (the file has none) and unreadable details."""
    header, rows = csv_rows(FIXTURE)
    ix = {c: i for i, c in enumerate(header)}
    bowl = _row(rows, "400609076"); bowl[ix["season_type"]] = "postseason"
    odd = _row(rows, "400548461"); odd[ix["attendance"]] = "n/a"; odd[ix["home_post_win_prob"]] = "1.7"
    odd[ix["conference_game"]] = "sometimes"
    path = write_csv(tmp_path / "derived.csv", header, [bowl, odd])
    r = read_cfbd_games([path])
    assert r.quarantine.height == 0
    b = _game(r, "400609076")
    assert b["game_type"] == "postseason" and b["d_season_type"] == "postseason"
    o = _game(r, "400548461")
    assert o["d_attendance"] is None and o["d_home_post_win_prob"] is None and o["d_conference_game"] is None
    assert (o["home_score"], o["away_score"]) == (10, 17)
    note = r.files["note"][0]
    assert "attendance not a whole number from 0 to 1000000 (kept null): 1 game (lines 3)" in note
    assert "home_post_win_prob outside 0..1 (kept null): 1 game (lines 3)" in note
    assert "conference_game not True or False (kept null): 1 game (lines 3)" in note


def test_camel_case_api_header_is_accepted(tmp_path):
    header, rows = csv_rows(FIXTURE)
    camel = {"game_id": "id", "season_type": "seasonType", "start_date": "startDate", "neutral_site": "neutralSite",
             "conference_game": "conferenceGame", "venue_id": "venueId", "home_id": "homeId",
             "home_team": "homeTeam", "home_conference": "homeConference", "home_points": "homePoints",
             "home_post_win_prob": "homePostgameWinProbability", "away_id": "awayId", "away_team": "awayTeam",
             "away_conference": "awayConference", "away_points": "awayPoints",
             "away_post_win_prob": "awayPostgameWinProbability", "excitement_index": "excitementIndex"}
    path = write_csv(tmp_path / "camel.csv", [camel.get(h, h) for h in header], rows)
    r = read_cfbd_games([path])
    base = read_cfbd_games([FIXTURE])
    assert r.games.equals(base.games) and r.details.equals(base.details)


def test_missing_required_column_raises_naming_file_and_column(tmp_path):
    header, rows = csv_rows(FIXTURE)
    i = header.index("away_points")
    path = write_csv(tmp_path / "no_points.csv", header[:i] + header[i + 1:], [r[:i] + r[i + 1:] for r in rows])
    with pytest.raises(SourceFormatError, match=r"no_points\.csv: missing required column\(s\) away_points"):
        read_cfbd_games([path])


def test_empty_file_raises(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(SourceFormatError, match=r"empty\.csv: empty file"):
        read_cfbd_games([path])


# ------------------------------------------------------------------------------------- full shared file


@pytest.mark.slow
def test_full_shared_file_real_facts():
    if not SHARED_FILE.exists():
        pytest.skip(f"shared real data not present: {SHARED_FILE}")
    r = read_cfbd_games([SHARED_FILE])
    (f,) = r.files.to_dicts()
    data_rows = sum(1 for _ in SHARED_FILE.open()) - 1
    assert f["rows_read"] == data_rows == 10_631
    assert f["rows_accepted"] + f["rows_quarantined"] == f["rows_read"]
    assert r.games.height + r.quarantine.height == data_rows
    assert r.quarantine.height == 0  # every row has both scores and valid ids
    assert r.games["game_id"].n_unique() == r.games.height

    g = r.games
    assert sorted(set(g["season"])) == list(range(2001, 2015))
    assert set(g["game_type"]) == {"regular"}  # CFBD regular season only: no bowls in this file
    # Hundreds of FBS-vs-FBS games a season (a conference on both sides; FCS teams have none).
    fbs = g.filter(pl.col("home_conference").is_not_null() & pl.col("away_conference").is_not_null())
    per_season = dict(fbs.group_by("season").len().rows())
    assert all(600 <= per_season[s] <= 750 for s in range(2001, 2015)), per_season
    assert per_season[2001] == 627 and per_season[2014] == 721
    # No ties since overtime (1996); every score a whole number.
    assert g.filter(pl.col("home_score") == pl.col("away_score")).height == 0
    assert g["home_score"].max() == 87
    # Dates sit inside the season (late August to mid December for the regular season).
    assert g["date"].min() == date(2001, 8, 23) and g["date"].dt.month().is_in([8, 9, 10, 11, 12]).all()
    # The neutral-site flag is only kept from 2008 on: one game flagged in 2001-2007, 13-24 a season after.
    neutral = dict(g.filter(pl.col("neutral")).group_by("season").len().rows())
    assert sum(neutral.get(s, 0) for s in range(2001, 2008)) == 1
    assert all(13 <= neutral[s] <= 24 for s in range(2008, 2015))
    d = r.details
    assert d["week"].min() == 1 and d["week"].max() == 16
    assert d.filter(pl.col("home_post_win_prob").is_not_null()).select(
        ((pl.col("home_post_win_prob") + pl.col("away_post_win_prob")) - 1).abs().max()).item() < 1e-9


def test_the_same_team_id_on_both_sides_is_quarantined(tmp_path):
    """Army-Navy 2014 (game 400548461: Army id 349 home, Navy id 2426 away) with away_id damaged to 349: the
    ids say one team played itself, whatever the names say. Quarantined with the reason, not accepted."""
    header, rows = csv_rows(FIXTURE)
    ix = {c: i for i, c in enumerate(header)}
    (row,) = [list(r) for r in rows if r[0] == "400548461"]
    assert (row[ix["home_id"]], row[ix["away_id"]]) == ("349", "2426")
    row[ix["away_id"]] = "349"
    r = read_cfbd_games([write_csv(tmp_path / "same_id.csv", header, [row])])
    assert r.games.height == 0
    assert r.quarantine["reason"].to_list() == ["home and away team are the same ('Army', id 349)"]


def test_a_blank_season_type_leaves_the_game_type_null(tmp_path):
    """GAMES_SCHEMA: game_type is regular, postseason, or null; nothing is guessed. Army-Navy 2014 with
    season_type blank: game_type null (not "regular"), details.season_type null."""
    header, rows = csv_rows(FIXTURE)
    ix = {c: i for i, c in enumerate(header)}
    (row,) = [list(r) for r in rows if r[0] == "400548461"]
    row[ix["season_type"]] = ""
    r = read_cfbd_games([write_csv(tmp_path / "no_type.csv", header, [row])])
    assert r.games["game_type"].to_list() == [None] and r.details["season_type"].to_list() == [None]
