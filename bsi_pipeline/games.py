"""One games table across sports: every source's games in the shared schema.

College baseball games derived from the play-by-play take their conferences from the teams
table (the D1 registry); they and the ESPN college results get a neutral flag inferred from the venue
and the home team's earlier home games (with_venue_neutral); the other sources carry their own. A game
id appears once: if two sources produced the same id, the first source in the list wins and the clash
is reported.
"""

from __future__ import annotations

import polars as pl

from bsi_pipeline.ncaa.venues import infer_neutral
from bsi_pipeline.sources.common import GAMES_SCHEMA


def pbp_games_to_shared(pbp_games: pl.DataFrame, teams: pl.DataFrame) -> pl.DataFrame:
    """NCAA play-by-play games in the shared schema, with each team's conference for that season and the
    neutral flag where the home team's home city is known."""
    conference = teams.select("season", "team_name", "conference")
    joined = (
        pbp_games
        .join(conference.rename({"team_name": "away_team", "conference": "away_conference"}),
              on=["season", "away_team"], how="left")
        .join(conference.rename({"team_name": "home_team", "conference": "home_conference"}),
              on=["season", "home_team"], how="left")
    )
    return with_venue_neutral(joined.with_columns(
        neutral=pl.lit(None, dtype=pl.Boolean), game_type=pl.lit(None, dtype=pl.String),
    ).select([pl.col(c).cast(t) for c, t in GAMES_SCHEMA.items()]))


def with_venue_neutral(games: pl.DataFrame) -> pl.DataFrame:
    """College baseball games with the neutral flag settled: a source's True stands; otherwise the flag
    inferred from the venue and the home team's earlier home games (bsi_pipeline/ncaa/venues.py) where
    it is known, else the source's value. Why: the play-by-play gives no flag, and the ESPN results say
    false for every game, the College World Series included."""
    inferred = infer_neutral(games)
    return games.with_columns(neutral=pl.when(pl.col("neutral").fill_null(False)).then(True)
                              .otherwise(pl.coalesce(inferred, pl.col("neutral"))))


def union_games(frames: list[pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(games, clashes): all frames in the shared schema, one row per game_id, sorted by sport and date."""
    aligned = [f.select([pl.col(c).cast(t) for c, t in GAMES_SCHEMA.items()]) for f in frames]
    allgames = pl.concat(aligned) if aligned else pl.DataFrame(schema=GAMES_SCHEMA)
    clashes = allgames.filter(pl.col("game_id").is_duplicated())
    games = allgames.unique("game_id", keep="first", maintain_order=True)
    return games.sort("sport", "league", "date", "game_id"), clashes
