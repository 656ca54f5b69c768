"""Retrosheet game logs: real lines from GL2008 parsed to the adapter contract; every bad line quarantined.

The fixture holds 28 unchanged lines of GL2008.TXT (see fixtures/retrosheet_gamelogs/README.md). The expected
values below were read off the raw lines by hand (and match the box scores: e.g. BOS 6, OAK 5 in 10 innings
at the Tokyo Dome on 2008-03-25, Matsuzaka vs Blanton).
"""

from __future__ import annotations

import csv
import gzip
import io
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from bsi_pipeline.sources.common import (
    FILES_SCHEMA,
    GAMES_SCHEMA,
    QUARANTINE_SCHEMA,
    TRUNCATED_GZIP_NOTE,
    SourceFormatError,
    game_id,
)
from bsi_pipeline.sources.retrosheet_gamelogs import DETAILS_SCHEMA, TEAM_LINE, read_retrosheet_gamelogs
from bsi_pipeline_tests.conftest import FIXTURES, SHARED_DATA

SAMPLE = FIXTURES / "retrosheet_gamelogs" / "GL2008_sample.TXT"
SHARED_GL = SHARED_DATA / "retrosheet_gamelogs"
N_SAMPLE = 28


def sample_lines() -> list[str]:
    return SAMPLE.read_text().splitlines()


def fields(line: str) -> list[str]:
    return next(csv.reader([line]))


def join(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="").writerow(row)
    return out.getvalue()


def with_field(line: str, number: int, value: str) -> str:
    """The line with glfields.txt field `number` (1-based) set to value."""
    row = fields(line)
    row[number - 1] = value
    return join(row)


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def game(result, source_game_id: str) -> dict:
    rows = result.games.filter(pl.col("source_game_id") == source_game_id).to_dicts()
    assert len(rows) == 1, source_game_id
    return rows[0]


def details(result, source_game_id: str) -> dict:
    rows = result.details.filter(pl.col("source_game_id") == source_game_id).to_dicts()
    assert len(rows) == 1, source_game_id
    return rows[0]


def assert_accounting(result) -> None:
    files = result.files
    assert (files["rows_read"] == files["rows_accepted"] + files["rows_quarantined"]).all()
    assert files["rows_accepted"].sum() == result.games.height == result.details.height
    assert files["rows_quarantined"].sum() == result.quarantine.height
    assert result.games["game_id"].is_unique().all()
    assert result.details["game_id"].to_list() == result.games["game_id"].to_list()


@pytest.fixture(scope="module")
def sample():
    return read_retrosheet_gamelogs([SAMPLE])


# --- the real sample ------------------------------------------------------------------------------------


def test_sample_is_read_whole_with_the_contract_schemas(sample):
    assert sample.games.schema == pl.Schema(GAMES_SCHEMA)
    assert sample.details.schema == pl.Schema(DETAILS_SCHEMA)
    assert sample.quarantine.schema == pl.Schema(QUARANTINE_SCHEMA)
    assert sample.files.schema == pl.Schema(FILES_SCHEMA)
    assert sample.files.to_dicts() == [{
        "source": "retrosheet_gamelogs", "source_file": "GL2008_sample.TXT", "rows_read": N_SAMPLE,
        "rows_accepted": N_SAMPLE, "rows_quarantined": 0, "note": None,
    }]
    assert sample.quarantine.height == 0
    assert_accounting(sample)
    g = sample.games
    assert set(g["sport"]) == {"baseball"} and set(g["league"]) == {"mlb"} and set(g["season"]) == {2008}
    assert set(g["game_type"]) == {"regular"} and set(g["source"]) == {"retrosheet_gamelogs"}
    assert not g["neutral"].any() and g["neutral"].null_count() == 0
    assert set(g["away_conference"]) | set(g["home_conference"]) == {"AL", "NL"}
    assert sample.details["line_no"].to_list() == list(range(1, N_SAMPLE + 1))


def team_line(side: str, values: list[int]) -> dict:
    return {f"{side}_{stat}": v for stat, v in zip(TEAM_LINE, values, strict=True)}


