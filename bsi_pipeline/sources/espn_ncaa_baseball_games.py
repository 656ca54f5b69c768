"""ESPN college baseball results (source kind `espn_ncaa_baseball_games`).

`read_espn_ncaa_baseball_games(paths, canonical_teams, registries)` reads CSV files with the columns
`event_id,game_date,season,home_name,away_name,home_canonical_id,away_canonical_id,home_score,
away_score,winner_home,venue_name,venue_city,venue_state,neutral_site,home_pitcher_espn_id,
away_pitcher_espn_id,home_pitcher_name,away_pitcher_name,has_run_events,has_boxscore` (the required
ones: event_id, game_date, season, home_name, away_name, home_score, away_score; the others become
null when absent).

Team names: `home_team` / `away_team` are the stats.ncaa.org short names ("LSU", "Texas A&M", the
names the play-by-play and the D1 registries use), found through `canonical_teams` (the
canonical_teams_2026.csv map: canonical_id, team_name, espn_name):
1. by the row's canonical id (`<side>_name_source` = "canonical_id"), unless the ESPN display name
   contradicts it: the source sometimes gives the id of a different school (Purdue Fort Wayne
   Mastodons carry BSB_PURDUE, Pacific Lutheran Lutes carry Pacific's id). The id is trusted when the
   ESPN name equals the map's espn_name or ends with the same mascot word ("App State Mountaineers"
   vs "Appalachian State Mountaineers"); otherwise step 2;
2. by the ESPN display name equal to the map's espn_name (source "espn_name");
3. by the shipped spelling table espn_team_spellings.csv (source "spelling"): D1 teams whose ESPN rows
   carry no canonical id, or a wrong one, and whose ESPN name the map spells differently or lacks
   ("Cal State Bakersfield Roadrunners" is the map's "CSU Bakersfield Roadrunners"; Purdue Fort Wayne,
   in the 2023-2025 registries, is not in the 2026 map), each row with its evidence;
4. else the ESPN display name is kept as the team name (source "espn"): non-D1 opponents, and D1
   teams spelt in neither the map nor the table. `details.name_note` says what was not mapped and why.
Without a canonical map every name stays ESPN's (steps 1-3 need it).

Conferences come from the D1 registry (bsi_pipeline.ncaa.teams.load_registry) whose academic_year is
the game's season (the spring of the season); when that year is not given, the nearest year
(`details.registry_year` records which). Registry names are matched after HTML unescaping (the shipped
registries spell "Texas A&amp;M", "St. John&#39;s (NY)"). Teams not in the registry get a null
conference. game_type is null (the source does not say); location is venue_name; neutral is
neutral_site (note: every row of espn_games_2024_2025.csv says false, even College World Series games
in Omaha). Starting pitcher names lose ESPN's position marker ("Chris - P Stamos" -> "Chris Stamos").

Files are plain or gzip CSV (bsi_pipeline.sources.common.read_csv_rows). Every data row is accepted or
quarantined with a reason: a wrong field count, bytes that are not valid UTF-8, the last row of a truncated
gzip file (the file's note says so), a missing or bad event id, a bad date or season (or a date outside its
season's year), a missing team name or the same team on both sides (also after the names are resolved: two
spellings, or a wrong canonical id, of one team), "no final score" (missing or non-numeric scores), a score
above 150, "tied final score" (baseball has no ties), winner_home contradicting the scores, a neutral_site
that is not true or false, a duplicate event_id (the first copy wins; "0123" and "123" are one id), a row the
csv module cannot read. An unreadable has_run_events or has_boxscore is kept null and counted in the file's
note. A date outside the seasons 1900-2100 is a bad date (a typo). Whole-file problems raise
SourceFormatError naming the file.
"""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path

import polars as pl

from bsi_pipeline.ncaa.teams import RegistryError, load_registry
from bsi_pipeline.sources.common import (
    FIRST_SEASON, LAST_SEASON, FileState, SourceFormatError, SourceResult, ascii_digits, canonical_number, file_labels,
    files_frame, game_id, games_frame, parse_bool, quarantine_frame, raw_csv_line, read_csv_rows, require_columns,
)

