"""Statcast CSV/TSV reader: real Savant rows in both shapes, every bad input quarantined with its reason.

Fixtures (see fixtures/statcast/README.md): 46 unchanged rows of the 2021 short balls-in-play file, 6 of
them the file's own bad rows (ids pasted into launch_angle/launch_speed, launch values swapped, launch data
missing), and 30 unchanged rows of the full-column export of every pitch of 2023-06-11 (10 balls in play
read, 1 in play without launch data, 19 pitches not put in play). Expected values were read off the raw
lines.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections import Counter
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from bsi_pipeline.batted_ball import batted_ball_features, load_woba_weights
from bsi_pipeline.features.batted_balls import build_batted_ball_features
from bsi_pipeline.sources.common import FILES_SCHEMA, QUARANTINE_SCHEMA, TRUNCATED_GZIP_NOTE, SourceFormatError
from bsi_pipeline.sources.statcast_csv import (
    BATTED_BALLS_FILES_SCHEMA,
    BATTED_BALLS_SCHEMA,
    SOURCE,
    read_statcast_csv,
)
from bsi_pipeline_tests.conftest import FIXTURES, SHARED_DATA

SHORT = FIXTURES / "statcast" / "statcast2021_sample.csv"
FULL = FIXTURES / "statcast" / "sc_2023-06-11_sample.csv"
SHORT_HEADER = "game_year,Game_Date,launch_angle,launch_speed,events"


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def write(tmp_path: Path, name: str, text_lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(text_lines) + "\n")
    return path


def short_file(tmp_path: Path, *rows: str, name: str = "short.csv") -> Path:
    return write(tmp_path, name, [SHORT_HEADER, *rows])


def reasons(result) -> dict[int, str]:
    return dict(result.quarantine.select("line_no", "reason").iter_rows())


def full_line_changed(line_no: int, **values: str) -> str:
    """Line ``line_no`` of the full-format fixture with some columns replaced (quoting kept right)."""
    rows = list(csv.reader(lines(FULL)))
    row = list(rows[line_no - 1])
    for name, value in values.items():
        row[rows[0].index(name)] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(row)
    return buf.getvalue()


def accounting_holds(result) -> None:
    f = result.files
    assert (f["rows_read"] == f["rows_accepted"] + f["rows_quarantined"] + f["rows_skipped_not_in_play"]).all()
    assert f["rows_accepted"].sum() == result.batted_balls.height
    assert f["rows_quarantined"].sum() == result.quarantine.height


# ------------------------------------------------------------------------------------------ short format

def test_short_format_rows_and_accounting():
    r = read_statcast_csv([SHORT])
    assert r.batted_balls.schema == pl.Schema(BATTED_BALLS_SCHEMA)
    assert r.quarantine.schema == pl.Schema(QUARANTINE_SCHEMA)
    assert r.files.schema == pl.Schema(BATTED_BALLS_FILES_SCHEMA)
    assert list(r.files.columns[: len(FILES_SCHEMA)]) == list(FILES_SCHEMA)
    assert r.files.row(0, named=True) == {
        "source": SOURCE, "source_file": SHORT.name, "rows_read": 46, "rows_accepted": 40,
        "rows_quarantined": 6, "note": None, "rows_skipped_not_in_play": 0,
    }
    accounting_holds(r)
    bb = r.batted_balls
    # line 2: 2021,2021-04-01,81,88.6,field_out
    first = bb.row(0, named=True)
    assert first["season"] == 2021 and first["game_date"] == date(2021, 4, 1)
    assert (first["launch_angle"], first["launch_speed"], first["events"]) == (81.0, 88.6, "field_out")
    assert (first["source_file"], first["line_no"]) == (SHORT.name, 2)
    # columns the short format does not have are null
    for col in ("game_pk", "batter", "pitcher", "hc_x", "hc_y", "bb_type", "estimated_woba_using_speedangle",
                "woba_value", "launch_speed_angle"):
        assert bb[col].null_count() == bb.height, col
    assert bb["line_no"].to_list() == list(range(2, 42))
    # line 13: 2021,2021-04-01,27,110.3,home_run
    assert bb.filter(pl.col("line_no") == 13).select("launch_angle", "launch_speed", "events").row(0) == (
        27.0, 110.3, "home_run")
    assert (bb["events"] == "home_run").sum() == 3


def test_short_format_real_bad_rows_are_quarantined_with_reasons():
    r = read_statcast_csv([SHORT])
    got = reasons(r)
    assert sorted(got) == [42, 43, 44, 45, 46, 47]
    assert got[42] == "missing launch data: launch_speed and launch_angle"      # original line 421
    assert got[43] == "missing launch data: launch_angle"                       # 3537: NA,82.4,single
    assert got[44] == "missing launch data: launch_angle"                       # 13699: NA,77,field_out
    # 22675: two player ids pasted into launch_angle and launch_speed
    assert got[45].startswith("launch_speed out of range: 518934 mph is outside 0-125 (an id-sized number")
    assert "launch_angle out of range: 570482 degrees is outside -90..90 (an id-sized number" in got[45]
    # 23939: angle and speed swapped (96.8 degrees, 18 mph) on a home run
    assert got[46] == ("launch_angle out of range: 96.8 degrees is outside -90..90 "
                       "(launch_speed and launch_angle look swapped)")
    assert got[47] == "missing launch data: launch_speed and launch_angle"      # 29388: a home run
    raw = dict(r.quarantine.select("line_no", "raw").iter_rows())
    assert raw[45] == "2021,2021-05-11,570482,518934,field_out"
    assert raw[46] == lines(SHORT)[45]
    assert (r.quarantine["source"] == SOURCE).all() and r.quarantine["source_game_id"].is_null().all()


# ------------------------------------------------------------------------------------------- full format

def test_full_format_balls_in_play_and_skipped_pitches():
    r = read_statcast_csv([FULL])
    f = r.files.row(0, named=True)
    assert (f["rows_read"], f["rows_accepted"], f["rows_quarantined"], f["rows_skipped_not_in_play"]) == (30, 10, 1, 19)
    assert f["note"] == "skipped_not_in_play: 19 pitch row(s) not put in play (type is B or S, not X)"
    accounting_holds(r)
    bb = r.batted_balls
    assert bb["line_no"].to_list() == [2, 4, 10, 13, 18, 24, 27, 28, 29, 30]
    # line 2: Omar Narvaez pops out (ST, 2023-06-11, game 717803, at bat 52, pitch 6)
    row = bb.row(0, named=True)
    assert row == {
        "season": 2023, "game_date": date(2023, 6, 11), "game_pk": 717803, "at_bat_number": 52,
        "pitch_number": 6, "batter": 553882, "pitcher": 656605, "stand": "L", "events": "field_out",
        "bb_type": "popup", "launch_speed": 62.0, "launch_angle": 54.0, "hc_x": 155.48, "hc_y": 147.26,
        "launch_speed_angle": 3, "estimated_woba_using_speedangle": 0.036, "woba_value": 0.0,
        "source_file": FULL.name, "line_no": 2,
    }
    hr = bb.filter(pl.col("line_no") == 30).row(0, named=True)
    assert (hr["events"], hr["launch_speed"], hr["launch_angle"], hr["launch_speed_angle"], hr["woba_value"]) == (
        "home_run", 105.4, 38.0, 6, 2.0)
    # the walk (line 12, type B, events walk) is a pitch not put in play, not a batted ball
    assert 12 not in bb["line_no"].to_list()
    q = r.quarantine.row(0, named=True)
    assert (q["line_no"], q["source_game_id"], q["reason"]) == (
        31, "717798", "missing launch data: launch_speed and launch_angle")
    assert q["raw"] == lines(FULL)[30]


def test_tab_separated_and_gzip_read_the_same(tmp_path):
    rows = list(csv.reader(io.StringIO(FULL.read_text())))
    buf = io.StringIO()
    csv.writer(buf, delimiter="\t", lineterminator="\n").writerows(rows)
    tsv = tmp_path / "pitches.tsv"
    tsv.write_text(buf.getvalue())
    gz = tmp_path / "pitches.csv.gz"
    gz.write_bytes(gzip.compress(FULL.read_bytes()))
    base = read_statcast_csv([FULL]).batted_balls.drop("source_file")
    for path in (tsv, gz):
        r = read_statcast_csv([path])
        assert r.batted_balls.drop("source_file").equals(base), path
        accounting_holds(r)
    assert "tab-separated" in read_statcast_csv([tsv]).files["note"][0]


def test_column_names_match_case_insensitively(tmp_path):
    text = FULL.read_text().split("\n", 1)
    upper = tmp_path / "upper.csv"
    upper.write_text(text[0].upper() + "\n" + text[1])
    base = read_statcast_csv([FULL]).batted_balls.drop("source_file")
    assert read_statcast_csv([upper]).batted_balls.drop("source_file").equals(base)
    lower = write(tmp_path, "lower.csv", [lines(SHORT)[0].lower(), *lines(SHORT)[1:]])
    assert read_statcast_csv([lower]).batted_balls.drop("source_file").equals(
        read_statcast_csv([SHORT]).batted_balls.drop("source_file"))


def test_description_decides_in_play_without_type(tmp_path):
    header = "game_date,description,events,launch_speed,launch_angle"
    path = write(tmp_path, "desc.csv", [
        header,
        "2019-05-01,hit_into_play_score,home_run,104.1,28",
        "2019-05-01,ball,,,",
        "2019-05-01,foul,,88.0,60",
        "2019-05-01,hit_into_play_no_out,single,,",
    ])
    r = read_statcast_csv([path])
    assert r.batted_balls["line_no"].to_list() == [2]
    assert r.batted_balls["season"].to_list() == [2019]  # from the date: there is no game_year
    assert reasons(r) == {5: "missing launch data: launch_speed and launch_angle"}
    assert r.files["rows_skipped_not_in_play"][0] == 2
    assert "description does not start with hit_into_play" in r.files["note"][0]


def test_short_format_plate_appearances_without_a_ball_in_play_are_skipped(tmp_path):
    path = short_file(tmp_path, "2021,2021-04-01,20,100,single", "2021,2021-04-01,NA,NA,strikeout",
                      "2021,2021-04-01,NA,NA,walk")
    r = read_statcast_csv([path])
    assert r.batted_balls.height == 1 and r.quarantine.height == 0
    assert r.files["rows_skipped_not_in_play"][0] == 2
    assert r.files["note"][0].startswith("skipped_not_in_play: 2 ")


# ----------------------------------------------------------------------------------------- bad inputs

@pytest.mark.parametrize(("row", "reason"), [
    ("2021,2021-04-01,20,125.1,single", "launch_speed out of range: 125.1 mph is outside 0-125"),
    ("2021,2021-04-01,20,-0.1,single", "launch_speed out of range: -0.1 mph is outside 0-125"),
    ("2021,2021-04-01,90.1,100,single", "launch_angle out of range: 90.1 degrees is outside -90..90"),
    ("2021,2021-04-01,-90.1,100,single", "launch_angle out of range: -90.1 degrees is outside -90..90"),
    ("2021,2021-04-01,20,660271,single",
     "launch_speed out of range: 660271 mph is outside 0-125 (an id-sized number: an id pasted into the column?)"),
    ("2021,2021-04-01,20,fast,single", "not a number: launch_speed 'fast'"),
    ("2021,2021-04-01,x20,100,single", "not a number: launch_angle 'x20'"),
    ("2021,2021-04-01,20,inf,single", "not a number: launch_speed 'inf'"),
    ("2021,2021-04-01,NA,100,single", "missing launch data: launch_angle"),
    ("2021,2021-04-01,20,,single", "missing launch data: launch_speed"),
    ("2021,2021-13-45,20,100,single", "unparseable game_date '2021-13-45'"),
    ("2021,April 1,20,100,single", "unparseable game_date 'April 1'"),
    ("2021,,20,100,single", "missing game_date"),
    ("2020,2021-04-01,20,100,single", "season mismatch: game_year 2020 but game_date 2021-04-01"),
    ("twenty,2021-04-01,20,100,single", "not a number: game_year 'twenty'"),
    ("-5,2021-04-01,20,100,single",
     "out of range: game_year -5 is outside 1900-2100; season mismatch: game_year -5 but game_date 2021-04-01"),
    ("2021,2021-04-01,20,100,", "missing events: a ball in play without a result"),
    ("2021,2021-04-01,20,100,single,extra", "expected 5 fields, found 6"),
])
def test_each_bad_input_is_quarantined_with_its_reason(tmp_path, row, reason):
    path = short_file(tmp_path, "2021,2021-04-01,28,105.2,home_run", row)
    r = read_statcast_csv([path])
    assert r.batted_balls["line_no"].to_list() == [2]
    assert reasons(r) == {3: reason}
    assert r.quarantine["raw"][0] == row
    accounting_holds(r)


def test_edge_values_are_accepted(tmp_path):
    path = short_file(tmp_path, "2021,2021-04-01,90,125,single", "2021,2021-04-01,-90,0,field_out",
                      "2021,04/02/2021,-90.0,0.0,field_out")
    r = read_statcast_csv([path])
    assert r.quarantine.height == 0
    assert r.batted_balls["game_date"].to_list() == [date(2021, 4, 1), date(2021, 4, 1), date(2021, 4, 2)]


def test_a_date_with_a_time_is_read_by_its_date_but_other_trailing_text_is_quarantined(tmp_path):
    """Only a time of day may follow the date: '2021-04-019' is not 2021-04-01 with a stray digit."""
    path = short_file(tmp_path, "2021,2021-04-01 00:00:00,20,100,single", "2021,2021-04-02T19:05:00.000Z,20,100,single",
                      "2021,2021-04-019,20,100,single", "2021,2021-04-01T99:99,20,100,single",
                      "2021,2021-04-01xyz,20,100,double")
    r = read_statcast_csv([path])
    assert r.batted_balls.select("line_no", "game_date").rows() == [(2, date(2021, 4, 1)), (3, date(2021, 4, 2))]
    assert reasons(r) == {4: "unparseable game_date '2021-04-019'", 5: "unparseable game_date '2021-04-01T99:99'",
                          6: "unparseable game_date '2021-04-01xyz'"}
    accounting_holds(r)


def test_missing_season(tmp_path):
    path = write(tmp_path, "year_only.csv", ["game_year,launch_angle,launch_speed,events", "2019,20,100,single",
                                             ",20,100,single"])
    r = read_statcast_csv([path])
    assert r.batted_balls["season"].to_list() == [2019]
    assert r.batted_balls["game_date"].to_list() == [None]
    assert reasons(r) == {3: "missing season: no game_year and no game_date"}
    both = short_file(tmp_path, ",,20,100,single", name="both.csv")
    assert reasons(read_statcast_csv([both])) == {
        2: "missing season: no game_year and no game_date; missing game_date"}


def test_several_problems_are_all_named(tmp_path):
    path = short_file(tmp_path, "2021,someday,95.5,abc,")
    got = reasons(read_statcast_csv([path]))[2]
    assert got == ("not a number: launch_speed 'abc'; launch_angle out of range: 95.5 degrees is outside -90..90; "
                   "unparseable game_date 'someday'; missing events: a ball in play without a result")


def test_full_format_non_numeric_values_and_unknown_type(tmp_path):
    text = lines(FULL)
    changed = full_line_changed
    path = write(tmp_path, "full_bad.csv", [
        text[0],
        changed(2, batter="Narvaez, Omar"),       # a name pasted into an id column
        changed(4, hc_x="left"),                   # text in a coordinate
        changed(10, game_pk="717795.5"),           # an id that is not a whole number
        changed(13, type=""),                      # no pitch result type
        changed(18, type="Z"),
        changed(24, estimated_woba_using_speedangle="n/a?"),
        text[26],                                  # line 27 unchanged
    ])
    r = read_statcast_csv([path])
    got = reasons(r)
    assert got == {
        2: "not a whole number: batter 'Narvaez, Omar'",
        3: "not a number: hc_x 'left'",
        4: "not a whole number: game_pk '717795.5'",
        5: "unknown pitch result type: type (empty) is not B, S or X",
        6: "unknown pitch result type: type Z is not B, S or X",
        7: "not a number: estimated_woba_using_speedangle 'n/a?'",
    }
    assert r.batted_balls["line_no"].to_list() == [8]
    accounting_holds(r)


def test_the_same_pitch_read_twice_is_quarantined_as_duplicate(tmp_path):
    copy = tmp_path / "copy.csv"
    copy.write_bytes(FULL.read_bytes())
    r = read_statcast_csv([FULL, copy])
    assert r.batted_balls["source_file"].unique().to_list() == [FULL.name]
    dup = r.quarantine.filter(pl.col("source_file") == "copy.csv")
    # the 10 accepted balls are duplicates; the ball without launch data is quarantined for that, again
    assert dup.height == 11
    assert dup.filter(pl.col("line_no") == 2)["reason"][0] == (
        f"duplicate pitch: game_pk 717803 at_bat_number 52 pitch_number 6 was already read from {FULL.name} line 2")
    assert r.files["rows_skipped_not_in_play"].to_list() == [19, 19]
    accounting_holds(r)


def test_whole_numbers_beyond_their_columns_are_quarantined(tmp_path):
    """launch_speed_angle 300 or game_year 3000000000 used to stop the read when cast to the output schema."""
    text = lines(FULL)
    changed = full_line_changed
    path = write(tmp_path, "full_range.csv", [
        text[0], changed(2, launch_speed_angle="300"), changed(4, at_bat_number="0"),
        changed(10, game_year="3000000000"), text[26]])
    r = read_statcast_csv([path])
    assert reasons(r) == {
        2: "out of range: launch_speed_angle 300 is outside 1-6",
        3: "out of range: at_bat_number 0 is outside 1-10000",
        4: "out of range: game_year 3000000000 is outside 1900-2100; season mismatch: game_year 3000000000 but "
           "game_date 2023-06-11",
    }
    assert r.batted_balls["line_no"].to_list() == [5]
    accounting_holds(r)


def test_a_short_format_file_read_twice_is_quarantined_as_a_copy(tmp_path):
    """Short-format rows have no pitch key, so a file given twice (a glob that matches a copy) would count
    every ball twice; the copy is quarantined instead, whatever its name."""
    copy = tmp_path / "copy.csv"
    copy.write_bytes(SHORT.read_bytes())
    once = read_statcast_csv([SHORT])
    for paths in ([SHORT, copy], [SHORT, SHORT]):
        r = read_statcast_csv(paths)
        assert r.batted_balls.equals(once.batted_balls)
        second = r.quarantine.slice(once.quarantine.height)  # sorted by file, then line
        assert second.height == once.quarantine.height + once.batted_balls.height
        copies = second.filter(pl.col("reason").str.starts_with("duplicate file"))
        assert copies.height == once.batted_balls.height
        assert copies["reason"][0] == (
            f"duplicate file: the same content as {SHORT.name} was already read (rows without game_pk, "
            "at_bat_number and pitch_number cannot be matched one by one)")
        accounting_holds(r)


def test_two_files_of_one_name_are_told_apart(tmp_path):
    """One Savant download per season folder, both called savant.csv: their balls were identified by file
    name and line, so the second file's balls were excluded from the features as duplicates of the first's."""
    data = lines(SHORT)[1:7]
    for season, rows in (("2021a", data[:3]), ("2021b", data[3:])):
        (tmp_path / season).mkdir()
        short_file(tmp_path / season, *rows, name="savant.csv")
    r = read_statcast_csv([tmp_path / "2021a" / "savant.csv", tmp_path / "2021b" / "savant.csv"])
    accounting_holds(r)
    assert r.files["source_file"].to_list() == ["2021a/savant.csv", "2021b/savant.csv"]
    balls = r.batted_balls
    assert balls.group_by("source_file").len().sort("source_file").rows() == [
        ("2021a/savant.csv", r.files["rows_accepted"][0]), ("2021b/savant.csv", r.files["rows_accepted"][1])]
    build = build_batted_ball_features(batted_ball_features(balls, load_woba_weights()))
    assert build.excluded.height == 0 and build.features.height == balls.height
    assert build.features["row_id"].is_unique().all()


def test_bad_bytes_blank_lines_and_truncated_gzip(tmp_path):
    body = [SHORT_HEADER, "2021,2021-04-01,28,105.2,home_run", "", "2021,2021-04-01,10,99.1,single"]
    data = ("\n".join(body) + "\n").encode() + b"2021,2021-04-01,12,90.0,sin\xffgle\n"
    path = tmp_path / "bytes.csv"
    path.write_bytes(data)
    r = read_statcast_csv([path])
    assert reasons(r) == {5: "row holds bytes that are not valid UTF-8"}
    assert r.quarantine["raw"][0] == "2021,2021-04-01,12,90.0,sin\\xffgle"
    assert r.files.row(0, named=True)["note"] == "1 blank line(s) skipped"
    assert r.files["rows_read"][0] == 3
    accounting_holds(r)

    full = gzip.compress(SHORT.read_bytes())
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(full[: len(full) - 40])
    r = read_statcast_csv([cut])
    assert r.files["note"][0] == TRUNCATED_GZIP_NOTE
    last = r.quarantine.sort("line_no").row(-1, named=True)
    assert last["reason"] == f"last row of a truncated file ({TRUNCATED_GZIP_NOTE})"
    accounting_holds(r)


def test_unreadable_csv_row_is_quarantined_and_reading_goes_on(tmp_path):
    huge = "2021,2021-04-01,20,100," + "x" * 200_000  # a field over the csv module's size limit
    path = short_file(tmp_path, "2021,2021-04-01,28,105.2,home_run", huge, "2021,2021-04-01,10,99.1,single")
    r = read_statcast_csv([path])
    assert r.batted_balls["line_no"].to_list() == [2, 4]
    assert reasons(r)[3].startswith("unreadable CSV row (field larger than field limit")
    accounting_holds(r)


# ---------------------------------------------------------------------------------- whole-file errors

@pytest.mark.parametrize("drop", ["launch_speed", "launch_angle", "events"])
def test_missing_required_column_names_file_and_column(tmp_path, drop):
    cols = SHORT_HEADER.split(",")
    keep = [i for i, c in enumerate(cols) if c != drop]
    rows = [[v for i, v in enumerate(line.split(",")) if i in keep] for line in lines(SHORT)[:5]]
    path = write(tmp_path, "nocol.csv", [",".join(r) for r in rows])
    with pytest.raises(SourceFormatError, match=rf"nocol\.csv: missing required column '{drop}'"):
        read_statcast_csv([path])


def test_missing_season_and_date_columns(tmp_path):
    path = write(tmp_path, "noseason.csv", ["launch_angle,launch_speed,events", "20,100,single"])
    with pytest.raises(SourceFormatError, match=r"noseason\.csv: missing required column 'game_year' or 'game_date'"):
        read_statcast_csv([path])


def test_a_file_without_launch_data_is_not_a_batted_ball_file(tmp_path):
    # the header of sc2022_ip.csv (bayesball/HomeRuns2021): plate location and xwOBA, no launch data
    path = write(tmp_path, "sc2022_ip.csv", ["pitcher,batter,plate_x,plate_z,events,estimated_woba_using_speedangle",
                                             "506433,572233,-0.21,2.26,field_out,0.003"])
    with pytest.raises(SourceFormatError, match=r"sc2022_ip\.csv: missing required column 'launch_speed'"):
        read_statcast_csv([path])


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("\n\n")
    with pytest.raises(SourceFormatError, match=r"empty\.csv: empty file"):
        read_statcast_csv([path])


def test_no_files():
    r = read_statcast_csv([])
    assert r.batted_balls.height == 0 and r.quarantine.height == 0 and r.files.height == 0
    assert r.batted_balls.schema == pl.Schema(BATTED_BALLS_SCHEMA)


# ------------------------------------------------------------------------------- full shared seasons

# Statcast home runs: 5,944 (2021) and 5,215 (2022) in MLB; the 2021 file holds 5,924 (20 fewer).
SEASON_FILES = {2021: ("statcast2021.csv", 5924), 2022: ("statcast_2022.csv", 5215)}


@pytest.mark.slow
@pytest.mark.parametrize("season", sorted(SEASON_FILES))
def test_full_season_home_runs_and_quarantine(season):
    name, file_hr = SEASON_FILES[season]
    path = SHARED_DATA / "statcast_batted_balls" / name
    if not path.exists():
        pytest.skip(f"shared real data not present: {path}")
    r = read_statcast_csv([path])
    accounting_holds(r)
    f = r.files.row(0, named=True)
    accepted_hr = int((r.batted_balls["events"] == "home_run").sum())
    quarantined_hr = int(r.quarantine["raw"].str.ends_with(",home_run").sum())
    kinds = Counter(reason.split(":")[0] for reason in r.quarantine["reason"])
    print(f"\n{season}: read {f['rows_read']:,}, accepted {f['rows_accepted']:,}, quarantined "
          f"{f['rows_quarantined']:,} {dict(r.quarantine.group_by('reason').len().iter_rows())}; home runs "
          f"accepted {accepted_hr:,} + quarantined {quarantined_hr} = {accepted_hr + quarantined_hr:,}")
    assert accepted_hr + quarantined_hr == file_hr
    assert accepted_hr >= file_hr - 20
    assert (r.batted_balls["season"] == season).all()
    assert f["rows_skipped_not_in_play"] == 0
    if season == 2021:
        assert (f["rows_read"], f["rows_accepted"], f["rows_quarantined"]) == (121_108, 120_659, 449)
        assert kinds == {"missing launch data": 447, "launch_speed out of range": 1, "launch_angle out of range": 1}
        assert (accepted_hr, quarantined_hr) == (5911, 13)
    else:
        assert (f["rows_read"], f["rows_accepted"], f["rows_quarantined"]) == (124_221, 123_660, 561)
        assert kinds == {"missing launch data": 561}
        assert (accepted_hr, quarantined_hr) == (5213, 2)
