"""Read stats.ncaa.org play-by-play CSV files (plain or .gz) into typed lines and quarantine rows.

Nothing is dropped silently: every physical row ends up either accepted or in the quarantine with a
reason, per file `rows_read == rows_accepted + rows_quarantined`. Problems that make a whole file
unusable (a required column missing) raise SourceFormatError naming the file and the column.
Problems that make a whole game unusable (the same game read twice, a score that goes backwards)
quarantine every row of that game with the reason.
"""

from __future__ import annotations

import csv
import gc
import io
import re
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from operator import eq, lt
from pathlib import Path

import polars as pl

from bsi_pipeline.ncaa.pbp_text import is_summary_line

REQUIRED_COLUMNS = (
    "game_id", "date", "location", "attendance", "inning", "inning_top_bot", "score", "batting", "fielding",
    "description",
)
_SCORE = re.compile(r"^(\d{1,3})-(\d{1,3})$")
_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_MAX_INNING = 30


class SourceFormatError(ValueError):
    """A source file that cannot be read at all; the message names the file and the problem."""


@dataclass
class FileReport:
    source_file: str
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    note: str | None = None


@dataclass
class PbpReadResult:
    columns: dict[str, list] = field(default_factory=lambda: {c: [] for c in LINE_COLUMNS})
    quarantine: list[dict] = field(default_factory=list)
    files: list[FileReport] = field(default_factory=list)


LINE_COLUMNS = (
    "source_file", "line_no", "source_game_id", "season", "date", "location", "attendance", "inning", "half",
    "away_score", "home_score", "batting", "fielding", "description",
)


def _read_text(path: Path) -> tuple[str, str | None]:
    """File text, and a note when the file was cut short (a truncated gzip stream)."""
    data = path.read_bytes()
    note = None
    if path.suffix == ".gz":
        parts, rest = [], data
        while True:  # a gzip file may hold several members (`cat a.gz b.gz`): read them all
            decomp = zlib.decompressobj(wbits=31)
            try:
                parts.append(decomp.decompress(rest) + decomp.flush())
            except zlib.error as exc:
                raise SourceFormatError(f"{path}: not a readable gzip file ({exc})") from exc
            if not decomp.eof:
                note = "gzip stream truncated: the file ends before its end-of-stream marker"
                break
            rest = decomp.unused_data.lstrip(b"\0")  # zero padding after a member is allowed
            if not rest:
                break
        data = b"".join(parts)
    try:
        return data.decode("utf-8"), note
    except UnicodeDecodeError:
        # Keep the readable rows; rows holding undecodable bytes are quarantined one by one.
        return data.decode("utf-8", errors="surrogateescape"), note


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
        for path in paths:
            _read_one(Path(path), result)
        _quarantine_bad_games(result)
    return result