def test_opening_game_in_tokyo(sample):
    # line 1: "20080325","0","Tue","BOS","AL",1,"OAK","AL",1,6,5,60,"N","","","","TOK01",44628,219,...
    assert game(sample, "OAK200803250") == {
        "game_id": "baseball:mlb:2008:game:oak200803250", "sport": "baseball", "league": "mlb", "season": 2008,
        "date": date(2008, 3, 25), "away_team": "BOS", "home_team": "OAK", "away_score": 6, "home_score": 5,
        "neutral": False, "away_conference": "AL", "home_conference": "AL", "game_type": "regular",
        "location": "TOK01", "source": "retrosheet_gamelogs", "source_game_id": "OAK200803250",
    }
    assert game(sample, "OAK200803250")["game_id"] == game_id("baseball", "mlb", 2008, "OAK200803250")
    d = details(sample, "OAK200803250")
    assert d == {
        "game_id": "baseball:mlb:2008:game:oak200803250", "source_game_id": "OAK200803250", "season": 2008,
        "date": date(2008, 3, 25), "doubleheader_number": "0", "day_of_week": "Tue", "day_night": "N",
        "park_id": "TOK01", "attendance": 44628, "duration_minutes": 219, "length_in_outs": 60,
        "innings_played": 10.0, "away_game_number": 1, "home_game_number": 1,
        "away_line_score": "0000030012", "home_line_score": "2000020001",
        "away_starting_pitcher_id": "matsd001", "away_starting_pitcher_name": "Daisuke Matsuzaka",
        "home_starting_pitcher_id": "blanj001", "home_starting_pitcher_name": "Joe Blanton",
        "winning_pitcher_id": "okajh001", "winning_pitcher_name": "Hideki Okajima",
        "losing_pitcher_id": "streh001", "losing_pitcher_name": "Huston Street",
        "saving_pitcher_id": "papej001", "saving_pitcher_name": "Jonathan Papelbon",
        "forfeit": None, "protest": None, "completion": None, "completion_date": None,
        "completion_park_id": None, "home_batted_first": False, "additional_info": None, "acquisition": "Y",
        "source_file": "GL2008_sample.TXT", "line_no": 1,
        # team lines (fields 22-77): Boston's 11 hits, 3 doubles, 1 home run ... 6 pitchers ... 30 putouts
        **team_line("away", [38, 11, 3, 0, 1, 6, 1, 0, 0, 3, 2, 7, 0, 0, 2, 0, 6, 6, 5, 5, 1, 0, 30, 15, 0, 0, 0, 0]),
        **team_line("home", [36, 7, 1, 0, 2, 5, 0, 0, 1, 7, 0, 10, 1, 0, 0, 0, 9, 5, 6, 6, 0, 0, 30, 12, 0, 0, 2, 0]),
        "away_lineup_ids": ["pedrd001", "youkk001", "ortid001", "ramim002", "lowem001", "mossb001", "varij001",
                            "ellsj001", "lugoj001"],
        "away_lineup_positions": [4, 3, 10, 7, 5, 9, 2, 8, 6],  # Ortiz the DH
        "home_lineup_ids": ["buckt001", "ellim001", "bartd001", "custj001", "browe001", "crosb002", "hannj001",
                            "suzuk001", "sweer001"],
        "home_lineup_positions": [9, 4, 3, 10, 7, 6, 5, 2, 8],
    }


def test_slugfest_without_a_save(sample):
    # line 4: PIT 12 at ATL 11 in 12 innings (72 outs), Snell vs Glavine, no save ("","(none)")
    g, d = game(sample, "ATL200803310"), details(sample, "ATL200803310")
    assert (g["away_team"], g["home_team"], g["away_score"], g["home_score"], g["location"]) == (
        "PIT", "ATL", 12, 11, "ATL02")
    assert (d["away_starting_pitcher_name"], d["home_starting_pitcher_name"]) == ("Ian Snell", "Tom Glavine")
    assert (d["length_in_outs"], d["innings_played"]) == (72, 12.0)
    assert (d["away_hits"], d["home_hits"], d["away_errors"], d["home_errors"]) == (17, 12, 0, 3)
    assert d["saving_pitcher_id"] is None and d["saving_pitcher_name"] is None
    assert d["away_game_number"] == 1 and d["home_game_number"] == 2


