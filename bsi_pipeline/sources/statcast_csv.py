"""Read Statcast (Baseball Savant) CSV/TSV exports into one row per ball in play.

Source kind `statcast_csv`. Two shapes of file are read, plain or gzip (`read_text`), comma- or
tab-separated (the delimiter is detected from the header line), with column names matched
case-insensitively (`Game_Date` and `game_date` are the same column; the first of two same-named columns
wins, as in Savant exports that repeat `pitcher` and `fielder_2`):

- the short balls-in-play format `game_year,Game_Date,launch_angle,launch_speed,events` (every row is a
  ball in play; see bayesball/HomeRuns2021);
- the full Savant column set (90+ columns, one row per pitch), or any subset of it. When the file has a
  `type` column (B ball, S strike, X in play) a row is a ball in play when `type` is X; without `type`, when
  `description` starts with `hit_into_play`; without either, every row whose `events` is not a plate
  appearance ending without a ball in play (strikeout, walk, hit by pitch, ..., see NOT_IN_PLAY_EVENTS).

Required columns: `launch_speed`, `launch_angle`, `events`, and `game_year` or `game_date` (old exports'
`hit_speed`/`hit_angle` are read as launch_speed/launch_angle). A missing required column, an empty file or
an unreadable gzip raises SourceFormatError naming the file and the column.

`batted_balls` (BATTED_BALLS_SCHEMA): one row per accepted ball in play. Columns a file does not have are
null (game_pk, batter, pitcher, hc_x/hc_y, bb_type, estimated_woba_using_speedangle, woba_value, ... are
only in the full format). `season` is `game_year`, or the year of `game_date` when there is no game_year.

`quarantine` (QUARANTINE_SCHEMA): every row that is a ball in play (or cannot be told apart from one) but
cannot be used, with every problem found, joined by "; ", each starting with a fixed phrase:
- `missing launch data`: a ball in play without launch_speed and/or launch_angle (Statcast did not track it);
- `launch_speed out of range` (outside 0-125 mph) / `launch_angle out of range` (outside -90..90 degrees),
  with a hint when the value is id-sized (a 6-digit number: an MLBAM id pasted into the column) or when the
  two columns look swapped;
- `not a number`: a non-numeric value in a numeric column (launch data, hit coordinates, xwOBA, wOBA,
  game_year) and `not a whole number` in an id column (game_pk, batter, pitcher, at_bat_number,
  pitch_number);
- `missing season`, `unparseable game_date`, `missing game_date`, `season mismatch` (game_year differs from
  the date's year), `missing events`, `unknown pitch result type` (a `type` other than B/S/X);
- `out of range`: a whole number outside what its column can mean (launch_speed_angle 1-6, game_year
  1900-2100, at_bat_number and pitch_number 1-10,000, ids from 1);
- `duplicate pitch`: the same (game_pk, at_bat_number, pitch_number) already accepted (first copy wins,
  across all files read);
- `duplicate file`: a file with the same content as one read before; its rows without a pitch key (the
  short format has none) cannot be matched one by one, so they are quarantined as a copy;
- row-level: `expected N fields, found M`, bytes that are not UTF-8, an unreadable CSV row, the last row
  of a truncated gzip.

`files` (BATTED_BALLS_FILES_SCHEMA = FILES_SCHEMA + `rows_skipped_not_in_play`): per file,
`rows_read == rows_accepted + rows_quarantined + rows_skipped_not_in_play`; the skipped rows are pitches
that were not put in play (balls, strikes, fouls, the pitch ending a strikeout or walk) and are counted in
the note too, never dropped silently. Blank lines are not rows (the note counts them).
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from bsi_pipeline.sources.common import (
    FILES_SCHEMA,
    FIRST_SEASON,
    LAST_SEASON,
    QUARANTINE_SCHEMA,
    SourceFormatError,
    file_labels,
    printable,
    read_text,
    row_problem,
)

SOURCE = "statcast_csv"

MAX_LAUNCH_SPEED = 125.0      # mph; the hardest tracked batted ball is ~122 mph
MIN_LAUNCH_SPEED = 0.0
MIN_LAUNCH_ANGLE, MAX_LAUNCH_ANGLE = -90.0, 90.0
ID_SIZED = 100_000            # MLBAM player ids are 6-digit numbers

BATTED_BALLS_SCHEMA = {
    "season": pl.Int32,
    "game_date": pl.Date,
    "game_pk": pl.Int64,                  # MLBAM game id
    "at_bat_number": pl.Int32,
    "pitch_number": pl.Int32,
    "batter": pl.Int64,                   # MLBAM player ids
    "pitcher": pl.Int64,
    "stand": pl.String,                   # batter side, L or R
    "events": pl.String,                  # single, double, triple, home_run, field_out, ...
    "bb_type": pl.String,                 # Savant's ground_ball / line_drive / fly_ball / popup
    "launch_speed": pl.Float64,           # exit velocity, mph
    "launch_angle": pl.Float64,           # degrees
    "hc_x": pl.Float64,                   # Savant hit coordinates (home plate near 125.42, 198.27)
    "hc_y": pl.Float64,
    "launch_speed_angle": pl.Int8,        # Savant's code: 1 weak .. 5 solid contact, 6 barrel
    "estimated_woba_using_speedangle": pl.Float64,
    "woba_value": pl.Float64,             # Savant's own wOBA credit for the event
    "source_file": pl.String,
    "line_no": pl.Int64,                  # physical line of the row in its file (header = line 1)
}

BATTED_BALLS_FILES_SCHEMA = {**FILES_SCHEMA, "rows_skipped_not_in_play": pl.Int64}

NULL_MARKERS = ("", "NA", "null", "NULL", "None", "NaN", "nan", "N/A")

# Plate-appearance results that never involve a ball in play (used only for files without `type` and
# `description`).
NOT_IN_PLAY_EVENTS = frozenset({
    "strikeout", "strikeout_double_play", "strikeout_triple_play", "walk", "intent_walk", "hit_by_pitch",
    "catcher_interf", "batter_interference", "caught_stealing_2b", "caught_stealing_3b",
    "caught_stealing_home", "pickoff_1b", "pickoff_2b", "pickoff_3b", "pickoff_caught_stealing_2b",
    "pickoff_caught_stealing_3b", "pickoff_caught_stealing_home", "stolen_base_2b", "stolen_base_3b",
    "stolen_base_home", "wild_pitch", "passed_ball", "balk", "other_advance", "defensive_indiff",
    "game_advisory", "truncated_pa", "ejection", "pickoff_error_1b", "pickoff_error_2b", "pickoff_error_3b",
})

# Output column -> the header names that hold it (lower case; the first one present wins).
COLUMNS: dict[str, tuple[str, ...]] = {
    "game_year": ("game_year",),
    "game_date": ("game_date",),
    "launch_speed": ("launch_speed", "hit_speed"),
    "launch_angle": ("launch_angle", "hit_angle"),
    "events": ("events",),
    "type": ("type",),
    "description": ("description",),
    "game_pk": ("game_pk",),
    "at_bat_number": ("at_bat_number",),
    "pitch_number": ("pitch_number",),
    "batter": ("batter",),
    "pitcher": ("pitcher",),
    "stand": ("stand",),
    "bb_type": ("bb_type",),
    "hc_x": ("hc_x",),
    "hc_y": ("hc_y",),
    "launch_speed_angle": ("launch_speed_angle",),
    "estimated_woba_using_speedangle": ("estimated_woba_using_speedangle",),
    "woba_value": ("woba_value",),
}
REQUIRED = ("launch_speed", "launch_angle", "events")
FLOAT_COLUMNS = ("launch_speed", "launch_angle", "hc_x", "hc_y", "estimated_woba_using_speedangle",
                 "woba_value")
WHOLE_COLUMNS = ("game_pk", "at_bat_number", "pitch_number", "batter", "pitcher", "launch_speed_angle",
                 "game_year")
PITCH_KEY = ("game_pk", "at_bat_number", "pitch_number")
# The values a whole-number column can hold (the output schema's types are narrower than the Int64 read).
WHOLE_RANGES = {
    "game_pk": (1, 2**63 - 1), "batter": (1, 2**63 - 1), "pitcher": (1, 2**63 - 1),
    "at_bat_number": (1, 10_000), "pitch_number": (1, 10_000),
    "launch_speed_angle": (1, 6),   # Savant's six contact categories
    "game_year": (FIRST_SEASON, LAST_SEASON),
}
# A game_date written with a time of day ("2021-04-01 00:00:00", "2021-04-01T00:00:00.000Z") is read by its
# date part; anything else after the date ("2021-04-019", "2021-04-01T99:99", "2021-04-01xyz") is malformed.
DATE_WITH_TIME = r"^\d{4}-\d{2}-\d{2}[ T]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?Z?$"


@dataclass
class BattedBallsResult:
    batted_balls: pl.DataFrame
    quarantine: pl.DataFrame
    files: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=BATTED_BALLS_FILES_SCHEMA))


def read_statcast_csv(paths) -> BattedBallsResult:
    """Read Statcast exports in order: balls in play accepted or quarantined, other pitches counted."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    frames: list[pl.DataFrame] = []
    early_quarantine: list[dict] = []
    reports: list[dict] = []
    raw_lines: list[list[str]] = []
    first_with_content: dict[str, str] = {}  # content digest -> the first file that had it
    labels = file_labels(paths)
    for file_index, path in enumerate(paths):
        frame, bad_rows, report, lines = _read_one(Path(path), labels[Path(path)], file_index)
        # A file given twice: rows without a pitch key cannot be matched one by one, so the copy is.
        digest = hashlib.sha256("\n".join(lines).encode("utf-8", "surrogatepass")).hexdigest()
        copy_of = first_with_content.get(digest)
        first_with_content.setdefault(digest, labels[Path(path)])
        frames.append(frame.with_columns(pl.lit(copy_of, dtype=pl.String).alias("_copy_of")))
        early_quarantine.extend(bad_rows)
        reports.append(report)
        raw_lines.append(lines)

    rows = pl.concat(frames, how="vertical") if frames else _empty_raw()
    rows = _validate(rows)

    skipped = rows.filter(~pl.col("_in_play"))
    checked = rows.filter(pl.col("_in_play"))
    accepted = checked.filter(pl.col("_reason").is_null())
    bad = checked.filter(pl.col("_reason").is_not_null())

    quarantine_rows = early_quarantine + [
        {"source": SOURCE, "source_file": r["source_file"], "line_no": r["line_no"],
         "source_game_id": r["game_pk_raw"], "reason": printable(r["_reason"]),
         "raw": printable(_raw(raw_lines[r["_file"]], r["line_no"], r["_line_end"])),
         "_file": r["_file"]}
        for r in bad.select("source_file", "line_no", "_line_end", "_file", "_reason",
                            pl.col("game_pk").alias("game_pk_raw")).iter_rows(named=True)
    ]
    quarantine_rows.sort(key=lambda r: (r["_file"], r["line_no"]))
    quarantine = pl.DataFrame([{k: r.get(k) for k in QUARANTINE_SCHEMA} for r in quarantine_rows],
                              schema=QUARANTINE_SCHEMA)

    per_file_q: dict[int, int] = {}
    for r in quarantine_rows:
        per_file_q[r["_file"]] = per_file_q.get(r["_file"], 0) + 1
    per_file_a = dict(accepted.group_by("_file").len().iter_rows())
    per_file_s = dict(skipped.group_by("_file").len().iter_rows())
    for i, report in enumerate(reports):
        report["rows_accepted"] = per_file_a.get(i, 0)
        report["rows_quarantined"] = per_file_q.get(i, 0)
        report["rows_skipped_not_in_play"] = per_file_s.get(i, 0)
        notes = report.pop("_notes")
        if report["rows_skipped_not_in_play"]:
            notes.insert(0, f"skipped_not_in_play: {report['rows_skipped_not_in_play']} pitch row(s) not put in "
                            f"play ({report.pop('_in_play_rule')})")
        report.pop("_in_play_rule", None)
        report["note"] = "; ".join(notes) or None
    files = pl.DataFrame([{k: r.get(k) for k in BATTED_BALLS_FILES_SCHEMA} for r in reports],
                         schema=BATTED_BALLS_FILES_SCHEMA)

    batted_balls = accepted.sort("_file", "line_no").select(*_output_columns()).cast(BATTED_BALLS_SCHEMA)
    return BattedBallsResult(batted_balls=batted_balls, quarantine=quarantine, files=files)


