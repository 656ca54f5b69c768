"""Box scores and teams derived from the parsed games."""


import dagster as dg
import polars as pl

from bsi_pipeline.defs.resources import BsiConfig
from bsi_pipeline.ncaa import box_scores
from bsi_pipeline.ncaa.teams import load_registry, teams_table


@dg.asset(group_name="plays", kinds={"polars", "parquet"},
          description="Per batter per game: PA, AB, H, 2B, 3B, HR, R, RBI, BB, IBB, HBP, K, SB, CS, SH, SF.")
def box_batting(plays: pl.DataFrame, play_runners: pl.DataFrame) -> dg.Output:
    box = box_scores.box_batting(plays, play_runners)
    return dg.Output(box, metadata={"players_games": box.height})


@dg.asset(group_name="plays", kinds={"polars", "parquet"},
          description="Per known pitcher per game: batters faced, outs, H, R, BB, K, HR, pitches when counts exist.")
def box_pitching(plays: pl.DataFrame) -> dg.Output:
    box = box_scores.box_pitching(plays)
    return dg.Output(box, metadata={"pitcher_games": box.height})


@dg.asset(group_name="plays", kinds={"polars", "parquet"},
          description="Teams per season with conference from the NCAA D1 registry (else, for a team it does not "
                      "list, from its conference-season series); non-D1 teams flagged, and teams whose series say "
                      "another conference than the registry (schedule_conference).")
def teams(context: dg.AssetExecutionContext, bsi: BsiConfig, ncaa_pbp_games: pl.DataFrame) -> dg.Output:
    settings = bsi.settings()
    registry = load_registry(settings.reference_files("ncaa_d1_teams"))
    table = teams_table(ncaa_pbp_games, registry)
    not_d1 = table.filter(~pl.col("is_d1"))
    disputed = table.filter(pl.col("schedule_conference") != pl.col("conference"))
    from_schedule = table.filter(pl.col("conference_source").str.contains("schedule"))
    context.log.info(f"{table.height} team-seasons, {not_d1.height} without a conference (not in the D1 registry "
                     f"or its schedule), {from_schedule.height} named by the schedule where the registry is silent, "
                     f"{disputed.height} whose schedule says another conference than the registry")
    return dg.Output(table, metadata={"team_seasons": table.height, "not_d1": not_d1.height,
                                      "conference_from_schedule": from_schedule.height,
                                      "schedule_disagrees_with_registry": disputed.height})