SOURCE = "espn_ncaa_baseball_games"
SPORT, LEAGUE = "baseball", "ncaa"
MAX_SCORE = 150  # far above any college baseball score of the era; the games table's scores are Int16

REQUIRED_COLUMNS = ("event_id", "game_date", "season", "home_name", "away_name", "home_score", "away_score")
OPTIONAL_COLUMNS = (
    "home_canonical_id", "away_canonical_id", "winner_home", "venue_name", "venue_city", "venue_state",
    "neutral_site", "home_pitcher_espn_id", "away_pitcher_espn_id", "home_pitcher_name", "away_pitcher_name",
    "has_run_events", "has_boxscore",
)
CANONICAL_COLUMNS = ("canonical_id", "team_name", "espn_name")
SPELLINGS_FILE = Path(__file__).with_name("espn_team_spellings.csv")

DETAILS_SCHEMA = {
    "game_id": pl.String,
    "home_name_espn": pl.String,        # ESPN display names, e.g. "LSU Tigers"
    "away_name_espn": pl.String,
    "home_canonical_id": pl.String,     # as the source gives them (BSB_LSU, NCAA_614608)
    "away_canonical_id": pl.String,
    "home_name_source": pl.String,      # canonical_id | espn_name | spelling | espn (the module docstring)
    "away_name_source": pl.String,
    "name_note": pl.String,             # why a side was not mapped to a short name; null when both were
    "registry_year": pl.Int32,          # the D1 registry year the conferences come from
    "home_pitcher_espn_id": pl.String,  # starting pitchers
    "home_pitcher_name": pl.String,
    "away_pitcher_espn_id": pl.String,
    "away_pitcher_name": pl.String,
    "venue_city": pl.String,
    "venue_state": pl.String,
    "has_run_events": pl.Boolean,
    "has_boxscore": pl.Boolean,
}

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_POSITION_MARKER = re.compile(r"\s+-\s+P(?=\s|$)")


def _text(text: str | None) -> str | None:
    if text is None:
        return None
    return text.strip() or None


def _pitcher_name(text: str | None) -> str | None:
    text = _text(text)
    return None if text is None else " ".join(_POSITION_MARKER.sub(" ", text).split())


def _mascot(name: str) -> str:
    words = name.split()
    return words[-1].lower() if words else ""


class _TeamMap:
    """canonical_id / espn_name -> stats.ncaa.org short name, from canonical_teams_2026.csv."""

    def __init__(self, path: Path | None) -> None:
        self.by_id: dict[str, tuple[str, str | None]] = {}
        self.by_espn: dict[str, str] = {}
        self.spellings: dict[str, str] = {}
        if path is None:
            return
        self.spellings = dict(pl.read_csv(SPELLINGS_FILE, infer_schema_length=0, glob=False).select("espn_name", "team_name")
                              .iter_rows())
        path = Path(path)
        try:
            df = pl.read_csv(path, infer_schema_length=0, glob=False)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise SourceFormatError(f"{path}: cannot read the canonical team map ({exc})") from exc
        missing = [c for c in CANONICAL_COLUMNS if c not in df.columns]
        if missing:
            raise SourceFormatError(f"{path}: missing required column(s) {', '.join(missing)}")
        espn_count: dict[str, int] = {}
        for cid, team, espn in df.select(CANONICAL_COLUMNS).iter_rows():
            cid, team, espn = _text(cid), _text(team), _text(espn)
            if not cid or not team:
                continue
            team = html.unescape(team)
            if cid in self.by_id and self.by_id[cid][0] != team:
                raise SourceFormatError(
                    f"{path}: canonical_id {cid} maps to both {self.by_id[cid][0]!r} and {team!r}")
            self.by_id[cid] = (team, espn)
            if espn:
                espn_count[espn] = espn_count.get(espn, 0) + 1
                self.by_espn[espn] = team
        for espn, count in espn_count.items():  # an ESPN name shared by two teams identifies neither
            if count > 1:
                del self.by_espn[espn]

    def resolve(self, espn_name: str, cid: str | None) -> tuple[str, str, str | None]:
        """(team name, name source, note)."""
        note = None
        if cid and cid in self.by_id:
            team, mapped_espn = self.by_id[cid]
            if mapped_espn is None or mapped_espn == espn_name or _mascot(mapped_espn) == _mascot(espn_name):
                return team, "canonical_id", None
            note = (f"canonical_id {cid} is {team} ({mapped_espn}), not {espn_name}: id ignored")
        elif cid:
            note = f"canonical_id {cid} not in the canonical team map"
        if espn_name in self.by_espn:
            return self.by_espn[espn_name], "espn_name", None
        if espn_name in self.spellings:
            return self.spellings[espn_name], "spelling", note
        reason = note or ("no canonical_id and the ESPN name is not in the canonical team map"
                          if self.by_id else "no canonical team map given")
        return espn_name, "espn", f"{espn_name}: {reason}; ESPN name kept"


