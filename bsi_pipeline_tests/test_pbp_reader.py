"""The play-by-play reader on damaged copies of real rows from the embedded sample.

Every input is built in tmp_path from the raw lines of the first complete games of the embedded 2021 sample,
then damaged one way. Each test checks the outcome (a SourceFormatError naming the file and the problem, or
quarantine rows with a reason) and the accounting: per file rows_read == rows_accepted + rows_quarantined,
and every data row of the input is either an accepted line or a quarantine row, exactly once.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from datetime import date
from functools import lru_cache
from pathlib import Path

import polars as pl
import pytest

from bsi_pipeline.ncaa.pbp_reader import (
    PbpReadResult,
    SourceFormatError,
    file_report_frame,
    lines_frame,
    quarantine_frame,
    read_pbp_files,
)
from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables, parse_summary
from bsi_pipeline.ncaa.pbp_text import is_summary_line
from bsi_pipeline_tests.conftest import REPO

SAMPLE = REPO / "data" / "ncaa_baseball_pbp" / "ncaa_baseball_pbp_2021_sec_big12.csv.gz"
COLUMNS = ["game_id", "date", "location", "attendance", "inning", "inning_top_bot", "score", "batting",
           "fielding", "description"]


# --- building inputs from real rows ----------------------------------------------------------------------------

@lru_cache(maxsize=None)
def real_games(n: int = 2) -> tuple[bytes, tuple[tuple[bytes, ...], ...]]:
    """The header line and the raw lines of the first `n` complete games of the embedded sample, as bytes."""
    games: list[list[bytes]] = []
    current = None
    with gzip.open(SAMPLE, "rb") as fh:
        header = fh.readline()
        for line in fh:
            gid = line.split(b",", 1)[0]
            if gid != current:
                if len(games) == n:
                    break  # the first line of game n+1: game n is complete
                games.append([])
                current = gid
            games[-1].append(line)
    assert len(games) == n and header.startswith(b"game_id,")
    return header, tuple(tuple(g) for g in games)


def two_games() -> tuple[bytes, list[bytes], list[bytes]]:
    header, (g1, g2) = real_games(2)
    return header, list(g1), list(g2)


def fields(line: bytes) -> list[str]:
    return next(csv.reader(io.StringIO(line.decode("utf-8"), newline="")))


def row_bytes(values: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue().encode("utf-8")


def with_field(line: bytes, column: str, value: str) -> bytes:
    values = fields(line)
    values[COLUMNS.index(column)] = value
    return row_bytes(values)


def write(folder: Path, name: str, header: bytes, rows: list[bytes]) -> Path:
    data = header + b"".join(rows)
    path = folder / name
    path.write_bytes(gzip.compress(data, mtime=0) if name.endswith(".gz") else data)
    return path


def line_no(i: int) -> int:
    """Line number of the i-th (0-based) data row: the header is line 1."""
    return i + 2


def accepted_keys(result: PbpReadResult) -> set[tuple[str, int]]:
    return set(zip(result.columns["source_file"], result.columns["line_no"]))


def quarantined(result: PbpReadResult) -> dict[tuple[str, int], dict]:
    return {(q["source_file"], q["line_no"]): q for q in result.quarantine}


def assert_accounting(result: PbpReadResult, n_data_rows: int) -> None:
    """Per file rows_read == accepted + quarantined; every input data row is accounted for exactly once."""
    lengths = {name: len(values) for name, values in result.columns.items()}
    assert len(set(lengths.values())) == 1, lengths
    n_accepted = len(result.columns["line_no"])
    assert n_accepted + len(result.quarantine) == n_data_rows
    assert sum(f.rows_read for f in result.files) == n_data_rows
    for f in result.files:
        assert f.rows_read == f.rows_accepted + f.rows_quarantined, f
        assert f.rows_accepted == result.columns["source_file"].count(f.source_file), f
        assert f.rows_quarantined == sum(q["source_file"] == f.source_file for q in result.quarantine), f
    keys = list(zip(result.columns["source_file"], result.columns["line_no"]))
    keys += [(q["source_file"], q["line_no"]) for q in result.quarantine]
    assert len(set(keys)) == len(keys), "a row is both accepted and quarantined, or counted twice"
    for f in result.files:
        assert sorted(n for s, n in keys if s == f.source_file) == list(range(2, f.rows_read + 2)), f
    for q in result.quarantine:
        assert q["reason"], q


# --- control ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["two_games.csv", "two_games.csv.gz"])
def test_undamaged_real_rows_are_all_accepted(tmp_path, name):
    header, g1, g2 = two_games()
    result = read_pbp_files([write(tmp_path, name, header, g1 + g2)])
    assert_accounting(result, len(g1) + len(g2))
    assert result.quarantine == []
    assert result.files[0].note is None
    assert set(result.columns["source_game_id"]) == {fields(g1[0])[0], fields(g2[0])[0]}


# --- 1. a missing column ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["no_score.csv", "no_score.csv.gz"])
def test_missing_column_raises_naming_the_file_and_the_column(tmp_path, name):
    header, g1, g2 = two_games()
    drop = COLUMNS.index("score")

    def without_score(line: bytes) -> bytes:
        values = fields(line)
        del values[drop]
        return row_bytes(values)

    path = write(tmp_path, name, without_score(header), [without_score(r) for r in g1 + g2])
    good = write(tmp_path, "good.csv", header, g1)
    with pytest.raises(SourceFormatError) as err:
        read_pbp_files([good, path])
    message = str(err.value)
    assert name in message and "score" in message
    assert "missing required column" in message
    # The same rows with the column in place read completely.
    assert_accounting(read_pbp_files([write(tmp_path, "ok.csv", header, g1 + g2)]), len(g1) + len(g2))


def test_empty_file_raises_naming_the_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(SourceFormatError, match="empty.csv"):
        read_pbp_files([path])


# --- 2. a truncated file ---------------------------------------------------------------------------------------

def test_truncated_gzip_keeps_readable_rows_and_quarantines_the_partial_last_row(tmp_path):
    header, g1, g2 = two_games()
    whole = gzip.compress(header + b"".join(g1 + g2), mtime=0)
    # Cut the compressed bytes in the middle, at a point where the readable text ends mid-row.
    for cut in range(len(whole) // 2, len(whole)):
        prefix = zlib.decompressobj(wbits=31).decompress(whole[:cut])
        if not prefix.endswith(b"\n") and prefix.count(b"\n") > 3:
            break
    else:  # pragma: no cover
        pytest.fail("no cut point ends mid-row")
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(whole[:cut])
    body = prefix.split(b"\n")[1:]  # the data rows that can be read; the last one is partial
    n_rows = len(body)
    assert body[-1] and b"".join(g1 + g2).startswith(b"\n".join(body))

    result = read_pbp_files([path])
    assert_accounting(result, n_rows)
    report = result.files[0]
    assert report.note and "truncated" in report.note
    assert report.rows_accepted == n_rows - 1
    assert accepted_keys(result) == {("cut.csv.gz", line_no(i)) for i in range(n_rows - 1)}
    [q] = result.quarantine
    assert q["line_no"] == line_no(n_rows - 1)
    assert "truncated" in q["reason"]


def test_truncated_plain_csv_quarantines_the_cut_row_by_its_field_count(tmp_path):
    header, g1, g2 = two_games()
    k = len(g2) // 2
    line = g2[k]
    # Cut the real bytes of the row three characters into its `batting` field: 8 fields instead of 10.
    before_batting = row_bytes(fields(line)[:7]).rstrip(b"\n") + b","
    assert line.startswith(before_batting)
    rows = g1 + g2[:k] + [line[: len(before_batting) + 3]]
    path = write(tmp_path, "cut.csv", header, rows)

    result = read_pbp_files([path])
    assert_accounting(result, len(rows))
    assert result.files[0].note is None
    assert result.files[0].rows_accepted == len(rows) - 1
    [q] = result.quarantine
    assert q["line_no"] == line_no(len(rows) - 1)
    assert q["reason"] == "expected 10 fields, found 8"
    assert q["raw"] == ",".join(fields(line)[:7] + [fields(line)[7][:3]])


# --- 3. a byte that is not UTF-8 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["bad_byte.csv", "bad_byte.csv.gz"])
def test_non_utf8_byte_quarantines_only_that_row(tmp_path, name):
    header, g1, g2 = two_games()
    rows = g1 + g2
    i = next(i for i, r in enumerate(rows) if b"struck out" in r and i > 10)
    rows[i] = rows[i].replace(b"struck out", b"struck \xffout", 1)
    path = write(tmp_path, name, header, rows)

    result = read_pbp_files([path])
    assert_accounting(result, len(rows))
    assert accepted_keys(result) == {(name, line_no(j)) for j in range(len(rows)) if j != i}
    [q] = result.quarantine
    assert q["line_no"] == line_no(i)
    assert "UTF-8" in q["reason"]
    assert "\\xff" in q["raw"] or "\\udcff" in q["raw"]
    # Everything that comes out is valid text: the frames build.
    assert quarantine_frame(result).height == 1
    assert lines_frame(result).height == len(rows) - 1


def test_non_utf8_byte_in_game_id_or_garbage_line_still_gives_buildable_frames(tmp_path):
    """A bad byte in the game_id (or in a line too short to have columns) ends up in the quarantine's
    source_game_id; it must be made printable like `raw`, or quarantine_frame cannot be built."""
    header, g1, g2 = two_games()
    rows = g1 + g2
    rows[5] = b"\xff" + rows[5]
    rows.insert(20, b"\xffasdf;;;not a row\n")
    path = write(tmp_path, "bad_id.csv", header, rows)

    result = read_pbp_files([path])
    assert_accounting(result, len(rows))
    q = quarantined(result)
    assert set(q) == {("bad_id.csv", line_no(5)), ("bad_id.csv", line_no(20))}
    assert "UTF-8" in q[("bad_id.csv", line_no(5))]["reason"]
    assert q[("bad_id.csv", line_no(20))]["reason"] == "expected 10 fields, found 1"
    frame = quarantine_frame(result)
    assert frame.height == 2
    for value in frame["source_game_id"].to_list() + frame["raw"].to_list():
        value.encode("utf-8")  # no lone surrogates


# --- 4. a garbage line -------------------------------------------------------------------------------------------

def test_garbage_line_is_quarantined_with_a_reason(tmp_path):
    header, g1, g2 = two_games()
    rows = g1[:30] + [b"asdf;;;not a row\n"] + g1[30:] + g2
    path = write(tmp_path, "garbage.csv", header, rows)

    result = read_pbp_files([path])
    assert_accounting(result, len(rows))
    [q] = result.quarantine
    assert q["line_no"] == line_no(30)
    assert q["reason"] == "expected 10 fields, found 1"
    assert q["raw"] == "asdf;;;not a row"
    # The game around the garbage line is still one game, read completely.
    assert result.columns["source_game_id"].count(fields(g1[0])[0]) == len(g1)


def test_blank_line_is_quarantined_with_a_reason(tmp_path):
    header, g1, g2 = two_games()
    rows = g1 + [b"\n"] + g2
    result = read_pbp_files([write(tmp_path, "blank.csv", header, rows)])
    assert_accounting(result, len(rows))
    [q] = result.quarantine
    assert q["line_no"] == line_no(len(g1))
    assert q["reason"] == "expected 10 fields, found 0"


def test_stray_quote_line_swallows_text_into_one_quarantined_record(tmp_path):
    """A garbage line opening a quote runs, by CSV rules, to the next quote: the next physical row becomes part
    of the same record. Nothing vanishes: that text is in the quarantined record's raw; records are counted."""
    header, g1, g2 = two_games()
    rows = g1[:30] + [b'"not a row\n'] + g1[30:] + g2
    path = write(tmp_path, "quote.csv", header, rows)

    result = read_pbp_files([path])
    assert_accounting(result, len(rows) - 1)  # CSV records: the stray line and the next row are one record
    [q] = result.quarantine
    assert q["line_no"] == line_no(30)
    assert q["reason"].startswith("expected 10 fields")
    assert q["raw"].startswith("not a row\n" + fields(g1[30])[0])


