"""Men's college basketball results in Kaggle March Mania "compact results" format (source kind `kaggle_mm_compact`).

`read_kaggle_mm_compact(paths)` takes the files the config names (typically every file of a folder,
`data/ncaa_mbb/*.csv`) and recognises them by file name:

- `M*CompactResults*.csv`: results, `Season,DayNum,WTeamID,WScore,LTeamID,LScore,WLoc,NumOT`;
  `MRegularSeasonCompactResults*` are regular-season games, `MNCAATourneyCompactResults*` NCAA
  tournament games (game_type "postseason", tournament "NCAA"), `MSecondaryTourneyCompactResults*`
  other postseason tournaments (NIT, CBI, ...; tournament from its `SecondaryTourney` column);
- `MTeams.csv` (TeamID -> TeamName), `MSeasons.csv` (Season -> DayZero): required beside any results;
- `MTeamConferences.csv` (Season, TeamID -> ConfAbbrev) and `Conferences.csv` (ConfAbbrev ->
  Description): optional, give the conferences;
- `MNCAATourneySeeds.csv` (Season, Seed, TeamID): optional, gives the seeds of NCAA tournament games;
- any other file (women's `W*` files, detailed results, ...) is listed in `files` with note "not used".

Conventions:
- `season` is Kaggle's Season, the calendar year in which the season ends (2018 = 2017-18);
- `date` = MSeasons.DayZero + DayNum;
- WLoc "H": the winner was at home; "A": the winner was away; "N": neutral site, `neutral` = True and,
  since the source names no home team, the team with the LOWER TeamID is listed as home_team (a
  stable, arbitrary choice; `details.wloc` keeps the source's flag);
- team names are MTeams.TeamName, stable within the source (e.g. "Loyola-Chicago", "Abilene Chr");
- conferences: MTeamConferences of that season mapped to the Conferences.csv description ("Big East
  Conference"); the abbreviation when Conferences.csv does not describe it; null when not given;
- seeds (`home_seed`, `away_seed`, e.g. "W01", "Y16a") only on NCAA tournament games;
- `source_game_id` = f"{Season}-{DayNum}-{WTeamID}-{LTeamID}"; `location` is null (not given).

Every data row of every file is accepted or quarantined with a reason (companion files too: a team listed
twice, in one file or in a second copy of the file, whose rows never override the first's; a season
without a DayZero date, ...): per file rows_read == accepted + quarantined. Files are
read with bsi_pipeline.sources.common.read_csv_rows (gzip content, under the names above, is unpacked).
In every file a row with a wrong field count, bytes that are not valid UTF-8, or the last row of a
truncated gzip stream (the file's note says so) is quarantined, as is a row the csv module cannot read.
Results rows are quarantined too for: a non-numeric field (or an id or season beyond 32 bits), a score
above 250 or NumOT above 10, WLoc not H/A/N, the same team on both sides, a winner score not above the loser score,
a season missing from MSeasons.csv, an unknown TeamID, the same game read twice, a team already playing
another game that day. Whole-file problems (an empty file, a required column missing, results without
MTeams.csv or MSeasons.csv) raise SourceFormatError naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from bsi_pipeline.sources.common import (
    FileState, SourceFormatError, SourceResult, file_labels, files_frame, game_id, games_frame, quarantine_frame,
    raw_csv_line, read_csv_rows, require_columns,
)

SOURCE = "kaggle_mm_compact"
SPORT, LEAGUE = "basketball", "ncaam"

RESULTS_COLUMNS = ("Season", "DayNum", "WTeamID", "WScore", "LTeamID", "LScore", "WLoc", "NumOT")
_REFERENCE = {  # lower-case file name -> (kind, required columns)
    "mteams.csv": ("teams", ("TeamID", "TeamName")),
    "mseasons.csv": ("seasons", ("Season", "DayZero")),
    "mteamconferences.csv": ("team_conferences", ("Season", "TeamID", "ConfAbbrev")),
    "conferences.csv": ("conferences", ("ConfAbbrev", "Description")),
    "mncaatourneyseeds.csv": ("seeds", ("Season", "Seed", "TeamID")),
}
_RESULTS_NAME = re.compile(r"^M.*CompactResults.*\.csv$", re.IGNORECASE)
_MAX_DAYNUM = 366
_MAX_SCORE = 250   # no men's D1 team has scored 200; well inside the games table's Int16
_MAX_OT = 10       # the longest men's D1 game went to 7 overtimes; details.num_ot is Int8
_INT32_MAX = 2**31 - 1

DETAILS_SCHEMA = {
    "game_id": pl.String,
    "season": pl.Int32,
    "day_num": pl.Int16,
    "home_team_id": pl.Int32,
    "away_team_id": pl.Int32,
    "winner_team_id": pl.Int32,
    "wloc": pl.String,          # the source's H / A / N (winner's location)
    "num_ot": pl.Int8,
    "tournament": pl.String,    # null for the regular season; "NCAA"; a secondary tournament's code
    "home_seed": pl.String,     # NCAA tournament seed, e.g. "W01", "Y16a" (only with MNCAATourneySeeds.csv)
    "away_seed": pl.String,
}


@dataclass
class _File:
    path: Path
    kind: str  # results_regular, results_ncaa, results_secondary, teams, seasons, ..., unused
    label: str  # source_file: the name, or the end of the path that tells two files of one name apart
    state: FileState = field(init=False)

    def __post_init__(self) -> None:
        self.state = FileState(SOURCE, self.label, remarks=[_NOTES[self.kind]])


def _classify(path: Path) -> str:
    name = path.name
    ref = _REFERENCE.get(name.lower())
    if ref:
        return ref[0]
    if _RESULTS_NAME.match(name):
        lower = name.lower()
        if "regularseason" in lower:
            return "results_regular"
        if "ncaatourney" in lower:
            return "results_ncaa"
        if "secondarytourney" in lower:
            return "results_secondary"
    return "unused"


def _int(text: str) -> int | None:
    """A whole number that fits the tables' Int32 columns (ids, seasons), else None."""
    text = text.strip()
    if not re.fullmatch(r"-?[0-9]+", text):
        return None
    value = int(text)
    return value if abs(value) <= _INT32_MAX else None


