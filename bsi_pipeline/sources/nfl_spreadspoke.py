"""Read spreadspoke NFL results with closing lines (tobycrabtree/spreadspoke) into the shared game schema.

Source kind `nfl_spreadspoke`; one CSV row per game:
`schedule_date,schedule_season,schedule_week,schedule_playoff,team_home,score_home,score_away,team_away,
team_favorite_id,spread_favorite,over_under_line,stadium,stadium_neutral,weather_temperature,weather_wind_mph,
weather_humidity,weather_detail`.

Games: teams are the full names as the file gives them ("Oakland Raiders", "Los Angeles Raiders"), dates are
M/D/YYYY (ISO YYYY-MM-DD is accepted too), `neutral` is stadium_neutral, `game_type` is "postseason" when
schedule_playoff is TRUE else "regular", conferences are null (the file does not say; AFC/NFC membership moved
over the years, so it is not guessed), source_game_id is `yyyymmdd-<away slug>-at-<home slug>`.

Details (DETAILS_SCHEMA): the betting line and weather. `team_favorite_id` is a franchise abbreviation in
today's terms ("LVR" for the Oakland and Los Angeles Raiders, "TEN" for the Houston Oilers, "IND" for the
Baltimore Colts, "ARI" for the St. Louis Cardinals) or "PICK". It is resolved to the full name of the home or
away team of that very game with TEAM_ABBREVIATIONS (a documented table, name -> accepted abbreviations,
older and newer spellings included); names the table does not know learn their abbreviation from the data
(see `_learn_abbreviations`). The abbreviation must match exactly one of the two teams; otherwise the favorite
stays null and the game is counted in the file's note, never dropped.

Sign conventions: `spread_favorite` is as given (<= 0, the favorite's handicap). `home_spread` is the line from
the home team's side: negative when the home team is favored (home favored by 3 -> -3.0), positive when the
away team is favored (+3.0), 0.0 for a PICK game; null when there is no line or the favorite is not resolved.

Lines are missing before 1979 (except Super Bowls and a handful of 1978 games): they stay null. Every data row
is accepted or quarantined with a reason (no final score, bad date, missing team, duplicate game, also with
home and away swapped (two teams meet at most once a day), wrong field count, ...); per file rows_read ==
rows_accepted + rows_quarantined. A required column missing from the header raises SourceFormatError naming
the file and the column.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from bsi_pipeline.ids import slug
from bsi_pipeline.sources.common import (
    FIRST_SEASON,
    LAST_SEASON,
    FileState,
    SourceFormatError,
    SourceResult,
    ascii_digits,
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

SOURCE = "nfl_spreadspoke"
SPORT, LEAGUE = "football", "nfl"

REQUIRED_COLUMNS = (
    "schedule_date", "schedule_season", "schedule_week", "schedule_playoff", "team_home", "score_home",
    "score_away", "team_away", "team_favorite_id", "spread_favorite", "over_under_line", "stadium",
    "stadium_neutral",
)
# Weather is optional: a file without these columns reads with null weather.
OPTIONAL_COLUMNS = ("weather_temperature", "weather_wind_mph", "weather_humidity", "weather_detail")

DETAILS_SCHEMA = {
    "game_id": pl.String,
    "season": pl.Int32,
    "week": pl.String,              # "1".."18", or Wildcard / Division / Conference / Superbowl
    "playoff": pl.Boolean,
    "team_favorite_id": pl.String,  # as given: a franchise abbreviation, "PICK", or null
    "favorite_team": pl.String,     # full name of the home or away team; null for PICK / no line / unresolved
    "spread_favorite": pl.Float64,  # as given, <= 0
    "home_spread": pl.Float64,      # home team's line: < 0 home favored, > 0 away favored, 0 PICK
    "over_under_line": pl.Float64,
    "weather_temperature": pl.Int16,  # degrees F
    "weather_wind_mph": pl.Int16,
    "weather_humidity": pl.Int16,     # percent
    "weather_detail": pl.String,
}

PICK = "PICK"

# Team name -> abbreviations accepted for it in team_favorite_id. spreadspoke writes today's franchise id
# (first in each tuple) for every era; older spellings seen in other copies of the data are accepted too.
# Aliases are per name, not per franchise, so that e.g. "HOU" means the Houston Oilers or the Houston
# Texans (never on the field together) but never the Tennessee Titans, and "STL" the St. Louis Rams or the
# St. Louis Cardinals but not the Los Angeles Rams. "LA"/"LAR" are not accepted for the Raiders: the
# Los Angeles Raiders and the Los Angeles Rams played each other.
TEAM_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "Arizona Cardinals": ("ARI", "ARZ", "CRD"),
    "Phoenix Cardinals": ("ARI", "PHO", "PHX", "CRD"),
    "St. Louis Cardinals": ("ARI", "STL", "CRD"),
    "Chicago Cardinals": ("ARI", "CRD"),
    "Atlanta Falcons": ("ATL",),
    "Baltimore Ravens": ("BAL", "RAV"),
    "Buffalo Bills": ("BUF",),
    "Carolina Panthers": ("CAR",),
    "Chicago Bears": ("CHI",),
    "Cincinnati Bengals": ("CIN",),
    "Cleveland Browns": ("CLE",),
    "Dallas Cowboys": ("DAL",),
    "Denver Broncos": ("DEN",),
    "Detroit Lions": ("DET",),
    "Green Bay Packers": ("GB", "GNB"),
    "Houston Texans": ("HOU", "HTX"),
    "Houston Oilers": ("TEN", "HOU", "OTI"),
    "Tennessee Oilers": ("TEN", "OTI"),
    "Tennessee Titans": ("TEN", "OTI"),
    "Indianapolis Colts": ("IND", "CLT"),
    "Baltimore Colts": ("IND", "BAL", "CLT"),
    "Jacksonville Jaguars": ("JAX", "JAC"),
    "Kansas City Chiefs": ("KC", "KAN"),
    "Los Angeles Chargers": ("LAC", "SDG"),
    "San Diego Chargers": ("LAC", "SD", "SDG"),
    "Los Angeles Rams": ("LAR", "LA", "RAM"),
    "St. Louis Rams": ("LAR", "STL", "RAM"),
    "Las Vegas Raiders": ("LVR", "LV", "OAK", "RAI"),
    "Oakland Raiders": ("LVR", "OAK", "RAI"),
    "Los Angeles Raiders": ("LVR", "OAK", "RAI"),
    "Miami Dolphins": ("MIA",),
    "Minnesota Vikings": ("MIN",),
    "New England Patriots": ("NE", "NWE"),
    "Boston Patriots": ("NE", "BOS", "NWE"),
    "New Orleans Saints": ("NO", "NOR"),
    "New York Giants": ("NYG",),
    "New York Jets": ("NYJ",),
    "Philadelphia Eagles": ("PHI",),
    "Pittsburgh Steelers": ("PIT",),
    "San Francisco 49ers": ("SF", "SFO"),
    "Seattle Seahawks": ("SEA",),
    "Tampa Bay Buccaneers": ("TB", "TAM"),
    "Washington Redskins": ("WAS", "WSH"),
    "Washington Football Team": ("WAS", "WSH"),
    "Washington Commanders": ("WAS", "WSH"),
}

_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_MAX_SCORE = 200


@dataclass
class _Game:
    """An accepted row, typed, waiting for favorite resolution."""
    source_file: str
    line_no: int
    game: dict
    week: str | None
    playoff: bool
    favorite_id: str | None
    spread: float | None
    over_under: float | None
    weather: tuple


def read_nfl_spreadspoke(paths) -> SourceResult:
    """Read spreadspoke score files in order; the first copy of a game wins, later copies are quarantined."""
    games: list[_Game] = []
    quarantine: list[dict] = []
    states: list[FileState] = []
    seen: dict[str, tuple[str, int]] = {}
    labels = file_labels(paths)
    for path in paths:
        state = FileState(SOURCE, labels[Path(path)])
        states.append(state)
        _read_one(Path(path), state, games, quarantine, seen)

    aliases, learned = _abbreviation_table(games)
    by_file = {s.source_file: s for s in states}
    details = []
    for g in games:
        details.append(_details_row(g, aliases, by_file[g.source_file]))
    if learned:
        text = ", ".join(f"{name} -> {abbr}" for name, abbr in sorted(learned.items()))
        for s in states:
            s.remarks.append(f"abbreviations learned from the data (not in TEAM_ABBREVIATIONS): {text}")
    return SourceResult(
        games=games_frame([g.game for g in games]),
        details=pl.DataFrame(details, schema=DETAILS_SCHEMA),
        quarantine=quarantine_frame(quarantine).sort("source_file", "line_no", maintain_order=True),
        files=files_frame([s.row() for s in states]),
    )


def _read_one(path: Path, state: FileState, games: list[_Game], quarantine: list[dict], seen: dict) -> None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceFormatError(f"{path}: cannot read file ({exc})") from exc
    # Undecodable bytes are kept as lone surrogates; rows holding them are quarantined one by one.
    header, records = read_csv_records(path, data.decode("utf-8", errors="surrogateescape"))
    header = [h.strip().lstrip("\ufeff") for h in header]
    require_columns(path, header, REQUIRED_COLUMNS)
    col = {c: header.index(c) for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if c in header}
    for line_no, row in state.readable_rows(records, quarantine):
        values = {c: row[i].strip() for c, i in col.items()}
        reason, typed = _type_row(values, state, line_no)
        sgid = typed["source_game_id"] if typed else None
        if reason is None and sgid in seen:
            where = seen[sgid]
            reason = f"duplicate game: {sgid} was already read from {where[0]} line {where[1]}"
        elif reason is None and typed["swapped_id"] in seen:  # two NFL teams meet at most once a day
            where = seen[typed["swapped_id"]]
            reason = (f"duplicate game: {typed['swapped_id']} (the same teams that day, home and away swapped) "
                      f"was already read from {where[0]} line {where[1]}")
        if reason is not None:
            state.quarantine(quarantine, line_no, sgid, reason, raw_csv_line(row))
            continue
        seen[sgid] = (state.source_file, line_no)
        state.rows_accepted += 1
        games.append(_Game(state.source_file, line_no, typed["game"], typed["week"], typed["playoff"],
                           typed["favorite_id"], typed["spread"], typed["over_under"], typed["weather"]))


def _type_row(v: dict, state: FileState, line_no: int) -> tuple[str | None, dict | None]:
    """(reason, None) for a row that cannot be a game, else (None, typed values)."""
    home, away = v["team_home"], v["team_away"]
    game_date, date_reason = _parse_date(v["schedule_date"])
    sgid = None
    if game_date is not None and home and away:
        sgid = _game_key(game_date, away, home)
    typed_id = {"source_game_id": sgid} if sgid else None

    if not home or not away:
        side = "home" if not home else "away"
        return f"missing team: team_{side} is empty", typed_id
    if slug(home) == slug(away):  # the game id is built from the slugs: "DALLAS COWBOYS" is "Dallas Cowboys"
        return f"home and away team are the same ({home!r}, {away!r})", typed_id
    if date_reason:
        return date_reason, typed_id
    season_text = v["schedule_season"]
    if not ascii_digits(season_text) or not FIRST_SEASON <= int(season_text) <= LAST_SEASON:
        return f"schedule_season {season_text!r} is not a year", typed_id
    season = int(season_text)
    if problem := fall_season_problem(game_date, season):
        return f"date {v['schedule_date']} {problem}", typed_id
    if not v["score_home"] or not v["score_away"]:
        return "no final score", typed_id
    scores = []
    for name in ("score_home", "score_away"):
        n = whole_number(v[name])
        if n is None or not 0 <= n <= _MAX_SCORE:
            return f"{name} {v[name]!r} is not a score (a whole number from 0 to {_MAX_SCORE})", typed_id
        scores.append(n)
    playoff = parse_bool(v["schedule_playoff"])
    if playoff is None:
        return f"schedule_playoff {v['schedule_playoff']!r} is not TRUE or FALSE", typed_id
    neutral = parse_bool(v["stadium_neutral"]) if v["stadium_neutral"] else None
    if v["stadium_neutral"] and neutral is None:
        return f"stadium_neutral {v['stadium_neutral']!r} is not TRUE or FALSE", typed_id

    favorite_id = v["team_favorite_id"].upper() or None
    spread = state.number(v["spread_favorite"], "spread_favorite", line_no)
    over_under = state.number(v["over_under_line"], "over_under_line", line_no)
    weather = (
        _integer(v.get("weather_temperature", ""), "weather_temperature", state, line_no),
        _integer(v.get("weather_wind_mph", ""), "weather_wind_mph", state, line_no),
        _integer(v.get("weather_humidity", "").rstrip("%"), "weather_humidity", state, line_no),
        v.get("weather_detail") or None,
    )
    game = {
        "game_id": game_id(SPORT, LEAGUE, season, sgid), "sport": SPORT, "league": LEAGUE, "season": season,
        "date": game_date, "away_team": away, "home_team": home, "away_score": scores[1],
        "home_score": scores[0], "neutral": neutral, "away_conference": None, "home_conference": None,
        "game_type": "postseason" if playoff else "regular", "location": v["stadium"] or None,
        "source": SOURCE, "source_game_id": sgid,
    }
    return None, {"source_game_id": sgid, "swapped_id": _game_key(game_date, home, away),
                  "game": game, "week": v["schedule_week"] or None, "playoff": playoff,
                  "favorite_id": favorite_id, "spread": spread, "over_under": over_under, "weather": weather}


def _game_key(day: date, away: str, home: str) -> str:
    """The source game id: `<yyyymmdd>-<away slug>-at-<home slug>`."""
    return f"{day:%Y%m%d}-{slug(away)}-at-{slug(home)}"


def _parse_date(text: str) -> tuple[date | None, str | None]:
    m = _US_DATE.match(text)
    if m:
        month, day, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        m = _ISO_DATE.match(text)
        if not m:
            return None, f"bad date: schedule_date {text!r} is not M/D/YYYY"
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    try:
        return date(year, month, day), None
    except ValueError:
        return None, f"bad date: schedule_date {text!r} is not a calendar date"


def _integer(text: str, name: str, state: FileState, line_no: int) -> int | None:
    if not text:
        return None
    value = whole_number(text)
    if value is None or not -32768 <= value <= 32767:
        state.note(f"{name} not a whole number (kept null)", line_no)
        return None
    return value


def _abbreviation_table(games: list[_Game]) -> tuple[dict[str, set[str]], dict[str, str]]:
    """Accepted abbreviations per team name: TEAM_ABBREVIATIONS, plus names learned from the data."""
    aliases = {name: set(abbrs) for name, abbrs in TEAM_ABBREVIATIONS.items()}
    learned = _learn_abbreviations(games, aliases)
    for name, abbr in learned.items():
        aliases[name] = {abbr}
    return aliases, learned


def _learn_abbreviations(games: list[_Game], aliases: dict[str, set[str]]) -> dict[str, str]:
    """For a name the table does not know: in a game against a known team whose abbreviations do not include
    the favorite id, the favorite must be the unknown team. Adopt an id only when at least two such games
    agree and at least 90% of them do (one odd row cannot teach a wrong mapping)."""
    evidence: dict[str, Counter] = defaultdict(Counter)
    for g in games:
        fav = g.favorite_id
        if not fav or fav == PICK:
            continue
        home, away = g.game["home_team"], g.game["away_team"]
        for team, other in ((home, away), (away, home)):
            if team not in aliases and other in aliases and fav not in aliases[other]:
                evidence[team][fav] += 1
    learned = {}
    for name, counts in evidence.items():
        abbr, n = counts.most_common(1)[0]
        if n >= 2 and n >= 0.9 * sum(counts.values()):
            learned[name] = abbr
    return learned


def _details_row(g: _Game, aliases: dict[str, set[str]], state: FileState) -> dict:
    home, away = g.game["home_team"], g.game["away_team"]
    fav, spread = g.favorite_id, g.spread
    favorite_team = home_spread = None
    if fav is None:
        if spread is not None:
            state.note("spread_favorite without team_favorite_id (home_spread kept null)", g.line_no)
        else:
            state.notes["no betting line (team_favorite_id and spread_favorite empty)"] += 1
    elif fav == PICK:
        if spread is None or spread == 0:
            home_spread = 0.0
        else:
            state.note("PICK with a non-zero spread_favorite (home_spread kept null)", g.line_no)
    else:
        matches = [t for t in (home, away) if fav in aliases.get(t, ())]
        if len(matches) == 1:
            favorite_team = matches[0]
            if spread is None:
                state.note("favorite without spread_favorite (home_spread kept null)", g.line_no)
            elif spread > 0:
                state.note("spread_favorite > 0 (home_spread kept null)", g.line_no)
            else:
                home_spread = (spread if favorite_team == home else -spread) + 0.0
        elif not matches:
            state.note("favorite not matched to either team (favorite_team kept null)", g.line_no)
        else:
            state.note("favorite matches both teams (favorite_team kept null)", g.line_no)
    t, w, h, d = g.weather
    return {
        "game_id": g.game["game_id"], "season": g.game["season"], "week": g.week, "playoff": g.playoff,
        "team_favorite_id": fav, "favorite_team": favorite_team, "spread_favorite": spread,
        "home_spread": home_spread, "over_under_line": g.over_under, "weather_temperature": t,
        "weather_wind_mph": w, "weather_humidity": h, "weather_detail": d,
    }
