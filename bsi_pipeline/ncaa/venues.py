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

The source's text varies ("Austin, Texas", "Austin Texas", "Lawrence KS,", "Winston-Salem"): cities are
compared on the text before the first comma, without periods, hyphens and case, and a city matches when one
is the other followed by more words ("austin texas" is "austin"; "port charlotte" is not "charlotte"). The
source is typed by hand, so a city one keystroke from the home team's own city ("Portles", "Nashille",
"Nacodgoches") is that city: one letter added, dropped, changed or two swapped, the first letter the same
and both at least `TYPO_MIN_LETTERS` long. On the shared 2019-2021 play-by-play this turned 33 home games
from neutral to home, every one a misspelling; real towns one letter apart (Norman and Normal, Stanford and
Sanford) are only confused when a team is listed home in the other one.

The two games of a doubleheader (same date, same listed home and away teams) are played at one park: when
one of them is in the home team's city, so is the other, whatever the other's location says. Why: a scorer
writes the park ("Thomas Stadium", "UIW") or a typo for one game and the city for the other, and two games
of one day read as one home and one neutral.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import polars as pl

from bsi_pipeline.ratings.dates import date_blocks

MIN_HOME_GAMES = 3
TYPO_MIN_LETTERS = 5


def city_key(location: str | None) -> str | None:
    """The city part of a location, normalized so "Starkville, Miss." and "Starkville, MS" agree."""
    if location is None:
        return None
    city = re.sub(r"[\s-]+", " ", location.split(",")[0].replace(".", "")).strip().lower()
    return city or None


def same_city(a: str, b: str) -> bool:
    """Whether two city keys name the same city, allowing a trailing state ("austin texas" = "austin")
    and one typing slip (:func:`one_slip_apart`)."""
    return a == b or a.startswith(b + " ") or b.startswith(a + " ") or one_slip_apart(a, b)


def one_slip_apart(a: str, b: str) -> bool:
    """One letter added, dropped, changed, or two neighbours swapped, in keys of at least TYPO_MIN_LETTERS
    letters that start alike: "portles" and "portales" are one slip apart, "lorman" and "norman" are not
    (first letter), nor "alba" and "albany" (too short). Real towns pass too ("macon" and "mason"): it is
    only ever asked of a game's city against its home team's own city."""
    if a == b or min(len(a), len(b)) < TYPO_MIN_LETTERS or a[0] != b[0] or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = sorted((a, b), key=len)
    i = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return short[i:] == long_[i + 1:]


def home_city(hosted: Counter, min_home_games: int = MIN_HOME_GAMES) -> str | None:
    """The city where a team has hosted the most games (the earliest-seen on a tie), once it has enough."""
    top = hosted.most_common(1)
    return top[0][0] if top and top[0][1] >= min_home_games else None


def infer_neutral(games: pl.DataFrame, min_home_games: int = MIN_HOME_GAMES) -> pl.Series:
    """Per row of games (game_id, date, home_team, away_team, location; any order): True/False/null neutral
    flag, from each home team's home city as established by the games it hosted on earlier dates; a game
    whose doubleheader partner is in the home team's city is not neutral either."""
    order = games.with_row_index("_row").sort("date", "game_id")
    rows, homes, aways = order["_row"].to_list(), order["home_team"].to_list(), order["away_team"].to_list()
    cities = [city_key(location) for location in order["location"].to_list()]
    hosted: dict[str, Counter] = defaultdict(Counter)
    flags: list[bool | None] = [None] * games.height
    for start, end in date_blocks(order["date"].to_list()):
        at_home = set()
        for i in range(start, end):
            home_at = home_city(hosted[homes[i]], min_home_games) if cities[i] is not None else None
            if home_at is not None:
                flags[rows[i]] = not same_city(cities[i], home_at)
                if not flags[rows[i]]:
                    at_home.add((homes[i], aways[i]))
        for i in range(start, end):
            if (homes[i], aways[i]) in at_home:
                flags[rows[i]] = False
            if cities[i] is not None:  # the date is over: its games now count
                hosted[homes[i]][cities[i]] += 1
    return pl.Series("neutral", flags, dtype=pl.Boolean)