# --- 5. a duplicated game ----------------------------------------------------------------------------------------

def test_game_repeated_in_the_same_file_keeps_the_first_copy(tmp_path):
    header, g1, g2 = two_games()
    rows = g1 + g2 + g1
    path = write(tmp_path, "dup.csv", header, rows)

    result = read_pbp_files([path])
    assert_accounting(result, len(rows))
    first = len(g1) + len(g2)
    assert accepted_keys(result) == {("dup.csv", line_no(i)) for i in range(first)}
    q = quarantined(result)
    assert set(q) == {("dup.csv", line_no(i)) for i in range(first, len(rows))}
    gid = fields(g1[0])[0]
    for row in q.values():
        assert row["reason"].startswith("duplicate game")
        assert row["source_game_id"] == gid
        assert "dup.csv line 2" in row["reason"]


def test_game_repeated_in_a_second_file_keeps_the_first_files_copy(tmp_path):
    header, g1, g2 = two_games()
    first = write(tmp_path, "a.csv.gz", header, g1 + g2)
    second = write(tmp_path, "b.csv", header, g2)

    result = read_pbp_files([first, second])
    assert_accounting(result, len(g1) + 2 * len(g2))
    a, b = result.files
    assert (a.rows_read, a.rows_accepted, a.rows_quarantined) == (len(g1) + len(g2), len(g1) + len(g2), 0)
    assert (b.rows_read, b.rows_accepted, b.rows_quarantined) == (len(g2), 0, len(g2))
    assert set(result.columns["source_file"]) == {"a.csv.gz"}
    assert len(result.quarantine) == len(g2)
    for row in result.quarantine:
        assert row["source_file"] == "b.csv"
        assert row["reason"].startswith("duplicate game")
        assert "a.csv.gz" in row["reason"]


