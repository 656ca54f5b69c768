"""The plays table's columns, shared by every play-by-play source (college text, MLB Retrosheet events)
so the analytics read one shape whatever the league."""

import polars as pl

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
