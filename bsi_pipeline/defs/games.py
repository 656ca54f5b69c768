"""Games: every source's games in one table, the input of ratings and forecasts."""

import dagster as dg
import polars as pl

from bsi_pipeline.games import pbp_games_to_shared, union_games, with_venue_neutral
from bsi_pipeline.markdown import markdown_table


@dg.asset(
    group_name="games",
    kinds={"polars", "parquet"},
    description="Every game of every source in one schema: sport, league, season, date, teams, scores, "
                "neutral flag and conferences when known.",
)
def games(
    context: dg.AssetExecutionContext,
    ncaa_pbp_games: pl.DataFrame,
    teams: pl.DataFrame,
    retrosheet_gamelogs_games: pl.DataFrame,
    nfl_spreadspoke_games: pl.DataFrame,
    cfbd_games_games: pl.DataFrame,
    kaggle_mm_compact_games: pl.DataFrame,
    espn_ncaa_baseball_games_games: pl.DataFrame,
) -> dg.Output:
    table, clashes = union_games([
        pbp_games_to_shared(ncaa_pbp_games, teams), with_venue_neutral(espn_ncaa_baseball_games_games),
        retrosheet_gamelogs_games, nfl_spreadspoke_games, cfbd_games_games, kaggle_mm_compact_games,
    ])
    if clashes.height:
        context.log.warning(f"{clashes.height} rows share a game_id with another source; the first was kept")
    by_league = table.group_by("sport", "league", "source").agg(
        games=pl.len(), seasons=pl.col("season").n_unique(), first=pl.col("date").min(), last=pl.col("date").max(),
    ).sort("sport", "league")
    return dg.Output(table, metadata={"games": table.height, "id_clashes": clashes.height,
                                      "by_league": dg.MetadataValue.md(markdown_table(by_league))})
