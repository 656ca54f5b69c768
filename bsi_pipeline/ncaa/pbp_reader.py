"""Read stats.ncaa.org play-by-play CSV files (plain or .gz) into typed lines and quarantine rows.

Nothing is dropped silently: every physical row ends up either accepted or in the quarantine with a
reason, per file `rows_read == rows_accepted + rows_quarantined`. Problems that make a whole file
unusable (a required column missing) raise SourceFormatError naming the file and the column.
Problems that make a whole game unusable (the same game read twice, a score that goes backwards)
quarantine every row of that game with the reason, except a game copied twice in a row (its lines start
over from its first line and repeat it): only the repeated lines are quarantined. A line naming a third
team, or another date than the rest of its game, is quarantined alone. An attendance that is not a whole
number from 0 to 1,000,000 is kept null and counted in the file's note.

Speed (a season is 800,000 rows): the rows are split by polars' CSV reader, and every row is checked
against what Python's csv module makes of it (see _fields_by_polars), so the result is the csv
module's. Fields are checked and typed once per distinct value (a season has a few hundred dates,
scores and teams) and the lines are kept as a polars frame; the row-by-row checks (_type_row,
_check_game) run only on the rows and games those per-value checks flag.
"""

from __future__ import annotations

import csv
import gc
import io
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from bsi_pipeline.ncaa.pbp_text import is_summary_line
from bsi_pipeline.sources.common import (  # noqa: F401 (SourceFormatError re-exported)
    FIRST_SEASON, LAST_SEASON, SourceFormatError, ascii_digits, canonical_number, counted_note, file_labels,
    read_bytes,
)

REQUIRED_COLUMNS = (
    "game_id", "date", "location", "attendance", "inning", "inning_top_bot", "score", "batting", "fielding",
    "description",
)
_SCORE = re.compile(r"^(\d{1,3})-(\d{1,3})$")
_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_MAX_INNING = 30
_MAX_ATTENDANCE = 10**6  # far above any crowd (as in cfbd_games); the column is Int32
_ATTENDANCE_NOTE = f"attendance not a whole number from 0 to {_MAX_ATTENDANCE} (kept null)"
# What str.strip() strips (str.isspace), for polars' strip_chars: the same result without Python calls.
_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())


@dataclass
class FileReport:
    source_file: str
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    note: str | None = None


LINE_COLUMNS = (
    "source_file", "line_no", "source_game_id", "season", "date", "location", "attendance", "inning", "half",
    "away_score", "home_score", "batting", "fielding", "description",
)


class PbpReadResult:
    """The accepted lines, the quarantined rows (dicts) and a FileReport per file.

    The reader keeps the accepted lines as a polars frame, which lines_frame returns. `columns` gives
    the same rows as Python lists, one per column of LINE_COLUMNS, made on first use; from then on the
    lists are the lines (lines_frame builds its frame from them).
    """

    def __init__(self, columns: dict[str, list] | None = None, quarantine: list[dict] | None = None,
                 files: list[FileReport] | None = None):
        self._frame: pl.DataFrame | None = None
        self._columns = columns if columns is not None else {c: [] for c in LINE_COLUMNS}
        self.quarantine = quarantine if quarantine is not None else []
        self.files = files if files is not None else []

    @property
    def columns(self) -> dict[str, list]:
        if self._frame is not None:
            self._columns = {name: self._frame.get_column(name).to_list() for name in LINE_COLUMNS}
            self._frame = None
        return self._columns


def _decode(data: bytes) -> tuple[str, bool]:
    """The text, and whether it decoded cleanly (else undecodable bytes are kept as lone surrogates)."""
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError:
        # Keep the readable rows; rows holding undecodable bytes are quarantined one by one.
        return data.decode("utf-8", errors="surrogateescape"), False