# ---------------------------------------------------------------------------------------------- reading

def _raw(lines: list[str], first: int, last: int) -> str:
    return "\n".join(lines[first - 1:last])


def _split_lines(text: str) -> list[str]:
    lines = re.split(r"\r?\n", text)
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    return lines


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_one(path: Path, label: str, file_index: int) -> tuple[pl.DataFrame, list[dict], dict, list[str]]:
    text, truncated = read_text(path)
    lines = _split_lines(text)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise SourceFormatError(f"{path}: empty file (no header line)")
    sep = _delimiter(lines[first])
    reader = csv.reader(lines[first:], delimiter=sep)
    try:
        header = [h.strip().strip('"').lower() for h in next(reader)]
    except csv.Error as exc:
        raise SourceFormatError(f"{path}: header is not readable CSV ({exc})") from exc
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(name, i)
    where = {out: next((index[n] for n in names if n in index), None) for out, names in COLUMNS.items()}
    for col in REQUIRED:
        if where[col] is None:
            raise SourceFormatError(
                f"{path}: missing required column {col!r} (column names are matched case-insensitively; "
                f"the header has {len(header)} column(s): {', '.join(header[:12])}{' ...' if len(header) > 12 else ''})"
            )
    if where["game_year"] is None and where["game_date"] is None:
        raise SourceFormatError(f"{path}: missing required column 'game_year' or 'game_date' (neither is in "
                                f"the header)")
    if where["type"] is not None:
        in_play_rule = "type is B or S, not X"
    elif where["description"] is not None:
        in_play_rule = "description does not start with hit_into_play"
    else:
        in_play_rule = "events is a plate appearance ending without a ball in play"

    n_fields = len(header)
    values: dict[str, list] = {c: [] for c in COLUMNS if where[c] is not None}
    line_no: list[int] = []
    line_end: list[int] = []
    bad_rows: list[dict] = []
    blank = 0
    # (fields, first physical line, last physical line, problem) per record; a quoted field may span lines.
    records: list[tuple[list[str], int, int, str | None]] = []
    consumed = first + 1  # physical lines read so far, the header included
    while True:
        try:
            row = next(reader)
            problem = None
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a field over the csv module's size limit
            row, problem = [], f"unreadable CSV row ({exc})"
        start, consumed = consumed + 1, first + reader.line_num
        if problem is None and not any(v.strip() for v in row):
            blank += 1
            continue
        records.append((row, start, consumed, problem or row_problem(row, n_fields)))
    for k, (row, start, end, reason) in enumerate(records):
        if truncated and k == len(records) - 1:
            reason = f"last row of a truncated file ({truncated})"
        if reason is not None:
            gpk = where["game_pk"]
            bad_rows.append({"source": SOURCE, "source_file": label, "line_no": start,
                             "source_game_id": printable(row[gpk]) if gpk is not None and gpk < len(row) else None,
                             "reason": reason, "raw": printable(_raw(lines, start, end)), "_file": file_index})
            continue
        for col, vals in values.items():
            vals.append(row[where[col]])
        line_no.append(start)
        line_end.append(end)

    frame = pl.DataFrame({c: values.get(c, [None] * len(line_no)) for c in COLUMNS},
                         schema={c: pl.String for c in COLUMNS})
    frame = frame.with_columns(
        pl.Series("source_file", [label] * len(line_no), dtype=pl.String),
        pl.Series("line_no", line_no, dtype=pl.Int64),
        pl.Series("_line_end", line_end, dtype=pl.Int64),
        pl.lit(file_index, dtype=pl.Int32).alias("_file"),
        pl.lit(where["game_year"] is not None).alias("_has_year"),
        pl.lit(where["game_date"] is not None).alias("_has_date"),
        pl.lit(where["type"] is not None).alias("_has_type"),
        pl.lit(where["description"] is not None).alias("_has_description"),
    )
    notes = [truncated] if truncated else []
    if blank:
        notes.append(f"{blank} blank line(s) skipped")
    if sep != ",":
        notes.append("tab-separated" if sep == "\t" else f"{sep!r}-separated")
    report = {"source": SOURCE, "source_file": label, "rows_read": len(records), "_notes": notes,
              "_in_play_rule": in_play_rule}
    return frame, bad_rows, report, lines


