"""Starting-pitcher rest and team home-field edge for features_games, from earlier dates only.

Starters are announced before first pitch (MLB game logs name them), so how long a starter has
rested is pre-game knowledge Elo does not use: on the shared MLB seasons a starter on short rest
(4 days or fewer) loses a little more often, one back from a long layoff too. A team's home edge
(its home win rate minus its road win rate over earlier seasons, shrunk) catches parks that
help their team more than the league-wide home advantage Elo assumes.
"""

from __future__ import annotations

import polars as pl

STARTER_REST_CAP = 30          # days; also the value for a starter's first start in the data
STARTER_REST_UNKNOWN = 5.0     # a typical turn, when the starter is not known (college games)
SHORT_REST_DAYS = 4
LONG_REST_DAYS = 10
HOME_EDGE_PRIOR_GAMES = 80     # shrinkage: pseudo-games at .500 added to each of home and road


def starter_rest(starters: pl.DataFrame | None, game_dates: pl.DataFrame) -> pl.DataFrame:
    """Per game_id: starter_rest_<side>, starter_short_rest_<side>, starter_long_rest_<side> and
    has_starter_<side> for home and away; days since the pitcher's previous start on an earlier date."""
    sides = ("home", "away")
    empty = game_dates.select("game_id")
    if starters is None or starters.height == 0:
        starters = pl.DataFrame(schema={"game_id": pl.String, "home_starter": pl.String, "away_starter": pl.String})
    long = pl.concat([
        starters.select("game_id", pitcher=pl.col(f"{side}_starter").cast(pl.String), side=pl.lit(side))
        for side in sides
    ]).join(game_dates, on="game_id", how="inner").filter(pl.col("pitcher").is_not_null() & (pl.col("pitcher") != ""))
    by_day = long.select("pitcher", "date").unique().sort("pitcher", "date").with_columns(
        prev=pl.col("date").shift(1).over("pitcher"))
    long = long.join(by_day, on=["pitcher", "date"], how="left").with_columns(
        rest=(pl.col("date") - pl.col("prev")).dt.total_days().cast(pl.Float64)
        .clip(upper_bound=STARTER_REST_CAP).fill_null(float(STARTER_REST_CAP)))
    wide = long.pivot(on="side", index="game_id", values="rest", aggregate_function="first")
    return empty.join(wide, on="game_id", how="left").select(
        "game_id",
        *[pl.col(side).fill_null(STARTER_REST_UNKNOWN).alias(f"starter_rest_{side}") if side in wide.columns
          else pl.lit(STARTER_REST_UNKNOWN).alias(f"starter_rest_{side}") for side in sides],
        *[(pl.col(side).is_not_null() if side in wide.columns else pl.lit(False)).cast(pl.Float64)
          .alias(f"has_starter_{side}") for side in sides],
    ).with_columns(
        **{f"starter_short_rest_{s}": ((pl.col(f"starter_rest_{s}") <= SHORT_REST_DAYS)
                                       & (pl.col(f"has_starter_{s}") == 1.0)).cast(pl.Float64) for s in sides},
        **{f"starter_long_rest_{s}": ((pl.col(f"starter_rest_{s}") >= LONG_REST_DAYS)
                                      & (pl.col(f"has_starter_{s}") == 1.0)).cast(pl.Float64) for s in sides},
    )


def home_edge(long: pl.DataFrame) -> pl.DataFrame:
    """Per (league, team, season): home win rate minus road win rate over the team's earlier seasons,
    each shrunk toward .500 by HOME_EDGE_PRIOR_GAMES pseudo-games. `long` is one row per team-game
    with league, team, season, is_home, win."""
    per = long.group_by("league", "team", "season").agg(
        hw=pl.col("win").filter(pl.col("is_home")).sum(), hn=pl.col("is_home").sum().cast(pl.Float64),
        rw=pl.col("win").filter(~pl.col("is_home")).sum(), rn=(~pl.col("is_home")).sum().cast(pl.Float64),
    ).sort("league", "team", "season")
    earlier = {c: (pl.col(c).cum_sum() - pl.col(c)).over("league", "team") for c in ("hw", "hn", "rw", "rn")}
    prior = HOME_EDGE_PRIOR_GAMES
    return per.with_columns(**earlier).select(
        "league", "team", "season",
        home_edge=(pl.col("hw") + prior / 2) / (pl.col("hn") + prior) - (pl.col("rw") + prior / 2) / (pl.col("rn") + prior))