def _has_bad_bytes(row: list[str]) -> bool:
    for value in row:
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while millions of small lists and tuples are made.

    They hold no reference cycles, but each batch of new containers triggers a collection that walks
    all of them again: on a season that was half of the CSV parsing time. Restores the previous state.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_pbp_files(paths: list[Path]) -> PbpReadResult:
    """Read files in order; the first copy of a game wins, later copies are quarantined."""
    result = PbpReadResult()
    with gc_paused():
        labels = file_labels(paths)
        frames = [_read_one(Path(path), labels[Path(path)], result) for path in paths]
        lines = pl.concat(frames) if frames else pl.DataFrame(schema=_TYPED_SCHEMA)
        lines = _quarantine_bad_games(lines, result)
        _note_nulled_attendance(lines, result)
        result._frame = lines.drop("attendance_nulled")
    return result


def _note_nulled_attendance(lines: pl.DataFrame, result: PbpReadResult) -> None:
    """Count in each file's note its accepted lines whose written attendance was kept null (nothing
    silently lost); the count is made after the game checks, so it covers only lines that are kept."""
    nulled = (lines.filter(pl.col("attendance_nulled")).group_by("source_file", maintain_order=True)
              .agg(pl.len(), pl.col("line_no").head(3)))
    reports = {f.source_file: f for f in result.files}
    for source_file, n, examples in nulled.iter_rows():
        report = reports[source_file]
        parts = [counted_note(_ATTENDANCE_NOTE, n, examples, unit="line"), report.note]
        report.note = "; ".join(p for p in parts if p)


def _read_one(path: Path, label: str, result: PbpReadResult) -> pl.DataFrame:
    """One file's accepted lines as a frame (source_file = label); its quarantined rows go to result.quarantine."""
    data, note = read_bytes(path)
    text, clean = _decode(data)
    report = FileReport(label, note=note)
    result.files.append(report)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise SourceFormatError(f"{path}: empty file (no header row)") from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise SourceFormatError(
            f"{path}: missing required column(s) {', '.join(missing)}; found {', '.join(header) or 'none'}"
        )
    idx = [header.index(c) for c in REQUIRED_COLUMNS]
    width = len(header)

    fields = None
    # polars splits the rows when nothing can make them differ from the csv module's rows: no
    # undecodable bytes or cut-off last row (checked row by row below), no "\r" (a line end for the
    # csv module), and a header that is exactly the first line.
    if clean and note is None and "\r" not in text and '"' not in text[:text.find("\n") + 1 or len(text)]:
        fields = _fields_by_polars(data, text, width)
    if fields is None:
        fields = _fields_by_csv(reader, note, width, clean)
    raw, rejected, n_rows = fields  # rejected: row index -> (reason, fields of the row)

    lines = _typed_lines(raw, idx, rejected, label)
    for k in sorted(rejected):
        reason, row = rejected[k]
        result.quarantine.append({
            "source_file": label, "line_no": k + 2,  # 1-based, counting the header
            "source_game_id": _printable(row[idx[0]] if len(row) == width else (row[0] if row else None)),
            "reason": reason, "raw": _raw(row),
        })
    report.rows_read = n_rows
    report.rows_quarantined = len(rejected)
    report.rows_accepted = n_rows - len(rejected)
    return lines


_FIELD = "f{}".format  # raw frames: column "k" (row index, 0 = first row after the header), then f0, f1, ...