@pytest.mark.parametrize("copied", ["whole", "cut short"])
def test_game_copied_twice_in_a_row_quarantines_only_the_repeated_copy(tmp_path, copied):
    # The copy's first line follows the game's last: the score "went backwards" and the whole game was lost.
    header, g1, g2 = two_games()
    copy = g2 if copied == "whole" else g2[: len(g2) // 2]
    rows = g1 + g2 + copy
    result = read_pbp_files([write(tmp_path, "again.csv", header, rows)])
    assert_accounting(result, len(rows))
    first = len(g1) + len(g2)
    assert accepted_keys(result) == {("again.csv", line_no(i)) for i in range(first)}
    reason = (f"duplicate game: game {fields(g2[0])[0]} starts over at line {line_no(first)}, a repeated copy of "
              f"its lines from line {line_no(len(g1))}")
    assert [(q["line_no"], q["reason"]) for q in result.quarantine] == [
        (line_no(i), reason) for i in range(first, len(rows))]


def test_a_game_whose_first_line_comes_again_is_kept_whole(tmp_path):
    # Real games open with "No play." two or three times: only lines that go on repeating the game are a copy.
    header, g1, g2 = two_games()
    rows = [g1[0], g1[0]] + g1 + g2
    result = read_pbp_files([write(tmp_path, "again.csv", header, rows)])
    assert_accounting(result, len(rows))
    assert result.quarantine == []


def test_game_id_with_leading_zeros_is_the_same_game(tmp_path):
    # "0100" and "100" were two games: the second copy was kept, under a second game id.
    header, g1, g2 = two_games()
    gid = fields(g1[0])[0]
    first = write(tmp_path, "a.csv", header, g1 + g2)
    second = write(tmp_path, "b.csv", header, [with_field(line, "game_id", "00" + gid) for line in g1])

    result = read_pbp_files([first, second])
    assert_accounting(result, 2 * len(g1) + len(g2))
    assert set(result.columns["source_file"]) == {"a.csv"}
    assert {q["source_file"] for q in result.quarantine} == {"b.csv"} and len(result.quarantine) == len(g1)
    for row in result.quarantine:
        assert row["source_game_id"] == gid
        assert row["reason"] == f"duplicate game: game {gid} was already read from a.csv line 2"


# --- 6. a score that goes backwards --------------------------------------------------------------------------------

def test_score_going_backwards_quarantines_the_whole_game_only(tmp_path):
    header, g1, g2 = two_games()
    # The first play of game 2 that follows another play with runs on the board: set it back to 0-0.
    k = next(
        k for k in range(1, len(g2))
        if fields(g2[k - 1])[6] != "0-0"
        and not is_summary_line(fields(g2[k - 1])[9]) and not is_summary_line(fields(g2[k])[9])
    )
    g2[k] = with_field(g2[k], "score", "0-0")
    rows = g1 + g2
    path = write(tmp_path, "backwards.csv", header, rows)

    result = read_pbp_files([path])
    assert_accounting(result, len(rows))
    assert accepted_keys(result) == {("backwards.csv", line_no(i)) for i in range(len(g1))}
    q = quarantined(result)
    assert set(q) == {("backwards.csv", line_no(i)) for i in range(len(g1), len(rows))}
    bad_line = line_no(len(g1) + k)
    for row in q.values():
        assert "score goes backwards" in row["reason"]
        assert f"at line {bad_line}" in row["reason"]


def test_a_line_dated_apart_from_its_game_is_quarantined_alone(tmp_path):
    # A mistyped year on one line made it a line of another season: the lake stores lines by season, so
    # after the round trip the game became two games (a one-line 2022 game beside the 2021 one).
    header, g1, g2 = two_games()
    k = len(g1) // 2
    day = fields(g1[k])[1]
    g1[k] = with_field(g1[k], "date", day[:-4] + "2022")
    rows = g1 + g2
    result = read_pbp_files([write(tmp_path, "dates.csv", header, rows)])
    assert_accounting(result, len(rows))
    (row,) = result.quarantine
    assert row["line_no"] == line_no(k)
    month, dd, year = (int(v) for v in day.split("/"))
    assert row["reason"] == (f"date 2022-{month:02d}-{dd:02d} is not the game's date {date(year, month, dd)} "
                             "(that of most of its lines)")
    assert set(lines_frame(result).get_column("season")) == {year}


def test_building_tables_refuses_a_game_whose_lines_are_apart(tmp_path):
    header, g1, g2 = two_games()
    lines = lines_frame(read_pbp_files([write(tmp_path, "apart.csv", header, g1 + g2)]))
    n = len(g1)
    lines = pl.concat([lines.slice(0, 5), lines.slice(n, len(g2)), lines.slice(5, n - 5)])
    with pytest.raises(ValueError, match="are not contiguous"):
        build_pbp_tables(lines)


# --- 7. single bad rows -------------------------------------------------------------------------------------------

def _empty_row(line: bytes) -> bytes:
    values = fields(line)
    return row_bytes(values[:3] + [""] * 7)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("date", "02/30/2021", "date '02/30/2021' is not a calendar date"),
        ("date", "2021-02-28", "date '2021-02-28' is not MM/DD/YYYY"),
        ("date", "", "date '' is not MM/DD/YYYY"),
        ("date", "02/28/1019", "date '02/28/1019' is outside the seasons 1900-2100"),  # was season 1019
        ("date", "02/28/2919", "date '02/28/2919' is outside the seasons 1900-2100"),
        ("inning", "0", "inning '0' is not a number from 1 to 30"),
        ("inning", "31", "inning '31' is not a number from 1 to 30"),
        ("inning", "x", "inning 'x' is not a number from 1 to 30"),
        ("inning", "²", "inning '²' is not a number from 1 to 30"),  # made the whole read raise
        ("inning_top_bot", "middle", "inning_top_bot 'middle' is not top or bot"),
        ("score", "with 2 outs", "score 'with 2 outs' is not away-home"),
        ("score", "2:1", "score '2:1' is not away-home"),
        ("game_id", "abc", "game_id 'abc' is not a number"),
        ("game_id", "²", "game_id '²' is not a number"),  # str.isdigit passes it
        ("fielding", "", "batting or fielding team is empty"),
        ("description", "", "empty description"),
        ("fielding", "=batting", "batting and fielding team are the same"),
        ("batting", "Texas", "is not the game's pair"),
    ],
)
def test_bad_field_quarantines_that_row_with_a_specific_reason(tmp_path, column, value, reason):
    header, g1, g2 = two_games()
    rows = g1 + g2
    i = len(g1) + 7  # a play in the second game
    if value == "=batting":
        value = fields(rows[i])[COLUMNS.index("batting")]
    rows[i] = with_field(rows[i], column, value)
    path = write(tmp_path, "bad_field.csv", header, rows)

    result = read_pbp_files([path])
    assert_accounting(result, len(rows))
    assert accepted_keys(result) == {("bad_field.csv", line_no(j)) for j in range(len(rows)) if j != i}
    [q] = result.quarantine
    assert q["line_no"] == line_no(i)
    assert reason in q["reason"]


