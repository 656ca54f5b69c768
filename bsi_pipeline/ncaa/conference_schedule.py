"""Which conference a college team's schedule says it played in, where the registry may be out of date.

The D1 registries start in 2023, so 2019-2022 teams carry their 2023 conference, and realignment moved
about 8% of teams between those years (Southern Miss, Marshall and Old Dominion were Conference USA
until 2022; the OVC lost Murray State, Belmont, Austin Peay, Eastern Kentucky and Jacksonville State).
Conference play is weekend series against conference mates, so after mid-March a team plays most of its
series against its own conference: the schedule can correct the label. Only who played whom is read,
never a score, and conference membership is announced before a season, so nothing here leaks results.

The rule (:func:`schedule_conferences`), per season:

1. Series games: games from SERIES_START (month, day) on against an opponent met at least SERIES_GAMES
   times in that stretch.
2. Each team starts with its registry conference (teams without one are never relabelled, but vote once
   labelled). A team's votes are its series games per opponent conference.
3. Repeatedly, the one team with the largest margin (top votes minus votes for its current label)
   whose top conference has at least MIN_SERIES_GAMES votes, at least MIN_VOTE_RATIO times its
   current label's votes and more than half of all its series games takes that conference, until no
   team qualifies. One change at a time, so teams that moved together (the OVC group) settle instead
   of swapping back and forth.
4. A team the registry does not list (it dropped baseball or was renamed before the registries began:
   Furman, La Salle, Houston Baptist) takes its settled opponents' top conference when that holds more
   than half of at least MIN_UNLISTED_SERIES_GAMES series games, a conference schedule's worth: a non-D1
   opponent plays a series or two, never a D1 conference season.

A conference that no longer exists in the registry (the MEAC, whose baseball members scattered) cannot
be named: its teams' series are spread over the conferences the registry now gives their old mates, so
none of those wins more than half of them and the registry's label stays. Still, a schedule is
evidence, not a record, so for a listed team this is a flag for analysts (teams.schedule_conference), not
a rewrite; for an unlisted team it fills a gap (teams.conference_source = "schedule").
"""

from __future__ import annotations

from collections import Counter, defaultdict

import polars as pl

SERIES_START = (3, 15)
SERIES_GAMES = 3
MIN_SERIES_GAMES = 9
MIN_VOTE_RATIO = 2.0
MIN_UNLISTED_SERIES_GAMES = 18
MAX_CHANGES = 1000

SCHEMA = {"season": pl.Int32, "team_name": pl.String, "schedule_conference": pl.String,
          "series_games": pl.Int32, "series_games_in_conference": pl.Int32}


def schedule_conferences(games: pl.DataFrame, conference: dict[tuple[int, str], str | None]) -> pl.DataFrame:
    """One row per (season, team) that played a series game: the conference its schedule says
    (``conference`` is the registry's, keyed by (season, team name); missing or None is "unknown"),
    its series games, and how many of them were against that conference."""
    rows = []
    for (season,), part in games.group_by("season", maintain_order=True):
        opponents = _series_opponents(part)
        labels = {team: conference.get((season, team)) for team in opponents}
        settled = _relabel(opponents, labels)
        for team in sorted(opponents):
            label = settled[team] if labels[team] is not None else _unlisted_label(opponents[team], settled)
            votes = _votes(opponents[team], settled)  # never has a None key
            rows.append({"season": season, "team_name": team, "schedule_conference": label,
                         "series_games": sum(opponents[team].values()),
                         "series_games_in_conference": votes.get(label, 0)})
    return pl.DataFrame(rows, schema=SCHEMA)


def _series_opponents(games: pl.DataFrame) -> dict[str, Counter]:
    month, day = SERIES_START
    late = games.filter((pl.col("date").dt.month() > month)
                        | ((pl.col("date").dt.month() == month) & (pl.col("date").dt.day() >= day)))
    met: dict[str, Counter] = defaultdict(Counter)
    for home, away in late.select("home_team", "away_team").iter_rows():
        met[home][away] += 1
        met[away][home] += 1
    return {team: Counter({o: n for o, n in c.items() if n >= SERIES_GAMES}) for team, c in met.items()}


def _votes(opponents: Counter, labels: dict[str, str | None]) -> Counter:
    votes: Counter = Counter()
    for opponent, n in opponents.items():
        if labels.get(opponent) is not None:
            votes[labels[opponent]] += n
    return votes


def _unlisted_label(opponents: Counter, labels: dict[str, str | None]) -> str | None:
    """Rule 4: the conference a team the registry does not list played its conference season in, if clear."""
    votes, games = _votes(opponents, labels), sum(opponents.values())
    if not votes or games < MIN_UNLISTED_SERIES_GAMES:
        return None
    top, n = max(votes.items(), key=lambda kv: (kv[1], kv[0]))
    return top if n >= MIN_SERIES_GAMES and 2 * n > games else None


def _relabel(opponents: dict[str, Counter], labels: dict[str, str | None]) -> dict[str, str | None]:
    current = dict(labels)
    for _ in range(MAX_CHANGES):
        best = None
        for team in sorted(opponents):
            if labels[team] is None:
                continue
            votes = _votes(opponents[team], current)
            if not votes:
                continue
            top, n = max(votes.items(), key=lambda kv: (kv[1], kv[0]))
            own = votes.get(current[team], 0)
            if (top != current[team] and n >= MIN_SERIES_GAMES and n >= MIN_VOTE_RATIO * own
                    and 2 * n > sum(opponents[team].values())):
                if best is None or n - own > best[0]:
                    best = (n - own, team, top)
        if best is None:
            return current
        current[best[1]] = best[2]
    raise RuntimeError(f"conference relabelling did not settle after {MAX_CHANGES} changes")