def _fields_by_polars(data: bytes, text: str, width: int) -> tuple[pl.DataFrame, dict, int] | None:
    """The rows after the header, split by polars and checked line by line against the csv module.

    polars writes its rows back with minimal quoting; a line that comes out as it was written in the
    file is a row the csv module reads to the same fields (it reads that quoting back exactly). Lines
    that come out differently (quoted without need, too few fields, ...) are read by the csv module
    itself. Returns None when the rows cannot be matched to lines one to one (a quoted field that
    spans lines, more fields than the header, a field over the csv module's size limit): the caller
    then reads the whole file with the csv module.
    """
    start = text.find("\n") + 1  # the first line is the header
    if start == 0:
        return pl.DataFrame({"k": pl.Series([], dtype=pl.Int64)}), {}, 0
    # The csv module makes a row of each line, none of the end of the text.
    n_lines = text.count("\n", start) + (0 if text.endswith("\n") else 1)
    if n_lines == 0:
        return pl.DataFrame({"k": pl.Series([], dtype=pl.Int64)}), {}, 0
    schema = {_FIELD(i): pl.String for i in range(width)}
    try:
        frame = pl.read_csv(data, has_header=False, skip_lines=1, schema=schema, infer_schema=False, quote_char='"',
                            empty_string_is_null=True)
    except pl.exceptions.PolarsError:
        return None
    if frame.height != n_lines:
        return None
    limit = csv.field_size_limit()
    if any((frame.get_column(c).str.len_bytes().max() or 0) > limit for c in frame.columns):
        return None  # a field may be over the limit: the csv module says so
    written = frame.write_csv(include_header=False, quote_style="necessary")
    if written.count("\n") != n_lines:
        return None  # a field holds a line break: rows and lines do not match one to one
    # An empty field is "" to the csv module.
    frame = frame.with_columns(pl.col(c).fill_null("") for c in frame.columns if frame.get_column(c).has_nulls())
    rejected: dict[int, tuple[str, list[str]]] = {}
    fixed: dict[int, list[str]] = {}
    for k, line in _differing_lines(text, start, written).items():
        parsed = list(csv.reader([line + "\n", "end\n"]))
        if parsed[1:] != [["end"]]:
            return None  # the csv module's row goes on past this line
        row = parsed[0]
        if len(row) != width:
            rejected[k] = (f"expected {width} fields, found {len(row)}", row)
        else:
            fixed[k] = row
    if fixed:
        at = pl.Series(list(fixed), dtype=pl.UInt32)
        frame = frame.with_columns(
            frame.get_column(_FIELD(i)).scatter(at, [row[i] for row in fixed.values()]) for i in range(width))
    frame = frame.with_row_index("k").with_columns(pl.col("k").cast(pl.Int64))
    if rejected:
        frame = frame.filter(~pl.col("k").is_in(list(rejected)))
    return frame, rejected, n_lines


def _differing_lines(text: str, start: int, written: str) -> dict[int, str]:
    """{line index: line} of the lines of text[start:] that differ from the same line of `written`.

    Both hold the same number of lines (`written` ends with "\n", the text may not). Equal stretches
    are skipped in chunks that grow while they match, without splitting either text into lines.
    """
    differ: dict[int, str] = {}
    i, j, k = start, 0, 0  # the same place in text and in written, and the index of its line
    end = len(text)
    written_after_end = 0 if text.endswith("\n") else 1  # what `written` has after the text's last line
    step = 256
    while i < end:
        chunk = text[i:i + step]
        if written.startswith(chunk, j) and (
                i + len(chunk) < end or len(written) - (j + len(chunk)) == written_after_end):
            k += chunk.count("\n")
            i += len(chunk)
            j += len(chunk)
            step = min(2 * step, 1 << 20)
            continue
        step = 256
        # Something differs in this chunk: compare the rest of the current line, then move to the next.
        line_end = text.find("\n", i)
        if line_end < 0:
            line_end = end
        written_end = written.find("\n", j)
        if text[i:line_end] != written[j:written_end]:
            line_start = text.rfind("\n", start, i) + 1 or start
            differ[k] = text[line_start:line_end]
        k += 1
        i, j = line_end + 1, written_end + 1
    return differ


