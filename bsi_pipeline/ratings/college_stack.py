"""College baseball `ridge_stack` system: the ridge margin rating plus today's starting pitchers and
whether it is a conference game, combined by a logistic regression refitted before every date.

Why: ridge_margin knows how good each team has been, not who pitches today; and a conference game
(teams that know each other, often a weekend series) is closer than the same rating gap outside the
conference. Features, home minus away where it applies, all from earlier dates only:
- r: the ridge_margin predicted home margin (bsi_pipeline/ratings/margin_ridge.py).
- spd: the starters' (K - BB - HBP) per batter faced in their earlier starts for the same team (last
  season's starts at previous_weight, the one before at its square ...), each shrunk toward league_kbb
  with starter_prior_bf batters; 0 unless both starters are named. The starter is the pitcher of the
  team's first play line, taken as announced before the game (as probable starters are).
- same_conference and same_conference x r.
The regression (standardized features, L2 with C) is refitted before each date on every decided game
of earlier dates; until min_train_games exist it falls back to logistic(fallback_slope x r).
Measured and left out (no gain on 2019-2021): midweek vs weekend games, doubleheaders, their
interactions with r. Measured on 2021 and left out (Brier 0.21444 with this set before starters were
keyed across name forms, 0.21440 since; each added alone): the starting lineup's earlier wOBA
(0.21449-0.21457), the away team's travel distance and the parks' elevation difference (0.21445-0.21449),
expected runs from offense/defense run ratings, i.e. the run environment (0.21441-0.21449), in-season
decay of older games in the ridge (best 0.21433), a second ridge on the win/loss sign (0.21427): the last
two are gains too small to trust when chosen on the season they are scored on. Then, against 0.21444:
rating uncertainty (r over the square root of games played, 0.21444), a per-team home edge from earlier
residuals (0.21439-0.21440), curvature in r (r^3, r|r|, tanh: 0.21443).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression

from bsi_pipeline.ncaa.player_names import with_player_key
from bsi_pipeline.ratings.dates import date_blocks, lined_up

FEATURES = ("r", "spd", "same_conference", "same_conference_r")


@dataclass(frozen=True)
class StackSettings:
    starter_prior_bf: float = 80.0    # batters faced at the league rate added to a starter's record
    league_kbb: float = 0.105         # D1 starters' (K - BB - HBP) per batter faced, 2019
    previous_weight: float = 0.5      # weight of last season's starts (squared two seasons back ...)
    c: float = 1.0                    # inverse L2 strength of the stacking regression
    min_train_games: int = 1000       # decided earlier games needed before the regression takes over
    fallback_slope: float = 0.4       # logistic slope on r until then


def starter_kbb_difference(games: pl.DataFrame, starts: pl.DataFrame, settings: StackSettings) -> np.ndarray:
    """Per game (games sorted by date: game_id, season, date, home_team, away_team): home starter's shrunk
    K-BB rate minus the away starter's, from earlier dates only; 0 unless both starters are known.

    starts: game_id, team, starter, BF, K, BB, HBP (bsi_pipeline.ncaa.box_scores.starter_lines). A starter's
    record gathers the name forms scorers write for him (bsi_pipeline.ncaa.player_names)."""
    n = games.height
    starts = with_player_key(starts, player="starter", key="starter_key")
    sides = [lined_up(games.select("game_id", "season", "date", team=f"{side}_team"), starts, ["game_id", "team"],
                      "starter lines") for side in ("home", "away")]
    totals: dict[tuple[str, str], tuple[int, np.ndarray]] = {}  # (team, starter) -> (season, [BF, K-BB-HBP])
    rates = np.zeros((2, n))
    known = np.zeros((2, n), dtype=bool)
    keys = [list(zip(s["team"].to_list(), s["starter_key"].to_list())) for s in sides]
    lines = [np.nan_to_num(np.column_stack([s["BF"].cast(pl.Float64).to_numpy(),
                                            (s["K"] - s["BB"] - s["HBP"]).cast(pl.Float64).to_numpy()]))
             for s in sides]
    seasons, dates = games["season"].to_list(), games["date"].to_list()
    w, prior = settings.previous_weight, settings.starter_prior_bf
    for start, end in date_blocks(dates):
        for g in range(start, end):
            for side in (0, 1):
                key = keys[side][g]
                if key[1] is None:
                    continue
                known[side, g] = True
                season, (bf, kbb) = totals.get(key, (seasons[g], np.zeros(2)))
                scale = w ** (seasons[g] - season)
                rates[side, g] = (kbb * scale + settings.league_kbb * prior) / (bf * scale + prior)
        for g in range(start, end):  # the date is over: add its starts
            for side in (0, 1):
                key = keys[side][g]
                if key[1] is None:
                    continue
                season, total = totals.get(key, (seasons[g], np.zeros(2)))
                totals[key] = (seasons[g], total * w ** (seasons[g] - season) + lines[side][g])
    return np.where(known[0] & known[1], rates[0] - rates[1], 0.0)


def design(games: pl.DataFrame, ridge_margin: np.ndarray, spd: np.ndarray) -> np.ndarray:
    same = np.array([h is not None and h == a for h, a in zip(games["home_conference"].to_list(),
                                                               games["away_conference"].to_list())], dtype=float)
    return np.column_stack([ridge_margin, spd, same, same * ridge_margin])


def stacked_probabilities(x: np.ndarray, outcome: np.ndarray, decided: np.ndarray, dates: list,
                          settings: StackSettings) -> np.ndarray:
    """P(home win) per game (rows sorted by date): the regression fitted on decided games of earlier dates."""
    p = 1.0 / (1.0 + np.exp(-settings.fallback_slope * x[:, 0]))
    for start, end in date_blocks(dates):
        train = decided[:start]
        if train.sum() >= settings.min_train_games and len(set(outcome[:start][train].tolist())) == 2:
            xt, yt = x[:start][train], outcome[:start][train]
            mean, sd = xt.mean(axis=0), xt.std(axis=0) + 1e-9
            model = LogisticRegression(C=settings.c, max_iter=1000).fit((xt - mean) / sd, yt)
            p[start:end] = model.predict_proba((x[start:end] - mean) / sd)[:, 1]
    return p