def test_empty_row_is_quarantined_with_a_specific_reason(tmp_path):
    header, g1, g2 = two_games()
    rows = g1[:40] + [_empty_row(g1[40])] + g1[40:] + g2
    path = write(tmp_path, "empty_row.csv", header, rows)

    result = read_pbp_files([path])
    assert_accounting(result, len(rows))
    [q] = result.quarantine
    assert q["line_no"] == line_no(40)
    assert q["reason"] == "empty row: no inning, score or description"
    assert q["source_game_id"] == fields(g1[40])[0]


def test_inning_half_with_blanks_around_is_stored_stripped(tmp_path):
    # "top " was accepted but kept as written, so the tables (half == "top") swapped away and home.
    header, g1, g2 = two_games()
    padded = [with_field(line, "inning_top_bot", f" {fields(line)[5]} ") for line in g1] + g2
    result = read_pbp_files([write(tmp_path, "padded.csv", header, padded)])
    assert_accounting(result, len(padded))
    assert result.quarantine == []
    assert set(result.columns["half"]) == {"top", "bot"}
    clean = read_pbp_files([write(tmp_path, "clean.csv", header, g1 + g2)])
    columns = ["game_id", "away_team", "home_team", "away_score", "home_score", "innings", "reconciled"]
    assert (build_pbp_tables(lines_frame(result)).games.select(columns).rows()
            == build_pbp_tables(lines_frame(clean)).games.select(columns).rows())