def _fields_by_csv(reader, note: str | None, width: int, clean: bool) -> tuple[pl.DataFrame, dict, int]:
    """The rows after the header, read by the csv module, with the rows that are not rows rejected."""
    rows = list(reader)
    rejected: dict[int, tuple[str, list[str]]] = {}
    if note and rows:
        rejected[len(rows) - 1] = (f"last row of a truncated file ({note})", rows[-1])
    for k, row in enumerate(rows):
        if k in rejected:
            continue
        if len(row) != width:
            rejected[k] = (f"expected {width} fields, found {len(row)}", row)
        elif not clean and _has_bad_bytes(row):
            rejected[k] = ("row holds bytes that are not valid UTF-8", row)
    good = [k for k in range(len(rows)) if k not in rejected]
    columns = list(zip(*(rows[k] for k in good))) if good else [()] * width
    frame = pl.DataFrame({"k": pl.Series(good, dtype=pl.Int64),
                          **{_FIELD(i): pl.Series(columns[i], dtype=pl.String) for i in range(width)}})
    return frame, rejected, len(rows)


def _typed_lines(raw: pl.DataFrame, idx: list[int], rejected: dict, source_file: str) -> pl.DataFrame:
    """Check and type the rows of a raw frame as _type_row does; rows it rejects go to `rejected`.

    Each check runs once per distinct value of its column and flags the rows whose value fails it.
    Only flagged rows go through _type_row, which gives the reason; the others are typed from the
    per-value results, made by the same checks.
    """
    if raw.height == 0:
        return pl.DataFrame(schema=_TYPED_SCHEMA)
    g, d, loc, att, inn, half, score, bat, fld, desc = (raw.get_column(_FIELD(i)) for i in idx)
    game_id = _per_value(g, _game_id_value, pl.String)
    day = _per_value(d, _date_value, pl.Date)
    inning = _per_value(inn, _inning_value, pl.Int16)
    half_ok = _per_value(half, _half_value, pl.String)
    away = _per_value(score, _away_value, pl.Int16)
    home = _per_value(score, _home_value, pl.Int16)
    batting = _per_value(bat, _team_value, pl.String)
    fielding = _per_value(fld, _team_value, pl.String)
    attendance = _per_value(att, _attendance_value, pl.Int32)
    location = _per_value(loc, _location_value, pl.String)
    description = desc.str.strip_chars(_WHITESPACE)
    flagged = (game_id.is_null() | day.is_null() | inning.is_null() | half_ok.is_null() | away.is_null()
               | batting.is_null() | fielding.is_null() | (batting == fielding).fill_null(True) | (description == ""))
    keep = ~flagged
    positions = flagged.arg_true().to_list()
    if positions:
        ks = raw.get_column("k").gather(positions).to_list()
        rows = raw.select(_FIELD(i) for i in range(raw.width - 1))[positions].rows()
        accepted = []
        for position, k, row in zip(positions, ks, rows):
            values = [row[i] for i in idx]
            reason, _ = _type_row(*values[:2], values[4], values[5], values[6], values[7], values[8], values[9],
                                  values[3])
            if reason is None:
                accepted.append(position)  # (not expected: the per-value checks are _type_row's checks)
            else:
                rejected[k] = (reason, list(row))
        if accepted:
            keep = keep.scatter(accepted, True)
    return pl.DataFrame({
        "source_file": pl.Series([source_file], dtype=pl.String).extend_constant(source_file, raw.height - 1),
        "line_no": raw.get_column("k") + 2,
        "source_game_id": game_id,
        "season": day.dt.year().cast(pl.Int32),
        "date": day,
        "location": location,
        "attendance": attendance,
        # written but kept null ("-40", "lots", 99999999999), for the file's note
        "attendance_nulled": (att.str.strip_chars(_WHITESPACE) != "").fill_null(False) & attendance.is_null(),
        "inning": inning,
        "half": half_ok,  # stripped: downstream compares half == "top" to tell away from home
        "away_score": away,
        "home_score": home,
        "batting": batting,
        "fielding": fielding,
        "description": description,
    }).filter(keep)


