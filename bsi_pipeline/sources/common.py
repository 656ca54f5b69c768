"""The contract every game-results source adapter fulfils.

An adapter is a plain function `read_<kind>(paths: list[Path]) -> SourceResult`:
- `games`: one row per game in GAMES_SCHEMA (the columns every sport shares);
- `details`: the kind's own per-game columns (starting pitchers, closing lines, ...), keyed by game_id;
- `quarantine`: every source row that was not accepted, with the reason (QUARANTINE_SCHEMA);
- `files`: per file, rows read = accepted + quarantined.
Whole-file problems (a required column missing, an unreadable file) raise SourceFormatError naming the
file and the problem. Nothing is dropped silently.
"""

from __future__ import annotations

import csv
import io
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from bsi_pipeline.ids import canonical_id

GAMES_SCHEMA = {
    "game_id": pl.String,          # canonical: sport:league:season:game:<source id>
    "sport": pl.String,            # baseball, football, basketball
    "league": pl.String,           # mlb, ncaa, nfl, ncaaf, ncaam
    "season": pl.Int32,
    "date": pl.Date,
    "away_team": pl.String,        # the source's team name or code, stable within the source
    "home_team": pl.String,        # on a neutral site: the team the source lists as home
    "away_score": pl.Int16,
    "home_score": pl.Int16,
    "neutral": pl.Boolean,         # null when the source does not say
    "away_conference": pl.String,  # null when unknown or not applicable
    "home_conference": pl.String,
    "game_type": pl.String,        # regular, postseason (playoffs, bowls, tournaments), or null
    "location": pl.String,         # park / stadium / venue as the source names it
    "source": pl.String,           # the source kind, e.g. retrosheet_gamelogs
    "source_game_id": pl.String,
}

QUARANTINE_SCHEMA = {
    "source": pl.String, "source_file": pl.String, "line_no": pl.Int64, "source_game_id": pl.String,
    "reason": pl.String, "raw": pl.String,
}

FILES_SCHEMA = {
    "source": pl.String, "source_file": pl.String, "rows_read": pl.Int64, "rows_accepted": pl.Int64,
    "rows_quarantined": pl.Int64, "note": pl.String,
}


class SourceFormatError(ValueError):
    """A source file that cannot be read at all; the message names the file and the problem."""


@dataclass
class SourceResult:
    games: pl.DataFrame
    details: pl.DataFrame
    quarantine: pl.DataFrame
    files: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=FILES_SCHEMA))


def game_id(sport: str, league: str, season: int, source_game_id: str) -> str:
    return canonical_id(sport, league, season, "game", source_game_id)


def empty_games() -> pl.DataFrame:
    return pl.DataFrame(schema=GAMES_SCHEMA)


def games_frame(rows: list[dict]) -> pl.DataFrame:
    """Rows (dicts with GAMES_SCHEMA keys; missing keys become null) as a frame in schema order."""
    return pl.DataFrame([{k: r.get(k) for k in GAMES_SCHEMA} for r in rows], schema=GAMES_SCHEMA)


def quarantine_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame([{k: r.get(k) for k in QUARANTINE_SCHEMA} for r in rows], schema=QUARANTINE_SCHEMA)


def files_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame([{k: r.get(k) for k in FILES_SCHEMA} for r in rows], schema=FILES_SCHEMA)


TRUNCATED_GZIP_NOTE = "gzip stream truncated: the file ends before its end-of-stream marker"