def _parse_day_zero(text: str) -> date | None:
    text = text.strip()
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    try:
        if m:
            return date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
        m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return None


class _Reader:
    def __init__(self) -> None:
        self.quarantine: list[dict] = []
        self.teams: dict[int, str] = {}
        self.seasons: dict[int, date] = {}
        self.team_conf: dict[tuple[int, int], str] = {}
        self.conferences: dict[str, str] = {}
        self.seeds: dict[tuple[int, int], str] = {}
        self.games: list[dict] = []
        self.details: list[dict] = []
        self.seen_games: dict[str, tuple[str, int]] = {}
        self.seen_team_days: dict[tuple[int, int, int], tuple[str, int]] = {}
        # (kind, key) -> (file, line) of the companion row that gave it: the first copy wins, across files too
        self.seen_reference: dict[tuple[str, tuple], tuple[str, int]] = {}

    def _quarantine(self, f: _File, line_no: int, row: list[str], reason: str, sgid: str | None = None) -> None:
        f.state.quarantine(self.quarantine, line_no, sgid, reason, raw_csv_line(row))

    def _read(self, f: _File, required: tuple[str, ...]) -> tuple[list[str], list[int], Iterator]:
        """The file's header, the positions of the required columns, and its (line_no, row) to check
        further; rows that are not rows of the file are quarantined as they come."""
        table = read_csv_rows(f.path)
        idx = require_columns(f.path, table.header, required)
        if table.truncated:
            f.state.remarks.append(table.truncated)
        return table.header, idx, f.state.readable_rows(table.records(), self.quarantine)

    # ---- companion (reference) files -------------------------------------------------------------
    def read_reference(self, f: _File) -> None:
        _, idx, rows = self._read(f, _REFERENCE[f.path.name.lower()][1])
        for line_no, row in rows:
            values = [row[i].strip() for i in idx]
            reason, key, value = self._reference_row(f.kind, values)
            if reason is None and (f.kind, key) in self.seen_reference:
                first, first_line = self.seen_reference[f.kind, key]
                where = f"line {first_line}" if first == f.label else f"{first} line {first_line}"
                reason = f"{_describe_key(f.kind, key)} already listed at {where}"
            if reason is not None:
                self._quarantine(f, line_no, row, reason)
                continue
            self.seen_reference[f.kind, key] = (f.label, line_no)
            self._store(f.kind, key, value)
            f.state.rows_accepted += 1

    @staticmethod
    def _reference_row(kind: str, v: list[str]):
        """(reason, key, value): reason is None for a usable row."""
        if kind == "teams":
            team, name = _int(v[0]), v[1]
            if team is None:
                return f"TeamID {v[0]!r} is not a number", None, None
            if not name:
                return f"team {team} has no TeamName", None, None
            return None, team, name
        if kind == "seasons":
            season, day_zero = _int(v[0]), _parse_day_zero(v[1])
            if season is None:
                return f"Season {v[0]!r} is not a number", None, None
            if day_zero is None:
                return f"DayZero {v[1]!r} is not a date (MM/DD/YYYY or YYYY-MM-DD)", None, None
            return None, season, day_zero
        if kind == "team_conferences":
            season, team, conf = _int(v[0]), _int(v[1]), v[2]
            if season is None or team is None:
                return f"Season {v[0]!r} or TeamID {v[1]!r} is not a number", None, None
            if not conf:
                return f"team {team} has no ConfAbbrev in {season}", None, None
            return None, (season, team), conf
        if kind == "conferences":
            if not v[0] or not v[1]:
                return "ConfAbbrev or Description is empty", None, None
            return None, v[0], v[1]
        if kind == "seeds":
            season, seed, team = _int(v[0]), v[1], _int(v[2])
            if season is None or team is None:
                return f"Season {v[0]!r} or TeamID {v[2]!r} is not a number", None, None
            if not re.fullmatch(r"[WXYZ]\d{2}[ab]?", seed):
                return f"Seed {seed!r} is not a region letter and two digits (e.g. W01, Y16a)", None, None
            return None, (season, team), seed
        raise AssertionError(kind)

    def _store(self, kind: str, key, value) -> None:
        {"teams": self.teams, "seasons": self.seasons, "team_conferences": self.team_conf,
         "conferences": self.conferences, "seeds": self.seeds}[kind][key] = value

    # ---- results files ---------------------------------------------------------------------------
    def read_results(self, f: _File) -> None:
        header, idx, rows = self._read(f, RESULTS_COLUMNS)
        secondary_idx = header.index("SecondaryTourney") if "SecondaryTourney" in header else None
        game_type = "regular" if f.kind == "results_regular" else "postseason"
        for line_no, row in rows:
            values = [row[i].strip() for i in idx]
            season, day, w_id, w_score, l_id, l_score, wloc, num_ot = values
            sgid = f"{season}-{day}-{w_id}-{l_id}"
            reason = self._check(values)
            if reason is not None:
                self._quarantine(f, line_no, row, reason, sgid)
                continue
            season, day, w_id, w_score, l_id, l_score, num_ot = (
                int(season), int(day), int(w_id), int(w_score), int(l_id), int(l_score), int(num_ot))
            sgid = f"{season}-{day}-{w_id}-{l_id}"
            reason = self._check_duplicates(f, line_no, season, day, w_id, l_id, sgid)
            if reason is not None:
                self._quarantine(f, line_no, row, reason, sgid)
                continue
            self.seen_games[sgid] = (f.label, line_no)
            for team in (w_id, l_id):
                self.seen_team_days[(season, day, team)] = (f.label, line_no)

            if wloc == "H":
                home, away, neutral = w_id, l_id, False
            elif wloc == "A":
                home, away, neutral = l_id, w_id, False
            else:  # "N": no home team in the source; the lower TeamID is listed as home
                home, away, neutral = min(w_id, l_id), max(w_id, l_id), True
            score = {w_id: w_score, l_id: l_score}
            gid = game_id(SPORT, LEAGUE, season, sgid)
            if f.kind == "results_regular":
                tournament = None
            elif f.kind == "results_ncaa":
                tournament = "NCAA"
            else:
                tournament = (row[secondary_idx].strip() or None) if secondary_idx is not None else None
            self.games.append({
                "game_id": gid, "sport": SPORT, "league": LEAGUE, "season": season,
                "date": self.seasons[season] + timedelta(days=day),
                "away_team": self.teams[away], "home_team": self.teams[home],
                "away_score": score[away], "home_score": score[home], "neutral": neutral,
                "away_conference": self._conference(season, away),
                "home_conference": self._conference(season, home),
                "game_type": game_type, "location": None, "source": SOURCE, "source_game_id": sgid,
            })
            ncaa = f.kind == "results_ncaa"
            self.details.append({
                "game_id": gid, "season": season, "day_num": day, "home_team_id": home, "away_team_id": away,
                "winner_team_id": w_id, "wloc": wloc, "num_ot": num_ot, "tournament": tournament,
                "home_seed": self.seeds.get((season, home)) if ncaa else None,
                "away_seed": self.seeds.get((season, away)) if ncaa else None,
            })
            f.state.rows_accepted += 1

    def _check(self, values: list[str]) -> str | None:
        for name, text in zip(RESULTS_COLUMNS, values):
            if name != "WLoc" and _int(text) is None:
                return f"{name} {text!r} is not a number"
        season, day, w_id, w_score, l_id, l_score, wloc, num_ot = values
        if wloc not in ("H", "A", "N"):
            return f"WLoc {wloc!r} is not H, A or N"
        season, day, w_id, w_score, l_id, l_score, num_ot = (
            int(season), int(day), int(w_id), int(w_score), int(l_id), int(l_score), int(num_ot))
        if not 0 <= day <= _MAX_DAYNUM:
            return f"DayNum {day} is not between 0 and {_MAX_DAYNUM}"
        if num_ot < 0:
            return f"NumOT {num_ot} is negative"
        if num_ot > _MAX_OT:
            return f"NumOT {num_ot} is above {_MAX_OT}"
        if w_score < 0 or l_score < 0:
            return f"negative score {w_score}-{l_score}"
        if w_score > _MAX_SCORE:
            return f"score {w_score}-{l_score} is above {_MAX_SCORE}"
        if w_id == l_id:
            return f"team {w_id} on both sides"
        if w_score <= l_score:
            return f"winner score {w_score} is not above loser score {l_score}"
        if season not in self.seasons:
            return f"season {season} is not in MSeasons.csv (no DayZero to date the game)"
        unknown = [str(t) for t in (w_id, l_id) if t not in self.teams]
        if unknown:
            return f"unknown TeamID {', '.join(unknown)} (not in MTeams.csv)"
        return None

    def _check_duplicates(self, f: _File, line_no: int, season: int, day: int, w_id: int, l_id: int,
                          sgid: str) -> str | None:
        if sgid in self.seen_games:
            where = self.seen_games[sgid]
            return f"duplicate game: {sgid} already read from {where[0]} line {where[1]}"
        for team in (w_id, l_id):
            where = self.seen_team_days.get((season, day, team))
            if where:
                return (f"team {team} ({self.teams[team]}) already has a game on day {day} of {season} "
                        f"({where[0]} line {where[1]})")
        return None

    def _conference(self, season: int, team: int) -> str | None:
        abbrev = self.team_conf.get((season, team))
        if abbrev is None:
            return None
        return self.conferences.get(abbrev, abbrev)