@pytest.mark.parametrize("value", ["99999999999", "-40", "lots", "1.5", "²"])
def test_unreadable_attendance_is_kept_null_and_counted_in_the_note(tmp_path, value):
    # 99999999999 and "²" made the whole read raise, naming no file; the others became null unrecorded.
    header, g1, g2 = two_games()
    bad = [with_field(line, "attendance", value) for line in g1]
    good = [with_field(line, "attendance", "1,234") for line in g2]
    rows = bad + good + bad  # the repeated copy is quarantined: its lines are not counted in the note
    result = read_pbp_files([write(tmp_path, "attendance.csv", header, rows)])
    assert_accounting(result, len(rows))
    assert len(result.quarantine) == len(g1)
    lines = lines_frame(result)
    assert lines.group_by("source_game_id", maintain_order=True).agg(pl.col("attendance").unique()).rows() == [
        (fields(g1[0])[0], [None]), (fields(g2[0])[0], [1234])]
    assert result.files[0].note == (
        f"attendance not a whole number from 0 to 1000000 (kept null): {len(g1)} lines (lines 2, 3, 4, ...)")


# --- gzip files of more than one member ---------------------------------------------------------------------------

def test_multi_member_gzip_reads_every_member(tmp_path):
    """`cat a.gz b.gz` is a valid gzip file (zcat and gzip.open read all of it); no member may be dropped."""
    header, g1, g2 = two_games()
    path = tmp_path / "members.csv.gz"
    path.write_bytes(
        gzip.compress(header + b"".join(g1[:50]), mtime=0) + gzip.compress(b"".join(g1[50:] + g2), mtime=0)
    )
    assert gzip.decompress(path.read_bytes()) == header + b"".join(g1 + g2)

    result = read_pbp_files([path])
    assert_accounting(result, len(g1) + len(g2))
    assert result.quarantine == []
    assert result.files[0].note is None