def read_bytes(path: Path) -> tuple[bytes, str | None]:
    """A file's bytes, gunzipped when it is gzip (by name or magic bytes), and a note when a gzip stream
    was cut short. Every member of a multi-member gzip (`cat a.gz b.gz`) is read; an unreadable file or
    gzip raises SourceFormatError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceFormatError(f"{path}: cannot read the file ({exc})") from exc
    note = None
    if path.suffix.lower() == ".gz" or data[:2] == b"\x1f\x8b":
        parts, rest = [], data
        while True:
            decomp = zlib.decompressobj(wbits=31)
            try:
                parts.append(decomp.decompress(rest) + decomp.flush())
            except zlib.error as exc:
                raise SourceFormatError(f"{path}: not a readable gzip file ({exc})") from exc
            if not decomp.eof:
                note = TRUNCATED_GZIP_NOTE
                break
            rest = decomp.unused_data.lstrip(b"\0")  # zero padding after a member is allowed
            if not rest:
                break
        data = parts[0] if len(parts) == 1 else b"".join(parts)
    return data, note


def read_text(path: Path) -> tuple[str, str | None]:
    """A file's text (plain or gzip, by `.gz` suffix or gzip magic bytes), and a note when it was cut short.

    Every member of a multi-member gzip (`cat a.gz b.gz`) is read. A truncated gzip stream gives the text
    decompressed so far and the note TRUNCATED_GZIP_NOTE: the caller should quarantine the last row, which
    may be cut. Bytes that are not UTF-8 are kept as lone surrogates (errors="surrogateescape"), so callers
    can quarantine just the rows holding them (see `has_bad_bytes`). An unreadable gzip raises
    SourceFormatError.
    """
    data, note = read_bytes(path)
    try:
        return data.decode("utf-8"), note
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="surrogateescape"), note


def has_bad_bytes(text: str) -> bool:
    """True when text read by `read_text` holds bytes that were not valid UTF-8."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def printable(text: str | None) -> str | None:
    """Undecodable bytes (held as lone surrogates by `read_text`) as `\\xNN` escapes: valid UTF-8 text."""
    if text is None:
        return None
    try:
        return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")
    except UnicodeEncodeError:  # a surrogate not made by surrogateescape
        return text.encode("utf-8", errors="backslashreplace").decode("utf-8")


# ------------------------------------------------------------------------------------ CSV rows and accounting

BAD_BYTES_REASON = "row holds bytes that are not valid UTF-8"
# The seasons a source of modern games can hold: a date outside them is a typo ("0025-03-01", "03/01/2919"),
# which would otherwise become a season of its own.
FIRST_SEASON, LAST_SEASON = 1900, 2100
EMPTY_LINE = "empty line"
_TRUE, _FALSE = {"true", "t", "1", "yes"}, {"false", "f", "0", "no"}


def raw_csv_line(row: list[str]) -> str:
    """The row as one CSV line, quoted where needed so it reads back as the same fields; valid UTF-8
    (undecodable bytes as `\\xNN` escapes, see `printable`)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(row)
    return printable(out.getvalue())


def require_columns(path: Path, header: list[str], required) -> list[int]:
    """The positions of the required columns in the header; SourceFormatError naming the file and the
    missing columns when one is absent."""
    missing = [c for c in required if c not in header]
    if missing:
        raise SourceFormatError(
            f"{path}: missing required column(s) {', '.join(missing)}; found {printable(', '.join(header)) or 'none'}")
    return [header.index(c) for c in required]


def row_problem(row: list[str], width: int) -> str | None:
    """Why a data row cannot be read as a row of its file (a field count other than the header's, bytes
    that are not UTF-8), or None."""
    if len(row) != width:
        return f"expected {width} fields, found {len(row)}"
    if any(has_bad_bytes(v) for v in row):
        return BAD_BYTES_REASON
    return None


def _csv_header(path: Path, reader) -> list[str]:
    try:
        return next(reader)
    except StopIteration:
        raise SourceFormatError(f"{path}: empty file (no header row)") from None
    except csv.Error as exc:
        raise SourceFormatError(f"{path}: header is not readable CSV ({exc})") from exc


def read_csv_records(path: Path, text: str) -> tuple[list[str], Iterator[tuple[int, list[str], str | None]]]:
    """The header of CSV text (as written) and its data records, read one at a time.

    Each record is (line_no, fields, reason): line_no is the file line the record starts on (the header
    is line 1; a quoted field may span lines), reason is None for a row to check further, else why the
    record is not a row of the file: unreadable CSV (fields [] then), EMPTY_LINE (no field holds more than
    blanks), or a `row_problem`.
    An empty file or an unreadable header raises SourceFormatError naming the file.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    header = _csv_header(path, reader)
    return header, _records(reader, len(header))


def _records(reader, width: int) -> Iterator[tuple[int, list[str], str | None]]:
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over the csv module's size limit
            yield start, [], f"unreadable CSV row ({exc})"
            start = reader.line_num + 1
            continue
        line_no, start = start, reader.line_num + 1
        if not any(v.strip() for v in row):
            yield line_no, row, EMPTY_LINE
        else:
            yield line_no, row, row_problem(row, width)