def _read_one(path: Path, result: PbpReadResult) -> None:
    """Check and type one file's rows, a column at a time.

    Every check of _type_row is first made on the distinct values of a column (a season has a few
    hundred dates, scores and teams), which flags the rows that may fail. Only flagged rows go through
    _type_row itself, which gives their reason; the others are typed from the per-value results.
    """
    text, note = _read_text(path)
    report = FileReport(path.name, note=note)
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
    rows = list(reader)
    n_rows = len(rows)
    report.rows_read = n_rows
    # Rows unusable as rows, by index into `rows` (line_no = index + 2, counting the header).
    rejected: dict[int, str] = {}
    if note and rows:
        rejected[n_rows - 1] = f"last row of a truncated file ({note})"
    for k in [k for k, row in enumerate(rows) if len(row) != width]:
        rejected.setdefault(k, f"expected {width} fields, found {len(rows[k])}")
    if not text.isascii() and _holds_surrogates(text):  # only then can a row hold undecodable bytes
        for k, row in enumerate(rows):
            if k not in rejected and _has_bad_bytes(row):
                rejected[k] = "row holds bytes that are not valid UTF-8"
    good = [k for k in range(n_rows) if k not in rejected] if rejected else range(n_rows)
    good_rows = [rows[k] for k in good] if rejected else rows
    fields = list(zip(*good_rows)) if good_rows else [()] * width
    g, d, loc, att, inn, half, score, bat, fld, desc = (fields[i] for i in idx)

    # Per distinct value: the typed value, or None (_BAD for attendance) when the row needs _type_row.
    game_ids, bad_ids = _by_value(g, _game_id_value)
    dates, bad_dates = _by_value(d, _date_value)
    innings, bad_innings = _by_value(inn, _inning_value)
    halves, bad_halves = _by_value(half, _half_value)
    scores, bad_scores = _by_value(score, _score_value)
    batting, bad_bat = _by_value(bat, _team_value)
    fielding, bad_fld = _by_value(fld, _team_value)
    attendance, bad_att = _by_value(att, _attendance_value, invalid=_BAD)
    descriptions = [v.strip() for v in desc]
    flagged = set()
    for column, bad_values in ((g, bad_ids), (d, bad_dates), (inn, bad_innings), (half, bad_halves),
                               (score, bad_scores), (bat, bad_bat), (fld, bad_fld), (att, bad_att)):
        if bad_values:
            flagged.update(k for k, v in enumerate(column) if v in bad_values)
    if any(map(eq, batting, fielding)):
        flagged.update(k for k, (b, f) in enumerate(zip(batting, fielding)) if b == f)
    if "" in descriptions:
        flagged.update(k for k, v in enumerate(descriptions) if not v)
    for k in sorted(flagged):
        reason, _ = _type_row(g[k], d[k], inn[k], half[k], score[k], bat[k], fld[k], desc[k], att[k])
        if reason is not None:
            rejected[good[k]] = reason
        # else: the per-value results already hold this row's values (the same functions made them)
    keep = [k for k in range(len(good_rows)) if good[k] not in rejected] if flagged else None

    for k in sorted(rejected):
        row = rows[k]
        result.quarantine.append({
            "source_file": path.name, "line_no": k + 2,
            "source_game_id": _printable(row[idx[0]] if len(row) == width else (row[0] if row else None)),
            "reason": rejected[k], "raw": _raw(row),
        })
    report.rows_quarantined = len(rejected)
    report.rows_accepted = n_rows - len(rejected)

    def take(values) -> list:
        return [values[k] for k in keep] if keep is not None else list(values)

    cols = result.columns
    cols["source_file"].extend([path.name] * report.rows_accepted)
    cols["line_no"].extend(take([k + 2 for k in good]))
    cols["source_game_id"].extend(take(game_ids))
    cols["season"].extend(take(_by_value(d, _season_value)[0]))
    cols["date"].extend(take(dates))
    cols["location"].extend(take(_by_value(loc, _location_value)[0]))
    cols["attendance"].extend(take(attendance))
    cols["inning"].extend(take(innings))
    cols["half"].extend(take(half))  # as written: _type_row checks the stripped value but keeps this one
    cols["away_score"].extend(take(_by_value(score, _away_value)[0]))
    cols["home_score"].extend(take(_by_value(score, _home_value)[0]))
    cols["batting"].extend(take(batting))
    cols["fielding"].extend(take(fielding))
    cols["description"].extend(take(descriptions))


_BAD = object()  # attendance that _type_row must look at (None is a valid attendance)


def _by_value(values, fn, invalid=None) -> tuple[list, set]:
    """fn applied once per distinct value: (the result for every value, the values it finds invalid)."""
    results = {v: fn(v) for v in set(values)}
    bad = {v for v, r in results.items() if r is invalid}
    return list(map(results.__getitem__, values)), bad


# The checks of _type_row, one field at a time; None means "not valid", and they never raise (a row
# whose value would make _type_row raise is flagged, and _type_row raises as it always did).
def _game_id_value(g: str) -> str | None:
    g = g.strip()
    return g if g.isdigit() else None


def _date_value(d: str) -> date | None:
    m = _DATE.match(d.strip())
    if not m:
        return None
    try:
        return date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
    except ValueError:
        return None


def _season_value(d: str) -> int | None:
    day = _date_value(d)
    return None if day is None else day.year


def _inning_value(inn: str) -> int | None:
    inn = inn.strip()
    if not inn.isdigit():
        return None
    try:
        value = int(inn)
    except ValueError:
        return None
    return value if 1 <= value <= _MAX_INNING else None


def _half_value(half: str) -> str | None:
    return half if half.strip() in ("top", "bot") else None