def _describe_key(kind: str, key) -> str:
    if kind in ("team_conferences", "seeds"):
        return f"season {key[0]} team {key[1]}"
    return {"teams": "TeamID", "seasons": "Season", "conferences": "ConfAbbrev"}[kind] + f" {key}"


_NOTES = {
    "results_regular": "results: regular season",
    "results_ncaa": "results: NCAA tournament",
    "results_secondary": "results: secondary tournaments",
    "teams": "reference: team names",
    "seasons": "reference: DayZero by season",
    "team_conferences": "reference: team conferences by season",
    "conferences": "reference: conference names",
    "seeds": "reference: NCAA tournament seeds",
    "unused": "not used",
}


def read_kaggle_mm_compact(paths: list[Path]) -> SourceResult:
    """Read Kaggle March Mania men's compact results with their companion files (see the module docstring)."""
    labels = file_labels(paths)
    files = [_File(Path(p), _classify(Path(p)), labels[Path(p)]) for p in paths]
    results = [f for f in files if f.kind.startswith("results_")]
    present = {f.kind for f in files}
    if results:
        missing = [name for kind, name in (("teams", "MTeams.csv (team names)"),
                                           ("seasons", "MSeasons.csv (DayZero, to date the games)"))
                   if kind not in present]
        if missing:
            raise SourceFormatError(
                f"{results[0].path}: results need the companion file(s) {' and '.join(missing)}, "
                f"which are not among the given files")
    reader = _Reader()
    for f in files:  # companions first, whatever order the config lists the files in
        if f.kind in _REFERENCE_KINDS:
            reader.read_reference(f)
    for f in results:
        reader.read_results(f)
    games = games_frame(reader.games)
    details = pl.DataFrame(reader.details, schema=DETAILS_SCHEMA) if reader.details else pl.DataFrame(
        schema=DETAILS_SCHEMA)
    return SourceResult(
        games=games, details=details,
        quarantine=quarantine_frame(reader.quarantine),
        files=files_frame([f.state.row() for f in files]),
    )


_REFERENCE_KINDS = {kind for kind, _ in _REFERENCE.values()}
