"""The games asset: every source's games in one table, and the rows left out of it with the reason."""

import dagster as dg
import polars as pl

from bsi_pipeline.defs.resources import selected_outputs
from bsi_pipeline.games import pbp_games_to_shared, union_games, with_venue_neutral
from bsi_pipeline.markdown import markdown_table

GAMES_TABLES = {
    "games": "Every game of every source: sport, league, season, date, away/home team and score, neutral flag, "
             "conferences when known, game type, location, source.",
    "games_excluded": "Source games left out of `games`, with the reason and the kept game's id: a game id or a "
                      "game (date, teams, score) an earlier source already gave.",
}


@dg.multi_asset(
    outs={name: dg.AssetOut(is_required=False, kinds={"polars", "parquet"}, description=text)
          for name, text in GAMES_TABLES.items()},
    group_name="games",
    can_subset=True,
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
):
    sources = [
        pbp_games_to_shared(ncaa_pbp_games, teams), with_venue_neutral(espn_ncaa_baseball_games_games),
        retrosheet_gamelogs_games, nfl_spreadspoke_games, cfbd_games_games, kaggle_mm_compact_games,
    ]
    table, excluded = union_games(sources)
    read = sum(frame.height for frame in sources)
    if excluded.height:
        context.log.warning(f"{excluded.height} source games repeat a game id or a game of an earlier source; "
                            "they are in games_excluded with the reason")
    by_league = table.group_by("sport", "league", "source").agg(
        games=pl.len(), seasons=pl.col("season").n_unique(), first=pl.col("date").min(), last=pl.col("date").max(),
    ).sort("sport", "league")
    reasons = excluded.group_by("source", reason=pl.col("reason").str.extract(r"^(game id|the same game)")).len()
    yield from selected_outputs(context, {
        "games": (table, {"games": table.height, "source_games": read, "excluded": excluded.height,
                          "by_league": dg.MetadataValue.md(markdown_table(by_league))}),
        "games_excluded": (excluded, {"rows": excluded.height,
                                      "reasons": dg.MetadataValue.md(markdown_table(reasons.sort("source")))}),
    })
