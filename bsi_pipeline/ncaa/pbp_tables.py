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
from bsi_pipeline.plays_schema import PLAYS_SCHEMA
from bsi_pipeline.ncaa.pbp_reader import gc_paused
from bsi_pipeline.ncaa.pbp_replay import BASE_LABELS, ReplayColumns, replay_columns

SPORT, LEAGUE, SOURCE = "baseball", "ncaa", "ncaa_baseball_pbp"

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
    get = lines.get_column
    # Only the columns the replay reads become Python lists.
    inning, half = get("inning").to_list(), get("half").to_list()
    away_score, home_score = get("away_score").to_list(), get("home_score").to_list()
    batting, fielding = get("batting").to_list(), get("fielding").to_list()
    description = get("description").to_list()
    per_game = _games_of(lines)
    counts = per_game.get_column("lines").to_list()
    source_ids, seasons = per_game.get_column("source_game_id").to_list(), per_game.get_column("season").to_list()

    out = ReplayColumns()
    game_ids, seq, runner_counts = [], [], []
    verdicts = []  # per game: status, reason, mismatch_inning, mismatch_half, half_innings, parsed runs
    start = 0
    for g, count in enumerate(counts):
        end = start + count
        game_ids.append(game_id(seasons[g], source_ids[g]))
        runners_before = len(out.r_seq)
        result = replay_columns(inning[start:end], half[start:end], away_score[start:end], home_score[start:end],
                                batting[start:end], fielding[start:end], description[start:end], out)
        seq.extend(range(1, count + 1))
        runner_counts.append(len(out.r_seq) - runners_before)
        verdicts.append((result.status, result.reason, result.mismatch_inning, result.mismatch_half,
                         result.half_innings, result.parsed_away_runs, result.parsed_home_runs))
        start = end
        if progress is not None and (g + 1) % 1000 == 0:
            progress(g + 1, len(counts))

    labels = pl.Series(BASE_LABELS, dtype=pl.String)
    computed = {
        "game_id": _per_game(game_ids, counts, pl.String),
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
    verdict = dict(zip(("status", "reason", "mismatch_inning", "mismatch_half", "half_innings", "parsed_away_runs",
                        "parsed_home_runs"), map(list, zip(*verdicts)) if verdicts else ([],) * 7))
    per_game = per_game.with_columns(
        game_id=pl.Series(game_ids, dtype=pl.String), sport=pl.lit(SPORT), league=pl.lit(LEAGUE),
        source=pl.lit(SOURCE), lines=pl.col("lines").cast(pl.Int32),
        reconciled=pl.Series([v == "reconciled" for v in verdict["status"]], dtype=pl.Boolean),
        **{name: _series(name, values, REPORT_SCHEMA[name]) for name, values in verdict.items()},
    )
    return PbpTables(
        plays=plays,
        play_runners=pl.DataFrame([_series(name, runners[name], dtype) for name, dtype in RUNNERS_SCHEMA.items()]),
        parse_report=per_game.select(pl.col(name).cast(dtype) for name, dtype in REPORT_SCHEMA.items()),
        games=per_game.select(pl.col(name).cast(dtype) for name, dtype in GAMES_SCHEMA.items()),
    )


def _games_of(lines: pl.DataFrame) -> pl.DataFrame:
    """One row per game (a run of lines with the same source_game_id), in order: its first line's
    facts, final score (the highest on any line), innings, line count, and teams (the away team
    bats in the top half, the home team in the bottom half)."""
    top = pl.col("half") == "top"
    lines = lines.with_columns(game=pl.col("source_game_id").rle_id())
    runs = lines.select("game", "source_game_id").unique("game")
    split = runs.filter(pl.col("source_game_id").is_duplicated()).get_column("source_game_id").unique().sort()
    if split.len():  # the reader keeps a game's lines together; anything else would make two games of one
        raise ValueError(f"play-by-play lines of game(s) {', '.join(split.head(5))} are not contiguous: "
                         "read them with bsi_pipeline.ncaa.pbp_reader, which keeps each game's lines together")
    return lines.group_by("game", maintain_order=True).agg(
        pl.col("source_game_id", "season", "date", "location", "attendance").first(),
        pl.col("away_score", "home_score").max(),
        innings=pl.col("inning").max(),
        lines=pl.len(),
        away_team=pl.when(top.any()).then(pl.col("batting").filter(top).first())
        .otherwise(pl.col("fielding").first()),
        home_team=pl.when(top.any()).then(pl.col("fielding").filter(top).first())
        .otherwise(pl.col("batting").first()),
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
