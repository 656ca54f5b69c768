"""Play-by-play analytics: MLB events and Statcast ingest, RE24, run values, wOBA weights, player value,
batted-ball features."""

import dagster as dg
import polars as pl

from bsi_pipeline.analytics import analytic_plays, play_analytics
from bsi_pipeline.batted_ball import batted_ball_features, load_woba_weights
from bsi_pipeline.defs.resources import BsiConfig, selected_outputs
from bsi_pipeline.linear_weights import player_season_value as build_player_season_value, team_woba_slope
from bsi_pipeline.markdown import markdown_table
from bsi_pipeline.sources.retrosheet_cwevent import read_retrosheet_cwevent
from bsi_pipeline.sources.statcast_csv import read_statcast_csv
from bsi_pipeline.metrics import png_to_markdown
from bsi_pipeline.run_expectancy import re24_heatmap_png
from bsi_pipeline.win_expectancy import (
    leverage_histogram_png, play_win_probability, we_curve_png, win_expectancy_table,
)

_FRAME = {"polars", "parquet"}


def _out(description: str) -> dg.AssetOut:
    return dg.AssetOut(is_required=False, kinds=_FRAME, description=description)


@dg.multi_asset(
    outs={
        "mlb_events": _out("MLB play-by-play from Retrosheet cwevent files, in the plays schema."),
        "retrosheet_cwevent_quarantine": _out("Rejected cwevent rows with the reason."),
        "retrosheet_cwevent_files": _out("Rows read, accepted and quarantined per cwevent file."),
    },
    group_name="ingest", can_subset=True,
)
def retrosheet_cwevent_ingest(context: dg.AssetExecutionContext, bsi: BsiConfig):
    result = read_retrosheet_cwevent(bsi.settings().source_files("retrosheet_cwevent"))
    yield from selected_outputs(context, {
        "mlb_events": (result.events, {"events": result.events.height}),
        "retrosheet_cwevent_quarantine": (result.quarantine, {"rows": result.quarantine.height}),
        "retrosheet_cwevent_files": (result.files, {"files": dg.MetadataValue.md(markdown_table(result.files))}),
    })


@dg.multi_asset(
    outs={
        "statcast_batted_balls": _out("Statcast balls in play as read (short or full Savant format)."),
        "statcast_quarantine": _out("Rejected Statcast rows (impossible exit velocity or angle, ids in numeric "
                                    "columns, ...) with the reason."),
        "statcast_files": _out("Rows read, accepted, quarantined and skipped (not in play) per Statcast file."),
    },
    group_name="ingest", can_subset=True,
)
def statcast_ingest(context: dg.AssetExecutionContext, bsi: BsiConfig):
    result = read_statcast_csv(bsi.settings().source_files("statcast_csv"))
    reasons = result.quarantine.group_by("reason").len().sort("len", descending=True)
    yield from selected_outputs(context, {
        "statcast_batted_balls": (result.batted_balls, {"rows": result.batted_balls.height}),
        "statcast_quarantine": (result.quarantine, {"rows": result.quarantine.height,
                                                    "reasons": dg.MetadataValue.md(markdown_table(reasons))}),
        "statcast_files": (result.files, {"files": dg.MetadataValue.md(markdown_table(result.files))}),
    })


@dg.asset(group_name="analytics", kinds=_FRAME, description=(
    "Batted-ball features and labels: exit velocity, launch angle, spray angle, barrel (Savant rule), hard-hit, "
    "launch-angle bucket, is_home_run, is_extra_base_hit, is_hit, woba_value_fg (season weights)."))
def batted_balls(statcast_batted_balls: pl.DataFrame) -> dg.Output:
    table = batted_ball_features(statcast_batted_balls, load_woba_weights())
    per_season = table.group_by("season").agg(
        balls=pl.len(), home_runs=pl.col("is_home_run").sum(), barrels=pl.col("is_barrel").sum()).sort("season")
    return dg.Output(table, metadata={"by_season": dg.MetadataValue.md(markdown_table(per_season))})


@dg.multi_asset(
    outs={
        "run_expectancy": _out("RE24: expected runs to the end of the half inning in the 24 base-out states, per "
                               "league and season, with counts and P(at least one run)."),
        "event_run_values": _out("Mean run value per event type per league and season, and the out value."),
        "woba_weights": _out("wOBA weights derived from run values per league and season, scaled to league OBP."),
        "play_run_values": _out("Each play's run value: RE24 after - RE24 before + runs scored (RE after a third "
                                "out is 0)."),
    },
    group_name="analytics", can_subset=True,
)
def linear_weights(context: dg.AssetExecutionContext, plays: pl.DataFrame, pbp_parse_report: pl.DataFrame,
                   mlb_events: pl.DataFrame):
    result = play_analytics(analytic_plays(plays, pbp_parse_report, mlb_events))
    re24_meta = {}
    for (league, season), table in result.run_expectancy.group_by("league", "season", maintain_order=True):
        png = re24_heatmap_png(table, f"RE24 {league} {season}")
        re24_meta[f"re24_{league}_{season}"] = dg.MetadataValue.md(png_to_markdown(png, f"RE24 {league} {season}"))
    yield from selected_outputs(context, {
        "run_expectancy": (result.run_expectancy, re24_meta),
        "event_run_values": (result.event_run_values, {}),
        "woba_weights": (result.woba_weights, {"weights": dg.MetadataValue.md(markdown_table(result.woba_weights))}),
        "play_run_values": (result.plays_with_run_values.select(
            "league", "season", "game_id", "seq", "event_type", "is_plate_appearance", "batter", "pitcher",
            "outs_before", "bases_before", "outs_after", "bases_after", "runs_on_play", "re_before", "re_after",
            "run_value", "complete_half_inning"), {}),
    })