def _per_value(values: pl.Series, fn, dtype) -> pl.Series:
    """fn(value) for every row, called once per distinct value.

    The lines of a game come together, so most columns change value only now and then: fn runs on
    the first value of each run of equal values (from a cache), and polars spreads the results.
    A text column that fn either leaves as it is or turns to None (no spaces to strip) is returned
    as it is, with nulls in place of the values that fn turns to None.
    """
    if dtype == pl.String:
        results = {v: fn(v) for v in values.unique().to_list()}
        if all(r is None or r == v for v, r in results.items()):
            dropped = [v for v, r in results.items() if r is None]
            return values.scatter(values.is_in(dropped).arg_true(), None) if dropped else values
    runs = values.rle().struct.field("value").to_list()
    cache: dict = {}
    results = [cache[v] if v in cache else cache.setdefault(v, fn(v)) for v in runs]
    return pl.Series(results, dtype=dtype).gather(values.rle_id())


# The checks of _type_row, one field at a time; None means "not valid". They never raise: a value
# that would make _type_row raise is flagged, and _type_row raises as it always did.
def _game_id_value(g: str) -> str | None:
    """The id without leading zeros: "0100" is game 100, so a second copy of it is a duplicate."""
    g = g.strip()
    return canonical_number(g) if ascii_digits(g) else None


def _date_value(d: str) -> date | None:
    m = _DATE.match(d.strip())
    if not m:
        return None
    try:
        day = date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
    except ValueError:
        return None
    return day if FIRST_SEASON <= day.year <= LAST_SEASON else None


def _inning_value(inn: str) -> int | None:
    inn = inn.strip()
    if not ascii_digits(inn):
        return None
    value = int(inn)
    return value if 1 <= value <= _MAX_INNING else None


def _half_value(half: str) -> str | None:
    half = half.strip()
    return half if half in ("top", "bot") else None


def _away_value(score: str) -> int | None:
    s = _SCORE.match(score.strip())
    return int(s.group(1)) if s else None


def _home_value(score: str) -> int | None:
    s = _SCORE.match(score.strip())
    return int(s.group(2)) if s else None


def _team_value(team: str) -> str | None:
    return team.strip() or None


def _location_value(loc: str) -> str | None:
    return loc.strip() or None


def _attendance_value(att: str) -> int | None:
    """Attendance as written ("1,234"); None when blank, unreadable or out of range (not a reason to
    refuse a play: the file's note counts it, see _note_nulled_attendance)."""
    att = att.strip().replace(",", "")
    if not ascii_digits(att):
        return None
    value = int(att)
    return value if value <= _MAX_ATTENDANCE else None


def _raw(row: list[str]) -> str:
    return _printable(",".join(row))


def _printable(text: str | None) -> str | None:
    """Undecodable bytes (held as lone surrogates) as backslash escapes, so the text is valid UTF-8."""
    return None if text is None else text.encode("utf-8", errors="backslashreplace").decode("utf-8")


def _type_row(g, d, inn, half, score, bat, fld, desc, att):
    """(reason, None) for a row that cannot be used, else (None, typed values)."""
    if not (inn or score or desc):
        return "empty row: no inning, score or description", None
    g = g.strip()
    if not ascii_digits(g):
        return f"game_id {g!r} is not a number", None
    m = _DATE.match(d.strip())
    if not m:
        return f"date {d!r} is not MM/DD/YYYY", None
    try:
        game_date = date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
    except ValueError:
        return f"date {d!r} is not a calendar date", None
    if not FIRST_SEASON <= game_date.year <= LAST_SEASON:
        return f"date {d!r} is outside the seasons {FIRST_SEASON}-{LAST_SEASON}", None
    inn = inn.strip()
    if not ascii_digits(inn) or not 1 <= int(inn) <= _MAX_INNING:  # int() raises on "²" (str.isdigit)
        return f"inning {inn!r} is not a number from 1 to {_MAX_INNING}", None
    half = half.strip()
    if half not in ("top", "bot"):
        return f"inning_top_bot {half!r} is not top or bot", None
    s = _SCORE.match(score.strip())
    if not s:
        return f"score {score!r} is not away-home", None
    bat, fld = bat.strip(), fld.strip()
    if not bat or not fld:
        return "batting or fielding team is empty", None
    if bat == fld:
        return f"batting and fielding team are the same ({bat!r})", None
    if not desc.strip():
        return "empty description", None
    return None, (game_date.year, game_date, int(inn), int(s.group(1)), int(s.group(2)), _attendance_value(att))