def test_gzip_with_trailing_garbage_raises_naming_the_file(tmp_path):
    header, g1, _ = two_games()
    path = tmp_path / "trailing.csv.gz"
    path.write_bytes(gzip.compress(header + b"".join(g1), mtime=0) + b"this is not gzip")
    with pytest.raises(SourceFormatError, match="trailing.csv.gz"):
        read_pbp_files([path])


def test_file_that_is_not_gzip_raises_naming_the_file(tmp_path):
    header, g1, _ = two_games()
    path = tmp_path / "plain_named.csv.gz"
    path.write_bytes(header + b"".join(g1))
    with pytest.raises(SourceFormatError, match="plain_named.csv.gz.*gzip"):
        read_pbp_files([path])


# --- frames --------------------------------------------------------------------------------------------------------

LINES_DTYPES = {
    "source_file": pl.String, "line_no": pl.Int64, "source_game_id": pl.String, "season": pl.Int32,
    "date": pl.Date, "location": pl.String, "attendance": pl.Int32, "inning": pl.Int16, "half": pl.String,
    "away_score": pl.Int16, "home_score": pl.Int16, "batting": pl.String, "fielding": pl.String,
    "description": pl.String,
}
QUARANTINE_DTYPES = {
    "source_file": pl.String, "line_no": pl.Int64, "source_game_id": pl.String, "reason": pl.String,
    "raw": pl.String,
}
FILE_REPORT_DTYPES = {
    "source_file": pl.String, "rows_read": pl.Int64, "rows_accepted": pl.Int64, "rows_quarantined": pl.Int64,
    "note": pl.String,
}


