"""Plays: typed lines -> plays, runner movements, the per-game reconciliation report and games."""


import dagster as dg
import polars as pl

from bsi_pipeline.defs.resources import selected_outputs
from bsi_pipeline.markdown import markdown_table
from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables, parse_summary

_FRAME = {"polars", "parquet"}


@dg.multi_asset(
    outs={
        "plays": dg.AssetOut(is_required=False, description="One row per play-by-play line with outs, bases, runs, event type.",
                             kinds=_FRAME),
        "play_runners": dg.AssetOut(is_required=False, description="Every person moved or put out on a line (batter: start_base 0).",
                                    kinds=_FRAME),
        "pbp_parse_report": dg.AssetOut(is_required=False, description="Per game: reconciled with the score column, or the first "
                                                    "half inning that is not and why.", kinds=_FRAME),
        "ncaa_pbp_games": dg.AssetOut(is_required=False, description="One row per play-by-play game: date, away "
                                      "and home team, final score, innings, reconciled.", kinds=_FRAME),
        "pbp_parse_summary": dg.AssetOut(is_required=False, description="Per season: games reconciled and lines classified.",
                                         kinds=_FRAME),
    },
    group_name="plays",
    can_subset=True,
)
def ncaa_plays(context: dg.AssetExecutionContext, ncaa_pbp_lines: pl.DataFrame):
    tables = build_pbp_tables(
        ncaa_pbp_lines, progress=lambda done, total: context.log.info(f"replayed {done:,}/{total:,} games"))
    summary = parse_summary(tables.parse_report, tables.plays)
    reasons = (tables.parse_report.filter(pl.col("status") != "reconciled")
               .with_columns(pl.col("reason").str.replace_all(r"\d+", "N"))
               .group_by("reason").len().sort("len", descending=True))
    yield from selected_outputs(context, {
        "plays": (tables.plays, {
            "by_season": dg.MetadataValue.md(markdown_table(summary)),
            "event_types": dg.MetadataValue.md(markdown_table(
                tables.plays.group_by("event_type").len().sort("len", descending=True), max_rows=40)),
        }),
        "play_runners": (tables.play_runners, {}),
        "pbp_parse_report": (tables.parse_report, {
            "games": tables.parse_report.height,
            "reconciled": int((tables.parse_report["status"] == "reconciled").sum()),
            "mismatch_reasons": dg.MetadataValue.md(markdown_table(reasons)),
        }),
        "ncaa_pbp_games": (tables.games, {"games": tables.games.height}),
        "pbp_parse_summary": (summary, {"by_season": dg.MetadataValue.md(markdown_table(summary))}),
    })