def _quarantine_bad_games(lines: pl.DataFrame, result: PbpReadResult) -> pl.DataFrame:
    """Quarantine repeated copies of a game, rows naming a third team or another date, and games whose score
    goes backwards.

    A game is a run of lines with the same game id from the same file. Only games that name other than two
    teams, change date or whose score drops from one line to the next go through _check_game, and only
    games that show their first line again go through _restart.
    """
    n = lines.height
    if n == 0:
        return lines
    gid, src, line_no = lines.get_column("source_game_id"), lines.get_column("source_file"), lines.get_column("line_no")
    starts_mask = ((gid != gid.shift(1)) | (src != src.shift(1))).fill_null(True)
    block = starts_mask.cum_sum().alias("block")
    starts = starts_mask.arg_true().to_list()
    ends = starts[1:] + [n]
    teams = (pl.concat([pl.DataFrame([block, lines.get_column("batting").alias("team")]),
                        pl.DataFrame([block, lines.get_column("fielding").alias("team")])])
             .unique().group_by("block").len())
    suspect = set(teams.filter(pl.col("len") != 2).get_column("block").to_list())
    away, home = lines.get_column("away_score"), lines.get_column("home_score")
    drops = ((away < away.shift(1)) | (home < home.shift(1))) & (block == block.shift(1))
    suspect.update(block.filter(drops.fill_null(False)).to_list())
    day = lines.get_column("date")
    suspect.update(block.filter(((day != day.shift(1)) & (block == block.shift(1))).fill_null(False)).to_list())
    first = pl.Series(starts).gather(block - 1)  # each line's game's first line
    again = (~starts_mask).arg_true()  # narrowed, column by column, to the lines equal to their game's first
    for column in _PLAY_COLUMNS:
        values = lines.get_column(column)
        again = again.filter(values.gather(again).eq_missing(values.gather(first.gather(again))))
    restarted = set(block.gather(again).to_list())

    drop: dict[int, str] = {}
    first_block: dict[str, tuple[str, int]] = {}
    block_gid, block_src, block_line = (s.gather(starts).to_list() for s in (gid, src, line_no))
    for b, (i, j) in enumerate(zip(starts, ends), start=1):
        g = block_gid[b - 1]
        if g in first_block:
            where = first_block[g]
            reason = f"duplicate game: game {g} was already read from {where[0]} line {where[1]}"
            for k in range(i, j):
                drop[k] = reason
        else:
            first_block[g] = (block_src[b - 1], block_line[b - 1])
            p = _restart(lines.slice(i, j - i).select(_PLAY_COLUMNS).rows()) if b in restarted else None
            if p is not None:
                reason = (f"duplicate game: game {g} starts over at line {line_no[i + p]}, a repeated copy of its "
                          f"lines from line {block_line[b - 1]}")
                for k in range(i + p, j):
                    drop[k] = reason
                j = i + p
            if b in suspect:
                game = lines.slice(i, j - i)
                cols = {c: game.get_column(c).to_list()
                        for c in ("batting", "fielding", "description", "away_score", "home_score", "line_no", "date")}
                game_drop: dict[int, str] = {}
                _check_game(cols, 0, j - i, game_drop)
                drop.update((i + k, reason) for k, reason in game_drop.items())
    if not drop:
        return lines
    order = sorted(drop)
    dropped = lines.select("source_file", "line_no", "source_game_id", "description")[order].rows()
    reports = {f.source_file: f for f in result.files}
    for k, (source_file, line, game, description) in zip(order, dropped):
        result.quarantine.append({
            "source_file": source_file, "line_no": line, "source_game_id": game, "reason": drop[k],
            "raw": description,
        })
        report = reports[source_file]
        report.rows_accepted -= 1
        report.rows_quarantined += 1
    keep = pl.Series([True], dtype=pl.Boolean).extend_constant(True, n - 1).scatter(order, False)
    return lines.filter(keep)


