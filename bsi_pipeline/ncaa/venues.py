"""Neutral sites for college baseball games whose source gives only a city ("Omaha, Neb.").

Why: the play-by-play names the home team (it bats last) but not whether it played at home. Early-season
tournaments, conference tournaments and the College World Series are played away from both campuses,
and treating them as home games credits a home advantage nobody had. A team's home city is learned the
way a fan knows it, from the games it hosted before: the city where it has hosted the most games, once
that is at least `min_home_games` (a team listed home at an early-season tournament away from campus
hosts far more games on campus). A game is then neutral when it was played elsewhere, including at the
listed away team's park; not neutral when played in the home team's city; unknown (null) while the home
team has no home city yet or the game has no location. Only earlier dates are used, so the flag never
depends on games that had not been played. Measured on 2021 (walk-forward, ridge_margin): a share rule
(every city with a third of a team's hosted games) scored worse than the single most-hosted city.

The source's text varies ("Austin, Texas", "Austin Texas", "Lawrence KS,"): cities are compared on the text
before the first comma, without periods and case, and a city matches when one is the other followed by
more words ("austin texas" is "austin"; "port charlotte" is not "charlotte").
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import polars as pl

from bsi_pipeline.ratings.dates import date_blocks

MIN_HOME_GAMES = 3


def city_key(location: str | None) -> str | None:
    """The city part of a location, normalized so "Starkville, Miss." and "Starkville, MS" agree."""
    if location is None:
        return None
    city = re.sub(r"[.\s]+", " ", location.split(",")[0].replace(".", "")).strip().lower()
    return city or None


def same_city(a: str, b: str) -> bool:
    """Whether two city keys name the same city, allowing a trailing state ("austin texas" = "austin")."""
    return a == b or a.startswith(b + " ") or b.startswith(a + " ")


def home_city(hosted: Counter, min_home_games: int = MIN_HOME_GAMES) -> str | None:
    """The city where a team has hosted the most games (the earliest-seen on a tie), once it has enough."""
    top = hosted.most_common(1)
    return top[0][0] if top and top[0][1] >= min_home_games else None


def infer_neutral(games: pl.DataFrame, min_home_games: int = MIN_HOME_GAMES) -> pl.Series:
    """Per row of games (game_id, date, home_team, location; any order): True/False/null neutral flag,
    from each home team's home city as established by the games it hosted on earlier dates."""
    order = games.with_row_index("_row").sort("date", "game_id")
    rows, homes = order["_row"].to_list(), order["home_team"].to_list()
    cities = [city_key(location) for location in order["location"].to_list()]
    hosted: dict[str, Counter] = defaultdict(Counter)
    flags: list[bool | None] = [None] * games.height
    for start, end in date_blocks(order["date"].to_list()):
        for i in range(start, end):
            home_at = home_city(hosted[homes[i]], min_home_games) if cities[i] is not None else None
            if home_at is not None:
                flags[rows[i]] = not same_city(cities[i], home_at)
        for i in range(start, end):  # the date is over: its games now count
            if cities[i] is not None:
                hosted[homes[i]][cities[i]] += 1
    return pl.Series("neutral", flags, dtype=pl.Boolean)
