"""Chadwick cwevent events: real 2016 games read into the plays schema; damaged rows quarantined.

The fixture holds every event of three real 2016 games (see fixtures/retrosheet_cwevent/README.md). The expected
values below were read by hand off each event's text (EVENT_TX, Retrosheet's scoring notation): e.g. "S8/F.2-H"
is a single to center with the runner from second scoring, "46(1)3/GDP" a 4-6-3 ground-ball double play.
"""

from __future__ import annotations

import csv
import gzip
import io
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from bsi_pipeline.ncaa.pbp_tables import PLAYS_SCHEMA
from bsi_pipeline.ncaa.pbp_text import EVENT_TYPES
from bsi_pipeline.sources.common import (
    BAD_BYTES_REASON,
    FILES_SCHEMA,
    QUARANTINE_SCHEMA,
    TRUNCATED_GZIP_NOTE,
    SourceFormatError,
)
from bsi_pipeline.sources.retrosheet_cwevent import (
    BASE_LABELS,
    EVENTS_SCHEMA,
    STANDARD_FIELDS,
    read_retrosheet_cwevent,
)
from bsi_pipeline_tests.conftest import FIXTURES, SHARED_DATA

FIX = FIXTURES / "retrosheet_cwevent"
HEADER = FIX / "retro2016_sdn_2games_header.csv"      # SDN201607160, SDN201608180; header row
NO_HEADER = FIX / "retro2016_atl_1game_noheader.csv"  # ATL201606300; no header
SHARED_EVENTS = SHARED_DATA / "retrosheet_events_2016" / "retro2016_events.parquet"
WALKOFF, SDN_AUG, ATL = "SDN201607160", "SDN201608180", "ATL201606300"


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def fields(line: str) -> list[str]:
    return next(csv.reader([line]))


