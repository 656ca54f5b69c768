"""Ratings: walk-forward Elo per league, conference strength, forecasts and their scores."""

import dagster as dg
import polars as pl

from bsi_pipeline import betting, metrics
from bsi_pipeline.defs.resources import selected_outputs
from bsi_pipeline.markdown import markdown_table
from bsi_pipeline.ncaa.box_scores import starter_lines
from bsi_pipeline.ratings.conference import conference_strength as build_conference_strength
from bsi_pipeline.ratings.conference import next_season_check
from bsi_pipeline.ratings.forecast_scores import forecast_scores, reliability_groups, scored_forecasts
from bsi_pipeline.ratings.systems import forecast_league, load_league_configs
from bsi_pipeline.ratings.trajectories import elo_trajectory_png

_FRAME = {"polars", "parquet"}
BETTING_TABLES = {
    "betting_backtest": "NFL backtest against closing lines per market and overall: bets, hit rate, ROI, max "
                        "drawdown, Sharpe, CLV note, disclaimer (analysis, not advice).",
    "betting_bets": "Every bet of the NFL backtest with model probability, edge, stake, profit and bankroll.",
    "betting_scales": "Per market and season: the sigma of P(side) = Phi(gap / sigma), fitted on earlier seasons' "
                      "results only (null: too few earlier games, no bets).",
}


@dg.multi_asset(
    outs={
        "game_forecasts": dg.AssetOut(is_required=False, kinds=_FRAME, description=(
            "Pre-game home-win probability of every game from every rating system, walk-forward.")),
        "team_ratings": dg.AssetOut(is_required=False, kinds=_FRAME, description=(
            "elo_fit rating of each team before and after every game (point in time).")),
        "elo_settings": dg.AssetOut(is_required=False, kinds=_FRAME, description=(
            "Settings used per league, season and system, and the earlier-season Brier that chose them.")),
    },
    group_name="ratings",
    can_subset=True,
)
def elo_ratings(context: dg.AssetExecutionContext, games: pl.DataFrame,
                retrosheet_gamelogs_details: pl.DataFrame, nfl_spreadspoke_details: pl.DataFrame,
                plays: pl.DataFrame, box_pitching: pl.DataFrame):
    configs = load_league_configs()
    college_starters = starter_lines(plays, box_pitching) if plays.height else None
    spreads = nfl_spreadspoke_details.select("game_id", "home_spread")
    forecasts, ratings, settings = [], [], []
    for league, config in configs.items():
        league_games = games.filter(pl.col("league") == league)
        if league_games.height == 0:
            continue
        ridge = f" and {len(config.ridge_grid) or 1} ridge settings" if config.ridge else ""
        context.log.info(f"{league}: replaying {league_games.height:,} games over {len(config.grid)} Elo "
                         f"settings{ridge}")
        result = forecast_league(league_games, config,
                                 game_details=retrosheet_gamelogs_details if league == "mlb" else None,
                                 home_spread=spreads if league == "nfl" else None,
                                 starter_lines=college_starters if league == "ncaa" else None)
        forecasts.append(result.forecasts)
        ratings.append(result.team_ratings)
        settings.append(result.settings)
    game_forecasts = pl.concat(forecasts) if forecasts else pl.DataFrame()
    team_ratings = pl.concat(ratings) if ratings else pl.DataFrame()
    drawn = (sorted(team_ratings["league"].unique())
             if team_ratings.height and "team_ratings" in context.selected_output_names else [])
    trajectories = {f"elo_trajectory_{league}": dg.MetadataValue.md(metrics.png_to_markdown(
        elo_trajectory_png(team_ratings, league), f"{league} Elo trajectories")) for league in drawn}
    yield from selected_outputs(context, {
        "game_forecasts": (game_forecasts, {"rows": game_forecasts.height}),
        "team_ratings": (team_ratings, trajectories),
        "elo_settings": (pl.concat(settings, how="diagonal_relaxed") if settings else pl.DataFrame(), {}),
    })


@dg.asset(group_name="ratings", kinds=_FRAME, description=(
    "Elo (and, where the league has one, ridge_margin) strength by conference and season, in the sport's "
    "units, with the run edge player stats are adjusted by; metadata: how well each source predicts next season."))
def conference_strength(team_ratings: pl.DataFrame, games: pl.DataFrame) -> dg.Output:
    table = build_conference_strength(team_ratings, games)
    latest = table.filter(pl.col("season") == pl.col("season").max().over("league"))
    return dg.Output(table, metadata={
        "latest_season": dg.MetadataValue.md(markdown_table(
            latest.select("league", "season", "conference", "teams", "strength_vs_average",
                          "margin_per_game_vs_average", "margin_source", "scoring_edge_per_game"), max_rows=60)),
        "next_season_check": dg.MetadataValue.md(markdown_table(next_season_check(table, games)))})


@dg.asset(group_name="ratings", kinds=_FRAME, description=(
    "Per sport, league, season and system: games, Brier, log loss, accuracy, ECE (10 bins); "
    "home_rate is the constant home-win-rate baseline."))
def forecast_metrics(context: dg.AssetExecutionContext, game_forecasts: pl.DataFrame,
                     games: pl.DataFrame) -> dg.Output:
    scored = scored_forecasts(game_forecasts, games)
    table = forecast_scores(scored)
    overall = table.filter(pl.col("season").is_null()).drop("season")
    metadata = {"all_seasons": dg.MetadataValue.md(markdown_table(overall, max_rows=60))}
    for league in sorted(scored.get_column("league").unique().to_list()):
        png = metrics.reliability_plot_png(reliability_groups(scored, league),
                                           f"{league}: reliability of pre-game forecasts")
        metadata[f"reliability_{league}"] = dg.MetadataValue.md(metrics.png_to_markdown(png, league))
    context.log.info(f"scored {scored.height:,} forecasts")
    return dg.Output(table, metadata=metadata)


@dg.multi_asset(
    outs={name: dg.AssetOut(is_required=False, kinds=_FRAME, description=text)
          for name, text in BETTING_TABLES.items()},
    group_name="ratings",
    can_subset=True,
)
def nfl_betting_backtest(context: dg.AssetExecutionContext, game_forecasts: pl.DataFrame, games: pl.DataFrame,
                         nfl_spreadspoke_details: pl.DataFrame):
    """Quarter-Kelly, capped at 2% of bankroll, only with a 3-point edge; pushes excluded as a book does."""
    nfl = betting.nfl_predictions(games, game_forecasts)
    candidates = betting.nfl_candidates(nfl, nfl_spreadspoke_details, "predicted_margin", "predicted_total")
    if candidates.height == 0:
        context.log.warning("no NFL games with closing lines: the backtest is empty")
    fitted, scales = betting.walk_forward_probabilities(candidates)
    bets, summary = betting.backtest(fitted)
    yield from selected_outputs(context, {
        "betting_backtest": (summary, {"summary": dg.MetadataValue.md(markdown_table(summary.drop(
            "disclaimer", "note"))), "disclaimer": betting.DISCLAIMER, "candidates": candidates.height,
            "candidates_with_a_fitted_scale": fitted.height}),
        "betting_bets": (bets, {"bets": bets.height}),
        "betting_scales": (scales, {"seasons_without_a_scale": scales["sigma"].null_count()}),
    })


RATINGS_ASSETS = [elo_ratings, conference_strength, forecast_metrics, nfl_betting_backtest]
