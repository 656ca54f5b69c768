"""Read Chadwick `cwevent` output (Retrosheet play-by-play, one event a row) into a normalized plays table.

Source kind `retrosheet_cwevent`. Input files are
- CSV (plain or .gz) as cwevent writes it: strings quoted, flags "T"/"F". With a header row (`cwevent -n`;
  columns found by name, any order, any subset holding the required columns) or without one (cwevent's
  default): a file without a header must hold the standard fields in the standard order, i.e. 96 or 97
  fields (`cwevent -f 0-95` / `-f 0-96`); further fields (e.g. `-x` extended fields) are ignored and noted.
  A header is recognised by a field named GAME_ID in the first non-blank line.
- Parquet (`.parquet`/`.pq`) with the cwevent header names as column names in any letter case, as in
  ../shared/data/retrosheet_events_2016/retro2016_events.parquet. `line_no` is then the 1-based row number.
Field numbers below are Chadwick's standard cwevent field numbers (see STANDARD_FIELDS).

`events` (EVENTS_SCHEMA): one row per accepted event, games in the order first read, events by number.
Every column the college `plays` table (bsi_pipeline.plays_schema.PLAYS_SCHEMA) has is here with the same
name and dtype, with the same meaning where both sources know it:
- game_id "baseball:mlb:<season>:game:<retrosheet id lower-cased>"; source_game_id the Retrosheet id
  `<home team><yyyymmdd><game number>`; season and date read from it.
- seq: EVENT_ID (field 96, the event number within the game); a file without that field numbers the events of
  each game 1, 2, ... in file order (noted in `files`), and a game that starts over at its first pitch after
  play in it is a second copy, quarantined from there (see `_finish`; a repeated fragment that does not begin
  at the first pitch cannot be told from new events without EVENT_ID).
- half "top"/"bot" from BAT_HOME_ID (0/1). batting_team / fielding_team: the away team (AWAY_TEAM_ID) bats
  when BAT_HOME_ID = 0, the home team (the id's first three characters) when 1. (In the rare game where the
  home team batted first, "top" still means "the away team bats", as in cwevent's BAT_HOME_ID.)
- batter / pitcher: BAT_ID / PIT_ID, the batter at the plate and the pitcher on the mound, on every row (the
  college table knows the batter only on plate appearances). RESP_* (who is charged) are not used.
- outs_before = OUTS_CT; outs_after = OUTS_CT + EVENT_OUTS_CT (3 ends the half inning).
- bases_before from BASE1/2/3_RUN_ID (occupied when not empty); bases_after from BAT_DEST_ID and
  RUN1/2/3_DEST_ID (a destination of 1-3 occupies that base; runners left on base at the third out stay).
  Labels as in the college table: 'empty', '1', '2', '1-2', '3', '1-3', '2-3', '1-2-3'.
- runs_on_play: how many of batter and runners have a destination of 4, 5 or 6 (scored; 5/6 = unearned);
  runners_scored: their ids, lead runner first, "; "-joined.
- event_type: EVENT_CD (field 34) mapped to the project vocabulary (bsi_pipeline.ncaa.pbp_text.EVENT_TYPES):
    2 generic out  -> triple_play if TP_FL, else double_play if DP_FL, else sac_bunt if SH_FL, else sac_fly
                      if SF_FL, else by BATTEDBALL_CD: G groundout, F flyout, L lineout, P popout. With no
                      batted-ball type (older seasons) the closest word is taken from the fielders in EVENT_TX:
                      an assisted out ("63") groundout, an outfielder alone ("8") flyout, any other single
                      fielder ("6", "2F") popout.
    3 strikeout (also when DP_FL: a strikeout plus a runner caught stealing stays a strikeout)
    4 stolen_base, 5 defensive_indifference, 6 caught_stealing, 7 (pickoff error, obsolete) and 8 pickoff,
    9 wild_pitch, 10 passed_ball, 11 balk, 14 walk, 15 intentional_walk, 16 hit_by_pitch,
    17 catcher_interference (as the college table), 18 reached_on_error, 19 fielders_choice, 20 single, 21 double, 22 triple,
    23 home_run; 0 unknown, 1 none, 12 other advance, 13 foul error, 24 missing play -> other.
  event_code keeps EVENT_CD and batted_ball_type BATTEDBALL_CD (G/F/L/P or null).
- is_plate_appearance = BAT_EVENT_FL (the event ends the batter's plate appearance); line_kind "play".
- rbi RBI_CT, balls BALLS_CT / strikes STRIKES_CT (the count before the last pitch), pitch_sequence
  PITCH_SEQ_TX, sac "SH"/"SF"/null from SH_FL/SF_FL, description = EVENT_TX (the raw event text).
- away_score_before / home_score_before = AWAY/HOME_SCORE_CT (before the play); away_score / home_score after
  it (the batting side's score plus runs_on_play), as the college table has them.
- end_of_half_inning: the last accepted event of its half inning in the game (also a walk-off's last play).

`quarantine` (QUARANTINE_SCHEMA): every row not accepted, with the first reason found: a line the csv module
cannot read (a field over its size limit), a field count other than the file's (each line is split on its own,
so an unclosed quote costs only its line), bytes that are not UTF-8, a game id that is not
`<team><yyyymmdd><0-3>` with a calendar date, a missing away team or one equal to the home team, an inning
that is not a positive number, BAT_HOME_ID not 0/1, outs before the play outside 0-2, an event code that is
not a Chadwick code (0-24), outs on the play outside 0-3 or more than 3 outs after it, a destination outside
0-6 or for a base with no runner, two people ending on the same base, a count outside 0-3 balls / 0-2 strikes,
a score that is not a number from 0 to 999 or an RBI count outside 0-4, a flag that is not T/F, an event
number that is not a positive number, an event already read (same game and event number, across all files:
the first copy wins), and, without EVENT_ID, a game starting over in the same file (a repeated copy).

`files` (FILES_SCHEMA): per file rows_read = rows_accepted + rows_quarantined; blank lines are not rows.
A file that cannot be read, is empty, lacks a required column, or (without a header) has too few fields raises
SourceFormatError naming the file and the missing columns.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from bsi_pipeline.plays_schema import PLAYS_SCHEMA
from bsi_pipeline.sources.common import (
    BAD_BYTES_REASON,
    FILES_SCHEMA,
    QUARANTINE_SCHEMA,
    SourceFormatError,
    file_labels,
    files_frame,
    game_id,
    has_bad_bytes,
    printable,
    read_text,
    split_line,
)

SOURCE = "retrosheet_cwevent"
SPORT, LEAGUE = "baseball", "mlb"

# Chadwick's standard cwevent fields: the header name of field number i is STANDARD_FIELDS[i].
STANDARD_FIELDS = (
    "GAME_ID", "AWAY_TEAM_ID", "INN_CT", "BAT_HOME_ID", "OUTS_CT", "BALLS_CT", "STRIKES_CT", "PITCH_SEQ_TX",
    "AWAY_SCORE_CT", "HOME_SCORE_CT", "BAT_ID", "BAT_HAND_CD", "RESP_BAT_ID", "RESP_BAT_HAND_CD", "PIT_ID",
    "PIT_HAND_CD", "RESP_PIT_ID", "RESP_PIT_HAND_CD", "POS2_FLD_ID", "POS3_FLD_ID", "POS4_FLD_ID", "POS5_FLD_ID",
    "POS6_FLD_ID", "POS7_FLD_ID", "POS8_FLD_ID", "POS9_FLD_ID", "BASE1_RUN_ID", "BASE2_RUN_ID", "BASE3_RUN_ID",
    "EVENT_TX", "LEADOFF_FL", "PH_FL", "BAT_FLD_CD", "BAT_LINEUP_ID", "EVENT_CD", "BAT_EVENT_FL", "AB_FL",
    "H_FL", "SH_FL", "SF_FL", "EVENT_OUTS_CT", "DP_FL", "TP_FL", "RBI_CT", "WP_FL", "PB_FL", "FLD_CD",
    "BATTEDBALL_CD", "BUNT_FL", "FOUL_FL", "BATTEDBALL_LOC_TX", "ERR_CT", "ERR1_FLD_CD", "ERR1_CD",
    "ERR2_FLD_CD", "ERR2_CD", "ERR3_FLD_CD", "ERR3_CD", "BAT_DEST_ID", "RUN1_DEST_ID", "RUN2_DEST_ID",
    "RUN3_DEST_ID", "BAT_PLAY_TX", "RUN1_PLAY_TX", "RUN2_PLAY_TX", "RUN3_PLAY_TX", "RUN1_SB_FL", "RUN2_SB_FL",
    "RUN3_SB_FL", "RUN1_CS_FL", "RUN2_CS_FL", "RUN3_CS_FL", "RUN1_PK_FL", "RUN2_PK_FL", "RUN3_PK_FL",
    "RUN1_RESP_PIT_ID", "RUN2_RESP_PIT_ID", "RUN3_RESP_PIT_ID", "GAME_NEW_FL", "GAME_END_FL", "PR_RUN1_FL",
    "PR_RUN2_FL", "PR_RUN3_FL", "REMOVED_FOR_PR_RUN1_ID", "REMOVED_FOR_PR_RUN2_ID", "REMOVED_FOR_PR_RUN3_ID",
    "REMOVED_FOR_PH_BAT_ID", "REMOVED_FOR_PH_BAT_FLD_CD", "PO1_FLD_CD", "PO2_FLD_CD", "PO3_FLD_CD",
    "ASS1_FLD_CD", "ASS2_FLD_CD", "ASS3_FLD_CD", "ASS4_FLD_CD", "ASS5_FLD_CD", "EVENT_ID",
)
FIELD_NUMBER = {name: i for i, name in enumerate(STANDARD_FIELDS)}
# The fields this reader uses; all but EVENT_ID must be present.
REQUIRED = (
    "GAME_ID", "AWAY_TEAM_ID", "INN_CT", "BAT_HOME_ID", "OUTS_CT", "BALLS_CT", "STRIKES_CT", "PITCH_SEQ_TX",
    "AWAY_SCORE_CT", "HOME_SCORE_CT", "BAT_ID", "PIT_ID", "BASE1_RUN_ID", "BASE2_RUN_ID", "BASE3_RUN_ID",
    "EVENT_TX", "EVENT_CD", "BAT_EVENT_FL", "SH_FL", "SF_FL", "EVENT_OUTS_CT", "DP_FL", "TP_FL", "RBI_CT",
    "BATTEDBALL_CD", "BAT_DEST_ID", "RUN1_DEST_ID", "RUN2_DEST_ID", "RUN3_DEST_ID",
)
OPTIONAL = ("EVENT_ID",)
MIN_HEADERLESS_FIELDS = FIELD_NUMBER["EVENT_ID"]  # 96: fields 0-95

BASE_LABELS = ("empty", "1", "2", "1-2", "3", "1-3", "2-3", "1-2-3")  # index = 1st + 2 * 2nd + 4 * 3rd

# Chadwick EVENT_CD -> project vocabulary (code 2, generic out, is refined by flags and batted-ball type).
EVENT_CODES = {
    0: "other", 1: "other", 2: "out", 3: "strikeout", 4: "stolen_base", 5: "defensive_indifference",
    6: "caught_stealing", 7: "pickoff", 8: "pickoff", 9: "wild_pitch", 10: "passed_ball", 11: "balk",
    12: "other", 13: "other", 14: "walk", 15: "intentional_walk", 16: "hit_by_pitch", 17: "catcher_interference",
    18: "reached_on_error", 19: "fielders_choice", 20: "single", 21: "double", 22: "triple", 23: "home_run",
    24: "other",
}
BATTED_BALL_OUTS = {"G": "groundout", "F": "flyout", "L": "lineout", "P": "popout"}

EVENTS_SCHEMA = {
    **PLAYS_SCHEMA,  # the college plays table's columns (same names, dtypes and order)
    # cwevent's own
    "away_score_before": pl.Int16, "home_score_before": pl.Int16, "end_of_half_inning": pl.Boolean,
    "event_code": pl.Int8, "batted_ball_type": pl.String,
}

_GAME_ID = r"^[A-Z][A-Z0-9]{2}[0-9]{8}[0-3]$"
_FLAGS = ("BAT_EVENT_FL", "SH_FL", "SF_FL", "DP_FL", "TP_FL")
_DESTS = ("BAT_DEST_ID", "RUN1_DEST_ID", "RUN2_DEST_ID", "RUN3_DEST_ID")
_INT16_MAX = 2**15 - 1
_MAX_SCORE = 999  # a team's runs before a play; far above any real game


@dataclass
class EventsResult:
    events: pl.DataFrame
    quarantine: pl.DataFrame
    files: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=FILES_SCHEMA))


def read_retrosheet_cwevent(paths: list[Path]) -> EventsResult:
    """Read cwevent CSV / Parquet files in order; the first copy of an event (game, event number) wins."""
    accepted: list[pl.DataFrame] = []
    quarantined: list[pl.DataFrame] = []
    file_rows: list[dict] = []
    seen = pl.DataFrame(schema={"GAME_ID": pl.String, "seq": pl.Int64, "_first": pl.String})
    offset = 0
    labels = file_labels(paths)
    for path in paths:
        path = Path(path)
        label = labels[path]
        raw, note = _read_raw(path)
        raw = raw.with_columns((pl.col("_row") + offset).alias("_order"))
        offset += raw.height
        checked = _check(raw, label, seen)
        good = checked.filter(pl.col("_reason").is_null())
        bad = checked.filter(pl.col("_reason").is_not_null())
        seen = pl.concat([seen, good.select("GAME_ID", "seq", pl.format("{} line {}", pl.lit(label),
                                                                          "_line_no").alias("_first"))])
        accepted.append(good.with_columns(pl.lit(label).alias("_source_file")))
        quarantined.append(_quarantine_rows(bad, label))
        file_rows.append({"source": SOURCE, "source_file": label, "rows_read": raw.height,
                          "rows_accepted": good.height, "rows_quarantined": bad.height, "note": note})
    return EventsResult(
        events=_events(accepted),
        quarantine=pl.concat(quarantined) if quarantined else pl.DataFrame(schema=QUARANTINE_SCHEMA),
        files=files_frame(file_rows),
    )


# ---------------------------------------------------------------------------------------------------------
# Reading a file into a frame of strings: the used fields by header name, plus _row, _line_no, _raw.


def _read_raw(path: Path) -> tuple[pl.DataFrame, str | None]:
    if path.suffix.lower() in (".parquet", ".pq"):
        return _read_parquet(path)
    return _read_csv(path)


def _missing(path: Path, present: set[str], how: str) -> None:
    missing = [name for name in REQUIRED if name not in present]
    if missing:
        named = ", ".join(f"{name} (field {FIELD_NUMBER[name]})" for name in missing)
        raise SourceFormatError(f"{path}: required column(s) missing {how}: {named}")


def _read_parquet(path: Path) -> tuple[pl.DataFrame, str | None]:
    try:
        frame = pl.read_parquet(path, glob=False)
    except Exception as exc:  # polars raises several kinds for a damaged file
        raise SourceFormatError(f"{path}: not a readable Parquet file ({exc})") from exc
    by_upper = {c.upper(): c for c in frame.columns}
    _missing(path, set(by_upper), "from the Parquet columns")
    if frame.height == 0:
        raise SourceFormatError(f"{path}: empty file (no event rows)")
    used = [name for name in (*REQUIRED, *OPTIONAL) if name in by_upper]
    raw = frame.select(
        *(pl.col(by_upper[name]).cast(pl.String).alias(name) for name in used),
        pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias("_line_no"),
    ).with_columns(pl.lit(None, dtype=pl.String).alias("_raw"), pl.lit(None, dtype=pl.String).alias("_fields"))
    note = None if "EVENT_ID" in used else "no EVENT_ID column: events numbered in file order within each game"
    return _finish(raw, frame.height), note


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _read_csv(path: Path) -> tuple[pl.DataFrame, str | None]:
    text, truncated = read_text(path)
    lines = _lines(text)
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    blank = len(lines) - len(numbered)
    if not numbered:
        raise SourceFormatError(f"{path}: empty file (no event rows)")
    notes: list[str] = []
    # One record per line: each line is split on its own (an unclosed quote cannot swallow the next line).
    split = [split_line(line) for _, line in numbered]
    first = split[0][0]
    upper = [f.strip().upper() for f in first]
    if "GAME_ID" in upper:
        columns = {name: i for i, name in reversed(list(enumerate(upper)))}  # first column of a name wins
        _missing(path, set(columns), "from the header")
        expected = len(first)
        numbered, split = numbered[1:], split[1:]
        notes.append("header row")
        if not numbered and not truncated:
            raise SourceFormatError(f"{path}: empty file (a header and no event rows)")
    else:
        counts = Counter(len(row) for row, unreadable in split if not unreadable)
        expected = counts.most_common(1)[0][0]
        if expected < MIN_HEADERLESS_FIELDS:
            present = set(STANDARD_FIELDS[:expected])
            missing = [name for name in REQUIRED if name not in present]
            raise SourceFormatError(
                f"{path}: no header row and {expected} fields a row: a cwevent file without a header must hold "
                f"the standard fields 0-95 or 0-96 in order (cwevent -f 0-96), or carry a header (cwevent -n); "
                f"required column(s) missing: {', '.join(f'{m} (field {FIELD_NUMBER[m]})' for m in missing)}")
        columns = {name: i for i, name in enumerate(STANDARD_FIELDS[:expected])}
        notes.append("no header row: standard cwevent field order")
        if expected > len(STANDARD_FIELDS):
            notes.append(f"fields {len(STANDARD_FIELDS)}-{expected - 1} beyond the standard ones ignored")
    if "EVENT_ID" not in columns:
        notes.append("no EVENT_ID column: events numbered in file order within each game")
    if truncated:
        notes.append(truncated)
    if blank:
        notes.append(f"{blank} blank line(s) skipped")

    used = [name for name in (*REQUIRED, *OPTIONAL) if name in columns]
    # Lines with bytes that are not UTF-8 are quarantined; polars holds them as printable text (\xNN escapes).
    bad_bytes = [has_bad_bytes(line) for _, line in numbered]
    if any(bad_bytes):
        numbered = [(n, printable(line) if bad else line) for (n, line), bad in zip(numbered, bad_bytes)]
        split = [split_line(line) if bad else parts for (_, line), parts, bad in zip(numbered, split, bad_bytes)]
    rows = [row for row, _ in split]
    n = len(rows)
    values = {name: [r[columns[name]] if len(r) == expected else None for r in rows] for name in used}
    raw = pl.DataFrame({
        **values,
        "_line_no": [ln for ln, _ in numbered],
        "_raw": [line for _, line in numbered],
        "_fields": [unreadable or (None if len(row) == expected else f"expected {expected} fields, found {len(row)}")
                    for row, unreadable in split],
    }, schema={**{name: pl.String for name in used}, "_line_no": pl.Int64, "_raw": pl.String,
               "_fields": pl.String})
    if truncated and n:
        raw = raw.with_columns(
            pl.when(pl.int_range(pl.len()) == n - 1)
            .then(pl.lit(f"last line of a truncated file ({truncated})")).otherwise("_fields").alias("_fields"))
    raw = raw.with_columns(
        pl.when(pl.col("_fields").is_null() & pl.Series(bad_bytes, dtype=pl.Boolean))
        .then(pl.lit(BAD_BYTES_REASON)).otherwise("_fields").alias("_fields"))
    return _finish(raw, n), "; ".join(notes) or None


def _finish(raw: pl.DataFrame, n: int) -> pl.DataFrame:
    """Trim the text fields; number rows; give each event its number (EVENT_ID, or its place in the game).

    Without EVENT_ID a game written twice would be numbered 1..2n and read as one game, so `_repeat` marks a
    copy: the row that starts the game over after play in it (see `_starts_over`, `_under_way`) and every
    later row of the game in the file. It rests only on what a real game guarantees: once a play has made an
    out or put anyone on base or across the plate, the game cannot be back at its first pitch (inning 1, the
    first batting side, no outs, bases empty, 0-0), and one damaged row cannot look like that. (All 190,713
    shared 2016 events read without EVENT_ID are accepted.)
    """
    strings = [c for c in raw.columns if not c.startswith("_")]
    raw = raw.with_columns(pl.col(c).str.strip_chars() for c in strings).with_columns(
        pl.int_range(n, dtype=pl.Int64).alias("_row"))
    if "EVENT_ID" in raw.columns:
        return raw.with_columns(pl.lit(None, dtype=pl.String).alias("_repeat"))
    raw = raw.with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64).over("GAME_ID") + 1).cast(pl.String).alias("EVENT_ID"),
        pl.col("BAT_HOME_ID").first().over("GAME_ID").alias("_first_half"),
        pl.col("_line_no").first().over("GAME_ID").alias("_first_line"),
        _under_way().fill_null(False).alias("_under_way"))
    raw = raw.with_columns(
        (_starts_over() & (pl.col("_under_way").cum_sum().shift(1, fill_value=0).over("GAME_ID") > 0))
        .cum_sum().over("GAME_ID").gt(0).alias("_copy"))
    raw = raw.with_columns(pl.when("_copy").then("_line_no").min().over("GAME_ID").alias("_copy_line"))
    return raw.with_columns(pl.when("_copy").then(pl.format(
        "repeated game: {} starts over at line {} (inning 1, no outs, bases empty, 0-0) after play from line {}: "
        "a second copy of the game, which the file cannot number apart (no EVENT_ID)",
        "GAME_ID", "_copy_line", "_first_line")).alias("_repeat")
    ).drop("_first_half", "_first_line", "_under_way", "_copy", "_copy_line")


def _under_way() -> pl.Expr:
    """After this play the game is past its first pitch: an out made, or someone on base or scored."""
    return (_int("OUTS_CT") + _int("EVENT_OUTS_CT") > 0) | pl.any_horizontal(_int(name) > 0 for name in _DESTS)


def _starts_over() -> pl.Expr:
    """Before this play the game is at its first pitch (the first batting side as the game's first row has it,
    so a game in which the home team batted first is read right)."""
    return ((_int("INN_CT") == 1) & (pl.col("BAT_HOME_ID") == pl.col("_first_half")) & (_int("OUTS_CT") == 0)
            & (_int("AWAY_SCORE_CT") == 0) & (_int("HOME_SCORE_CT") == 0)
            & pl.all_horizontal(pl.col(f"BASE{b}_RUN_ID").fill_null("") == "" for b in (1, 2, 3))).fill_null(False)


# ---------------------------------------------------------------------------------------------------------
# Validation: the first reason a row cannot be used, and typed columns for the rows that can.


def _int(name: str) -> pl.Expr:
    """The field as an integer: null when empty; a value that is not an integer also gives null (see _bad_int)."""
    return pl.col(name).str.replace(r"\.0+$", "").cast(pl.Int64, strict=False)


def _bad_int(name: str, low: int, high: int) -> pl.Expr:
    value = _int(name)
    return value.is_null() | (value < low) | (value > high)


def _flag(name: str) -> pl.Expr:
    v = pl.col(name).str.to_uppercase()
    return pl.when(v.is_in(["T", "TRUE", "1"])).then(True).when(v.is_in(["F", "FALSE", "0"])).then(False)


def _check(raw: pl.DataFrame, file_name: str, seen: pl.DataFrame) -> pl.DataFrame:
    gid = pl.col("GAME_ID")
    home = gid.str.slice(0, 3)
    game_date = gid.str.slice(3, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)
    outs, event_outs = _int("OUTS_CT"), _int("EVENT_OUTS_CT")
    occupied = [pl.col(f"BASE{b}_RUN_ID").fill_null("") != "" for b in (1, 2, 3)]
    dests = {name: _int(name) for name in _DESTS}
    # who ends on base b: the batter and the runners whose destination is b
    on_base = [sum((d == b).fill_null(False).cast(pl.Int8) for d in dests.values()) for b in (1, 2, 3)]

    def text(value: str) -> pl.Expr:
        return pl.lit(value)

    checks: list[tuple[pl.Expr, pl.Expr]] = [
        (pl.col("_fields").is_not_null(), pl.col("_fields")),
        (gid.is_null() | ~gid.fill_null("").str.contains(_GAME_ID) | game_date.is_null(),
         pl.format("game id {} (GAME_ID, field 0) is not a Retrosheet id <team><yyyymmdd><game number 0-3>",
                   _quoted(gid))),
        (pl.col("AWAY_TEAM_ID").fill_null("") == "", text("away team (AWAY_TEAM_ID, field 1) is missing")),
        (pl.col("AWAY_TEAM_ID") == home,
         pl.format("away team {} is the home team of the game id", _quoted(pl.col("AWAY_TEAM_ID")))),
        (_bad_int("INN_CT", 1, _INT16_MAX),
         pl.format("inning {} (INN_CT, field 2) is not a positive number", _quoted(pl.col("INN_CT")))),
        (_bad_int("BAT_HOME_ID", 0, 1),
         pl.format("batting team {} (BAT_HOME_ID, field 3) is not 0 or 1", _quoted(pl.col("BAT_HOME_ID")))),
        (_bad_int("OUTS_CT", 0, 2),
         pl.format("outs before the play {} (OUTS_CT, field 4) is not 0-2", _quoted(pl.col("OUTS_CT")))),
        (_bad_int("EVENT_CD", 0, 24),
         pl.format("unknown event code {} (EVENT_CD, field 34): Chadwick codes are 0-24",
                   _quoted(pl.col("EVENT_CD")))),
        (_bad_int("EVENT_OUTS_CT", 0, 3),
         pl.format("outs on the play {} (EVENT_OUTS_CT, field 40) is not 0-3", _quoted(pl.col("EVENT_OUTS_CT")))),
        (outs + event_outs > 3,
         pl.format("{} outs before the play and {} on it make more than 3", outs, event_outs)),
        *((_bad_int(name, 0, 6),
           pl.format(f"destination {{}} ({name}, field {FIELD_NUMBER[name]}) is not 0-6", _quoted(pl.col(name))))
          for name in _DESTS),
        *((~occupied[b - 1] & (dests[f"RUN{b}_DEST_ID"] != 0),
           pl.format(f"a destination {{}} for the runner on {b} (RUN{b}_DEST_ID) but no runner there "
                     f"(BASE{b}_RUN_ID)", dests[f"RUN{b}_DEST_ID"]))
          for b in (1, 2, 3)),
        *((on_base[b - 1] > 1, text(f"two people end the play on base {b}")) for b in (1, 2, 3)),
        (_bad_int("BALLS_CT", 0, 3),
         pl.format("balls {} (BALLS_CT, field 5) is not 0-3", _quoted(pl.col("BALLS_CT")))),
        (_bad_int("STRIKES_CT", 0, 2),
         pl.format("strikes {} (STRIKES_CT, field 6) is not 0-2", _quoted(pl.col("STRIKES_CT")))),
        # the score after the play adds this play's runs (at most 4): bounded well inside the Int16 columns
        *((_bad_int(name, 0, _MAX_SCORE),
           pl.format(f"{{}} ({name}, field {FIELD_NUMBER[name]}) is not a score from 0 to {_MAX_SCORE}",
                     _quoted(pl.col(name))))
          for name in ("AWAY_SCORE_CT", "HOME_SCORE_CT")),
        (_bad_int("RBI_CT", 0, 4),
         pl.format(f"{{}} (RBI_CT, field {FIELD_NUMBER['RBI_CT']}) is not a number from 0 to 4",
                   _quoted(pl.col("RBI_CT")))),
        *((_flag(name).is_null(),
           pl.format(f"flag {{}} ({name}, field {FIELD_NUMBER[name]}) is not T or F", _quoted(pl.col(name))))
          for name in _FLAGS),
        (_bad_int("EVENT_ID", 1, 2**31 - 1),
         pl.format("event number {} (EVENT_ID, field 96) is not a positive number", _quoted(pl.col("EVENT_ID")))),
        (pl.col("_repeat").is_not_null(), pl.col("_repeat")),
    ]
    reason = pl.lit(None, dtype=pl.String)
    for bad, why in reversed(checks):
        reason = pl.when(bad.fill_null(True)).then(why).otherwise(reason)
    checked = raw.with_columns(reason.alias("_reason"), _int("EVENT_ID").alias("seq"))

    # Duplicates among the otherwise good rows: within the file (first copy wins), then against earlier files.
    ok = pl.col("_reason").is_null()
    key = pl.when(ok).then(pl.struct("GAME_ID", "seq"))  # null for rows already quarantined
    checked = checked.with_columns(
        pl.when(ok & ~key.is_first_distinct())
        .then(pl.format("duplicate event: {} event {} was already read from {}", "GAME_ID", "seq",
                        pl.lit(file_name)))
        .otherwise("_reason").alias("_reason"))
    if seen.height:
        checked = checked.join(seen, on=["GAME_ID", "seq"], how="left").with_columns(
            pl.when(pl.col("_reason").is_null() & pl.col("_first").is_not_null())
            .then(pl.format("duplicate event: {} event {} was already read from {}", "GAME_ID", "seq", "_first"))
            .otherwise("_reason").alias("_reason")).drop("_first")
    return checked.sort("_row")


def _quoted(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.is_null()).then(pl.lit("(missing)")).otherwise(pl.format("'{}'", expr))


def _quarantine_rows(bad: pl.DataFrame, label: str) -> pl.DataFrame:
    if bad.height == 0:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    raw = bad.get_column("_raw").to_list()
    if all(r is None for r in raw):  # Parquet: the row's used fields as a CSV line
        names = [c for c in bad.columns if c.isupper()]
        raw = []
        for row in bad.select(names).iter_rows():
            out = io.StringIO()
            csv.writer(out, lineterminator="").writerow(["" if v is None else v for v in row])
            raw.append(out.getvalue())
    return pl.DataFrame({
        "source": [SOURCE] * bad.height,
        "source_file": [label] * bad.height,
        "line_no": bad.get_column("_line_no"),
        "source_game_id": [printable(g) for g in bad.get_column("GAME_ID").to_list()]
        if "GAME_ID" in bad.columns else [None] * bad.height,
        "reason": [printable(r) for r in bad.get_column("_reason").to_list()],
        "raw": [printable(r) for r in raw],
    }, schema=QUARANTINE_SCHEMA)


# ---------------------------------------------------------------------------------------------------------
# The events table.


def _bases(first: pl.Expr, second: pl.Expr, third: pl.Expr) -> pl.Expr:
    code = first.cast(pl.Int8) + 2 * second.cast(pl.Int8) + 4 * third.cast(pl.Int8)
    return code.replace_strict(list(range(8)), list(BASE_LABELS), return_dtype=pl.String)


def _out_type() -> pl.Expr:
    """Event code 2 (generic out) in the project vocabulary: see the module docstring."""
    fielders = pl.col("EVENT_TX").str.extract(r"^([0-9]+)", 1)
    by_fielders = (
        pl.when(fielders.str.len_chars() > 1).then(pl.lit("groundout"))
        .when(fielders.is_in(["7", "8", "9"])).then(pl.lit("flyout"))
        .otherwise(pl.lit("popout"))
    )
    return (
        pl.when(_flag("TP_FL")).then(pl.lit("triple_play"))
        .when(_flag("DP_FL")).then(pl.lit("double_play"))
        .when(_flag("SH_FL")).then(pl.lit("sac_bunt"))
        .when(_flag("SF_FL")).then(pl.lit("sac_fly"))
        .when(pl.col("BATTEDBALL_CD").is_in(list(BATTED_BALL_OUTS)))
        .then(pl.col("BATTEDBALL_CD").replace_strict(BATTED_BALL_OUTS, default=None, return_dtype=pl.String))
        .otherwise(by_fielders)
    )


def _events(accepted: list[pl.DataFrame]) -> pl.DataFrame:
    if not accepted or sum(f.height for f in accepted) == 0:
        return pl.DataFrame(schema=EVENTS_SCHEMA)
    frame = pl.concat(accepted, how="diagonal_relaxed")
    gid = pl.col("GAME_ID")
    bat_home = _int("BAT_HOME_ID") == 1
    home, away = gid.str.slice(0, 3), pl.col("AWAY_TEAM_ID")
    dests = {name: _int(name) for name in _DESTS}
    scored = {name: (d >= 4) for name, d in dests.items()}
    runs = sum(s.cast(pl.Int16) for s in scored.values())
    scorer_ids = [("RUN3_DEST_ID", "BASE3_RUN_ID"), ("RUN2_DEST_ID", "BASE2_RUN_ID"),
                  ("RUN1_DEST_ID", "BASE1_RUN_ID"), ("BAT_DEST_ID", "BAT_ID")]
    code = _int("EVENT_CD")
    sh, sf = _flag("SH_FL"), _flag("SF_FL")
    away_before, home_before = _int("AWAY_SCORE_CT"), _int("HOME_SCORE_CT")
    season = gid.str.slice(3, 4).cast(pl.Int32)
    nonempty = {c: pl.when(pl.col(c) != "").then(pl.col(c)) for c in
                ("BAT_ID", "PIT_ID", "PITCH_SEQ_TX", "EVENT_TX", "BATTEDBALL_CD")}
    ids = frame.get_column("GAME_ID").unique().to_list()
    canonical = {sid: game_id(SPORT, LEAGUE, int(sid[3:7]), sid) for sid in ids}
    events = frame.with_columns(
        pl.col("_order").min().over("GAME_ID").alias("_game_order"),
    ).sort("_game_order", "seq").select(
        gid.replace_strict(canonical, return_dtype=pl.String).alias("game_id"),
        gid.alias("source_game_id"),
        season.alias("season"),
        gid.str.slice(3, 8).str.strptime(pl.Date, "%Y%m%d").alias("date"),
        pl.col("seq"),
        pl.lit(None, dtype=pl.String).alias("source_file"),  # filled below
        pl.col("_line_no").alias("line_no"),
        _int("INN_CT").alias("inning"),
        pl.when(bat_home).then(pl.lit("bot")).otherwise(pl.lit("top")).alias("half"),
        pl.when(bat_home).then(home).otherwise(away).alias("batting_team"),
        pl.when(bat_home).then(away).otherwise(home).alias("fielding_team"),
        pl.lit("play").alias("line_kind"),
        pl.when(code == 2).then(_out_type())
        .otherwise(code.replace_strict(EVENT_CODES, default="other", return_dtype=pl.String)).alias("event_type"),
        _flag("BAT_EVENT_FL").alias("is_plate_appearance"),
        nonempty["BAT_ID"].alias("batter"),
        nonempty["PIT_ID"].alias("pitcher"),
        _int("OUTS_CT").alias("outs_before"),
        (_int("OUTS_CT") + _int("EVENT_OUTS_CT")).alias("outs_after"),
        _bases(*(pl.col(f"BASE{b}_RUN_ID").fill_null("") != "" for b in (1, 2, 3))).alias("bases_before"),
        _bases(*(sum((d == b).cast(pl.Int8) for d in dests.values()) > 0 for b in (1, 2, 3))).alias("bases_after"),
        runs.alias("runs_on_play"),
        _int("RBI_CT").alias("rbi"),
        _int("BALLS_CT").alias("balls"),
        _int("STRIKES_CT").alias("strikes"),
        nonempty["PITCH_SEQ_TX"].alias("pitch_sequence"),
        pl.when(sh).then(pl.lit("SH")).when(sf).then(pl.lit("SF")).alias("sac"),
        pl.concat_list([pl.when(scored[d]).then(pl.col(who)) for d, who in scorer_ids])
        .list.drop_nulls().list.join("; ").alias("_scored"),
        (away_before + pl.when(bat_home).then(0).otherwise(runs)).alias("away_score"),
        (home_before + pl.when(bat_home).then(runs).otherwise(0)).alias("home_score"),
        nonempty["EVENT_TX"].alias("description"),
        away_before.alias("away_score_before"),
        home_before.alias("home_score_before"),
        pl.lit(None, dtype=pl.Boolean).alias("end_of_half_inning"),
        code.alias("event_code"),
        pl.when(pl.col("BATTEDBALL_CD").is_in(list(BATTED_BALL_OUTS))).then(pl.col("BATTEDBALL_CD"))
        .alias("batted_ball_type"),
        pl.col("_source_file"),
    )
    half_key = pl.struct("inning", "half")
    nxt = half_key.shift(-1).over("game_id")
    return events.with_columns(
        pl.col("_source_file").alias("source_file"),
        pl.when(pl.col("_scored") != "").then(pl.col("_scored")).alias("runners_scored"),
        (nxt.is_null() | (nxt != half_key)).alias("end_of_half_inning"),
    ).select(pl.col(name).cast(dtype) for name, dtype in EVENTS_SCHEMA.items())
