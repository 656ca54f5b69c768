"""Feature tables for the model factory: point-in-time features and labels, with exclusions.

Every input row either becomes a feature row or an `_excluded` row with its reason.
"""

import dagster as dg
import polars as pl

from bsi_pipeline.defs.resources import selected_outputs
from bsi_pipeline.features import FeatureBuild
from bsi_pipeline.features.batted_balls import build_batted_ball_features
from bsi_pipeline.features.games import build_game_features
from bsi_pipeline.features.pitcher_starts import build_pitcher_start_features
from bsi_pipeline.markdown import markdown_table

_FRAME = {"polars", "parquet"}
FEATURE_TABLES = {
    "features_games": "Pre-game features of every college baseball and MLB game (earlier dates only), the home_win "
                      "label and the Elo baseline p_elo.",
    "features_pitcher_starts": "College starting pitchers: rolling pitcher and opponent stats from earlier games, "
                               "strikeouts label, a default line and P(over) baseline.",
    "features_batted_balls": "MLB batted balls: exit velocity, launch and spray angle; home-run and wOBA labels; "
                             "Savant's xwOBA baseline.",
}
FEATURE_TABLES.update({f"{name}_excluded": f"Rows that could not become {name} rows, with the reason."
                       for name in list(FEATURE_TABLES)})


def _outputs(context: dg.AssetExecutionContext, name: str, build: FeatureBuild, inputs: int):
    reasons = (build.excluded.group_by("reason").len().sort("len", descending=True)
               if build.excluded.height else pl.DataFrame({"reason": [], "len": []}))
    yield from selected_outputs(context, {
        name: (build.features, {"rows": build.features.height, "input_rows": inputs,
                                "excluded": build.excluded.height}),
        f"{name}_excluded": (build.excluded, {"reasons": dg.MetadataValue.md(markdown_table(reasons))}),
    })


def _outs(name: str) -> dict:
    return {name: dg.AssetOut(is_required=False, kinds=_FRAME, description=FEATURE_TABLES[name]),
            f"{name}_excluded": dg.AssetOut(is_required=False, kinds=_FRAME,
                                            description=FEATURE_TABLES[f"{name}_excluded"])}


@dg.multi_asset(outs=_outs("features_games"), group_name="features", can_subset=True)
def game_features(context: dg.AssetExecutionContext, games: pl.DataFrame, team_ratings: pl.DataFrame,
                  game_forecasts: pl.DataFrame, retrosheet_gamelogs_details: pl.DataFrame):
    starters = (retrosheet_gamelogs_details.select("game_id", home_starter="home_starting_pitcher_id",
                                                   away_starter="away_starting_pitcher_id")
                if retrosheet_gamelogs_details.height else None)
    build = build_game_features(games, team_ratings, game_forecasts, starters=starters)
    yield from _outputs(context, "features_games", build, games.filter(pl.col("league").is_in(["ncaa", "mlb"])).height)


@dg.multi_asset(outs=_outs("features_pitcher_starts"), group_name="features", can_subset=True)
def pitcher_start_features(context: dg.AssetExecutionContext, plays: pl.DataFrame, box_pitching: pl.DataFrame,
                           box_batting: pl.DataFrame, games: pl.DataFrame):
    build = build_pitcher_start_features(plays, box_pitching, box_batting, games)
    yield from _outputs(context, "features_pitcher_starts", build,
                        plays.select("game_id", "fielding_team").unique().height)


@dg.multi_asset(outs=_outs("features_batted_balls"), group_name="features", can_subset=True)
def batted_ball_features(context: dg.AssetExecutionContext, batted_balls: pl.DataFrame):
    # The woba_value label takes FanGraphs' MLB weights (the packaged Guts table), not the pipeline's
    # derived woba_weights: that table's latest season is a college one, which MLB balls must not get.
    build = build_batted_ball_features(batted_balls)
    yield from _outputs(context, "features_batted_balls", build, batted_balls.height)


FEATURE_ASSETS = [game_features, pitcher_start_features, batted_ball_features]