def _score_value(score: str) -> tuple[int, int] | None:
    s = _SCORE.match(score.strip())
    return (int(s.group(1)), int(s.group(2))) if s else None


def _away_value(score: str) -> int | None:
    s = _score_value(score)
    return None if s is None else s[0]


def _home_value(score: str) -> int | None:
    s = _score_value(score)
    return None if s is None else s[1]


def _team_value(team: str) -> str | None:
    return team.strip() or None


def _location_value(loc: str) -> str | None:
    return loc.strip() or None


def _attendance_value(att: str):
    att = att.strip().replace(",", "")
    if not att.isdigit():
        return None
    try:
        return int(att)
    except ValueError:
        return _BAD


def _holds_surrogates(text: str) -> bool:
    """Whether _read_text kept undecodable bytes (as lone surrogates) in the text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


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
    if not g.isdigit():
        return f"game_id {g!r} is not a number", None
    m = _DATE.match(d.strip())
    if not m:
        return f"date {d!r} is not MM/DD/YYYY", None
    try:
        game_date = date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
    except ValueError:
        return f"date {d!r} is not a calendar date", None
    inn = inn.strip()
    if not inn.isdigit() or not 1 <= int(inn) <= _MAX_INNING:
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
    att = att.strip().replace(",", "")
    attendance = int(att) if att.isdigit() else None
    return None, (game_date.year, game_date, int(inn), int(s.group(1)), int(s.group(2)), attendance)


def _quarantine_bad_games(result: PbpReadResult) -> None:
    """Quarantine repeated copies of a game, rows naming a third team, and games whose score goes backwards."""
    cols = result.columns
    n = len(cols["line_no"])
    drop: dict[int, str] = {}
    first_block: dict[str, tuple[str, int]] = {}
    i = 0
    while i < n:
        gid, src = cols["source_game_id"][i], cols["source_file"][i]
        j = i
        while j < n and cols["source_game_id"][j] == gid and cols["source_file"][j] == src:
            j += 1
        if gid in first_block:
            where = first_block[gid]
            reason = f"duplicate game: game {gid} was already read from {where[0]} line {where[1]}"
            for k in range(i, j):
                drop[k] = reason
        else:
            first_block[gid] = (src, cols["line_no"][i])
            _check_game(cols, i, j, drop)
        i = j
    if not drop:
        return
    keep = [k for k in range(n) if k not in drop]
    reports = {f.source_file: f for f in result.files}
    for k, reason in sorted(drop.items()):
        result.quarantine.append({
            "source_file": cols["source_file"][k], "line_no": cols["line_no"][k],
            "source_game_id": cols["source_game_id"][k], "reason": reason,
            "raw": cols["description"][k],
        })
        report = reports[cols["source_file"][k]]
        report.rows_accepted -= 1
        report.rows_quarantined += 1
    for name in LINE_COLUMNS:
        values = cols[name]
        cols[name] = [values[k] for k in keep]


def _check_game(cols: dict, start: int, end: int, drop: dict[int, str]) -> None:
    teams = Counter()
    for k in range(start, end):
        teams[cols["batting"][k]] += 1
        teams[cols["fielding"][k]] += 1
    pair = {t for t, _ in teams.most_common(2)}
    prev_away = prev_home = 0
    prev_line = None
    for k in range(start, end):
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
QUARANTINE_SCHEMA = {
    "source_file": pl.String, "line_no": pl.Int64, "source_game_id": pl.String, "reason": pl.String,
    "raw": pl.String,
}
FILE_REPORT_SCHEMA = {
    "source_file": pl.String, "rows_read": pl.Int64, "rows_accepted": pl.Int64, "rows_quarantined": pl.Int64,
    "note": pl.String,
}


def lines_frame(result: PbpReadResult) -> pl.DataFrame:
    return pl.DataFrame(result.columns, schema=LINES_SCHEMA)


def quarantine_frame(result: PbpReadResult) -> pl.DataFrame:
    return pl.DataFrame(result.quarantine, schema=QUARANTINE_SCHEMA).sort("source_file", "line_no")


def file_report_frame(result: PbpReadResult) -> pl.DataFrame:
    return pl.DataFrame([vars(f) for f in result.files], schema=FILE_REPORT_SCHEMA)