@dataclass
class CsvRows:
    """A CSV file read whole by `read_csv_rows`."""

    header: list[str]        # the column names, stripped
    rows: list[list[str]]    # the data rows, as the csv module splits them ([] for an unreadable one)
    truncated: str | None    # TRUNCATED_GZIP_NOTE when the file is a gzip stream cut short, else None
    unreadable: dict[int, str] = field(default_factory=dict)  # row index -> why the csv module refused it

    def records(self) -> Iterator[tuple[int, list[str], str | None]]:
        """(line_no, row, reason) per data row: line_no counts rows (the header is line 1); reason is None
        for a row to check further, else why it is not a row of the file: unreadable CSV, the last row of a
        truncated file (it may be cut short), or a `row_problem`."""
        width, last = len(self.header), len(self.rows) - 1
        for k, row in enumerate(self.rows):
            if k in self.unreadable:
                reason = self.unreadable[k]
            elif self.truncated and k == last:
                reason = f"last row of a truncated file ({self.truncated})"
            else:
                reason = row_problem(row, width)
            yield k + 2, row, reason


def read_csv_rows(path: Path) -> CsvRows:
    """A CSV file (plain or gzip, read by `read_text`) read whole: its header, without a leading byte-order
    mark, and its rows. Bytes that are not UTF-8 are kept as lone surrogates, so that `row_problem` can
    quarantine just the rows holding them; a row the csv module cannot read (a field over its size limit)
    is kept as unreadable, to be quarantined. An unreadable file, an empty one or an unreadable header
    raises SourceFormatError naming the file.
    """
    path = Path(path)
    text, truncated = read_text(path)
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = [h.strip() for h in _csv_header(path, reader)]
    rows, unreadable = [], {}
    while True:
        try:
            rows.append(next(reader))
        except StopIteration:
            break
        except csv.Error as exc:
            unreadable[len(rows)] = f"unreadable CSV row ({exc})"
            rows.append([])
    return CsvRows(header, rows, truncated, unreadable)


def split_line(line: str) -> tuple[list[str], str | None]:
    """One line of a line-per-record CSV format (game logs, cwevent output) as its fields, and None; or
    ([], why) when the csv module cannot read it (a field over its size limit). Each line is read on its
    own, so an unclosed quote cannot swallow the lines after it."""
    try:
        return next(csv.reader((line,)), []), None
    except csv.Error as exc:
        return [], f"unreadable CSV line ({exc})"


def ascii_digits(text: str | None) -> bool:
    """Whether ``text`` is one or more ASCII digits 0-9 (str.isdigit also passes '²' and '٣', which are
    not numbers as a CSV writes them, and int() refuses the first)."""
    return bool(text) and text.isascii() and text.isdigit()


def file_labels(paths) -> dict[Path, str]:
    """The name each file is reported by (``source_file``): its file name, or, where files share a name, the
    shortest end of the path that tells them apart ("2021/savant.csv"). Why: quarantine rows, file reports
    and row ids name a file, and two files called alike (a Savant download per season folder) must not read
    as one. Keys are the paths as given (``Path(p)``)."""
    paths = [Path(p) for p in paths]
    depth = dict.fromkeys(paths, 1)
    while True:
        label = {p: "/".join(p.parts[-depth[p]:]) for p in paths}
        taken = Counter(label.values())
        clash = [p for p in depth if taken[label[p]] > 1 and depth[p] < len(p.parts)]
        if not clash:
            return label
        for p in clash:
            depth[p] += 1


def canonical_number(text: str | None) -> str | None:
    """A source id of ASCII digits without its leading zeros ("0123" -> "123"), so that two spellings of
    one id are caught as a duplicate and make one game id; any other text unchanged (checked later)."""
    return str(int(text)) if ascii_digits(text) else text


def parse_bool(text: str | None) -> bool | None:
    """True / False for true, t, 1, yes / false, f, 0, no (any case, blanks around); else None."""
    if text is None:
        return None
    t = text.strip().lower()
    return True if t in _TRUE else False if t in _FALSE else None


