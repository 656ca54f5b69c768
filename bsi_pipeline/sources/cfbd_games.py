"""Read CollegeFootballData (CFBD) game files into the shared game schema.

Source kind `cfbd_games`; one CSV row per game, as exported by saiemgilani/cfbscrapR-data:
`game_id,season,week,season_type,start_date,start_time_tbd,neutral_site,conference_game,attendance,venue_id,venue,
home_id,home_team,home_conference,home_points,home_post_win_prob,away_id,away_team,away_conference,away_points,
away_post_win_prob,excitement_index`. Headers in the CFBD API's camelCase (`homeTeam`, `startDate`, `id`,
`homePostgameWinProbability`, ...) are accepted too: they are mapped onto the snake_case names.

Games: league "ncaaf", source_game_id is the CFBD game id, teams are the CFBD school names, scores come from
the points columns (written as floats, "45.0": they must be whole numbers), `neutral` is neutral_site,
conferences as given (null for teams outside FBS), `game_type` is "postseason" when season_type is
"postseason", "regular" for any other value (CFBD files conference championship games under "regular"), and null
when season_type is blank (nothing is guessed), location = venue.

Date: the date part of start_date, as given. start_date is written as a UTC timestamp ("...T19:00:00.000Z"),
but in the 2001-2014 file its clock times look like US Eastern kick-off times (12:00, 15:30, 19:00 dominate,
a Hawai'i home game reads 23:05), so the date part is the local calendar date in practice; converting to
another time zone would move evening games to the wrong day. The full timestamp is kept in details.

Details (DETAILS_SCHEMA): week, season_type, conference_game, attendance, venue_id, home_id, away_id,
home_post_win_prob, away_post_win_prob, excitement_index, start_date. Unparseable detail values are kept
null and counted in the file's note; they do not cost the game.

Every data row is accepted or quarantined with a reason (no final score, bad ids, duplicate game id ("0123"
and "123" are one id), bad date, wrong field count, ...); per file rows_read == rows_accepted +
rows_quarantined. A required column missing from the header raises SourceFormatError naming the file and the
column.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from bsi_pipeline.sources.common import (
    FileState,
    SourceFormatError,
    SourceResult,
    ascii_digits,
    canonical_number,
    fall_season_problem,
    file_labels,
    files_frame,
    game_id,
    games_frame,
    parse_bool,
    quarantine_frame,
    raw_csv_line,
    read_csv_records,
    require_columns,
    whole_number,
)

SOURCE = "cfbd_games"
SPORT, LEAGUE = "football", "ncaaf"

REQUIRED_COLUMNS = (
    "game_id", "season", "week", "season_type", "start_date", "neutral_site", "conference_game", "venue",
    "home_id", "home_team", "home_conference", "home_points", "away_id", "away_team", "away_conference",
    "away_points",
)
# Optional: a file without these reads with nulls.
OPTIONAL_COLUMNS = (
    "attendance", "venue_id", "home_post_win_prob", "away_post_win_prob", "excitement_index",
)

# CFBD API (camelCase, after conversion to snake_case) -> the cfbscrapR names used here.
_ALIASES = {
    "id": "game_id",
    "home_postgame_win_probability": "home_post_win_prob",
    "away_postgame_win_probability": "away_post_win_prob",
}

DETAILS_SCHEMA = {
    "game_id": pl.String,
    "week": pl.Int16,
    "season_type": pl.String,          # regular / postseason, as given
    "conference_game": pl.Boolean,
    "attendance": pl.Int32,
    "venue_id": pl.Int32,
    "home_id": pl.Int32,               # CFBD team ids
    "away_id": pl.Int32,
    "home_post_win_prob": pl.Float64,  # CFBD post-game win probability, 0..1
    "away_post_win_prob": pl.Float64,
    "excitement_index": pl.Float64,
    "start_date": pl.Datetime("us", "UTC"),  # the timestamp as written (see the module note on time zones)
}

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_MAX_POINTS = 300


def read_cfbd_games(paths) -> SourceResult:
    """Read CFBD game files in order; the first copy of a game id wins, later copies are quarantined."""
    games: list[dict] = []
    details: list[dict] = []
    quarantine: list[dict] = []
    states: list[FileState] = []
    seen: dict[str, tuple[str, int]] = {}
    labels = file_labels(paths)
    for path in paths:
        state = FileState(SOURCE, labels[Path(path)])
        states.append(state)
        _read_one(Path(path), state, games, details, quarantine, seen)
    return SourceResult(
        games=games_frame(games),
        details=pl.DataFrame(details, schema=DETAILS_SCHEMA),
        quarantine=quarantine_frame(quarantine).sort("source_file", "line_no", maintain_order=True),
        files=files_frame([s.row() for s in states]),
    )


def _column_name(name: str) -> str:
    name = name.strip().lstrip("\ufeff")
    name = _CAMEL.sub(r"_\1", name).lower()
    return _ALIASES.get(name, name)


def _read_one(path: Path, state: FileState, games: list, details: list, quarantine: list, seen: dict) -> None:
    try:
        text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    except OSError as exc:
        raise SourceFormatError(f"{path}: cannot read file ({exc})") from exc
    header, records = read_csv_records(path, text)
    header = [_column_name(h) for h in header]
    require_columns(path, header, REQUIRED_COLUMNS)
    col = {c: header.index(c) for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if c in header}
    gid_at = col["game_id"]

    def row_gid(row: list[str]) -> str | None:  # none for an unreadable or empty line
        return row[gid_at].strip() if len(row) > gid_at and any(v.strip() for v in row) else None

    for line_no, row in state.readable_rows(records, quarantine, row_gid):
        v = {c: row[i].strip() for c, i in col.items()}
        v["game_id"] = canonical_number(v["game_id"])
        reason, typed = _type_row(v, state, line_no)
        gid = v["game_id"]
        if reason is None and gid in seen:
            where = seen[gid]
            reason = f"duplicate game: game_id {gid} was already read from {where[0]} line {where[1]}"
        if reason is not None:
            state.quarantine(quarantine, line_no, gid or None, reason, raw_csv_line(row))
            continue
        seen[gid] = (state.source_file, line_no)
        state.rows_accepted += 1
        games.append(typed[0])
        details.append(typed[1])


def _type_row(v: dict, state: FileState, line_no: int) -> tuple[str | None, tuple | None]:
    """(reason, None) for a row that cannot be a game, else (None, (game row, details row))."""
    gid = v["game_id"]
    if not ascii_digits(gid):
        return f"bad id: game_id {gid!r} is not a whole number", None
    ids = []
    for side in ("home", "away"):
        value = whole_number(v[f"{side}_id"])
        if value is None or not 0 < value <= 2**31 - 1:
            return f"bad id: {side}_id {v[f'{side}_id']!r} is not a team id", None
        ids.append(value)
    home, away = v["home_team"], v["away_team"]
    if not home or not away:
        return f"missing team: {'home' if not home else 'away'}_team is empty", None
    if ids[0] == ids[1] or home == away:
        return f"home and away team are the same ({home!r}, id {ids[0]})", None
    season_text = v["season"]
    if not ascii_digits(season_text) or not 1869 <= int(season_text) <= 2100:
        return f"season {season_text!r} is not a year", None
    season = int(season_text)
    game_date, start = _parse_start(v["start_date"])
    if game_date is None:
        return f"bad date: start_date {v['start_date']!r} is not an ISO date or timestamp", None
    if problem := fall_season_problem(game_date, season):
        return f"start_date {v['start_date']} {problem}", None
    if not v["home_points"] or not v["away_points"]:
        return "no final score", None
    points = []
    for side in ("home", "away"):
        value = whole_number(v[f"{side}_points"])
        if value is None or not 0 <= value <= _MAX_POINTS:
            return (f"{side}_points {v[f'{side}_points']!r} is not a score "
                    f"(a whole number from 0 to {_MAX_POINTS})"), None
        points.append(value)
    neutral = parse_bool(v["neutral_site"]) if v["neutral_site"] else None
    if v["neutral_site"] and neutral is None:
        return f"neutral_site {v['neutral_site']!r} is not True or False", None

    season_type = v["season_type"] or None
    game = {
        "game_id": game_id(SPORT, LEAGUE, season, gid), "sport": SPORT, "league": LEAGUE, "season": season,
        "date": game_date, "away_team": away, "home_team": home, "away_score": points[1],
        "home_score": points[0], "neutral": neutral, "away_conference": v["away_conference"] or None,
        "home_conference": v["home_conference"] or None,
        "game_type": None if season_type is None else "postseason" if season_type == "postseason" else "regular",
        "location": v["venue"] or None, "source": SOURCE, "source_game_id": gid,
    }
    conference_game = state.flag(v["conference_game"], "conference_game", line_no, spelled="True or False")
    detail = {
        "game_id": game["game_id"],
        "week": _integer(v["week"], "week", state, line_no, 0, 99),
        "season_type": season_type,
        "conference_game": conference_game,
        "attendance": _integer(v.get("attendance", ""), "attendance", state, line_no, 0, 10**6),
        "venue_id": _integer(v.get("venue_id", ""), "venue_id", state, line_no, 0, 2**31 - 1),
        "home_id": ids[0], "away_id": ids[1],
        "home_post_win_prob": _probability(v.get("home_post_win_prob", ""), "home_post_win_prob", state, line_no),
        "away_post_win_prob": _probability(v.get("away_post_win_prob", ""), "away_post_win_prob", state, line_no),
        "excitement_index": state.number(v.get("excitement_index", ""), "excitement_index", line_no),
        "start_date": start,
    }
    return None, (game, detail)


def _parse_start(text: str) -> tuple[date | None, datetime | None]:
    """(the date part as written, the timestamp in UTC or None when only a date is given)."""
    m = _ISO_DAY.match(text)
    if not m:
        return None, None
    try:
        day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None, None
    if len(text) == 10:
        return day, None
    try:
        stamp = datetime.fromisoformat(text)
        stamp = stamp.replace(tzinfo=timezone.utc) if stamp.tzinfo is None else stamp.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # OverflowError: a year-1 time east of UTC has no UTC time
        return None, None
    return day, stamp


def _integer(text: str, name: str, state: FileState, line_no: int, low: int, high: int) -> int | None:
    if not text:
        return None
    value = whole_number(text)
    if value is None or not low <= value <= high:
        state.note(f"{name} not a whole number from {low} to {high} (kept null)", line_no)
        return None
    return value


def _probability(text: str, name: str, state: FileState, line_no: int) -> float | None:
    value = state.number(text, name, line_no)
    if value is not None and not 0.0 <= value <= 1.0:
        state.note(f"{name} outside 0..1 (kept null)", line_no)
        return None
    return value
