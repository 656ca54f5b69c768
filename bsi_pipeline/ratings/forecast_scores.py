"""forecast_metrics: every rating system's pre-game forecasts scored against the results.

Ties are left out (a home-win probability has no outcome to meet in a tie); each league, season and
system gets games, Brier, log loss, accuracy and ECE, and a row with season null scores all its seasons.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from bsi_pipeline import metrics

BASELINE_SYSTEM = "home_rate"  # the constant home-win rate: scored, not drawn in the reliability plots


def scored_forecasts(game_forecasts: pl.DataFrame, games: pl.DataFrame) -> pl.DataFrame:
    """The forecasts of games with a winner, with `home_won` (0/1)."""
    return (game_forecasts.join(games.select("game_id", "home_score", "away_score"), on="game_id")
            .filter(pl.col("home_score") != pl.col("away_score"))
            .with_columns(home_won=(pl.col("home_score") > pl.col("away_score")).cast(pl.Int8)))


def forecast_scores(scored: pl.DataFrame) -> pl.DataFrame:
    """Scores per sport, league, season and system, then per sport, league and system over all seasons
    (season null), sorted."""
    by_season = metrics.score_groups(scored, "p_home", "home_won", ["sport", "league", "season", "system"])
    overall = metrics.score_groups(scored, "p_home", "home_won", ["sport", "league", "system"])
    table = pl.concat([by_season, overall.with_columns(season=pl.lit(None, dtype=by_season["season"].dtype))
                       .select(by_season.columns)])
    return table.sort("sport", "league", "season", "system", nulls_last=True)


def reliability_groups(scored: pl.DataFrame, league: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """system -> (p_home, home_won) of one league, for metrics.reliability_plot_png; the baseline left out."""
    rows = scored.filter((pl.col("league") == league) & (pl.col("system") != BASELINE_SYSTEM))
    return {system: (part["p_home"].to_numpy(), part["home_won"].to_numpy())
            for (system,), part in rows.group_by("system", maintain_order=True)}
