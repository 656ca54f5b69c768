"""Margin ratings refit every game day: ridge regression of (capped) home margin on team and conference.

    margin = home_advantage * (not neutral) + team[home] - team[away] + conf[home] - conf[away] + noise

Before each date the ratings are solved from all earlier games only: this season's at weight 1, last
season's at `previous_weight`, the one before at its square, and so on (by calendar season, so data
that skips seasons weighs a 2021 game at the cube when forecasting 2024). Team and conference ratings
are shrunk toward 0 (`team_penalty`, `conference_penalty`), so a team with few games leans on its
conference. Unlike Elo, every day's ratings use every earlier result at once, which lets schedule
strength propagate through the whole league. The normal equations are kept as running sums (each
game adds a few entries), so a refit costs one small linear solve per date.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize_scalar


NO_CONFERENCE = "(no conference)"  # teams without one (e.g. non-D1 opponents) share one effect


@dataclass(frozen=True)
class RidgeSettings:
    team_penalty: float = 10.0
    conference_penalty: float = 5.0
    previous_weight: float = 0.5
    margin_cap: float = 10.0
    first_season_slope: float = 0.4  # logistic slope per unit of margin before any season can fit it


@dataclass(frozen=True)
class RidgeReplay:
    """Per game, in the order given. A side's rating is its team effect plus its conference's effect: runs
    (points) per game better than an average team on a neutral field. `*_pre` come from the solve before
    the game's date; `*_post` from the solve after it (the season's last date: the season-end solve, before
    any carry-over), so a team's last `*_post` of a season is its end-of-season rating."""

    margins: np.ndarray
    home_pre: np.ndarray
    away_pre: np.ndarray
    home_post: np.ndarray
    away_post: np.ndarray


def ridge_games(rows: list[dict], aliases: dict[str, str]) -> list[dict]:
    """Games in the shared schema (dicts) as :func:`replay_ridge` takes them, team names through ``aliases``
    (one team across renames and moves)."""
    return [{"season": r["season"], "date": r["date"], "home": aliases.get(r["home_team"], r["home_team"]),
             "away": aliases.get(r["away_team"], r["away_team"]), "home_score": r["home_score"],
             "away_score": r["away_score"], "neutral": bool(r["neutral"]), "home_conference": r["home_conference"],
             "away_conference": r["away_conference"]} for r in rows]


def replay_ridge(games: list[dict], settings: RidgeSettings) -> RidgeReplay:
    """Predicted home margins and both sides' ratings for each game (dicts with season, date, home, away,
    home_score, away_score, neutral, home_conference, away_conference), in the order given (sorted by date)."""
    teams = sorted({g["home"] for g in games} | {g["away"] for g in games})
    confs = sorted({c or NO_CONFERENCE for g in games for c in (g["home_conference"], g["away_conference"])})
    t_index = {t: i for i, t in enumerate(teams)}
    c_index = {c: len(teams) + i for i, c in enumerate(confs)}
    size = len(teams) + len(confs) + 1
    hfa = size - 1
    penalty = np.diag(np.concatenate([np.full(len(teams), settings.team_penalty),
                                      np.full(len(confs), settings.conference_penalty), [1e-6]]))
    a_now, b_now = np.zeros((size, size)), np.zeros(size)
    a_old, b_old = np.zeros((size, size)), np.zeros(size)
    n = len(games)
    out = np.zeros(n)
    sides = np.array([[t_index[g[team]], c_index[g[f"{team}_conference"] or NO_CONFERENCE]]
                      for g in games for team in ("home", "away")], dtype=np.int64).reshape(n, 2, 2)
    pre, post = np.zeros((n, 2)), np.zeros((n, 2))
    season, day, beta, day_start = None, None, np.zeros(size), 0

    def solve() -> np.ndarray:
        # symmetric positive definite (the penalty is positive): Cholesky, a third faster than LU
        return cho_solve(cho_factor(a_now + a_old + penalty, check_finite=False), b_now + b_old, check_finite=False)

    for i, g in enumerate(games):
        if g["season"] != season:
            if season is not None:
                post[day_start:i] = _side_ratings(solve(), sides[day_start:i])
                keep = settings.previous_weight ** max(1, g["season"] - season)
                a_old = keep * (a_old + a_now)
                b_old = keep * (b_old + b_now)
                a_now, b_now = np.zeros((size, size)), np.zeros(size)
            season, day, day_start = g["season"], None, i
        if g["date"] != day:
            beta = solve()
            post[day_start:i] = _side_ratings(beta, sides[day_start:i])
            day, day_start = g["date"], i
        x = _entries(g, t_index, c_index, hfa)
        out[i] = sum(sign * beta[j] for j, sign in x)
        pre[i] = _side_ratings(beta, sides[i])
        margin = max(-settings.margin_cap, min(settings.margin_cap, g["home_score"] - g["away_score"]))
        for j, sj in x:
            b_now[j] += sj * margin
            for k, sk in x:
                a_now[j, k] += sj * sk
    if n:
        post[day_start:] = _side_ratings(solve(), sides[day_start:])
    return RidgeReplay(out, pre[:, 0], pre[:, 1], post[:, 0], post[:, 1])


def _side_ratings(beta: np.ndarray, sides: np.ndarray) -> np.ndarray:
    """Team effect plus conference effect for (..., side, [team column, conference column]) indices."""
    return beta[sides[..., 0]] + beta[sides[..., 1]]


def _entries(g: dict, t_index: dict, c_index: dict, hfa: int) -> list[tuple[int, float]]:
    """The game's row of the design matrix as (column, value) pairs."""
    x = {t_index[g["home"]]: 1.0, t_index[g["away"]]: -1.0}
    hc, ac = g["home_conference"] or NO_CONFERENCE, g["away_conference"] or NO_CONFERENCE
    if hc != ac:
        x[c_index[hc]] = 1.0
        x[c_index[ac]] = -1.0
    if not g["neutral"]:
        x[hfa] = 1.0
    return list(x.items())


def probability_scale(margins: np.ndarray, outcomes: np.ndarray) -> float:
    """The logistic slope s for P(home win) = 1 / (1 + exp(-s * margin)) with the lowest Brier score.

    Searched on a continuous range, not a fixed grid: a run in baseball is worth about 0.4, a point in
    football about 0.1, so a step that suits one sport is too coarse for the other."""
    result = minimize_scalar(lambda s: float(np.mean((1.0 / (1.0 + np.exp(-s * margins)) - outcomes) ** 2)),
                             bounds=(0.001, 3.0), method="bounded", options={"xatol": 1e-5})
    return float(result.x)