def _empty_raw() -> pl.DataFrame:
    return pl.DataFrame(schema={**{c: pl.String for c in COLUMNS}, "source_file": pl.String,
                                "line_no": pl.Int64, "_line_end": pl.Int64, "_file": pl.Int32,
                                "_has_year": pl.Boolean, "_has_date": pl.Boolean, "_has_type": pl.Boolean,
                                "_has_description": pl.Boolean, "_copy_of": pl.String})


# ------------------------------------------------------------------------------------------- validation

def _text(name: str) -> pl.Expr:
    """The stripped value, null for the null markers Savant and R exports use (NA, null, empty)."""
    col = pl.col(name).str.strip_chars()
    return pl.when(~col.is_in(NULL_MARKERS)).then(col)


def _validate(rows: pl.DataFrame) -> pl.DataFrame:
    """Typed columns, `_in_play`, and `_reason` (null for a usable ball in play)."""
    rows = rows.with_columns(*(_text(c).alias(c) for c in COLUMNS))
    floats = {c: pl.col(c).cast(pl.Float64, strict=False) for c in FLOAT_COLUMNS}
    typed = [pl.when(floats[c].is_finite()).then(floats[c]).alias(f"_{c}") for c in FLOAT_COLUMNS]
    typed += [pl.col(c).cast(pl.Int64, strict=False).alias(f"_{c}") for c in WHOLE_COLUMNS]
    date = pl.coalesce(
        pl.col("game_date").str.to_date("%Y-%m-%d", strict=False),
        pl.col("game_date").str.to_date("%m/%d/%Y", strict=False),
        pl.when(pl.col("game_date").str.contains(DATE_WITH_TIME))
        .then(pl.col("game_date").str.slice(0, 10)).str.to_date("%Y-%m-%d", strict=False),
    )
    typed.append(date.alias("_game_date"))
    rows = rows.with_columns(typed)

    type_code = pl.col("type").str.to_uppercase()
    in_play = (
        # an unknown or empty type is checked (and quarantined), not skipped
        pl.when(pl.col("_has_type")).then((~type_code.is_in(["B", "S"])).fill_null(True))
        .when(pl.col("_has_description"))
        .then(pl.col("description").str.starts_with("hit_into_play").fill_null(True))
        .otherwise((~pl.col("events").is_in(list(NOT_IN_PLAY_EVENTS))).fill_null(True))
    )

    reasons: list[pl.Expr] = [
        pl.when(pl.col("_has_type") & (type_code.is_null() | ~type_code.is_in(["B", "S", "X"])))
        .then(pl.format("unknown pitch result type: type {} is not B, S or X", _shown("type"))),
    ]
    ls_missing, la_missing = pl.col("launch_speed").is_null(), pl.col("launch_angle").is_null()
    reasons.append(
        pl.when(ls_missing & la_missing).then(pl.lit("missing launch data: launch_speed and launch_angle"))
        .when(ls_missing).then(pl.lit("missing launch data: launch_speed"))
        .when(la_missing).then(pl.lit("missing launch data: launch_angle"))
    )
    for c in FLOAT_COLUMNS:
        reasons.append(pl.when(pl.col(c).is_not_null() & pl.col(f"_{c}").is_null())
                       .then(pl.format(f"not a number: {c} {{}}", _quoted(c))))
    for c in WHOLE_COLUMNS:
        reasons.append(pl.when(pl.col(c).is_not_null() & pl.col(f"_{c}").is_null())
                       .then(pl.format(f"not a {'number' if c == 'game_year' else 'whole number'}: {c} {{}}",
                                       _quoted(c))))
        low, high = WHOLE_RANGES[c]
        reasons.append(pl.when(~pl.col(f"_{c}").is_between(low, high))
                       .then(pl.format(f"out of range: {c} {{}} is outside {low}-{high}", pl.col(f"_{c}"))))
    ls, la = pl.col("_launch_speed"), pl.col("_launch_angle")
    ls_bad = (ls < MIN_LAUNCH_SPEED) | (ls > MAX_LAUNCH_SPEED)
    la_bad = (la < MIN_LAUNCH_ANGLE) | (la > MAX_LAUNCH_ANGLE)
    # an angle above 90 that would be a speed, beside a speed that would be an angle (2021 line 23939)
    swapped = la_bad & la.is_between(MIN_LAUNCH_SPEED, MAX_LAUNCH_SPEED) & \
        ls.is_between(MIN_LAUNCH_ANGLE, MAX_LAUNCH_ANGLE)
    reasons.append(pl.when(ls_bad).then(pl.format(
        "launch_speed out of range: {} mph is outside 0-125{}", pl.col("launch_speed"), _hint(ls, pl.lit(False)))))
    reasons.append(pl.when(la_bad).then(pl.format(
        "launch_angle out of range: {} degrees is outside -90..90{}", pl.col("launch_angle"), _hint(la, swapped))))

    year = pl.col("_game_year")
    reasons += [
        pl.when(pl.col("game_year").is_null() & pl.col("game_date").is_null())
        .then(pl.lit("missing season: no game_year and no game_date")),
        pl.when(pl.col("_has_date") & pl.col("game_date").is_null()).then(pl.lit("missing game_date")),
        pl.when(pl.col("game_date").is_not_null() & pl.col("_game_date").is_null())
        .then(pl.format("unparseable game_date {}", _quoted("game_date"))),
        pl.when(year.is_not_null() & pl.col("_game_date").is_not_null()
                & (year != pl.col("_game_date").dt.year()))
        .then(pl.format("season mismatch: game_year {} but game_date {}", pl.col("game_year"), pl.col("game_date"))),
        pl.when(pl.col("events").is_null()).then(pl.lit("missing events: a ball in play without a result")),
    ]
    rows = rows.with_columns(
        in_play.alias("_in_play"),
        pl.concat_str([r for r in reasons], separator="; ", ignore_nulls=True).alias("_reason"),
    ).with_columns(pl.when(pl.col("_reason") != "").then(pl.col("_reason")).alias("_reason"))

    # The same pitch read twice (a file given twice, overlapping downloads): the first copy wins.
    key = [f"_{c}" for c in PITCH_KEY]
    key_known = pl.all_horizontal(pl.col(k).is_not_null() for k in key)
    rows = rows.with_row_index("_pos")
    candidates = rows.filter(pl.col("_in_play") & pl.col("_reason").is_null() & key_known).select(
        "_pos", *key, "source_file", "line_no")
    firsts = candidates.group_by(key, maintain_order=True).agg(
        pl.col("_pos").first().alias("_first_pos"), pl.col("source_file").first().alias("_first_file"),
        pl.col("line_no").first().alias("_first_line"))
    dups = candidates.join(firsts, on=key, how="inner").filter(pl.col("_pos") != pl.col("_first_pos"))
    if dups.height:
        dup_reason = {
            pos: (f"duplicate pitch: game_pk {gpk} at_bat_number {ab} pitch_number {pn} was already read from "
                  f"{first_file} line {first_line}")
            for pos, gpk, ab, pn, first_file, first_line in dups.select(
                "_pos", *key, "_first_file", "_first_line").iter_rows()
        }
        reason_frame = pl.DataFrame({"_pos": list(dup_reason), "_dup": list(dup_reason.values())},
                                    schema={"_pos": rows.schema["_pos"], "_dup": pl.String})
        rows = (rows.join(reason_frame, on="_pos", how="left", maintain_order="left")
                .with_columns(pl.coalesce("_reason", "_dup").alias("_reason")).drop("_dup"))
    rows = rows.drop("_pos")
    return rows.with_columns(
        pl.when(pl.col("_reason").is_null() & pl.col("_in_play") & ~key_known & pl.col("_copy_of").is_not_null())
        .then(pl.format("duplicate file: the same content as {} was already read (rows without game_pk, "
                        "at_bat_number and pitch_number cannot be matched one by one)", "_copy_of"))
        .otherwise("_reason").alias("_reason"))


