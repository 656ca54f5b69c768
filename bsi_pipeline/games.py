"""One games table across sports: every source's games in the shared schema.

College baseball games derived from the play-by-play take their conferences from the teams
table (the D1 registry); they and the ESPN college results get a neutral flag inferred from the venue
and the home team's earlier home games (with_venue_neutral); the other sources carry their own. A game
appears once: where two sources give the same game id, or the same game (date, teams, score), the first
source in the list wins and the other row goes to `games_excluded` with the reason (union_games).
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


EXCLUDED_SCHEMA = {**GAMES_SCHEMA, "reason": pl.String, "kept_game_id": pl.String}
_SAME_GAME = ["sport", "league", "date", "team_lo", "team_hi", "score_lo", "score_hi"]


def union_games(frames: list[pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(games, excluded): all frames in the shared schema, one row per game, sorted by sport and date.

    A frame earlier in the list wins. A later frame's row is excluded, with the reason and the kept row's
    id, when it has a game id already taken, or when it is a game an earlier frame already has (same
    league, date, teams and score, either side home: sources disagree on who is home at a neutral site).
    Why: two sources of one league (play-by-play and ESPN results for the same college season) must not
    count a game twice, and nothing they drop may go unrecorded. Repeats within one frame are not matched
    this way: a doubleheader can have two games with one score, and each reader already refuses repeated
    ids. Where an earlier frame has n games with a key, the first n of a later frame's are excluded."""
    aligned = [f.select([pl.col(c).cast(t) for c, t in GAMES_SCHEMA.items()]).with_columns(_frame=pl.lit(i))
               for i, f in enumerate(frames)]
    allgames = pl.concat(aligned) if aligned else pl.DataFrame(schema={**GAMES_SCHEMA, "_frame": pl.Int32})
    first_id = pl.col("game_id").is_first_distinct()
    kept_ids = allgames.filter(first_id)
    id_taken = allgames.filter(~first_id).join(
        kept_ids.select("game_id", kept_source="source"), on="game_id", how="left",
    ).with_columns(reason=pl.format("game id already read from source {}", pl.col("kept_source")),
                   kept_game_id=pl.col("game_id"))
    keyed = kept_ids.with_columns(
        team_lo=pl.min_horizontal("home_team", "away_team"), team_hi=pl.max_horizontal("home_team", "away_team"),
        score_lo=pl.when(pl.col("home_team") <= pl.col("away_team")).then("home_score").otherwise("away_score"),
        score_hi=pl.when(pl.col("home_team") <= pl.col("away_team")).then("away_score").otherwise("home_score"),
    ).with_columns(_nth=pl.int_range(pl.len()).over([*_SAME_GAME, "_frame"]),
                   _owner=pl.col("_frame").min().over(_SAME_GAME))
    owners = keyed.filter(pl.col("_frame") == pl.col("_owner")).select(
        *_SAME_GAME, "_nth", kept_game_id="game_id", kept_source="source")
    same_game = keyed.filter(pl.col("_frame") != pl.col("_owner")).join(
        owners, on=[*_SAME_GAME, "_nth"], how="inner",
    ).with_columns(reason=pl.format("the same game (date, teams and score) as {} from source {}",
                                    pl.col("kept_game_id"), pl.col("kept_source")))
    excluded = pl.concat([f.select(list(EXCLUDED_SCHEMA)) for f in (id_taken, same_game)]).cast(EXCLUDED_SCHEMA)
    games = kept_ids.join(same_game.select("game_id"), on="game_id", how="anti").select(list(GAMES_SCHEMA))
    return games.sort("sport", "league", "date", "game_id"), excluded.sort("sport", "league", "date", "game_id")
