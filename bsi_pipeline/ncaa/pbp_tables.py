"""From typed play-by-play lines (the reader's output) to the analyst tables.

plays: one row per accepted line, in game order, with the state before and after it.
play_runners: one row per person who moved (or was put out) on a line: the batter (start_base 0)
    and each runner; end_base 0 = out, 1-3 = base, 4 = scored.
pbp_parse_report: one row per game: reconciled, or the first half inning that is not, and why.
games: one row per game: teams (away batted in the top half), final score, innings.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from bsi_pipeline.ids import canonical_id
from bsi_pipeline.ncaa.pbp_replay import GameLine, replay_game

SPORT, LEAGUE, SOURCE = "baseball", "ncaa", "ncaa_baseball_pbp"

PLAYS_SCHEMA = {
    "game_id": pl.String, "source_game_id": pl.String, "season": pl.Int32, "date": pl.Date, "seq": pl.Int32,
    "source_file": pl.String, "line_no": pl.Int64, "inning": pl.Int16, "half": pl.String,
    "batting_team": pl.String, "fielding_team": pl.String, "line_kind": pl.String, "event_type": pl.String,
    "is_plate_appearance": pl.Boolean, "batter": pl.String, "pitcher": pl.String,
    "outs_before": pl.Int8, "outs_after": pl.Int8, "bases_before": pl.String, "bases_after": pl.String,
    "runs_on_play": pl.Int16, "rbi": pl.Int16, "balls": pl.Int8, "strikes": pl.Int8,
    "pitch_sequence": pl.String, "sac": pl.String, "runners_scored": pl.String,
    "away_score": pl.Int16, "home_score": pl.Int16, "description": pl.String,
}
RUNNERS_SCHEMA = {
    "game_id": pl.String, "season": pl.Int32, "seq": pl.Int32, "team": pl.String, "runner": pl.String,
    "start_base": pl.Int8, "end_base": pl.Int8, "stolen_base": pl.Boolean, "caught_stealing": pl.Boolean,
}
REPORT_SCHEMA = {
    "game_id": pl.String, "source_game_id": pl.String, "season": pl.Int32, "date": pl.Date,
    "status": pl.String, "reason": pl.String, "mismatch_inning": pl.Int16, "mismatch_half": pl.String,
    "lines": pl.Int32, "half_innings": pl.Int16, "parsed_away_runs": pl.Int16, "parsed_home_runs": pl.Int16,
    "away_score": pl.Int16, "home_score": pl.Int16,
}
GAMES_SCHEMA = {
    "game_id": pl.String, "sport": pl.String, "league": pl.String, "season": pl.Int32, "date": pl.Date,
    "away_team": pl.String, "home_team": pl.String, "away_score": pl.Int16, "home_score": pl.Int16,
    "innings": pl.Int16, "location": pl.String, "attendance": pl.Int32, "source": pl.String,
    "source_game_id": pl.String, "reconciled": pl.Boolean,
}


@dataclass
class PbpTables:
    plays: pl.DataFrame
    play_runners: pl.DataFrame
    parse_report: pl.DataFrame
    games: pl.DataFrame


def game_id(season: int, source_game_id: str) -> str:
    return canonical_id(SPORT, LEAGUE, season, "game", source_game_id)


def build_pbp_tables(lines: pl.DataFrame, progress=None) -> PbpTables:
    """Replay every game of `lines` (ordered as read; a game's lines are contiguous).

    `progress(done_games, total_games)` is called every 1,000 games when given.
    """
    plays = {name: [] for name in PLAYS_SCHEMA}
    runners = {name: [] for name in RUNNERS_SCHEMA}
    report, games = [], []
    c = {name: lines.get_column(name).to_list() for name in lines.columns}
    n = len(c["line_no"])
    bounds = _game_bounds(c["source_game_id"], n)
    for done, (start, end) in enumerate(bounds, start=1):
        src_id, season, day = c["source_game_id"][start], c["season"][start], c["date"][start]
        gid = game_id(season, src_id)
        game_lines = [
            GameLine(c["line_no"][k], c["inning"][k], c["half"][k], c["away_score"][k], c["home_score"][k],
                     c["batting"][k], c["fielding"][k], c["description"][k])
            for k in range(start, end)
        ]
        result = replay_game(game_lines)
        for play in result.plays:
            for key, value in play.items():
                plays[key].append(value)
        count = len(result.plays)
        plays["game_id"].extend([gid] * count)
        plays["source_game_id"].extend([src_id] * count)
        plays["season"].extend([season] * count)
        plays["date"].extend([day] * count)
        plays["source_file"].extend(c["source_file"][start:end])
        team_of_seq = {p["seq"]: p["batting_team"] for p in result.plays}
        for move in result.runners:
            runners["game_id"].append(gid)
            runners["season"].append(season)
            runners["team"].append(team_of_seq[move["seq"]])
            for key, value in move.items():
                runners[key].append(value)
        away_score = max(c["away_score"][start:end])
        home_score = max(c["home_score"][start:end])
        report.append({
            "game_id": gid, "source_game_id": src_id, "season": season, "date": day, "status": result.status,
            "reason": result.reason, "mismatch_inning": result.mismatch_inning,
            "mismatch_half": result.mismatch_half, "lines": count, "half_innings": result.half_innings,
            "parsed_away_runs": result.parsed_away_runs, "parsed_home_runs": result.parsed_home_runs,
            "away_score": away_score, "home_score": home_score,
        })
        away, home = _teams(c, start, end)
        games.append({
            "game_id": gid, "sport": SPORT, "league": LEAGUE, "season": season, "date": day,
            "away_team": away, "home_team": home, "away_score": away_score, "home_score": home_score,
            "innings": max(c["inning"][start:end]), "location": c["location"][start],
            "attendance": c["attendance"][start], "source": SOURCE, "source_game_id": src_id,
            "reconciled": result.status == "reconciled",
        })
        if progress is not None and done % 1000 == 0:
            progress(done, len(bounds))
    return PbpTables(
        plays=_frame(plays, PLAYS_SCHEMA),
        play_runners=_frame(runners, RUNNERS_SCHEMA),
        parse_report=pl.DataFrame(report, schema=REPORT_SCHEMA),
        games=pl.DataFrame(games, schema=GAMES_SCHEMA),
    )


def _frame(columns: dict[str, list], schema: dict) -> pl.DataFrame:
    return pl.DataFrame({name: pl.Series(name, columns[name], dtype=dtype, strict=False)
                         for name, dtype in schema.items()})


def _game_bounds(game_ids: list[str], n: int) -> list[tuple[int, int]]:
    bounds, start = [], 0
    for k in range(1, n + 1):
        if k == n or game_ids[k] != game_ids[start]:
            bounds.append((start, k))
            start = k
    return bounds


def _teams(c: dict, start: int, end: int) -> tuple[str | None, str | None]:
    """Away team bats in the top half, home team in the bottom half."""
    for k in range(start, end):
        if c["half"][k] == "top":
            return c["batting"][k], c["fielding"][k]
    return c["fielding"][start], c["batting"][start]


def parse_summary(parse_report: pl.DataFrame, plays: pl.DataFrame) -> pl.DataFrame:
    """Per season: share of games reconciled, and how many lines were classified.

    classified_pct: share of lines that are neither inning summaries nor notes whose event type is
    not 'other'. classified_pct_all_lines:
    the stricter share over every non-summary line, notes counted as unclassified.
    """
    games = parse_report.group_by("season").agg(
        games=pl.len(),
        reconciled=(pl.col("status") == "reconciled").sum(),
    )
    non_summary = plays.filter(pl.col("line_kind") != "summary")
    unclassified = pl.col("event_type") == "other"
    lines = non_summary.group_by("season").agg(
        lines=pl.len(),
        note_lines=(pl.col("line_kind") == "note").sum(),
        other_lines=(unclassified & (pl.col("line_kind") != "note")).sum(),
        other_or_note_lines=unclassified.sum(),
    )
    return games.join(lines, on="season", how="full", coalesce=True).with_columns(
        reconciled_pct=(100 * pl.col("reconciled") / pl.col("games")).round(2),
        classified_pct=(100 * (1 - pl.col("other_lines") / (pl.col("lines") - pl.col("note_lines")))).round(3),
        classified_pct_all_lines=(100 * (1 - pl.col("other_or_note_lines") / pl.col("lines"))).round(3),
    ).sort("season")