class _Conferences:
    def __init__(self, registries: list[Path]) -> None:
        try:
            registry = load_registry([Path(p) for p in registries])
        except RegistryError as exc:
            raise SourceFormatError(str(exc)) from exc
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise SourceFormatError(f"cannot read a D1 registry ({exc})") from exc
        self.by_year: dict[int, dict[str, str]] = {}
        for year, team, conf in registry.select("academic_year", "team_name", "conference").iter_rows():
            self.by_year.setdefault(year, {})[html.unescape(team)] = conf
        self.years = sorted(self.by_year)

    def year_for(self, season: int) -> int | None:
        if not self.years:
            return None
        return min(self.years, key=lambda y: (abs(y - season), -y))

    def get(self, year: int | None, team: str) -> str | None:
        return None if year is None else self.by_year[year].get(team)


def _check(v: dict[str, str | None]) -> tuple[str | None, tuple | None]:
    """(reason, None) for a row that cannot be used, else (None, (season, date, home_score, away_score))."""
    event = v["event_id"] or ""
    if not event:
        return "missing event_id", None
    if not ascii_digits(event):
        return f"event_id {event!r} is not a number", None
    m = _DATE.match(v["game_date"] or "")
    if not m:
        return f"bad date: game_date {v['game_date']!r} is not YYYY-MM-DD", None
    try:
        game_date = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return f"bad date: game_date {v['game_date']!r} is not a calendar date", None
    if not FIRST_SEASON <= game_date.year <= LAST_SEASON:
        return f"bad date: game_date {v['game_date']!r} is outside the seasons {FIRST_SEASON}-{LAST_SEASON}", None
    season = v["season"] or ""
    if not re.fullmatch(r"\d{4}", season):
        return f"season {season!r} is not a year", None
    if game_date.year != int(season):
        return f"bad date: game_date {game_date} is not in season {season}", None
    home, away = v["home_name"], v["away_name"]
    if not home or not away:
        return "missing team name", None
    if home == away:
        return f"same team on both sides ({home!r})", None
    hs, as_ = v["home_score"] or "", v["away_score"] or ""
    if not (ascii_digits(hs) and ascii_digits(as_)):
        return f"no final score (home_score {hs!r}, away_score {as_!r})", None
    home_score, away_score = int(hs), int(as_)
    if max(home_score, away_score) > MAX_SCORE:
        return f"score out of range: {home_score}-{away_score} (above {MAX_SCORE})", None
    if home_score == away_score:
        return f"tied final score {home_score}-{away_score} (baseball has no ties: not a final result)", None
    winner = v["winner_home"]
    if winner:
        flag = parse_bool(winner)
        if flag is None:
            return f"winner_home {winner!r} is not true or false", None
        if flag != (home_score > away_score):
            return (f"winner_home {winner} contradicts the score (home {home_score}, away {away_score})", None)
    neutral = parse_bool(v["neutral_site"]) if v["neutral_site"] else None
    if v["neutral_site"] and neutral is None:  # it moves the forecast (no home advantage): not guessed
        return f"neutral_site {v['neutral_site']!r} is not true or false", None
    return None, (int(season), game_date, home_score, away_score, neutral)