def test_doubleheaders_have_distinct_ids_and_game_one_attendance_is_null(sample):
    # lines 23-24: BAL at TEX, 2008-04-10, games 1 and 2; game 1 records attendance 0
    g1, g2 = game(sample, "TEX200804101"), game(sample, "TEX200804102")
    assert g1["game_id"] != g2["game_id"]
    assert g1["game_id"] == "baseball:mlb:2008:game:tex200804101"
    assert (g1["away_score"], g1["home_score"], g2["away_score"], g2["home_score"]) == (1, 3, 4, 5)
    d1, d2 = details(sample, "TEX200804101"), details(sample, "TEX200804102")
    assert (d1["doubleheader_number"], d2["doubleheader_number"]) == ("1", "2")
    assert (d1["day_night"], d2["day_night"]) == ("D", "N")
    assert (d1["attendance"], d2["attendance"]) == (None, 15560)
    assert (d1["away_game_number"], d2["away_game_number"]) == (8, 9)
    assert (d1["home_starting_pitcher_name"], d2["home_starting_pitcher_name"]) == ("Kevin Millwood",
                                                                                    "Kason Gabbard")
    assert (d1["innings_played"], d1["home_line_score"]) == (8.5, "10000020x")
    # lines 25-26: CLE at KCA, 2008-04-24
    assert {game(sample, f"KCA2008042{n}")["game_id"] for n in (41, 42)} == {
        "baseball:mlb:2008:game:kca200804241", "baseball:mlb:2008:game:kca200804242"}
    assert details(sample, "KCA200804241")["attendance"] is None
    assert details(sample, "KCA200804242")["attendance"] == 11637


def test_suspended_game_completed_months_later_at_another_park(sample):
    # line 27: BAL at CHA 2008-04-28, "20080825,BAL12,3,3,66", 84 outs, umpire changes in field 160
    g, d = game(sample, "CHA200804280"), details(sample, "CHA200804280")
    assert (g["away_score"], g["home_score"], g["date"], g["location"]) == (4, 3, date(2008, 4, 28), "CHI12")
    assert d["completion"] == "20080825,BAL12,3,3,66"
    assert (d["completion_date"], d["completion_park_id"]) == (date(2008, 8, 25), "BAL12")
    assert (d["length_in_outs"], d["innings_played"], d["duration_minutes"]) == (84, 14.0, 282)
    assert d["additional_info"].startswith("umpchange,12,umphome,estam901")
    assert d["home_batted_first"] is False


def test_tie_breaker_game_163(sample):
    # line 28: MIN 0 at CHA 1, 2008-09-30, both teams' game 163, Blackburn vs Danks, 51 outs
    g, d = game(sample, "CHA200809300"), details(sample, "CHA200809300")
    assert (g["away_team"], g["home_team"], g["away_score"], g["home_score"]) == ("MIN", "CHA", 0, 1)
    assert g["game_type"] == "regular"
    assert (d["away_game_number"], d["home_game_number"]) == (163, 163)
    assert (d["away_starting_pitcher_id"], d["away_starting_pitcher_name"]) == ("blacn001", "Nick Blackburn")
    assert (d["home_starting_pitcher_id"], d["home_starting_pitcher_name"]) == ("dankj001", "John Danks")
    assert (d["winning_pitcher_name"], d["losing_pitcher_name"], d["saving_pitcher_name"]) == (
        "John Danks", "Nick Blackburn", "Bobby Jenks")
    assert (d["attendance"], d["innings_played"]) == (40354, 8.5)


# --- compressed, multi-member, line endings, blank lines ------------------------------------------------