def _shown(name: str) -> pl.Expr:
    return pl.col(name).fill_null("(empty)")


def _quoted(name: str) -> pl.Expr:
    return pl.format("'{}'", pl.col(name))


def _hint(value: pl.Expr, swapped: pl.Expr) -> pl.Expr:
    id_sized = (value.abs() >= ID_SIZED) & (value == value.round(0))
    return (pl.when(id_sized).then(pl.lit(" (an id-sized number: an id pasted into the column?)"))
            .when(swapped).then(pl.lit(" (launch_speed and launch_angle look swapped)"))
            .otherwise(pl.lit("")))


def _output_columns() -> list[pl.Expr]:
    year = pl.coalesce(pl.col("_game_year"), pl.col("_game_date").dt.year())
    return [
        year.alias("season"),
        pl.col("_game_date").alias("game_date"),
        pl.col("_game_pk").alias("game_pk"),
        pl.col("_at_bat_number").alias("at_bat_number"),
        pl.col("_pitch_number").alias("pitch_number"),
        pl.col("_batter").alias("batter"),
        pl.col("_pitcher").alias("pitcher"),
        pl.col("stand"),
        pl.col("events"),
        pl.col("bb_type"),
        pl.col("_launch_speed").alias("launch_speed"),
        pl.col("_launch_angle").alias("launch_angle"),
        pl.col("_hc_x").alias("hc_x"),
        pl.col("_hc_y").alias("hc_y"),
        pl.col("_launch_speed_angle").alias("launch_speed_angle"),
        pl.col("_estimated_woba_using_speedangle").alias("estimated_woba_using_speedangle"),
        pl.col("_woba_value").alias("woba_value"),
        pl.col("source_file"),
        pl.col("line_no"),
    ]
