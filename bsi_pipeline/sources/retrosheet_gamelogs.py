"""Read Retrosheet game logs (GL*.TXT, plain or .gz): MLB games, one per line, 161 quoted CSV fields.

Source kind `retrosheet_gamelogs`. Field numbers below are those of Retrosheet's glfields.txt (1-based).

games (GAMES_SCHEMA): sport "baseball", league "mlb", season = year of the date (field 1), away/home team =
Retrosheet team codes (fields 4 and 7, e.g. "CHN"), scores (fields 10-11), neutral = False (the logs carry
no neutral-site flag; the few games abroad, e.g. Tokyo TOK01 or San Juan SJU01, keep the listed home team),
away/home conference = the league codes "AL"/"NL" (fields 5 and 8), game_type "regular" (GL files hold the
regular season, tie-breaker games included), location = park id (field 17), source_game_id = Retrosheet's
`<home><yyyymmdd><game number>`, e.g. "CHN200003290".

details (DETAILS_SCHEMA, one row per game_id): see DETAILS_SCHEMA for the columns. Two derived values:
- `attendance` is null when the field is empty or 0. Retrosheet records 0 for the first game of a
  single-admission doubleheader (the crowd is counted once, on the other game).
- `innings_played` = length_in_outs / 6 as a float (54 outs -> 9.0; a home win without the bottom of the
  ninth -> 51 outs -> 8.5; a walk-off with one out in the 10th -> 55 -> 9.17). It is not rounded:
  rounding up would be wrong for walk-offs and rain-shortened games alike.

Every non-blank line is accepted or quarantined with a reason (QUARANTINE_SCHEMA): a line the csv module
cannot read (a field over its size limit), a field count other than 161, bytes that are not UTF-8, a date
that is not a yyyymmdd calendar date from 1871 to 2100, a game number not in 0/1/2/3/A/B, a team code
missing or not a Retrosheet code (three capitals or digits: "oak" is not "OAK", and would make a second
game id for the same game), the same team on both sides, a score that is not a number, a
non-numeric value in a numeric field, and a game already read (same source_game_id: the first copy wins,
across all files read). Tied games (equal scores) and forfeits are valid data and accepted; forfeits carry
their code in details.forfeit. A truncated gzip keeps what was read and quarantines the last line, which
may be cut. Per file `rows_read == rows_accepted + rows_quarantined`; blank lines are not rows (the file's
note counts them). A file that is empty, unreadable, or has no line of 161 fields raises SourceFormatError.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl

from bsi_pipeline.sources.common import (
    GAMES_SCHEMA,
    FileState,
    SourceFormatError,
    SourceResult,
    file_labels,
    files_frame,
    game_id,
    has_bad_bytes,
    quarantine_frame,
    read_text,
    split_line,
)

SOURCE = "retrosheet_gamelogs"
SPORT, LEAGUE = "baseball", "mlb"
N_FIELDS = 161
GAME_NUMBERS = ("0", "1", "2", "3", "A", "B")

# 0-based indexes into a split line (glfields.txt field number - 1).
DATE, GAME_NUMBER, DAY_OF_WEEK = 0, 1, 2
AWAY, AWAY_LEAGUE, AWAY_GAME_NUMBER = 3, 4, 5
HOME, HOME_LEAGUE, HOME_GAME_NUMBER = 6, 7, 8
AWAY_SCORE, HOME_SCORE, LENGTH_IN_OUTS, DAY_NIGHT = 9, 10, 11, 12
COMPLETION, FORFEIT, PROTEST, PARK, ATTENDANCE, MINUTES = 13, 14, 15, 16, 17, 18
AWAY_LINE, HOME_LINE = 19, 20
# Each team's line: batting (fields 22-38 visiting, 50-66 home), pitching (39-43, 67-71), defense (44-49, 72-77).
OFFENSE = ("at_bats", "hits", "doubles", "triples", "home_runs", "rbi", "sacrifice_hits", "sacrifice_flies",
           "hit_by_pitch", "walks", "intentional_walks", "strikeouts", "stolen_bases", "caught_stealing",
           "grounded_into_double_plays", "catcher_interference", "left_on_base")
PITCHING = ("pitchers_used", "individual_earned_runs", "team_earned_runs", "wild_pitches", "balks")
DEFENSE = ("putouts", "assists", "errors", "passed_balls", "double_plays", "triple_plays")
TEAM_LINE = (*OFFENSE, *PITCHING, *DEFENSE)
AWAY_LINE_START, HOME_LINE_START = 21, 49
AWAY_LINEUP, HOME_LINEUP = 105, 132  # fields 106-132 and 133-159: (id, name, position) for batting slots 1-9
WINNING_PITCHER, LOSING_PITCHER, SAVING_PITCHER = 93, 95, 97   # fields 94-99: id, name pairs
AWAY_STARTER, HOME_STARTER = 101, 103                          # fields 102-105: id, name pairs
ADDITIONAL_INFO, ACQUISITION = 159, 160

# Numeric fields besides the scores: a non-empty value that is not a number quarantines the line.
_NUMERIC = {
    AWAY_GAME_NUMBER: "away_game_number", HOME_GAME_NUMBER: "home_game_number",
    LENGTH_IN_OUTS: "length_in_outs", ATTENDANCE: "attendance", MINUTES: "duration_minutes",
    **{start + k: f"{side}_{stat}" for side, start in (("away", AWAY_LINE_START), ("home", HOME_LINE_START))
       for k, stat in enumerate(TEAM_LINE)},
    **{start + 3 * slot + 2: f"{side}_position_{slot + 1}" for side, start in (("away", AWAY_LINEUP),
                                                                             ("home", HOME_LINEUP))
       for slot in range(9)},
}
_NOT_INT16 = ("attendance", "length_in_outs", "duration_minutes")  # typed separately below

_SCORE = re.compile(r"^[0-9]{1,3}$")
_DIGITS = re.compile(r"^[0-9]+$")
_DATE = re.compile(r"^([0-9]{4})([0-9]{2})([0-9]{2})$")
_TEAM_CODE = re.compile(r"^[A-Z][A-Z0-9]{2}$")  # Retrosheet: NYA, SE1, KC1 (its game ids are built from it)
FIRST_SEASON, LAST_SEASON = 1871, 2100  # the National Association's first season; a later year is a typo
_COMPLETION = re.compile(
    r"^(?P<completion_date>[0-9]{8}),(?P<completion_park>[^,]*),(?P<vs>[0-9]*),(?P<hs>[0-9]*),(?P<outs>[0-9]*)$"
)
_INT16_MAX, _INT32_MAX = 2**15 - 1, 2**31 - 1

DETAILS_SCHEMA = {
    "game_id": pl.String,
    "source_game_id": pl.String,
    "season": pl.Int32,
    "date": pl.Date,
    "doubleheader_number": pl.String,    # field 2: "0" single game, "1"/"2"/"3" doubleheader game, "A"/"B"
    "day_of_week": pl.String,            # "Sun".."Sat"
    "day_night": pl.String,              # "D" or "N"
    "park_id": pl.String,                # same as games.location
    "attendance": pl.Int32,              # null when empty or 0
    "duration_minutes": pl.Int16,
    "length_in_outs": pl.Int16,          # 54 for a full nine innings, 51 when the home team did not bat in the 9th
    "innings_played": pl.Float64,        # length_in_outs / 6, not rounded
    "away_game_number": pl.Int16,        # the team's game number in its season (ties counted)
    "home_game_number": pl.Int16,
    # each team's batting, pitching and defense line (fields 22-77): away_at_bats ... home_triple_plays
    **{f"{side}_{stat}": pl.Int16 for side in ("away", "home") for stat in TEAM_LINE},
    # starting lineups (fields 106-159), batting order: player ids and defensive positions (1-9, 10 = DH)
    "away_lineup_ids": pl.List(pl.String),
    "away_lineup_positions": pl.List(pl.Int16),
    "home_lineup_ids": pl.List(pl.String),
    "home_lineup_positions": pl.List(pl.Int16),
    "away_line_score": pl.String,        # e.g. "010000(10)0x"
    "home_line_score": pl.String,
    "away_starting_pitcher_id": pl.String,
    "away_starting_pitcher_name": pl.String,
    "home_starting_pitcher_id": pl.String,
    "home_starting_pitcher_name": pl.String,
    "winning_pitcher_id": pl.String,     # null for a tie
    "winning_pitcher_name": pl.String,
    "losing_pitcher_id": pl.String,
    "losing_pitcher_name": pl.String,
    "saving_pitcher_id": pl.String,      # null when no save was awarded
    "saving_pitcher_name": pl.String,
    "forfeit": pl.String,                # "V" forfeited to visitor, "H" to home, "T" no-decision; null if none
    "protest": pl.String,                # field 16 codes; null if none
    "completion": pl.String,             # field 14 as given: "yyyymmdd,park,vs,hs,len" for a game finished later
    "completion_date": pl.Date,          # the date the game was completed, parsed from `completion`
    "completion_park_id": pl.String,     # null when the completion field leaves the park empty
    "home_batted_first": pl.Boolean,     # "HTBF" in the additional information (field 160)
    "additional_info": pl.String,        # field 160 as given
    "acquisition": pl.String,            # field 161: Y complete, N none, D derived, P partial play-by-play
    "source_file": pl.String,
    "line_no": pl.Int64,
}


def read_retrosheet_gamelogs(paths: list[Path]) -> SourceResult:
    """Read game-log files in order; the first copy of a game wins, later copies are quarantined."""
    accepted = _Accepted()
    quarantine: list[dict] = []
    file_rows: list[dict] = []
    seen: dict[str, tuple[str, int]] = {}
    labels = file_labels(paths)
    for path in paths:
        file_rows.append(_read_one(Path(path), labels[Path(path)], accepted, quarantine, seen))
    games, details = accepted.frames()
    return SourceResult(
        games=games,
        details=details,
        quarantine=quarantine_frame(quarantine),
        files=files_frame(file_rows),
    )


class _Accepted:
    """Accepted lines (already validated); typed into the games and details frames in one go."""

    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.source_game_id: list[str] = []
        self.date: list[date] = []
        self.source_file: list[str] = []
        self.line_no: list[int] = []

    def add(self, row: list[str], sid: str, game_date: date, source_file: str, line_no: int) -> None:
        self.rows.append(row)
        self.source_game_id.append(sid)
        self.date.append(game_date)
        self.source_file.append(source_file)
        self.line_no.append(line_no)

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        rows = self.rows
        fields = {
            "gn": GAME_NUMBER, "dow": DAY_OF_WEEK, "away": AWAY, "away_lg": AWAY_LEAGUE, "home": HOME,
            "home_lg": HOME_LEAGUE, "away_score": AWAY_SCORE, "home_score": HOME_SCORE, "dn": DAY_NIGHT,
            "completion": COMPLETION, "forfeit": FORFEIT, "protest": PROTEST, "park": PARK,
            "away_line": AWAY_LINE, "home_line": HOME_LINE, "info": ADDITIONAL_INFO, "acq": ACQUISITION,
            **{name: i for i, name in _NUMERIC.items()},
        }
        for prefix, i in (("away_sp", AWAY_STARTER), ("home_sp", HOME_STARTER), ("win", WINNING_PITCHER),
                          ("loss", LOSING_PITCHER), ("save", SAVING_PITCHER)):
            fields[f"{prefix}_id"], fields[f"{prefix}_name"] = i, i + 1
        for side, start in (("away", AWAY_LINEUP), ("home", HOME_LINEUP)):
            for slot in range(9):
                fields[f"{side}_batter_{slot + 1}"] = start + 3 * slot
        raw = pl.DataFrame({name: [r[i] for r in rows] for name, i in fields.items()},
                           schema={name: pl.String for name in fields})
        seasons = [d.year for d in self.date]
        raw = raw.with_columns(
            pl.Series("date", self.date, dtype=pl.Date),
            pl.Series("season", seasons, dtype=pl.Int32),
            pl.Series("sid", self.source_game_id, dtype=pl.String),
            pl.Series("gid", [game_id(SPORT, LEAGUE, y, sid) for y, sid in zip(seasons, self.source_game_id)],
                      dtype=pl.String),
            pl.Series("source_file", self.source_file, dtype=pl.String),
            pl.Series("line_no", self.line_no, dtype=pl.Int64),
        )

        def text(name: str) -> pl.Expr:
            col = pl.col(name).str.strip_chars()
            return pl.when(col != "").then(col)

        def person(prefix: str, out: str) -> list[pl.Expr]:
            """Retrosheet writes "","(none)" for nobody."""
            pid, name = text(f"{prefix}_id"), text(f"{prefix}_name")
            nobody = pid.is_null() & (name.is_null() | (name == "(none)"))
            return [pid.alias(f"{out}_id"), pl.when(~nobody).then(name).alias(f"{out}_name")]

        completion = text("completion")
        parts = completion.str.extract_groups(_COMPLETION.pattern)
        games = raw.select(
            pl.col("gid").alias("game_id"), pl.lit(SPORT).alias("sport"), pl.lit(LEAGUE).alias("league"),
            "season", "date", text("away").alias("away_team"), text("home").alias("home_team"),
            pl.col("away_score").str.strip_chars().cast(pl.Int16),
            pl.col("home_score").str.strip_chars().cast(pl.Int16),
            pl.lit(False).alias("neutral"), text("away_lg").alias("away_conference"),
            text("home_lg").alias("home_conference"), pl.lit("regular").alias("game_type"),
            text("park").alias("location"), pl.lit(SOURCE).alias("source"), pl.col("sid").alias("source_game_id"),
        ).cast(GAMES_SCHEMA)
        outs = text("length_in_outs").cast(pl.Int16)
        attendance = text("attendance").cast(pl.Int32)
        details = raw.select(
            pl.col("gid").alias("game_id"), pl.col("sid").alias("source_game_id"), "season", "date",
            text("gn").alias("doubleheader_number"), text("dow").alias("day_of_week"),
            text("dn").alias("day_night"), text("park").alias("park_id"),
            pl.when(attendance != 0).then(attendance).alias("attendance"),
            text("duration_minutes").cast(pl.Int16).alias("duration_minutes"),
            outs.alias("length_in_outs"), (outs.cast(pl.Float64) / 6).alias("innings_played"),
            *(text(c).cast(pl.Int16).alias(c) for c in _NUMERIC.values()
              if c not in _NOT_INT16 and "_position_" not in c),
            *(pl.concat_list(text(f"{side}_batter_{slot}") for slot in range(1, 10)).alias(f"{side}_lineup_ids")
              for side in ("away", "home")),
            *(pl.concat_list(text(f"{side}_position_{slot}").cast(pl.Int16) for slot in range(1, 10))
              .alias(f"{side}_lineup_positions") for side in ("away", "home")),
            text("away_line").alias("away_line_score"), text("home_line").alias("home_line_score"),
            *person("away_sp", "away_starting_pitcher"), *person("home_sp", "home_starting_pitcher"),
            *person("win", "winning_pitcher"), *person("loss", "losing_pitcher"),
            *person("save", "saving_pitcher"),
            text("forfeit").alias("forfeit"), text("protest").alias("protest"), completion.alias("completion"),
            parts.struct.field("completion_date").str.strptime(pl.Date, "%Y%m%d", strict=False)
            .alias("completion_date"),
            pl.when(parts.struct.field("completion_park").str.strip_chars() != "")
            .then(parts.struct.field("completion_park").str.strip_chars()).alias("completion_park_id"),
            text("info").str.contains("HTBF", literal=True).fill_null(False).alias("home_batted_first"),
            text("info").alias("additional_info"), text("acq").alias("acquisition"), "source_file", "line_no",
        ).cast(DETAILS_SCHEMA).select(list(DETAILS_SCHEMA))
        return games, details


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _read_one(path: Path, label: str, accepted: _Accepted, quarantine: list[dict], seen: dict) -> dict:
    text, truncated = read_text(path)
    lines = _lines(text)
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    blank = len(lines) - len(numbered)
    if not numbered and not truncated:
        raise SourceFormatError(f"{path}: empty file (no game lines)")
    rows = [(n, line, *split_line(line)) for n, line in numbered]
    complete = rows[:-1] if truncated else rows
    if complete and not any(len(row) == N_FIELDS for _, _, row, _ in complete):
        raise SourceFormatError(
            f"{path}: not a Retrosheet game log: no line has {N_FIELDS} fields (line {complete[0][0]} has "
            f"{len(complete[0][2])})"
        )
    notes = [truncated] if truncated else []
    if blank:
        notes.append(f"{blank} blank line(s) skipped")
    state = FileState(SOURCE, label, rows_read=len(rows), remarks=notes)

    for k, (line_no, line, row, unreadable) in enumerate(rows):
        sid = _source_game_id(row)
        game_date = None
        if truncated and k == len(rows) - 1:
            reason = f"last line of a truncated file ({truncated})"
        elif unreadable:
            reason = unreadable
        elif len(row) != N_FIELDS:
            reason = f"expected {N_FIELDS} fields, found {len(row)}"
        elif has_bad_bytes(line):
            reason = "line holds bytes that are not valid UTF-8"
        else:
            reason, game_date = _check(row)
            if reason is None and sid in seen:
                first_file, first_line = seen[sid]
                reason = f"duplicate game: {sid} was already read from {first_file} line {first_line}"
        if reason is not None:
            state.quarantine(quarantine, line_no, sid, reason, line)
            continue
        seen[sid] = (label, line_no)
        accepted.add(row, sid, game_date, label, line_no)
        state.rows_accepted += 1
    return state.row()


def _source_game_id(row: list[str]) -> str | None:
    """`<home><yyyymmdd><game number>` as far as the row allows (for quarantine rows too)."""
    if len(row) <= HOME:
        return None
    return f"{row[HOME].strip()}{row[DATE].strip()}{row[GAME_NUMBER].strip()}"


def _calendar_date(value: str) -> date | None:
    m = _DATE.match(value)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _check(row: list[str]) -> tuple[str | None, date | None]:
    """(the reason a 161-field row cannot be used, None), or (None, the game's date)."""
    d = row[DATE].strip()
    if not _DATE.match(d):
        return f"date {row[DATE]!r} (field 1) is not yyyymmdd", None
    game_date = _calendar_date(d)
    if game_date is None:
        return f"date {row[DATE]!r} (field 1) is not a calendar date", None
    if not FIRST_SEASON <= game_date.year <= LAST_SEASON:
        return f"date {row[DATE]!r} (field 1) is outside {FIRST_SEASON}-{LAST_SEASON}", None
    if row[GAME_NUMBER].strip() not in GAME_NUMBERS:
        return f"game number {row[GAME_NUMBER]!r} (field 2) is not one of {', '.join(GAME_NUMBERS)}", None
    away, home = row[AWAY].strip(), row[HOME].strip()
    if not away:
        return "away team code (field 4) is missing", None
    if not home:
        return "home team code (field 7) is missing", None
    for code, field_no, side in ((away, AWAY + 1, "away"), (home, HOME + 1, "home")):
        if not _TEAM_CODE.match(code):
            return (f"{side} team code {code!r} (field {field_no}) is not a Retrosheet team code (three capital "
                    "letters or digits, starting with a letter)"), None
    if away == home:
        return f"away and home team are the same ({away!r})", None
    for i, side in ((AWAY_SCORE, "away"), (HOME_SCORE, "home")):
        if not _SCORE.match(row[i].strip()):
            return f"{side} score {row[i]!r} (field {i + 1}) is not a number", None
    for i, name in _NUMERIC.items():
        value = row[i].strip()
        if value and not _DIGITS.match(value):
            return f"{name} {row[i]!r} (field {i + 1}) is not a number", None
        if value and int(value) > (_INT32_MAX if i == ATTENDANCE else _INT16_MAX):
            return f"{name} {row[i]!r} (field {i + 1}) is out of range", None
    return None, game_date