def whole_number(text: str) -> int | None:
    """'45' or '45.0' -> 45; blank, '45.5', 'x', 'nan', 'inf' -> None."""
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")) or not value.is_integer():
        return None
    return int(value)


# A fall season (football) runs into the next year only for bowls and playoffs. Every real NFL game
# 1966-2015 in the year after its season is in January or February (the latest, Super Bowl 50 on
# 2016-02-07); the CFBD 2001-2014 file has none.
FALL_SEASON_LAST_MONTH = 2


def fall_season_problem(day: date, season: int) -> str | None:
    """Why a game on `day` cannot belong to fall season `season`, as "lies outside season ...", or None.
    Why: a game in the year after its season but later than February (2006-10-07 filed under 2005)
    belongs to another season, and accepting it would put it in the wrong season's tables."""
    if day.year == season or (day.year == season + 1 and day.month <= FALL_SEASON_LAST_MONTH):
        return None
    if day.year == season + 1:
        return (f"lies outside season {season} (a game in the year after its season must be in "
                f"January-February: bowls, playoffs)")
    return f"lies outside season {season}"


def counted_note(key: str, n: int, lines: list[int] | None, unit: str = "game") -> str:
    """One part of a file's note: what was kept null (`key`), how often, and the first example lines."""
    where = f" (lines {', '.join(map(str, lines))}{', ...' if n > len(lines) else ''})" if lines else ""
    return f"{key}: {n} {unit}{'s' if n != 1 else ''}{where}"


@dataclass
class FileState:
    """One source file's accounting, kept while it is read; `row()` is its row of the files frame.

    `notes` counts what was kept null (per game, with up to three example lines, see `note`); `remarks`
    are whole-file notes, listed after the counted ones.
    """

    source: str
    source_file: str
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    notes: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=lambda: defaultdict(list))
    remarks: list[str] = field(default_factory=list)

    def note(self, key: str, line_no: int) -> None:
        self.notes[key] += 1
        if len(self.examples[key]) < 3:
            self.examples[key].append(line_no)

    def number(self, text: str, name: str, line_no: int) -> float | None:
        """A float, None for blank; a value that is not a finite number is None and counted in the notes."""
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if value != value or value in (float("inf"), float("-inf")):
            self.note(f"{name} not a number (kept null)", line_no)
            return None
        return value

    def flag(self, text: str | None, name: str, line_no: int, spelled: str = "true or false") -> bool | None:
        """A true/false value, None for blank; an unreadable one is None and counted in the notes (for
        columns that inform rather than decide: a deciding flag is quarantined by its reader)."""
        if not text:
            return None
        value = parse_bool(text)
        if value is None:
            self.note(f"{name} not {spelled} (kept null)", line_no)
        return value

    def quarantine(self, rows: list[dict], line_no: int, source_game_id: str | None, reason: str,
                   raw: str) -> None:
        """Count a quarantined row of this file and add it to `rows` (QUARANTINE_SCHEMA keys, valid UTF-8)."""
        self.rows_quarantined += 1
        rows.append({"source": self.source, "source_file": self.source_file, "line_no": line_no,
                     "source_game_id": printable(source_game_id), "reason": printable(reason),
                     "raw": printable(raw)})

    def readable_rows(self, records, quarantine: list[dict],
                      source_game_id: Callable[[list[str]], str | None] | None = None,
                      ) -> Iterator[tuple[int, list[str]]]:
        """(line_no, row) for each record without a reason, to check further; each record counts as read,
        and one with a reason (see `read_csv_records`, `CsvRows.records`) is quarantined with that reason
        and the id `source_game_id(row)` gives (none without it)."""
        for line_no, row, reason in records:
            self.rows_read += 1
            if reason is None:
                yield line_no, row
            else:
                gid = source_game_id(row) if source_game_id else None
                self.quarantine(quarantine, line_no, gid, reason, raw_csv_line(row))

    def row(self) -> dict:
        parts = [counted_note(key, n, self.examples.get(key)) for key, n in self.notes.items() if n]
        parts.extend(self.remarks)
        return {"source": self.source, "source_file": self.source_file, "rows_read": self.rows_read,
                "rows_accepted": self.rows_accepted, "rows_quarantined": self.rows_quarantined,
                "note": "; ".join(parts) or None}