_PLAY_COLUMNS = ("inning", "away_score", "home_score", "half", "date", "attendance", "batting", "fielding",
                 "location", "description")  # a line's content: all but where it was read (numbers first)


def _restart(rows: list[tuple]) -> int | None:
    """Where a game's lines (_PLAY_COLUMNS) start over from its first line and from there only repeat the
    lines before (the game copied twice in a row, the last copy maybe cut short), else None. Every line from
    there is a copy of a line kept, so quarantining them loses nothing; a game that starts over and then
    differs is left to _check_game."""
    for p in range(1, len(rows)):
        if rows[p] == rows[0] and rows[p:] == rows[:len(rows) - p]:
            return p
    return None


def _check_game(cols: dict, start: int, end: int, drop: dict[int, str]) -> None:
    """Quarantine a game's lines on another date than most of its lines (the season is the date's year,
    so such a line would be stored apart from its game and become a game of its own), lines naming a third
    team, and the whole game if its score goes backwards."""
    teams = Counter()
    for k in range(start, end):
        teams[cols["batting"][k]] += 1
        teams[cols["fielding"][k]] += 1
    pair = {t for t, _ in teams.most_common(2)}
    game_date = Counter(cols["date"][start:end]).most_common(1)[0][0]
    prev_away = prev_home = 0
    prev_line = None
    for k in range(start, end):
        if cols["date"][k] != game_date:
            drop[k] = f"date {cols['date'][k]} is not the game's date {game_date} (that of most of its lines)"
            continue
        if cols["batting"][k] not in pair or cols["fielding"][k] not in pair:
            drop[k] = (f"team {cols['batting'][k]!r} vs {cols['fielding'][k]!r} is not the game's pair "
                       f"({' vs '.join(sorted(pair))})")
            continue
        if is_summary_line(cols["description"][k]):
            continue  # summaries may carry the score after the next half; they are not in sequence
        away, home = cols["away_score"][k], cols["home_score"][k]
        if away < prev_away or home < prev_home:
            reason = (f"score goes backwards at line {cols['line_no'][k]}: {away}-{home} after "
                      f"{prev_away}-{prev_home} (line {prev_line})")
            for m in range(start, end):
                drop[m] = reason
            return
        prev_away, prev_home, prev_line = away, home, cols["line_no"][k]


LINES_SCHEMA = {
    "source_file": pl.String, "line_no": pl.Int64, "source_game_id": pl.String, "season": pl.Int32,
    "date": pl.Date, "location": pl.String, "attendance": pl.Int32, "inning": pl.Int16, "half": pl.String,
    "away_score": pl.Int16, "home_score": pl.Int16, "batting": pl.String, "fielding": pl.String,
    "description": pl.String,
}
_TYPED_SCHEMA = {**LINES_SCHEMA, "attendance_nulled": pl.Boolean}  # the lines while the files are read
QUARANTINE_SCHEMA = {
    "source_file": pl.String, "line_no": pl.Int64, "source_game_id": pl.String, "reason": pl.String,
    "raw": pl.String,
}
FILE_REPORT_SCHEMA = {
    "source_file": pl.String, "rows_read": pl.Int64, "rows_accepted": pl.Int64, "rows_quarantined": pl.Int64,
    "note": pl.String,
}


def lines_frame(result: PbpReadResult) -> pl.DataFrame:
    if result._frame is not None:
        return result._frame.clone()  # (a cheap copy: the columns' data is shared, not copied)
    return pl.DataFrame(result._columns, schema=LINES_SCHEMA)


def quarantine_frame(result: PbpReadResult) -> pl.DataFrame:
    return pl.DataFrame(result.quarantine, schema=QUARANTINE_SCHEMA).sort("source_file", "line_no")


def file_report_frame(result: PbpReadResult) -> pl.DataFrame:
    return pl.DataFrame([vars(f) for f in result.files], schema=FILE_REPORT_SCHEMA)
