"""MLB starting-pitcher ratings from the game logs, built only from each pitcher's earlier starts.

The game logs name the starters but carry no per-pitcher line, so a starter's rating is his team's
runs allowed in his starts (exponentially weighted), relative to the same team's runs allowed in all
its games, shrunk toward zero until he has a record: n / (n + shrink_starts) of the difference.
Negative = he allows fewer runs than his team usually does. The home side's Elo adjustment is
elo_per_run x (away starter's rating - home starter's rating).
"""

from __future__ import annotations

from dataclasses import dataclass

LEAGUE_RUNS_PER_GAME = 4.6  # prior for a team or pitcher with no history


@dataclass(frozen=True)
class PitcherSettings:
    alpha: float = 0.05
    team_alpha: float = 0.03
    shrink_starts: float = 30.0


def starter_differences(games: list[dict], settings: PitcherSettings) -> list[float]:
    """Per game (in order): away starter's rating minus home starter's rating, in runs per game.

    games: dicts with date, home, away, home_score, away_score, home_starter, away_starter (ids or None),
    sorted by date. Positive means the home side has the better starter. Uses only earlier dates: a
    date's results are folded in once the date is over (doubleheader games do not see each other).
    """
    pitcher_ra: dict[str, float] = {}
    pitcher_starts: dict[str, int] = {}
    team_ra: dict[str, float] = {}
    out: list[float] = []
    a, ta, shrink = settings.alpha, settings.team_alpha, settings.shrink_starts
    pending: list[tuple[str, str | None, float]] = []   # (team, starter, runs allowed) of the current date
    day = object()

    def fold_in_day() -> None:
        for team, starter, allowed in pending:
            team_ra[team] = team_ra.get(team, LEAGUE_RUNS_PER_GAME) * (1 - ta) + ta * allowed
            if starter:
                previous = pitcher_ra.get(starter, team_ra[team])
                pitcher_ra[starter] = previous * (1 - a) + a * allowed
                pitcher_starts[starter] = pitcher_starts.get(starter, 0) + 1
        pending.clear()

    for g in games:
        if g.get("date") is None or g["date"] != day:
            fold_in_day()
            day = g.get("date")
        ratings = []
        for team, starter in ((g["home"], g["home_starter"]), (g["away"], g["away_starter"])):
            n = pitcher_starts.get(starter, 0) if starter else 0
            if n == 0:
                ratings.append(0.0)
            else:
                ratings.append((pitcher_ra[starter] - team_ra.get(team, LEAGUE_RUNS_PER_GAME)) * n / (n + shrink))
        out.append(ratings[1] - ratings[0])
        pending.append((g["home"], g["home_starter"], g["away_score"]))
        pending.append((g["away"], g["away_starter"], g["home_score"]))
    return out
