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

import zlib
from dataclasses import dataclass, field
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


def read_text(path: Path) -> tuple[str, str | None]:
    """A file's text (plain or gzip, by `.gz` suffix or gzip magic bytes), and a note when it was cut short.

    Every member of a multi-member gzip (`cat a.gz b.gz`) is read. A truncated gzip stream gives the text
    decompressed so far and the note TRUNCATED_GZIP_NOTE: the caller should quarantine the last row, which
    may be cut. Bytes that are not UTF-8 are kept as lone surrogates (errors="surrogateescape"), so callers
    can quarantine just the rows holding them (see `has_bad_bytes`). An unreadable gzip raises
    SourceFormatError.
    """
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
        data = b"".join(parts)
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