def read_espn_ncaa_baseball_games(
    paths: list[Path], canonical_teams: Path | None = None, registries: list[Path] | None = None,
) -> SourceResult:
    """Read ESPN college baseball result files (see the module docstring)."""
    team_map = _TeamMap(canonical_teams)
    conferences = _Conferences(list(registries or []))
    games: list[dict] = []
    details: list[dict] = []
    quarantine: list[dict] = []
    states: list[FileState] = []
    seen: dict[str, tuple[str, int, list[str]]] = {}
    labels = file_labels(paths)
    for path in paths:
        path = Path(path)
        table = read_csv_rows(path)
        header = table.header
        require_columns(path, header, REQUIRED_COLUMNS)
        state = FileState(SOURCE, labels[path], remarks=[table.truncated] if table.truncated else [])
        states.append(state)
        col = {c: header.index(c) for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if c in header}
        event_of = (lambda row: _text(row[0]) if row else None) if header[0] == "event_id" else None
        for line_no, row in state.readable_rows(table.records(), quarantine, event_of):
            v = {c: (_text(row[col[c]]) if c in col else None) for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS}
            event = v["event_id"] = canonical_number(v["event_id"])
            reason, typed = _check(v)
            if reason is None:
                home, home_source, home_note = team_map.resolve(v["home_name"], v["home_canonical_id"])
                away, away_source, away_note = team_map.resolve(v["away_name"], v["away_canonical_id"])
                if home == away:  # two ESPN names (or a wrong canonical id) that are one team
                    reason = (f"same team on both sides after name resolution: {v['home_name']!r} and "
                              f"{v['away_name']!r} are both {home!r}")
            if reason is None and event in seen:
                first_file, first_line, first_row = seen[event]
                same = "identical row" if first_row == row else "the rows differ"
                reason = f"duplicate event_id {event}: already read from {first_file} line {first_line} ({same})"
            if reason is not None:
                state.quarantine(quarantine, line_no, event, reason, raw_csv_line(row))
                continue
            seen[event] = (state.source_file, line_no, row)
            season, game_date, home_score, away_score, neutral = typed
            year = conferences.year_for(season)
            gid = game_id(SPORT, LEAGUE, season, event)
            games.append({
                "game_id": gid, "sport": SPORT, "league": LEAGUE, "season": season, "date": game_date,
                "away_team": away, "home_team": home, "away_score": away_score, "home_score": home_score,
                "neutral": neutral,
                "away_conference": conferences.get(year, away) if away_source != "espn" else None,
                "home_conference": conferences.get(year, home) if home_source != "espn" else None,
                "game_type": None, "location": v["venue_name"], "source": SOURCE, "source_game_id": event,
            })
            notes = [f"{side}: {note}" for side, note in (("home", home_note), ("away", away_note)) if note]
            details.append({
                "game_id": gid, "home_name_espn": v["home_name"], "away_name_espn": v["away_name"],
                "home_canonical_id": v["home_canonical_id"], "away_canonical_id": v["away_canonical_id"],
                "home_name_source": home_source, "away_name_source": away_source,
                "name_note": "; ".join(notes) or None, "registry_year": year,
                "home_pitcher_espn_id": v["home_pitcher_espn_id"],
                "home_pitcher_name": _pitcher_name(v["home_pitcher_name"]),
                "away_pitcher_espn_id": v["away_pitcher_espn_id"],
                "away_pitcher_name": _pitcher_name(v["away_pitcher_name"]),
                "venue_city": v["venue_city"], "venue_state": v["venue_state"],
                "has_run_events": state.flag(v["has_run_events"], "has_run_events", line_no),
                "has_boxscore": state.flag(v["has_boxscore"], "has_boxscore", line_no),
            })
            state.rows_accepted += 1
    return SourceResult(
        games=games_frame(games),
        details=pl.DataFrame(details, schema=DETAILS_SCHEMA) if details else pl.DataFrame(schema=DETAILS_SCHEMA),
        quarantine=quarantine_frame(quarantine),
        files=files_frame([s.row() for s in states]),
    )