def test_gzip_multi_member_crlf_and_blank_lines_read_the_same(sample, tmp_path):
    data = SAMPLE.read_bytes()
    gz = tmp_path / "GL2008.TXT.gz"
    gz.write_bytes(gzip.compress(data))
    half = data.index(b"\n", len(data) // 2) + 1
    multi = tmp_path / "GL2008_multi.TXT.gz"
    multi.write_bytes(gzip.compress(data[:half]) + gzip.compress(data[half:]))
    crlf = tmp_path / "GL2008_crlf.TXT"
    crlf.write_bytes(data.replace(b"\n", b"\r\n"))
    for path in (gz, multi, crlf):
        result = read_retrosheet_gamelogs([path])
        assert result.games.equals(sample.games), path.name
        assert result.files["note"].to_list() == [None]
    blanks = write(tmp_path / "GL2008_blanks.TXT", ["", *sample_lines()[:3], "  ", *sample_lines()[3:]])
    result = read_retrosheet_gamelogs([blanks])
    assert result.games.equals(sample.games)
    assert result.files.row(0, named=True)["note"] == "2 blank line(s) skipped"
    assert result.files.row(0, named=True)["rows_read"] == N_SAMPLE
    assert result.details["line_no"][:4].to_list() == [2, 3, 4, 6]  # physical line numbers


# --- valid oddities are accepted ------------------------------------------------------------------------


def test_tied_and_forfeited_games_are_accepted(tmp_path):
    lines = sample_lines()
    lines[1] = with_field(with_field(lines[1], 10, "5"), 11, "5")     # OAK200803260: 5-5 tie
    lines[2] = with_field(lines[2], 15, "H")                          # WAS200803300: forfeited to home
    result = read_retrosheet_gamelogs([write(tmp_path / "GL2008.TXT", lines)])
    assert result.quarantine.height == 0 and result.games.height == N_SAMPLE
    tie = game(result, "OAK200803260")
    assert (tie["away_score"], tie["home_score"]) == (5, 5)
    assert details(result, "WAS200803300")["forfeit"] == "H"
    assert details(result, "OAK200803260")["forfeit"] is None


# --- every bad line ends in the quarantine with a reason ------------------------------------------------


BAD_LINES = {
    "too_few_fields": (lambda line: join(fields(line)[:-1]), "expected 161 fields, found 160"),
    "too_many_fields": (lambda line: join([*fields(line), "extra"]), "expected 161 fields, found 162"),
    "date_not_yyyymmdd": (lambda line: with_field(line, 1, "2008-03-26"), "is not yyyymmdd"),
    "date_not_a_calendar_date": (lambda line: with_field(line, 1, "20080231"), "is not a calendar date"),
    "bad_game_number": (lambda line: with_field(line, 2, "7"), "game number '7' (field 2)"),
    "missing_away_team": (lambda line: with_field(line, 4, ""), "away team code (field 4) is missing"),
    "missing_home_team": (lambda line: with_field(line, 7, " "), "home team code (field 7) is missing"),
    "same_team": (lambda line: with_field(line, 4, "OAK"), "away and home team are the same"),
    # "oak" would be a second game id for OAK's game (ids are lower-cased), and a 29th team in the ratings
    "team_code_lower_case": (lambda line: with_field(line, 7, "oak"),
                             "home team code 'oak' (field 7) is not a Retrosheet team code"),
    "team_code_a_name": (lambda line: with_field(line, 4, "Red Sox"),
                         "away team code 'Red Sox' (field 4) is not a Retrosheet team code"),
    "date_far_in_the_future": (lambda line: with_field(line, 1, "29990326"), "'29990326' (field 1) is outside 1871-2100"),
    "field_over_the_csv_size_limit": (lambda line: with_field(line, 160, "x" * 140_000),
                                      "unreadable CSV line (field larger than field limit"),
    "away_score_not_a_number": (lambda line: with_field(line, 10, "x"), "away score 'x' (field 10) is not a number"),
    "home_score_empty": (lambda line: with_field(line, 11, ""), "home score '' (field 11) is not a number"),
    "negative_score": (lambda line: with_field(line, 11, "-1"), "home score '-1' (field 11) is not a number"),
    "attendance_not_a_number": (lambda line: with_field(line, 18, "44,735"), "attendance '44,735' (field 18)"),
    "hits_out_of_range": (lambda line: with_field(line, 23, "99999"), "away_hits '99999' (field 23) is out of range"),
    "strikeouts_not_a_number": (lambda line: with_field(line, 61, "7?"), "home_strikeouts '7?' (field 61)"),
    "position_not_a_number": (lambda line: with_field(line, 135, "DH"), "home_position_1 'DH' (field 135)"),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_bad_line_is_quarantined_with_reason(case, tmp_path):
    spoil, reason = BAD_LINES[case]
    lines = sample_lines()
    original = lines[1]
    lines[1] = spoil(original)  # line 2: BOS at OAK, 2008-03-26
    result = read_retrosheet_gamelogs([write(tmp_path / "GL2008.TXT", lines)])
    assert_accounting(result)
    assert result.games.height == N_SAMPLE - 1
    q = result.quarantine.row(0, named=True)
    assert result.quarantine.height == 1
    assert reason in q["reason"]
    assert (q["source"], q["source_file"], q["line_no"], q["raw"]) == (
        "retrosheet_gamelogs", "GL2008.TXT", 2, lines[1])
    assert "OAK200803260" not in result.games["source_game_id"].to_list()
    assert result.files.row(0, named=True)["rows_quarantined"] == 1


def test_duplicate_game_keeps_the_first_copy(tmp_path):
    lines = sample_lines()
    changed = with_field(lines[0], 10, "7")  # a second, different copy of OAK200803250
    result = read_retrosheet_gamelogs([write(tmp_path / "GL2008.TXT", [*lines, changed])])
    assert_accounting(result)
    assert game(result, "OAK200803250")["away_score"] == 6
    q = result.quarantine.row(0, named=True)
    assert (q["line_no"], q["source_game_id"]) == (N_SAMPLE + 1, "OAK200803250")
    assert q["reason"] == "duplicate game: OAK200803250 was already read from GL2008.TXT line 1"


def test_the_same_file_read_twice_quarantines_every_game_of_the_second_copy(sample, tmp_path):
    copy = tmp_path / "GL2008_copy.TXT"
    copy.write_bytes(SAMPLE.read_bytes())
    result = read_retrosheet_gamelogs([SAMPLE, copy])
    assert_accounting(result)
    assert result.games.equals(sample.games)
    assert result.files["rows_quarantined"].to_list() == [0, N_SAMPLE]
    assert result.quarantine["reason"].str.starts_with("duplicate game: ").all()
    assert result.quarantine["reason"].str.contains("already read from GL2008_sample.TXT line").all()


def test_truncated_gzip_keeps_what_was_read_and_quarantines_the_last_line(tmp_path):
    data = gzip.compress(SAMPLE.read_bytes())
    path = tmp_path / "GL2008.TXT.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    result = read_retrosheet_gamelogs([path])
    assert_accounting(result)
    report = result.files.row(0, named=True)
    assert report["note"] == TRUNCATED_GZIP_NOTE
    assert 0 < report["rows_accepted"] < N_SAMPLE and report["rows_quarantined"] == 1
    q = result.quarantine.row(0, named=True)
    assert q["line_no"] == report["rows_read"]
    assert q["reason"].startswith("last line of a truncated file")
    assert SAMPLE.read_text().startswith("\n".join(sample_lines()[: report["rows_accepted"]]) + "\n" + q["raw"])


def test_non_utf8_byte_quarantines_only_its_line(tmp_path):
    data = SAMPLE.read_bytes().replace(b"Daisuke Matsuzaka", b"Daisuk\xe9 Matsuzaka", 1)
    path = tmp_path / "GL2008.TXT"
    path.write_bytes(data)
    result = read_retrosheet_gamelogs([path])
    assert_accounting(result)
    q = result.quarantine.row(0, named=True)
    assert result.quarantine.height == 1 and q["line_no"] == 1
    assert q["reason"] == "line holds bytes that are not valid UTF-8"
    assert "Daisuk\\xe9 Matsuzaka" in q["raw"]
    assert q["raw"].encode("utf-8")  # printable: valid UTF-8
    assert result.games.height == N_SAMPLE - 1


# --- whole-file problems --------------------------------------------------------------------------------


def test_unreadable_files_raise_source_format_error(tmp_path):
    empty = tmp_path / "GL2008.TXT"
    empty.write_text("")
    with pytest.raises(SourceFormatError, match=r"GL2008.TXT: empty file"):
        read_retrosheet_gamelogs([empty])
    csv_file = write(tmp_path / "games.csv", ["date,home,away,home_score,away_score", "20080325,OAK,BOS,5,6"])
    with pytest.raises(SourceFormatError, match=r"games.csv: not a Retrosheet game log: no line has 161 fields"):
        read_retrosheet_gamelogs([csv_file])
    not_gz = tmp_path / "GL2008.TXT.gz"
    not_gz.write_bytes(SAMPLE.read_bytes())
    with pytest.raises(SourceFormatError, match=r"GL2008.TXT.gz: not a readable gzip file"):
        read_retrosheet_gamelogs([not_gz])
    with pytest.raises(SourceFormatError, match=r"cannot read the file"):
        read_retrosheet_gamelogs([tmp_path / "missing.TXT"])


def test_no_files_gives_empty_frames_with_the_contract_schemas():
    result = read_retrosheet_gamelogs([])
    assert result.games.schema == pl.Schema(GAMES_SCHEMA) and result.games.height == 0
    assert result.details.schema == pl.Schema(DETAILS_SCHEMA) and result.details.height == 0
    assert result.quarantine.height == 0 and result.files.height == 0


# --- the full shared seasons ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_seasons():
    paths = [SHARED_GL / f"GL{year}.TXT.gz" for year in range(1990, 2010)]
    missing = [p for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"shared real data not present: {missing[0]}")
    return read_retrosheet_gamelogs(paths)


@pytest.mark.slow
def test_twenty_shared_seasons(shared_seasons):
    result = shared_seasons
    assert_accounting(result)
    assert result.quarantine.height == 0  # the real logs are clean
    assert result.files.height == 20 and result.files["note"].null_count() == 20
    per_season = dict(result.games.group_by("season").len().iter_rows())
    assert sorted(per_season) == list(range(1990, 2010))
    assert sum(per_season.values()) == 45_885
    # 26 teams to 1992, 28 in 1993-97, 30 from 1998; 1994 and 1995 cut short by the strike
    for season, games in per_season.items():
        if season <= 1992:
            assert 2100 <= games <= 2106, season
        elif season in (1993, 1996, 1997):
            assert 2264 <= games <= 2270, season
        elif season >= 1998:
            assert 2424 <= games <= 2434, season
    assert per_season[1994] == 1600 and per_season[1995] == 2017

    g = result.games
    teams = pl.concat([g.select("season", team="away_team"), g.select("season", team="home_team")])
    counts = teams.group_by("season", "team").len()
    modern = counts.filter(pl.col("season") >= 2000)
    assert modern.group_by("season").len()["len"].to_list() == [30] * 10
    assert modern["len"].min() >= 161 and modern["len"].max() <= 163  # 163: tie-breakers and replayed ties
    assert counts.filter(pl.col("season") == 1994)["len"].max() < 120

    # the famous game-163 tie-breaker of 2008 and the one of 2009
    assert game(result, "CHA200809300")["home_score"] == 1
    assert game(result, "MIN200910060")["home_score"] == 6

    # ties are kept (12 in these seasons) and have no winning pitcher; no forfeits
    ties = g.filter(pl.col("away_score") == pl.col("home_score"))
    assert ties.height == 12
    tie_details = result.details.filter(pl.col("game_id").is_in(ties["game_id"].to_list()))
    assert tie_details["winning_pitcher_id"].null_count() == 12
    assert result.details["forfeit"].null_count() == result.details.height

    # conferences are the leagues; Milwaukee moved from the AL to the NL in 1998
    assert set(g["away_conference"]) == set(g["home_conference"]) == {"AL", "NL"}
    mil = pl.concat([
        g.filter(pl.col("away_team") == "MIL").select("season", lg="away_conference"),
        g.filter(pl.col("home_team") == "MIL").select("season", lg="home_conference"),
    ]).unique()
    assert set(mil.filter(pl.col("season") <= 1997)["lg"]) == {"AL"}
    assert set(mil.filter(pl.col("season") >= 1998)["lg"]) == {"NL"}

    d = result.details
    assert d["away_starting_pitcher_id"].null_count() == 0 and d["home_starting_pitcher_id"].null_count() == 0
    assert d["length_in_outs"].min() >= 24 and d["innings_played"].max() <= 25
    # games abroad keep the listed home team: Tokyo 2000, 2004, 2008; San Juan 2001, 2003-04
    assert g.filter(pl.col("location") == "TOK01").height == 6
    assert g.filter(pl.col("location") == "SJU01").height == 44
