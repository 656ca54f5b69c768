"""Conference strength per league and season, and the adjustment analysts apply to player stats.

A team's end-of-season strength is its last post-game Elo plus its conference's Elo (the conference
layer, when the league uses one). A conference's strength is the mean over its teams, relative to
the mean of all conference teams that season. Elo points become runs (or points) per game through
the league's own relation between pre-game Elo difference and final margin (least squares through
the origin over all its games), so the adjustment speaks the sport's units:

    margin_per_game_vs_average = strength_vs_average / elo_per_margin_unit
    stat_multiplier = league_scoring / (league_scoring - margin_per_game_vs_average / 2)

The multiplier assumes half of a conference's edge is run prevention, so a hitter whose conference
allows fewer runs than average gets credit above 1.0 (an SEC .350 hitter is worth more than a
MEAC .350 hitter); a pitcher's rate stats can be divided by the same factor.
"""

from __future__ import annotations

import polars as pl

def elo_per_margin_unit(team_ratings: pl.DataFrame, games: pl.DataFrame) -> pl.DataFrame:
    """Per league: Elo points per run/point of expected margin, from home rows of team_ratings."""
    home = team_ratings.filter(pl.col("is_home")).join(
        team_ratings.filter(~pl.col("is_home")).select("game_id", away_pre="rating_pre",
                                                        away_conf_pre="conference_rating_pre"), on="game_id")
    # sorted so the sums below add in one fixed order (joins return rows in no particular order)
    joined = home.join(games.select("game_id", "home_score", "away_score"), on="game_id").sort("game_id")
    diff = (pl.col("rating_pre") + pl.col("conference_rating_pre") - pl.col("away_pre") - pl.col("away_conf_pre"))
    margin = (pl.col("home_score") - pl.col("away_score")).cast(pl.Float64)
    return joined.group_by("league").agg(
        elo_per_margin_unit=(diff * diff).sum() / (diff * margin).sum())


def conference_strength(team_ratings: pl.DataFrame, games: pl.DataFrame) -> pl.DataFrame:
    last = (team_ratings.sort("date", "game_id")
            .group_by("sport", "league", "season", "team", maintain_order=True)
            .agg(pl.col("conference").drop_nulls().last(), rating=pl.col("rating_post").last(),
                 conference_rating=pl.col("conference_rating_pre").last()))
    teams = last.filter(pl.col("conference").is_not_null()).with_columns(
        strength=pl.col("rating") + pl.col("conference_rating")).sort("league", "season", "conference", "team")
    scoring = (pl.concat([games.select("league", "season", points=pl.col("home_score")),
                          games.select("league", "season", points=pl.col("away_score"))])
               .sort("league", "season", "points")
               .group_by("league", "season", maintain_order=True)
               .agg(league_scoring=pl.col("points").cast(pl.Float64).mean()))
    table = (teams.group_by("sport", "league", "season", "conference", maintain_order=True)
             .agg(teams=pl.len().cast(pl.Int32), team_elo=pl.col("rating").mean(),
                  conference_elo=pl.col("conference_rating").mean(), strength=pl.col("strength").mean())
             .with_columns(strength_vs_average=pl.col("strength") - pl.col("strength").mean().over(
                 "league", "season"))
             .join(elo_per_margin_unit(team_ratings, games), on="league", how="left")
             .join(scoring, on=["league", "season"], how="left"))
    margin = pl.col("strength_vs_average") / pl.col("elo_per_margin_unit")
    return table.with_columns(
        expected_win_pct_vs_average=1.0 / (1.0 + 10.0 ** (-pl.col("strength_vs_average") / 400.0)),
        margin_per_game_vs_average=margin,
        stat_multiplier=pl.col("league_scoring") / (pl.col("league_scoring") - margin / 2),
    ).sort("sport", "league", "season", "strength_vs_average", descending=[False, False, False, True])