def join(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(row)
    return out.getvalue()


def with_field(line: str, name: str, value: str) -> str:
    row = fields(line)
    row[STANDARD_FIELDS.index(name)] = value
    return join(row)


def write(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def both():
    return read_retrosheet_cwevent([HEADER, NO_HEADER])


def play(events: pl.DataFrame, sid: str, seq: int) -> dict:
    rows = events.filter((pl.col("source_game_id") == sid) & (pl.col("seq") == seq)).to_dicts()
    assert len(rows) == 1, (sid, seq)
    return rows[0]


def test_reads_the_fixture_and_accounts_for_every_row(both):
    assert both.events.schema == pl.Schema(EVENTS_SCHEMA)
    assert both.quarantine.schema == pl.Schema(QUARANTINE_SCHEMA)
    assert both.files.schema == pl.Schema(FILES_SCHEMA)
    assert both.quarantine.height == 0
    files = {r["source_file"]: r for r in both.files.to_dicts()}
    assert files[HEADER.name]["rows_read"] == 188 and files[HEADER.name]["rows_accepted"] == 188
    assert files[NO_HEADER.name]["rows_read"] == 93 and files[NO_HEADER.name]["rows_accepted"] == 93
    assert "header row" in files[HEADER.name]["note"]
    assert "no header row" in files[NO_HEADER.name]["note"]
    ev = both.events
    assert ev.height == 281
    # games in the order read, events by number
    assert ev["source_game_id"].unique(maintain_order=True).to_list() == [WALKOFF, SDN_AUG, ATL]
    assert ev.group_by("source_game_id").agg(ok=(pl.col("seq").diff().drop_nulls() == 1).all())["ok"].all()
    first = play(ev, WALKOFF, 1)
    assert first["game_id"] == "baseball:mlb:2016:game:sdn201607160"
    assert (first["season"], first["date"], first["line_no"]) == (2016, date(2016, 7, 16), 2)
    assert play(ev, ATL, 1)["line_no"] == 1  # no header: the first event is line 1
    assert set(ev["event_type"]) <= set(EVENT_TYPES)
    assert set(ev["bases_before"]) | set(ev["bases_after"]) <= set(BASE_LABELS)
    assert (ev["line_kind"] == "play").all()


def test_overlapping_columns_match_the_college_plays_table():
    assert list(EVENTS_SCHEMA)[:len(PLAYS_SCHEMA)] == list(PLAYS_SCHEMA)
    for name, dtype in PLAYS_SCHEMA.items():
        assert EVENTS_SCHEMA[name] == dtype, name


# (game, event number, EVENT_TX, event_type, is_plate_appearance): each checked by hand against the text.
REAL_EVENTS = [
    (WALKOFF, 1, "3/G", "groundout", True),                     # unassisted ground out to first
    (WALKOFF, 3, "8/F", "flyout", True),
    (WALKOFF, 21, "8/L", "lineout", True),
    (WALKOFF, 31, "6/P", "popout", True),
    (WALKOFF, 7, "K", "strikeout", True),
    (WALKOFF, 5, "W", "walk", True),
    (WALKOFF, 33, "IW", "intentional_walk", True),
    (WALKOFF, 2, "S7/L", "single", True),
    (WALKOFF, 37, "D8/L", "double", True),
    (WALKOFF, 32, "T8/F.1-H(UR)", "triple", True),
    (WALKOFF, 17, "HR/7/F", "home_run", True),
    (WALKOFF, 30, "E4/G", "reached_on_error", True),
    (WALKOFF, 67, "FC3/G.3X3(3252);1-3;B-2", "fielders_choice", True),
    (WALKOFF, 58, "46(1)3/GDP", "double_play", True),
    (WALKOFF, 8, "SB3;SB2.2-H(E2/TH)(NR)", "stolen_base", False),
    (WALKOFF, 60, "CS2(24)/MREV", "caught_stealing", False),
    (WALKOFF, 14, "WP.1-2", "wild_pitch", False),
    (WALKOFF, 44, "PB.1-2", "passed_ball", False),
    (WALKOFF, 94, "BK.3-H;1-2", "balk", False),
    (SDN_AUG, 16, "13/BG/SH.1-2", "sac_bunt", True),
    (SDN_AUG, 64, "HP", "hit_by_pitch", True),
    (SDN_AUG, 3, "W+WP.3-H(NR)", "walk", True),                  # walk, and the runner on third scores on a WP
    (SDN_AUG, 80, "POCS2(135)", "pickoff", False),              # Chadwick codes this pickoff-caught-stealing 8
    (ATL, 76, "8/F/SF.3-H", "sac_fly", True),
    (ATL, 89, "DI.1-2", "defensive_indifference", False),
    (ATL, 91, "OA", "other", False),                            # "other advance", code 12
]


@pytest.mark.parametrize("sid, seq, text, event_type, is_pa", REAL_EVENTS)
def test_event_types_of_real_events(both, sid, seq, text, event_type, is_pa):
    row = play(both.events, sid, seq)
    assert row["description"] == text
    assert row["event_type"] == event_type
    assert row["is_plate_appearance"] is is_pa


def test_states_runs_and_scores_of_real_events(both):
    ev = both.events
    # "SB3;SB2.2-H(E2/TH)(NR)": 1st and 2nd, one out; both steal, the lead runner scores on the catcher's throw.
    r = play(ev, WALKOFF, 8)
    assert (r["inning"], r["half"], r["batting_team"], r["fielding_team"]) == (1, "bot", "SDN", "SFN")
    assert (r["outs_before"], r["outs_after"], r["bases_before"], r["bases_after"]) == (1, 1, "1-2", "2")
    assert (r["runs_on_play"], r["rbi"], r["runners_scored"]) == (1, 0, "jankt001")
    assert (r["away_score_before"], r["home_score_before"], r["away_score"], r["home_score"]) == (0, 0, 0, 1)
    assert r["batter"] == "solay001" and r["pitcher"] == "samaj001"  # the batter at the plate during the steal
    # "HR/9/L.1-H": runner on first, one out: two runs, two RBI, bases cleared.
    r = play(ev, WALKOFF, 24)
    assert (r["half"], r["batting_team"], r["fielding_team"]) == ("top", "SFN", "SDN")
    assert (r["bases_before"], r["bases_after"], r["runs_on_play"], r["rbi"]) == ("1", "empty", 2, 2)
    assert r["runners_scored"] == "samaj001; pagaa001"
    assert (r["away_score"], r["home_score"]) == (2, 3)
    # "FC3/G.3X3(3252);1-3;B-2": runner on third out in a rundown, 1st to 3rd, batter to 2nd.
    r = play(ev, WALKOFF, 67)
    assert (r["outs_before"], r["outs_after"], r["bases_before"], r["bases_after"]) == (0, 1, "1-3", "2-3")
    # "IW" with 2nd and 3rd loads the bases; "46(1)3/GDP" with a runner on first: two outs, bases empty.
    assert (play(ev, WALKOFF, 68)["bases_before"], play(ev, WALKOFF, 68)["bases_after"]) == ("2-3", "1-2-3")
    r = play(ev, WALKOFF, 58)
    assert (r["outs_before"], r["outs_after"], r["bases_before"], r["bases_after"]) == (0, 2, "1", "empty")
    # sacrifices, count and pitches
    assert play(ev, SDN_AUG, 16)["sac"] == "SH"
    r = play(ev, ATL, 76)
    assert (r["sac"], r["rbi"], r["runs_on_play"], r["outs_after"]) == ("SF", 1, 1, 2)
    r = play(ev, WALKOFF, 2)
    assert (r["balls"], r["strikes"], r["pitch_sequence"], r["batted_ball_type"], r["event_code"]) == (
        2, 2, "BBCCX", "L", 20)
    # "W+WP.3-H(NR)": a run scores on the walk, but no RBI
    r = play(ev, SDN_AUG, 3)
    assert (r["runs_on_play"], r["rbi"]) == (1, 0)
    # the caught stealing is the third out and ends the half inning
    assert play(ev, WALKOFF, 60)["end_of_half_inning"] is True
    assert play(ev, WALKOFF, 59)["end_of_half_inning"] is False


def test_game_flow_is_consistent(both):
    ev = both.events
    half = ["source_game_id", "inning", "half"]
    nxt = ev.with_columns(
        pl.col("bases_before").shift(-1).over(half).alias("next_bases"),
        pl.col("outs_before").shift(-1).over(half).alias("next_outs"),
        pl.col("away_score_before").shift(-1).over("source_game_id").alias("next_away"),
        pl.col("home_score_before").shift(-1).over("source_game_id").alias("next_home"),
    )
    inside = nxt.filter(pl.col("next_bases").is_not_null())
    assert (inside["bases_after"] == inside["next_bases"]).all()
    assert (inside["outs_after"] == inside["next_outs"]).all()
    cont = nxt.filter(pl.col("next_away").is_not_null())
    assert (cont["away_score"] == cont["next_away"]).all() and (cont["home_score"] == cont["next_home"]).all()
    last = ev.group_by("source_game_id", maintain_order=True).last()
    assert last.select("source_game_id", "away_score", "home_score").rows() == [
        (WALKOFF, 6, 7), (SDN_AUG, 8, 9), (ATL, 5, 8)]
    assert last["end_of_half_inning"].all()
    # every half inning ends at 3 outs except the walk-off (a balk with none out in the 10th)
    ends = ev.filter(pl.col("end_of_half_inning"))
    assert ends.group_by(half).len()["len"].max() == 1
    assert ends.filter(pl.col("outs_after") != 3).select("source_game_id", "inning", "half", "outs_after").rows() == [
        (WALKOFF, 10, "bot", 0)]
    assert ends.height == 20 + 17 + 17  # 10 innings; 8.5; 8.5


def test_header_and_no_header_read_alike(both, tmp_path):
    header_line, *body = lines(HEADER)
    headerless = write(tmp_path / "sdn.csv", body)
    with_header = write(tmp_path / "atl.csv", [header_line, *lines(NO_HEADER)])
    swapped = read_retrosheet_cwevent([headerless, with_header])
    cols = [c for c in EVENTS_SCHEMA if c not in ("source_file", "line_no")]
    assert swapped.events.select(cols).equals(both.events.select(cols))
    assert (swapped.events["line_no"] == both.events["line_no"] + pl.Series(
        [-1] * 188 + [1] * 93)).all()


def test_header_columns_found_by_name_in_any_order(both, tmp_path):
    """A header lets cwevent -f pick and order fields: the reader goes by name (and any letter case)."""
    frame = pl.read_csv(HEADER, infer_schema=False, glob=False)
    keep = [c for c in reversed(frame.columns) if c not in ("BAT_HAND_CD", "POS2_FLD_ID", "ASS5_FLD_CD")]
    path = tmp_path / "reordered.csv"
    frame.select(keep).rename(str.lower).write_csv(path)
    got = read_retrosheet_cwevent([path])
    cols = [c for c in EVENTS_SCHEMA if c != "source_file"]
    assert got.events.select(cols).equals(both.events.filter(pl.col("source_game_id") != ATL).select(cols))


def test_parquet_like_the_shared_file(both, tmp_path):
    """Lower-case names, numbers as integers, flags as booleans, as in retro2016_events.parquet."""
    frame = pl.read_csv(HEADER, infer_schema_length=None, glob=False)
    flags = [c for c in frame.columns if c.endswith("_FL") and frame.schema[c] == pl.String]  # not H_FL
    frame = frame.with_columns(pl.col(c) == "T" for c in flags).rename(str.lower)
    path = tmp_path / "season [2016]" / "events.parquet"  # glob characters in the folder: read as a path
    path.parent.mkdir()
    frame.write_parquet(path)
    got = read_retrosheet_cwevent([path])
    cols = [c for c in EVENTS_SCHEMA if c not in ("source_file", "line_no")]
    assert got.events.select(cols).equals(both.events.filter(pl.col("source_game_id") != ATL).select(cols))
    assert got.events["line_no"].to_list() == list(range(1, 189))  # row numbers
    assert got.files["note"].to_list() == [None]


def test_gzip_and_no_event_number(both, tmp_path):
    frame = pl.read_csv(HEADER, infer_schema=False, glob=False).drop("EVENT_ID")
    path = tmp_path / "no_event_id.csv.gz"
    with gzip.open(path, "wb") as f:
        frame.write_csv(f)
    got = read_retrosheet_cwevent([path])
    assert "events numbered in file order" in got.files["note"][0]
    cols = [c for c in EVENTS_SCHEMA if c != "source_file"]
    assert got.events.select(cols).equals(both.events.filter(pl.col("source_game_id") != ATL).select(cols))


def test_a_game_written_twice_without_event_numbers_is_quarantined_as_a_copy(both, tmp_path):
    """Without EVENT_ID events are numbered in file order, so a second copy of a game (right after the first,
    or after another game) would read as more events of it: from where the game starts over it is a copy."""
    frame = pl.read_csv(HEADER, infer_schema=False, glob=False).drop("EVENT_ID")
    walkoff, aug = frame.filter(pl.col("GAME_ID") == WALKOFF), frame.filter(pl.col("GAME_ID") == SDN_AUG)
    path = tmp_path / "twice.csv"
    pl.concat([walkoff, walkoff, aug, walkoff]).write_csv(path)  # lines 2-95, 96-189, 190-283, 284-377
    got = read_retrosheet_cwevent([path])
    f = got.files.row(0, named=True)
    assert (f["rows_read"], f["rows_accepted"], f["rows_quarantined"]) == (376, 188, 188)
    cols = [c for c in EVENTS_SCHEMA if c not in ("source_file", "line_no")]
    assert got.events.select(cols).equals(both.events.filter(pl.col("source_game_id") != ATL).select(cols))
    q = got.quarantine
    assert q["line_no"].to_list() == [*range(96, 190), *range(284, 378)]
    assert set(q["source_game_id"]) == {WALKOFF}
    assert set(q["reason"]) == {
        "repeated game: SDN201607160 starts over at line 96 (inning 1, no outs, bases empty, 0-0) after play "
        "from line 2: a second copy of the game, which the file cannot number apart (no EVENT_ID)"}


def test_damaged_rows_are_quarantined(tmp_path):
    header_line, *body = lines(HEADER)
    damaged = list(body)
    # body[k] is file line k + 2 and event k + 1 of SDN201607160
    damaged[0] = with_field(body[0], "OUTS_CT", "3")                     # line 2: outs before the play 3
    damaged[1] = with_field(body[1], "EVENT_CD", "99")                   # line 3: no such event code
    damaged[2] = with_field(body[2], "GAME_ID", "SDN2016O7160")          # line 4: letter O for zero
    damaged[3] = join(fields(body[3])[:-1])                              # line 5: a field short
    damaged[4] = with_field(body[4], "BAT_EVENT_FL", "Y")                # line 6: flag not T/F
    damaged[5] = with_field(body[5], "RUN3_DEST_ID", "4")                # line 7: runner from an empty third
    damaged[7] = with_field(body[7], "INN_CT", "x")                      # line 9: inning not a number
    damaged.insert(10, body[9])                                          # line 12: event 10 again
    path = write(tmp_path / "damaged.csv", [header_line, *damaged])
    got = read_retrosheet_cwevent([path])
    q = {r["line_no"]: r for r in got.quarantine.to_dicts()}
    assert "outs before the play '3' (OUTS_CT, field 4) is not 0-2" in q[2]["reason"]
    assert "unknown event code '99' (EVENT_CD, field 34)" in q[3]["reason"]
    assert "game id 'SDN2016O7160'" in q[4]["reason"] and q[4]["source_game_id"] == "SDN2016O7160"
    assert q[5]["reason"] == "expected 97 fields, found 96"
    assert "flag 'Y' (BAT_EVENT_FL, field 35) is not T or F" in q[6]["reason"]
    assert "no runner there (BASE3_RUN_ID)" in q[7]["reason"]
    assert "inning 'x' (INN_CT, field 2)" in q[9]["reason"]
    assert "duplicate event: SDN201607160 event 10 was already read" in q[12]["reason"]
    assert sorted(q) == [2, 3, 4, 5, 6, 7, 9, 12]
    assert q[12]["raw"] == body[9] and q[3]["source"] == "retrosheet_cwevent"
    f = got.files.row(0, named=True)
    assert (f["rows_read"], f["rows_accepted"], f["rows_quarantined"]) == (189, 181, 8)
    assert f["rows_read"] == f["rows_accepted"] + f["rows_quarantined"] == got.events.height + got.quarantine.height


def test_a_stray_quote_or_a_huge_field_costs_only_its_own_line(tmp_path):
    """cwevent writes one event per line. An unclosed quote must not pull the next line into its field, and a
    field over the csv module's size limit must be quarantined, not stop the read."""
    header_line, *body = lines(HEADER)
    damaged = list(body)
    damaged[1] = body[1].replace('"SFN",', '"SFN,', 1)           # line 3: a quoted field never closed
    damaged[4] = with_field(body[4], "EVENT_TX", "x" * 140_000)  # line 6: a field over the csv size limit
    path = write(tmp_path / "damaged.csv", [header_line, *damaged])
    got = read_retrosheet_cwevent([path])
    q = {r["line_no"]: r["reason"] for r in got.quarantine.to_dicts()}
    assert q[3].startswith("expected 97 fields, found")
    assert q[6].startswith("unreadable CSV line (field larger than field limit")
    assert sorted(q) == [3, 6]
    f = got.files.row(0, named=True)
    assert (f["rows_read"], f["rows_accepted"], f["rows_quarantined"]) == (len(body), len(body) - 2, 2)
    # line 4, right after the stray quote, is read as itself
    same_line = play(read_retrosheet_cwevent([HEADER]).events, WALKOFF, 3)
    assert play(got.events, WALKOFF, 3) == {**same_line, "source_file": "damaged.csv"}


def test_more_outs_than_three_and_bad_values(tmp_path):
    body = lines(NO_HEADER)
    # ATL event 3 is the third out of the top of the first: two outs before it
    third_out = body[2]
    assert fields(third_out)[STANDARD_FIELDS.index("OUTS_CT")] == "2"
    rows = [
        with_field(third_out, "EVENT_OUTS_CT", "2"),       # 2 + 2 outs
        with_field(body[3], "BAT_HOME_ID", "2"),
        with_field(body[4], "BALLS_CT", "4"),
        with_field(body[5], "BAT_DEST_ID", "7"),
        with_field(body[6], "AWAY_TEAM_ID", "ATL"),
        with_field(body[7], "HOME_SCORE_CT", "-1"),
        with_field(body[8], "EVENT_ID", "0"),
        with_field(body[9], "OUTS_CT", ""),
        with_field(body[10], "AWAY_SCORE_CT", "32767"),      # a run on the play would overflow the Int16 score
        with_field(body[11], "RBI_CT", "5"),
    ]
    got = read_retrosheet_cwevent([write(tmp_path / "bad.csv", rows)])
    reasons = got.quarantine.sort("line_no")["reason"].to_list()
    assert reasons[0] == "2 outs before the play and 2 on it make more than 3"
    assert "BAT_HOME_ID" in reasons[1] and "BALLS_CT" in reasons[2] and "destination '7'" in reasons[3]
    assert "away team 'ATL' is the home team" in reasons[4] and "HOME_SCORE_CT" in reasons[5]
    assert "event number '0'" in reasons[6] and "outs before the play '' (OUTS_CT" in reasons[7]
    assert reasons[8] == "'32767' (AWAY_SCORE_CT, field 8) is not a score from 0 to 999"
    assert reasons[9] == "'5' (RBI_CT, field 43) is not a number from 0 to 4"
    assert got.events.height == 0 and got.events.schema == pl.Schema(EVENTS_SCHEMA)


def test_two_people_on_one_base_and_duplicates_across_files(tmp_path):
    body = lines(NO_HEADER)
    # ATL event 1 with a runner put on first who stays there while the batter also ends on first
    row = with_field(with_field(body[0], "BASE1_RUN_ID", "someone1"), "RUN1_DEST_ID", "1")
    row = with_field(row, "BAT_DEST_ID", "1")
    first = write(tmp_path / "a.csv", body[:5])
    second = write(tmp_path / "b.csv", [row, body[4], body[5]])
    got = read_retrosheet_cwevent([first, second])
    q = got.quarantine.sort("line_no").to_dicts()
    assert [r["source_file"] for r in q] == ["b.csv", "b.csv"]
    assert q[0]["reason"] == "two people end the play on base 1"
    assert q[1]["reason"] == "duplicate event: ATL201606300 event 5 was already read from a.csv line 5"
    assert got.files["rows_accepted"].to_list() == [5, 1]


def test_bad_bytes_and_truncated_gzip(tmp_path):
    body = lines(NO_HEADER)
    data = "\n".join(body[:4]).encode() + b"\n" + body[4].replace("4/L", "4/L\xff").encode("latin-1") + b"\n"
    data += "\n".join(body[5:10]).encode() + b"\n"
    path = tmp_path / "bytes.csv"
    path.write_bytes(data)
    got = read_retrosheet_cwevent([path])
    assert got.quarantine.select("line_no", "reason").rows() == [(5, BAD_BYTES_REASON)]
    assert "\\xff" in got.quarantine["raw"][0]
    assert got.events.height == 9
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(gzip.compress("\n".join(body).encode())[:-30])
    got = read_retrosheet_cwevent([cut])
    f = got.files.row(0, named=True)
    assert TRUNCATED_GZIP_NOTE in f["note"] and f["rows_quarantined"] == 1
    assert got.quarantine["reason"][0].startswith("last line of a truncated file")
    assert f["rows_read"] == f["rows_accepted"] + 1


def test_missing_columns_raise_naming_file_and_column(tmp_path):
    frame = pl.read_csv(HEADER, infer_schema=False, glob=False)
    no_code = tmp_path / "no_event_cd.csv"
    frame.drop("EVENT_CD", "RUN2_DEST_ID").write_csv(no_code)
    with pytest.raises(SourceFormatError, match=r"no_event_cd\.csv.*EVENT_CD \(field 34\).*RUN2_DEST_ID"):
        read_retrosheet_cwevent([no_code])
    pq = tmp_path / "no_outs.parquet"
    frame.drop("OUTS_CT").write_parquet(pq)
    with pytest.raises(SourceFormatError, match=r"no_outs\.parquet.*OUTS_CT \(field 4\)"):
        read_retrosheet_cwevent([pq])
    # cwevent's default field list without a header cannot be read by position
    short = write(tmp_path / "short.csv", [join(fields(line)[:46]) for line in lines(NO_HEADER)])
    with pytest.raises(SourceFormatError, match=r"short\.csv: no header row and 46 fields.*BAT_DEST_ID \(field 58\)"):
        read_retrosheet_cwevent([short])


def test_empty_and_unreadable_files_raise(tmp_path):
    empty = write(tmp_path / "empty.csv", [""])
    with pytest.raises(SourceFormatError, match="empty.csv: empty file"):
        read_retrosheet_cwevent([empty])
    header_only = write(tmp_path / "header_only.csv", [lines(HEADER)[0]])
    with pytest.raises(SourceFormatError, match="header_only.csv: empty file"):
        read_retrosheet_cwevent([header_only])
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(SourceFormatError, match="bad.parquet: not a readable Parquet file"):
        read_retrosheet_cwevent([bad])


@pytest.mark.slow
def test_full_2016_season_from_the_shared_parquet():
    if not SHARED_EVENTS.exists():
        pytest.skip(f"shared real data not present: {SHARED_EVENTS}")
    got = read_retrosheet_cwevent([SHARED_EVENTS])
    ev = got.events
    assert got.quarantine.height == 0
    assert got.files.row(0, named=True)["rows_accepted"] == 190_713
    assert ev["game_id"].n_unique() == 2_428
    counts = dict(ev["event_type"].value_counts().iter_rows())
    # MLB 2016 totals: 5,610 home runs, 38,982 strikeouts
    assert counts["home_run"] == 5_610 and counts["strikeout"] == 38_982
    assert "other" in counts and counts["other"] < 300
    # the state after each event is the state before the next one, and runs add up to the score
    half = ["game_id", "inning", "half"]
    nxt = ev.with_columns(
        pl.col("bases_before").shift(-1).over(half).alias("next_bases"),
        pl.col("outs_before").shift(-1).over(half).alias("next_outs"),
        (pl.col("away_score_before") + pl.col("home_score_before")).shift(-1).over("game_id").alias("next_total"),
    )
    inside = nxt.filter(pl.col("next_bases").is_not_null())
    assert (inside["bases_after"] == inside["next_bases"]).all()
    assert (inside["outs_after"] == inside["next_outs"]).all()
    cont = nxt.filter(pl.col("next_total").is_not_null())
    assert (cont["away_score"] + cont["home_score"] == cont["next_total"]).all()
    # every half inning but a game's last ends at 3 outs
    ends = ev.filter(pl.col("end_of_half_inning")).with_columns(
        pl.col("seq").max().over("game_id").alias("last_seq"))
    assert ends.filter((pl.col("outs_after") != 3) & (pl.col("seq") != pl.col("last_seq"))).height == 0


CW_WALKOFF = "SDN201607160"


def test_generic_outs_without_a_batted_ball_type_are_named_from_the_fielders(tmp_path):
    """Older seasons have no BATTEDBALL_CD: a generic out (EVENT_CD 2) is then named from the fielders in
    EVENT_TX (module docstring): assisted ("63", "64(1)") groundout, an outfielder alone ("8", "7", "9")
    flyout, any other single fielder ("6", "3", "2") popout. The real 2016 fixture with BATTEDBALL_CD blanked."""
    frame = pl.read_csv(HEADER, infer_schema=False, glob=False).with_columns(BATTEDBALL_CD=pl.lit(""))
    path = tmp_path / "no_batted_ball.csv"
    frame.write_csv(path)
    events = read_retrosheet_cwevent([path]).events.filter(
        (pl.col("source_game_id") == CW_WALKOFF) & (pl.col("event_code") == 2))
    by_text = dict(events.select("description", "event_type").unique("description").iter_rows())
    assert by_text["63/G-"] == "groundout" and by_text["64(1)/FO/G"] == "groundout"
    assert by_text["8/F"] == "flyout" and by_text["7/F"] == "flyout" and by_text["9/F"] == "flyout"
    assert by_text["6/P"] == "popout" and by_text["2/P2F"] == "popout" and by_text["3/G"] == "popout"
    assert events["batted_ball_type"].null_count() == events.height


def test_a_game_the_home_team_batted_first_written_twice_is_a_copy(tmp_path):
    """The repeated-copy check starts a game over at "the first batting side as the game's first row has it,
    so a game in which the home team batted first is read right". The walk-off game without EVENT_ID with
    BAT_HOME_ID flipped (the home team bats first), written twice: the second copy (lines 96-189) is
    quarantined as a repeat, the first (lines 2-95) accepted whole."""
    frame = (pl.read_csv(HEADER, infer_schema=False, glob=False).drop("EVENT_ID")
             .filter(pl.col("GAME_ID") == CW_WALKOFF)
             .with_columns(BAT_HOME_ID=pl.when(pl.col("BAT_HOME_ID") == "0").then(pl.lit("1")).otherwise(pl.lit("0"))))
    assert frame.height == 94 and frame["BAT_HOME_ID"][0] == "1"
    path = tmp_path / "home_first_twice.csv"
    pl.concat([frame, frame]).write_csv(path)
    got = read_retrosheet_cwevent([path])
    f = got.files.row(0, named=True)
    assert (f["rows_read"], f["rows_accepted"], f["rows_quarantined"]) == (188, 94, 94)
    assert got.quarantine["line_no"].to_list() == list(range(96, 190))
    assert set(got.quarantine["reason"]) == {
        "repeated game: SDN201607160 starts over at line 96 (inning 1, no outs, bases empty, 0-0) after play "
        "from line 2: a second copy of the game, which the file cannot number apart (no EVENT_ID)"}
    assert got.events["half"][0] == "bot"