def test_frames_have_the_documented_columns_and_dtypes(tmp_path):
    header, g1, g2 = two_games()
    rows = g1[:10] + [b"asdf;;;not a row\n"] + g1[10:] + g2 + g1
    rows[3] = rows[3].replace(b"walked", b"wal\xffked", 1)
    assert b"\xff" in rows[3]
    path = write(tmp_path, "mixed.csv", header, rows)
    result = read_pbp_files([path])
    assert_accounting(result, len(rows))

    lines = lines_frame(result)
    assert dict(lines.schema) == LINES_DTYPES
    assert lines.height == len(rows) - 2 - len(g1)
    first = lines.row(0, named=True)
    raw = fields(g1[0])
    assert first["source_file"] == "mixed.csv" and first["line_no"] == 2
    assert first["source_game_id"] == raw[0] and first["season"] == 2021 and first["date"] == date(2021, 2, 28)
    assert first["location"] == raw[2] and first["attendance"] is None
    assert (first["inning"], first["half"], first["away_score"], first["home_score"]) == (1, "top", 0, 0)
    assert (first["batting"], first["fielding"], first["description"]) == (raw[7], raw[8], raw[9])

    quarantine = quarantine_frame(result)
    assert dict(quarantine.schema) == QUARANTINE_DTYPES
    assert quarantine.height == 2 + len(g1)
    assert quarantine["line_no"].to_list() == sorted(quarantine["line_no"].to_list())
    assert quarantine["reason"].null_count() == 0

    files = file_report_frame(result)
    assert dict(files.schema) == FILE_REPORT_DTYPES
    assert files.row(0, named=True) == {
        "source_file": "mixed.csv", "rows_read": len(rows), "rows_accepted": lines.height,
        "rows_quarantined": quarantine.height, "note": None,
    }


def test_frames_of_a_clean_read_keep_their_dtypes_when_empty(tmp_path):
    header, g1, _ = two_games()
    result = read_pbp_files([write(tmp_path, "clean.csv", header, g1)])
    assert dict(quarantine_frame(result).schema) == QUARANTINE_DTYPES
    assert quarantine_frame(result).height == 0
    assert dict(lines_frame(PbpReadResult()).schema) == LINES_DTYPES
    assert dict(file_report_frame(PbpReadResult()).schema) == FILE_REPORT_DTYPES
    assert lines_frame(PbpReadResult()).height == 0


