"""Elo trajectories: how the best and worst teams of a league's latest season got there, game by game.

Why a picture: a rating table says where a team ended; the path (a hot April, a collapse in May, the
between-season reversion at the first game) is what makes the number believable, or shows that it is not.
The points are `team_ratings` rows, so each one is the rating after a game, known at that time.
"""

from __future__ import annotations

import polars as pl

from bsi_pipeline.metrics import figure_png, new_figure

MIN_GAMES_SHARE = 0.5  # a team needs half the median team's games that season to be drawn
TOP, BOTTOM = 3, 3


def trajectory_teams(team_ratings: pl.DataFrame, league: str, n_top: int = TOP, n_bottom: int = BOTTOM) -> pl.DataFrame:
    """The teams drawn for `league`: in its latest season, the n_top highest and n_bottom lowest final
    ratings among teams with at least MIN_GAMES_SHARE of the median games (a team with three games has
    a final rating that says little). Columns: season, team, games, final_rating, rank (1 = best)."""
    rows = team_ratings.filter(pl.col("league") == league)
    if rows.height == 0:
        return pl.DataFrame(schema={"season": pl.Int32, "team": pl.String, "games": pl.UInt32,
                                    "final_rating": pl.Float64, "rank": pl.UInt32})
    season = rows["season"].max()
    finals = (rows.filter(pl.col("season") == season).sort("date", "game_id")
              .group_by("team").agg(games=pl.len(), final_rating=pl.col("rating_post").last()))
    enough = finals.filter(pl.col("games") >= MIN_GAMES_SHARE * finals["games"].median())
    ranked = (enough.sort("final_rating", "team", descending=[True, False])
              .with_row_index("rank", offset=1).with_columns(season=pl.lit(season, dtype=pl.Int32)))
    n = ranked.height
    picked = ranked.filter((pl.col("rank") <= n_top) | (pl.col("rank") > max(n - n_bottom, n_top)))
    return picked.select("season", "team", "games", "final_rating", "rank")


def elo_trajectory_png(team_ratings: pl.DataFrame, league: str, dpi: int = 80) -> bytes:
    """PNG: rating after each game of the latest season for the teams trajectory_teams picks, with the
    league's mean rating as a dashed line. A bare matplotlib Figure (no pyplot: safe in threads)."""

    teams = trajectory_teams(team_ratings, league)
    if teams.height == 0:
        raise ValueError(f"team_ratings has no {league!r} rows to draw")
    season = teams["season"][0]
    rows = (team_ratings.filter((pl.col("league") == league) & (pl.col("season") == season))
            .sort("date", "game_id"))
    fig = new_figure((7.0, 4.2), dpi)
    ax = fig.add_subplot()
    for team, final, rank in teams.select("team", "final_rating", "rank").iter_rows():
        path = rows.filter(pl.col("team") == team)
        ax.plot(path["date"].to_list(), path["rating_post"].to_list(), linewidth=1.2,
                linestyle="-" if rank <= TOP else ":", label=f"{rank}. {team} ({final:.0f})")
    mean = rows.group_by("date").agg(pl.col("rating_post").mean()).sort("date")
    ax.plot(mean["date"].to_list(), mean["rating_post"].to_list(), color="0.5", linestyle="--", linewidth=1,
            label="mean of the day's games")
    ax.set_title(f"{league} {season}: Elo after each game, best and worst final ratings", fontsize=10)
    ax.set_ylabel("elo_fit rating")
    ax.grid(True, linewidth=0.4, alpha=0.5)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, frameon=False)
    ax.tick_params(labelsize=7)
    fig.autofmt_xdate()
    return figure_png(fig, dpi, tight=True)
