"""ESPN college baseball results: real games mapped to stats.ncaa.org short names, accounting, bad rows.

Expected values were checked by hand against the raw rows of fixtures/espn_ncaa_baseball_games and the
shipped data/ncaa_baseball_teams/canonical_teams_2026.csv and ncaa_d1_teams_20*.csv.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from bsi_pipeline.sources.common import TRUNCATED_GZIP_NOTE, SourceFormatError
from bsi_pipeline.sources.espn_ncaa_baseball_games import DETAILS_SCHEMA, read_espn_ncaa_baseball_games
from bsi_pipeline_tests.conftest import FIXTURES, REPO, SHARED_DATA
from bsi_pipeline_tests.source_helpers import check_file_accounting, check_schemas, detail, game

SAMPLE = FIXTURES / "espn_ncaa_baseball_games" / "espn_games_sample.csv"
TEAMS_DIR = REPO / "data" / "ncaa_baseball_teams"
CANONICAL = TEAMS_DIR / "canonical_teams_2026.csv"
REGISTRIES = sorted(TEAMS_DIR.glob("ncaa_d1_teams_20*.csv"))


def read(paths, canonical=CANONICAL, registries=REGISTRIES):
    return read_espn_ncaa_baseball_games([Path(p) for p in paths], canonical, registries)


@pytest.fixture(scope="module")
def result():
    return read([SAMPLE])


def check_accounting(res, data_rows: dict[str, int]) -> None:
    files = {r["source_file"]: r for r in res.files.to_dicts()}
    assert set(files) == set(data_rows)
    check_file_accounting(res, data_rows)
    assert sum(f["rows_accepted"] for f in files.values()) == res.games.height == res.details.height
    assert res.games.get_column("game_id").is_unique().all()
    assert res.games.get_column("game_id").to_list() == res.details.get_column("game_id").to_list()


def sample_rows() -> tuple[str, list[str]]:
    lines = SAMPLE.read_text().splitlines()
    return lines[0], lines[1:]


def field_edit(line: str, **changes: str) -> str:
    """The real CSV line with some fields replaced (quoting kept right)."""
    header = sample_rows()[0].split(",")
    row = next(csv.reader([line]))
    for name, value in changes.items():
        row[header.index(name)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(row)
    return out.getvalue()


def test_schemas(result):
    check_schemas(result, DETAILS_SCHEMA)


def test_lsu_vmi_mapped_to_short_names(result):
    # raw line 5: 401631919,2024-02-16,2024,LSU Tigers,VMI Keydets,BSB_LSU,NCAA_614805,11,8,true,
    #             "Alex Box Stadium, Skip Bertman Field",Baton Rouge,Louisiana,false,59858,60427,Thatcher Hurd,...
    assert game(result, "401631919") == {
        "game_id": "baseball:ncaa:2024:game:401631919", "sport": "baseball", "league": "ncaa", "season": 2024,
        "date": date(2024, 2, 16), "away_team": "VMI", "home_team": "LSU", "away_score": 8, "home_score": 11,
        "neutral": False, "away_conference": "SoCon", "home_conference": "SEC", "game_type": None,
        "location": "Alex Box Stadium, Skip Bertman Field", "source": "espn_ncaa_baseball_games",
        "source_game_id": "401631919",
    }
    assert detail(result, "401631919") == {
        "game_id": "baseball:ncaa:2024:game:401631919", "home_name_espn": "LSU Tigers",
        "away_name_espn": "VMI Keydets", "home_canonical_id": "BSB_LSU", "away_canonical_id": "NCAA_614805",
        "home_name_source": "canonical_id", "away_name_source": "canonical_id", "name_note": None,
        "registry_year": 2024, "home_pitcher_espn_id": "59858", "home_pitcher_name": "Thatcher Hurd",
        "away_pitcher_espn_id": "60427", "away_pitcher_name": "Trey Morgan", "venue_city": "Baton Rouge",
        "venue_state": "Louisiana", "has_run_events": True, "has_boxscore": True,
    }


def test_registry_names_are_unescaped(result):
    # the registries spell "Texas A&amp;M" and "St. John&#39;s (NY)"; the conferences still join
    g = game(result, "401675640")  # Texas A&M 3, Florida 2 in Omaha, 2024-06-16
    assert (g["home_team"], g["home_conference"], g["away_team"], g["away_conference"]) == (
        "Texas A&M", "SEC", "Florida", "SEC")
    g = game(result, "401628171")  # Florida 5, St. John's 9
    assert (g["away_team"], g["away_conference"], g["away_score"], g["home_score"]) == (
        "St. John's (NY)", "Big East", 9, 5)


def test_conference_is_that_seasons_registry(result):
    # Oregon State: independent in 2025 (registry 2025), the final 2025 games in Omaha
    g = game(result, "401778093")
    assert (g["home_team"], g["home_conference"], g["away_team"], g["away_conference"]) == (
        "Oregon St.", "DI Independent", "Coastal Carolina", "Sun Belt")
    assert detail(result, "401778093")["registry_year"] == 2025


def test_id_trusted_when_mascot_agrees(result):
    # App State Mountaineers carry NCAA_614852, whose map espn_name is "Appalachian State Mountaineers"
    g, d = game(result, "401627907"), detail(result, "401627907")
    assert (g["home_team"], g["away_team"], g["home_score"], g["away_score"]) == ("Duke", "App State", 28, 2)
    assert d["away_name_source"] == "canonical_id" and d["name_note"] is None


def test_wrong_canonical_id_is_not_trusted(result):
    # Purdue Fort Wayne Mastodons carry BSB_PURDUE (Purdue Boilermakers) in the source
    g, d = game(result, "401750050"), detail(result, "401750050")
    # the id is ignored; the spelling table names the school the 2025 registry lists (Horizon)
    assert (g["home_team"], g["away_team"], g["away_conference"]) == ("LSU", "Purdue Fort Wayne", "Horizon")
    assert d["away_name_source"] == "spelling" and d["away_canonical_id"] == "BSB_PURDUE"
    assert "BSB_PURDUE is Purdue" in d["name_note"] and d["name_note"].startswith("away: ")
    # Pacific Lutheran Lutes (a Division III school) carry Pacific's id
    g, d = game(result, "401751997"), detail(result, "401751997")
    assert (g["away_team"], d["away_name_source"]) == ("Pacific Lutheran Lutes", "espn")


def test_d1_teams_espn_spells_differently_take_the_spelling_table(result):
    """No canonical id, and the map spells them "CSU Bakersfield Roadrunners" / "FDU Knights"."""
    g, d = game(result, "401635299"), detail(result, "401635299")
    assert (g["home_team"], g["home_conference"], d["home_name_source"], d["name_note"]) == (
        "CSU Bakersfield", "Big West", "spelling", None)
    assert (g["away_team"], g["away_conference"]) == ("Minnesota", "Big Ten")
    g, d = game(result, "401751104"), detail(result, "401751104")  # Penn State 7, Fairleigh Dickinson 6
    assert (g["away_team"], g["away_conference"], d["away_name_source"]) == ("FDU", "NEC", "spelling")


def test_unmapped_teams_keep_espn_names(result):
    g, d = game(result, "401641168"), detail(result, "401641168")  # Iowa 20, Loras College (non-D1) 6
    assert (g["away_team"], g["away_conference"], d["away_name_source"]) == ("Loras College Duhawks", None, "espn")
    assert d["name_note"].startswith("away: Loras College Duhawks: no canonical_id")


def test_starting_pitchers_lose_position_marker(result):
    d = detail(result, "401675638")  # raw: 72905,74196,Chris - P Stamos,Jamie Arnold
    assert (d["home_pitcher_espn_id"], d["home_pitcher_name"], d["away_pitcher_espn_id"], d["away_pitcher_name"]) == (
        "72905", "Chris Stamos", "74196", "Jamie Arnold")
    assert detail(result, "401750050")["home_pitcher_name"] == "Anthony Eyanson"  # raw "Anthony Eyanson - P"
    d = detail(result, "401631896")  # Wake Forest - Fordham: no starters given
    assert d["home_pitcher_espn_id"] is None and d["away_pitcher_name"] is None and d["has_run_events"] is False


def test_college_world_series_2025_finals(result):
    g1, g2 = game(result, "401778103"), game(result, "401778104")
    assert (g1["date"], g1["home_team"], g1["home_score"], g1["away_team"], g1["away_score"]) == (
        date(2025, 6, 21), "LSU", 1, "Coastal Carolina", 0)
    assert (g2["date"], g2["home_team"], g2["home_score"], g2["away_team"], g2["away_score"]) == (
        date(2025, 6, 22), "Coastal Carolina", 3, "LSU", 5)
    # Omaha is neutral, but the source flags every game neutral_site=false: the reader keeps the source's word
    assert g1["location"] == "Charles Schwab Field" and g1["neutral"] is False
    assert detail(result, "401778103")["venue_city"] == "Omaha"


def test_missing_venue_is_null(result):
    g, d = game(result, "401750514"), detail(result, "401750514")
    assert g["location"] is None and d["venue_city"] is None and d["venue_state"] is None


def test_real_quarantine_and_accounting(result):
    check_accounting(result, {SAMPLE.name: 40})
    q = result.quarantine.select("line_no", "source_game_id", "reason").rows()
    assert q == [
        (7, "401636963", "tied final score 3-3 (baseball has no ties: not a final result)"),
        (11, "401633225", f"duplicate event_id 401633225: already read from {SAMPLE.name} line 10 (identical row)"),
        (35, "401778095", f"duplicate event_id 401778095: already read from {SAMPLE.name} line 34 (identical row)"),
    ]
    assert result.games.height == 37
    assert result.games.group_by("season").len().sort("season").rows() == [(2024, 21), (2025, 16)]


def test_bad_rows_are_quarantined_with_reasons(tmp_path):
    header, rows = sample_rows()
    lsu = rows[3]
    assert lsu.startswith("401631919,")
    damaged = [
        field_edit(lsu, event_id="900000001", home_score=""),                       # no final score
        field_edit(lsu, event_id="900000002", away_score="X"),                      # non-numeric
        field_edit(lsu, event_id="900000003", away_score="11"),                     # tie
        field_edit(lsu, event_id="900000004", winner_home="false"),                 # winner_home contradicts
        field_edit(lsu, event_id="900000005", game_date="02/16/2024"),              # bad date format
        field_edit(lsu, event_id="900000006", game_date="2024-02-30"),              # not a calendar date
        field_edit(lsu, event_id="900000007", game_date="2025-02-16"),              # date outside its season
        field_edit(lsu, home_score="12"),                                           # duplicate id, different row
        field_edit(lsu, event_id=""),                                               # missing event id
        field_edit(lsu, event_id="900000010", away_name=""),                        # missing team
        field_edit(lsu, event_id="900000011", winner_home="maybe"),                 # bad flag
        field_edit(lsu, event_id="900000013", home_score="40000"),                  # beyond any score
        field_edit(lsu, event_id="900000014", home_score="²"),                      # a digit int() refuses
        field_edit(lsu, event_id="900000015", neutral_site="neutral?"),             # unreadable neutral flag
        # a wrong canonical id whose mascot agrees ("Tigers") makes the away side LSU too
        field_edit(lsu, event_id="900000016", away_name="Auburn Tigers", away_canonical_id="BSB_LSU"),
        "900000012,2024-02-16,2024,LSU Tigers",                                     # short row
    ]
    path = tmp_path / "espn_bad.csv"
    path.write_text("\n".join([header, *rows, *damaged]) + "\n")
    res = read([path])
    q = res.quarantine.filter(pl.col("line_no") > 41).sort("line_no")
    assert q.get_column("line_no").to_list() == list(range(42, 58))
    expected = [
        "no final score (home_score '', away_score '8')",
        "no final score (home_score '11', away_score 'X')",
        "tied final score 11-11",
        "winner_home false contradicts the score (home 11, away 8)",
        "bad date: game_date '02/16/2024' is not YYYY-MM-DD",
        "bad date: game_date '2024-02-30' is not a calendar date",
        "bad date: game_date 2025-02-16 is not in season 2024",
        "duplicate event_id 401631919: already read from espn_bad.csv line 5 (the rows differ)",
        "missing event_id",
        "missing team name",
        "winner_home 'maybe' is not true or false",
        "score out of range: 40000-8 (above 150)",
        "no final score (home_score '²', away_score '8')",
        "neutral_site 'neutral?' is not true or false",
        "same team on both sides after name resolution: 'LSU Tigers' and 'Auburn Tigers' are both 'LSU'",
        "expected 20 fields, found 4",
    ]
    for reason, want in zip(q.get_column("reason").to_list(), expected, strict=True):
        assert reason.startswith(want), (reason, want)
    assert q.get_column("raw").to_list() == damaged
    assert q.get_column("source_game_id")[-1] == "900000012"
    check_accounting(res, {"espn_bad.csv": 56})
    assert res.games.height == 37


def test_a_date_outside_the_seasons_is_quarantined(tmp_path):
    # 0025-02-16 and 9999-02-16 were accepted as games of seasons 25 and 9999.
    header, rows = sample_rows()
    lsu = rows[3]
    path = tmp_path / "espn_years.csv"
    path.write_text("\n".join([
        header, lsu,
        field_edit(lsu, event_id="900000020", game_date="0025-02-16", season="0025"),
        field_edit(lsu, event_id="900000021", game_date="9999-02-16", season="9999"),
    ]) + "\n")
    res = read([path])
    check_accounting(res, {"espn_years.csv": 3})
    assert res.games.get_column("source_game_id").to_list() == ["401631919"]
    assert res.quarantine.select("line_no", "reason").rows() == [
        (3, "bad date: game_date '0025-02-16' is outside the seasons 1900-2100"),
        (4, "bad date: game_date '9999-02-16' is outside the seasons 1900-2100"),
    ]


def test_an_event_id_with_leading_zeros_is_the_same_event(tmp_path):
    header, rows = sample_rows()
    lsu = rows[3]
    path = tmp_path / "espn_zeros.csv"
    path.write_text("\n".join([header, field_edit(lsu, event_id="00401631919"), lsu]) + "\n")
    res = read([path])
    check_accounting(res, {"espn_zeros.csv": 2})
    assert res.games.select("game_id", "source_game_id").rows() == [
        ("baseball:ncaa:2024:game:401631919", "401631919")]
    assert res.quarantine.select("line_no", "reason").rows() == [
        (3, "duplicate event_id 401631919: already read from espn_zeros.csv line 2 (the rows differ)")]


def test_unreadable_informational_flags_are_kept_null_and_noted(tmp_path):
    header, rows = sample_rows()
    path = tmp_path / "espn_flags.csv"
    path.write_text("\n".join([header, field_edit(rows[3], has_run_events="maybe", has_boxscore="yes-ish")]) + "\n")
    res = read([path])
    check_accounting(res, {"espn_flags.csv": 1})
    d = res.details.row(0, named=True)
    assert (d["has_run_events"], d["has_boxscore"]) == (None, None)
    assert res.files.get_column("note").to_list() == [
        "has_run_events not true or false (kept null): 1 game (lines 2); "
        "has_boxscore not true or false (kept null): 1 game (lines 2)"]


def test_a_field_over_the_csv_size_limit_quarantines_its_row(tmp_path):
    header, rows = sample_rows()
    path = tmp_path / "espn_huge.csv"
    path.write_text("\n".join([header, rows[3], field_edit(rows[4], venue_name="x" * 140_000), rows[10]]) + "\n")
    res = read([path])
    check_accounting(res, {"espn_huge.csv": 3})
    (q,) = res.quarantine.to_dicts()
    assert q["line_no"] == 3 and q["reason"].startswith("unreadable CSV row (field larger than field limit")
    assert res.games.height == 2


def test_undecodable_bytes_quarantine_the_row(tmp_path):
    # real line 5 (LSU - VMI) with a byte that is not UTF-8 in the venue name: it used to be decoded as
    # U+FFFD and the game accepted with a made-up venue; now the row is quarantined, as the other readers do
    lines = SAMPLE.read_bytes().split(b"\n")
    assert lines[4].startswith(b"401631919,")
    lines[4] = lines[4].replace(b"Alex Box Stadium", b"Alex Box Stad\xffium")
    path = tmp_path / "espn_bytes.csv"
    path.write_bytes(b"\n".join(lines))
    res = read([path])
    check_accounting(res, {"espn_bytes.csv": 40})
    (q,) = res.quarantine.filter(pl.col("line_no") == 5).to_dicts()
    assert (q["source_game_id"], q["reason"]) == ("401631919", "row holds bytes that are not valid UTF-8")
    assert q["raw"] == (lines[4].decode("utf-8", errors="backslashreplace")), q["raw"]
    assert "Alex Box Stad\\xffium" in q["raw"]
    assert res.quarantine.height == 4 and res.games.height == 36
    assert res.games.filter(pl.col("source_game_id") == "401631919").height == 0


def test_gzip_file_and_truncated_gzip(tmp_path, result):
    packed = gzip.compress(SAMPLE.read_bytes())
    whole = tmp_path / "espn_sample.csv.gz"
    whole.write_bytes(packed)
    res = read([whole])
    assert res.games.equals(result.games) and res.details.equals(result.details)
    assert res.files.get_column("note").to_list() == [None]
    # cut short: the rows read so far are kept, the last one (it may be cut) is quarantined
    cut = tmp_path / "espn_cut.csv.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    text = zlib.decompressobj(wbits=31).decompress(packed[: len(packed) // 2]).decode("utf-8", "surrogateescape")
    n_rows = len(list(csv.reader(io.StringIO(text, newline="")))) - 1
    assert 5 < n_rows < 40
    res = read([cut])
    check_accounting(res, {"espn_cut.csv.gz": n_rows})
    assert res.files.get_column("note").to_list() == [TRUNCATED_GZIP_NOTE]
    last = res.quarantine.sort("line_no").row(-1, named=True)
    assert last["line_no"] == n_rows + 1
    assert last["reason"] == f"last row of a truncated file ({TRUNCATED_GZIP_NOTE})"
    assert set(res.games.get_column("game_id")) < set(result.games.get_column("game_id"))


def test_neutral_site_flag_is_read(tmp_path):
    # the source never says true; a real row with the flag set shows the reader passes it on
    header, rows = sample_rows()
    path = tmp_path / "espn_neutral.csv"
    path.write_text("\n".join([header, field_edit(rows[10], neutral_site="true")]) + "\n")  # Auburn in Montgomery
    res = read([path])
    g = res.games.row(0, named=True)
    assert (g["home_team"], g["away_team"], g["neutral"], g["location"]) == (
        "Auburn", "South Alabama", True, "Riverwalk Stadium")


def test_espn_name_fallback_and_no_map(tmp_path):
    header, rows = sample_rows()
    path = tmp_path / "espn_noid.csv"
    path.write_text("\n".join([header, field_edit(rows[3], home_canonical_id="", away_canonical_id="NCAA_1")]) + "\n")
    d = read([path]).details.row(0, named=True)
    assert (d["home_name_source"], d["away_name_source"]) == ("espn_name", "espn_name")  # "LSU Tigers" -> LSU
    res = read([SAMPLE], canonical=None)
    assert set(res.details.get_column("home_name_source")) == {"espn"}
    assert res.games.get_column("home_conference").null_count() == res.games.height
    assert game(res, "401631919")["home_team"] == "LSU Tigers"


def test_nearest_registry_year(tmp_path):
    res = read([SAMPLE], registries=[TEAMS_DIR / "ncaa_d1_teams_2024.csv"])
    assert detail(res, "401778093")["registry_year"] == 2024
    assert game(res, "401778093")["home_conference"] == "Pac-12"  # Oregon State's 2024 conference


def test_whole_file_problems(tmp_path):
    header, rows = sample_rows()
    path = tmp_path / "espn_cols.csv"
    path.write_text(header.replace("home_score", "home_runs") + "\n" + rows[0] + "\n")
    with pytest.raises(SourceFormatError, match="espn_cols.csv: missing required column.*home_score"):
        read([path])
    path.write_text("")
    with pytest.raises(SourceFormatError, match="empty file"):
        read([path])
    bad_map = tmp_path / "canonical.csv"
    bad_map.write_text("canonical_id,team_name\nBSB_LSU,LSU\n")
    with pytest.raises(SourceFormatError, match="canonical.csv: missing required column.*espn_name"):
        read([SAMPLE], canonical=bad_map)
    bad_registry = tmp_path / "ncaa_d1_teams_2024.csv"
    bad_registry.write_text("academic_year,team_name\n2024,LSU\n")
    with pytest.raises(SourceFormatError, match="missing required column"):
        read([SAMPLE], registries=[bad_registry])


SHARED_ESPN = SHARED_DATA / "ncaa_baseball_teams" / "espn_games_2024_2025.csv"


@pytest.mark.slow
def test_full_shared_file():
    if not SHARED_ESPN.exists():
        pytest.skip(f"shared real data not present: {SHARED_ESPN}")
    res = read([SHARED_ESPN])
    check_accounting(res, {SHARED_ESPN.name: 6099})
    reasons = res.quarantine.get_column("reason")
    assert res.quarantine.height == 28
    assert reasons.str.starts_with("tied final score").sum() == 3
    assert reasons.str.starts_with("duplicate event_id").sum() == 25
    assert reasons.str.ends_with("(identical row)").sum() == 25
    assert res.games.group_by("season").len().sort("season").rows() == [(2024, 3076), (2025, 2995)]
    sides = pl.concat([
        res.games.select("season", team="home_team", conference="home_conference").with_columns(
            source=res.details.get_column("home_name_source")),
        res.games.select("season", team="away_team", conference="away_conference").with_columns(
            source=res.details.get_column("away_name_source")),
    ])
    mapped_sides = dict(sides.group_by("season").agg((pl.col("source") != "espn").sum()).iter_rows())
    assert mapped_sides == {2024: 6148, 2025: 5985}  # of 6,152 and 5,990 team sides
    mapped = sides.filter(pl.col("source") != "espn")
    assert mapped.get_column("conference").null_count() == 0  # every mapped team is in its season's registry
    assert mapped.filter(pl.col("season") == 2024).get_column("team").n_unique() == 295
    assert mapped.filter(pl.col("season") == 2025).get_column("team").n_unique() == 297
    spelt = mapped.filter(pl.col("source") == "spelling").group_by("team").len()
    assert dict(spelt.iter_rows()) == {"CSU Bakersfield": 15, "FDU": 5, "Purdue Fort Wayne": 17}
    # what stays unmapped is the non-D1 opponents (D3 and NAIA), one or two games each
    assert set(sides.filter(pl.col("source") == "espn").get_column("team")) == {
        "Grand View Vikings", "Loras College Duhawks", "St. Olaf Oles", "DePauw Tigers", "Pacific Lutheran Lutes",
        "Aurora Spartans", "Augustana College (Il) Vikings"}
    assert not res.games.get_column("neutral").any()  # the source never flags a neutral site
    lsu = res.games.filter((pl.col("home_team") == "LSU") | (pl.col("away_team") == "LSU"))
    assert lsu.height > 80
    pitchers = res.details.get_column("home_pitcher_name").drop_nulls()
    assert not pitchers.str.contains(" - P").any()


def test_an_espn_name_two_teams_share_identifies_neither(tmp_path):
    """_TeamMap: "an ESPN name shared by two teams identifies neither". The shipped map with a second row
    whose espn_name is also "LSU Tigers" (as a junior-college branch campus would be spelled): the sample's
    LSU home game without a canonical id keeps ESPN's name, source "espn", instead of being given to one of
    the two schools."""
    canonical = tmp_path / "canonical.csv"
    text = CANONICAL.read_text()
    canonical.write_text(text.rstrip("\n") + "\n2026,999999,LSU Eunice,,,NCAA_999999,,LSU Tigers,,,,\n")
    header, rows = sample_rows()
    path = tmp_path / "espn_noid.csv"
    path.write_text("\n".join([header, field_edit(rows[3], home_canonical_id="")]) + "\n")
    r = read_espn_ncaa_baseball_games([path], canonical, REGISTRIES)
    d = r.details.row(0, named=True)
    assert d["home_name_espn"] == "LSU Tigers"
    assert (r.games["home_team"][0], d["home_name_source"]) == ("LSU Tigers", "espn")
    assert r.games["home_conference"][0] is None