def test_gzip_zero_padding_is_ignored_and_a_truncated_later_member_is_noted(tmp_path):
    header, g1, g2 = two_games()
    padded = tmp_path / "padded.csv.gz"
    padded.write_bytes(gzip.compress(header + b"".join(g1 + g2), mtime=0) + b"\0" * 512)
    result = read_pbp_files([padded])
    assert_accounting(result, len(g1) + len(g2))
    assert result.quarantine == [] and result.files[0].note is None

    second = gzip.compress(b"".join(g2), mtime=0)
    cut = tmp_path / "cut_member.csv.gz"
    cut.write_bytes(gzip.compress(header + b"".join(g1), mtime=0) + second[: len(second) // 2])
    result = read_pbp_files([cut])
    report = result.files[0]
    assert report.note and "truncated" in report.note
    assert report.rows_read > len(g1)
    assert_accounting(result, report.rows_read)
    assert accepted_keys(result) >= {("cut_member.csv.gz", line_no(i)) for i in range(len(g1))}
    assert [q["line_no"] for q in result.quarantine] == [line_no(report.rows_read - 1)]
    assert "truncated" in result.quarantine[0]["reason"]


def test_home_score_going_backwards_quarantines_the_whole_game(tmp_path):
    """The home half of the drop check (test_score_going_backwards_quarantines_the_whole_game_only drops the
    away score). Here the first game (Tennessee at Georgia, 2021-03-19) gets its home score set back
    to 0 on the first play after the home team has scored, the away score kept: the whole game is quarantined
    with the reason naming that line, the second game is untouched."""
    header, g1, g2 = two_games()
    score = COLUMNS.index("score")
    k = next(k for k in range(1, len(g1))
             if int(fields(g1[k - 1])[score].split("-")[1]) > 0
             and not is_summary_line(fields(g1[k - 1])[9]) and not is_summary_line(fields(g1[k])[9]))
    away, home = fields(g1[k])[score].split("-")
    assert int(home) > 0
    g1[k] = with_field(g1[k], "score", f"{away}-0")            # only the home score drops
    rows = g1 + g2
    result = read_pbp_files([write(tmp_path, "home_backwards.csv", header, rows)])
    assert_accounting(result, len(rows))
    assert accepted_keys(result) == {("home_backwards.csv", line_no(i)) for i in range(len(g1), len(rows))}
    q = quarantined(result)
    assert set(q) == {("home_backwards.csv", line_no(i)) for i in range(len(g1))}
    for row in q.values():
        assert f"score goes backwards at line {line_no(k)}: {away}-0 after" in row["reason"]


@pytest.mark.parametrize("game", [0, 1])
def test_a_third_team_is_quarantined_in_either_game(tmp_path, game):
    """test_bad_field_quarantines_that_row_with_a_specific_reason damages only the second game, which the
    reader re-checks line by line anyway (its summary lines' scores), so it cannot see the per-game team count
    that decides which games are re-checked. A third team on line 7 of EITHER game is quarantined alone."""
    header, g1, g2 = two_games()
    rows = g1 + g2
    i = (0 if game == 0 else len(g1)) + 7
    rows[i] = with_field(rows[i], "batting", "Texas")          # neither Tennessee nor Georgia, nor game 2's pair
    result = read_pbp_files([write(tmp_path, "third.csv", header, rows)])
    assert_accounting(result, len(rows))
    assert accepted_keys(result) == {("third.csv", line_no(j)) for j in range(len(rows)) if j != i}
    [q] = result.quarantine
    assert q["line_no"] == line_no(i) and "is not the game's pair" in q["reason"]


def test_parse_summary_percentages_by_hand():
    """2021: two games, one reconciled -> 50%. Ten lines: one inning summary (left out), two notes and seven
    plays, one of them unclassified ('other'). classified_pct leaves the notes out: 1 - 1/7 -> 85.714;
    classified_pct_all_lines counts the notes as unclassified: 1 - 3/9 -> 66.667."""
    report = pl.DataFrame({"season": [2021, 2021], "status": ["reconciled", "mismatch"]})
    kinds = ["summary", "note", "note", "play", "play", "play", "play", "play", "play", "play"]
    events = ["other", "other", "other", "other", "single", "walk", "strikeout", "groundout", "flyout", "double"]
    plays = pl.DataFrame({"season": [2021] * 10, "line_kind": kinds, "event_type": events})
    row = parse_summary(report, plays).row(0, named=True)
    assert (row["games"], row["reconciled"], row["reconciled_pct"]) == (2, 1, 50.0)
    assert (row["lines"], row["note_lines"], row["other_lines"], row["other_or_note_lines"]) == (9, 2, 1, 3)
    assert row["classified_pct"] == 85.714
    assert row["classified_pct_all_lines"] == 66.667