@dg.asset(group_name="analytics", kinds=_FRAME, description=(
    "Per player and season, role hitter or pitcher: hitters PA, wOBA, wRAA, wRC+-style index, K%, BB%; pitchers BF, "
    "IP, K, BB, HR, RA9, FIP-style value, K-BB%; college rows also conference-adjusted (additive run credit); "
    "metadata: team wOBA per run per plate appearance against woba_scale."))
def player_season_value(plays: pl.DataFrame, pbp_parse_report: pl.DataFrame, mlb_events: pl.DataFrame,
                        woba_weights: pl.DataFrame, conference_strength: pl.DataFrame,
                        teams: pl.DataFrame) -> dg.Output:
    events = analytic_plays(plays, pbp_parse_report, mlb_events)
    value = build_player_season_value(events, woba_weights, conference_strength=conference_strength, teams=teams)
    table = pl.concat([value.hitting.with_columns(role=pl.lit("hitter")),
                       value.pitching.with_columns(role=pl.lit("pitcher"))], how="diagonal_relaxed")
    slope = team_woba_slope(value.hitting, events, woba_weights)
    return dg.Output(table, metadata={
        "hitters": value.hitting.height, "pitchers": value.pitching.height,
        "team_woba_per_run_per_pa": dg.MetadataValue.md(markdown_table(slope))})


@dg.multi_asset(
    outs={
        "win_expectancy": _out("Home-win probability by inning, half, outs, bases and score difference per league, "
                               "smoothed where cells are thin (see bsi_pipeline/win_expectancy.py)."),
        "play_win_values": _out("Per play: win expectancy before and after, WPA (batting team and home), "
                                "Tango's leverage index (mean 1.0 per league over the in_table_sample plays)."),
    },
    group_name="analytics", can_subset=True,
)
def win_expectancy(context: dg.AssetExecutionContext, plays: pl.DataFrame, pbp_parse_report: pl.DataFrame,
                   mlb_events: pl.DataFrame):
    all_plays = analytic_plays(plays, pbp_parse_report, mlb_events)
    tables, values, metadata = [], [], {}
    for (league,), league_plays in all_plays.group_by("league", maintain_order=True):
        table = win_expectancy_table(league_plays, league)
        per_play = play_win_probability(league_plays, table)
        tables.append(table)
        values.append(per_play)
        metadata[f"we_curve_{league}"] = dg.MetadataValue.md(png_to_markdown(we_curve_png(table), league))
        metadata[f"leverage_{league}"] = dg.MetadataValue.md(png_to_markdown(
            leverage_histogram_png(per_play["leverage_index"].drop_nulls()), league))
        context.log.info(f"{league}: {league_plays.height:,} plays")
    yield from selected_outputs(context, {
        "win_expectancy": (pl.concat(tables) if tables else pl.DataFrame(), metadata),
        "play_win_values": (pl.concat(values, how="diagonal_relaxed") if values else pl.DataFrame(), {}),
    })


ANALYTICS_ASSETS = [retrosheet_cwevent_ingest, statcast_ingest, batted_balls, linear_weights, player_season_value,
                    win_expectancy]
ANALYTICS_TABLES = {
    "mlb_events": "MLB play-by-play (Retrosheet cwevent) in the plays schema.",
    "retrosheet_cwevent_quarantine": "Rejected cwevent rows with the reason.",
    "retrosheet_cwevent_files": "Rows read, accepted and quarantined per cwevent file.",
    "statcast_batted_balls": "Statcast balls in play as read.",
    "statcast_quarantine": "Rejected Statcast rows with the reason.",
    "statcast_files": "Rows read, accepted, quarantined and skipped per Statcast file.",
    "batted_balls": "Batted-ball features and labels (barrel, hard-hit, spray angle, buckets, HR/XBH/hit, wOBA value).",
    "run_expectancy": "RE24 per league and season: 24 base-out states, expected runs, P(runs >= 1), counts.",
    "event_run_values": "Mean run value per event type per league and season.",
    "woba_weights": "Derived wOBA weights per league and season, scaled to league OBP.",
    "win_expectancy": "Home-win probability by inning, half, outs, bases, score difference per league (smoothed).",
    "play_win_values": "Per play win expectancy before/after, WPA and leverage index.",
    "player_season_value": "Per player-season, role hitter (wOBA, wRAA, wRC+, K%, BB%) or pitcher (BF, IP, K, BB, HR, "
                           "RA9, FIP); college rows also conference-adjusted.",
    "play_run_values": "Each play's run value: RE24 after - RE24 before + runs scored.",
}
