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
from bsi_pipeline.ncaa.pbp_reader import gc_paused
from bsi_pipeline.ncaa.pbp_replay import BASE_LABELS, ReplayColumns, replay_columns

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


# plays columns that copy the input line as it is (one play per line, in the same order): taken from the
# lines frame directly, never converted to Python objects and back.
_COPIED_FROM_LINES = {
    "source_game_id": "source_game_id", "season": "season", "date": "date", "source_file": "source_file",
    "line_no": "line_no", "inning": "inning", "half": "half", "batting_team": "batting",
    "fielding_team": "fielding", "away_score": "away_score", "home_score": "home_score",
    "description": "description",
}


def build_pbp_tables(lines: pl.DataFrame, progress=None) -> PbpTables:
    """Replay every game of `lines` (ordered as read; a game's lines are contiguous).

    `progress(done_games, total_games)` is called every 1,000 games when given.
    """
    with gc_paused():  # millions of short-lived tuples and a few huge lists: see gc_paused
        return _build_pbp_tables(lines, progress)


def _build_pbp_tables(lines: pl.DataFrame, progress) -> PbpTables:
    n = lines.height
    get = lines.get_column
    # Only the columns the replay reads become Python lists.
    inning, half = get("inning").to_list(), get("half").to_list()
    away_score, home_score = get("away_score").to_list(), get("home_score").to_list()
    batting, fielding = get("batting").to_list(), get("fielding").to_list()
    description = get("description").to_list()
    bounds = _game_bounds(get("source_game_id"), n)
    starts = pl.Series([s for s, _ in bounds], dtype=pl.UInt32)
    first = {name: get(name).gather(starts).to_list()
             for name in ("source_game_id", "season", "date", "location", "attendance")}

    out = ReplayColumns()
    game_ids, seasons, seq, runner_counts = [], [], [], []
    report, games = [], []
    for g, (start, end) in enumerate(bounds):
        src_id, season, day = first["source_game_id"][g], first["season"][g], first["date"][g]
        gid = game_id(season, src_id)
        runners_before = len(out.r_seq)
        result = replay_columns(inning[start:end], half[start:end], away_score[start:end], home_score[start:end],
                                batting[start:end], fielding[start:end], description[start:end], out)
        count = end - start
        game_ids.append(gid)
        seasons.append(season)
        seq.extend(range(1, count + 1))
        runner_counts.append(len(out.r_seq) - runners_before)
        game_away = max(away_score[start:end])
        game_home = max(home_score[start:end])
        report.append({
            "game_id": gid, "source_game_id": src_id, "season": season, "date": day, "status": result.status,
            "reason": result.reason, "mismatch_inning": result.mismatch_inning,
            "mismatch_half": result.mismatch_half, "lines": count, "half_innings": result.half_innings,
            "parsed_away_runs": result.parsed_away_runs, "parsed_home_runs": result.parsed_home_runs,
            "away_score": game_away, "home_score": game_home,
        })
        away, home = _teams(half, batting, fielding, start, end)
        games.append({
            "game_id": gid, "sport": SPORT, "league": LEAGUE, "season": season, "date": day,
            "away_team": away, "home_team": home, "away_score": game_away, "home_score": game_home,
            "innings": max(inning[start:end]), "location": first["location"][g],
            "attendance": first["attendance"][g], "source": SOURCE, "source_game_id": src_id,
            "reconciled": result.status == "reconciled",
        })
        if progress is not None and (g + 1) % 1000 == 0:
            progress(g + 1, len(bounds))

    labels = pl.Series(BASE_LABELS, dtype=pl.String)
    computed = {
        "game_id": _per_game(game_ids, [end - start for start, end in bounds], pl.String),
        "seq": seq,
        "bases_before": labels.gather(pl.Series(out.bases_before, dtype=pl.UInt8)),
        "bases_after": labels.gather(pl.Series(out.bases_after, dtype=pl.UInt8)),
        **{name: getattr(out, name) for name in (
            "line_kind", "event_type", "is_plate_appearance", "batter", "pitcher", "outs_before", "outs_after",
            "runs_on_play", "rbi", "balls", "strikes", "pitch_sequence", "sac", "runners_scored")},
    }
    plays = pl.DataFrame([
        get(_COPIED_FROM_LINES[name]).cast(dtype, strict=False).alias(name) if name in _COPIED_FROM_LINES
        else _series(name, computed[name], dtype)
        for name, dtype in PLAYS_SCHEMA.items()
    ])
    runners = {"game_id": _per_game(game_ids, runner_counts, pl.String),
               "season": _per_game(seasons, runner_counts, pl.Int32), "seq": out.r_seq, "team": out.r_team,
               "runner": out.r_runner, "start_base": out.r_start_base, "end_base": out.r_end_base,
               "stolen_base": out.r_stolen_base, "caught_stealing": out.r_caught_stealing}
    return PbpTables(
        plays=plays,
        play_runners=pl.DataFrame([_series(name, runners[name], dtype) for name, dtype in RUNNERS_SCHEMA.items()]),
        parse_report=pl.DataFrame(report, schema=REPORT_SCHEMA),
        games=pl.DataFrame(games, schema=GAMES_SCHEMA),
    )


def _per_game(values: list, counts: list[int], dtype) -> pl.Series:
    """Each game's value repeated for each of its rows (polars does the repeating)."""
    games = pl.Series(range(len(counts)), dtype=pl.UInt32)
    rows = games.repeat_by(pl.Series(counts, dtype=pl.UInt32)).explode(empty_as_null=False)
    return pl.Series(values, dtype=dtype).gather(rows)


def _series(name: str, values, dtype) -> pl.Series:
    if isinstance(values, pl.Series):
        return values.cast(dtype, strict=False).alias(name)
    return pl.Series(name, values, dtype=dtype, strict=False)


def _game_bounds(source_game_id: pl.Series, n: int) -> list[tuple[int, int]]:
    """(start, end) of each run of lines with the same game id, found by polars, not a Python loop."""
    if n == 0:
        return []
    changed = source_game_id.ne_missing(source_game_id.shift(1)).fill_null(True)
    starts = changed.arg_true().to_list()
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return list(zip(starts, starts[1:] + [n]))


def _teams(half: list, batting: list, fielding: list, start: int, end: int) -> tuple[str | None, str | None]:
    """Away team bats in the top half, home team in the bottom half."""
    for k in range(start, end):
        if half[k] == "top":
            return batting[k], fielding[k]
    return fielding[start], batting[start]


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
