"""Elo ratings as one sequential replay over games in date order.

A team's strength is its own rating plus, optionally, its conference's rating (a two-level Elo):
conference ratings move only in games between conferences, so a whole conference learns from its
members' non-conference results. That lets a college team's early-season rating borrow strength
from its conference instead of starting every team at the mean.

Every probability is computed before the game from ratings built only from earlier dates, so the
replay is walk-forward by construction: games on the same date (a doubleheader, a tournament day)
all start from the ratings the date began with, and their changes are applied together once the
date is over, because the order of same-day games is not known before the first pitch. Settings
are data (EloSettings), one per sport.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class EloSettings:
    k: float = 20.0
    home_advantage: float = 0.0          # Elo points for the home team; none on a neutral site
    mov: str = "none"                    # margin-of-victory multiplier: none, log, fte (see mov_multiplier)
    reversion: float = 0.0               # share of the way back to the mean per season boundary crossed
    mean: float = 1500.0
    new_team: float = 1500.0             # first rating of a team never seen before
    new_team_unaffiliated: float | None = None  # first rating of a team with no conference (e.g. non-D1)
    conference_k: float = 0.0            # 0 = no conference layer
    conference_reversion: float = 0.0
    early_k_multiplier: float = 1.0      # K for a team's first `early_games` games of a season
    early_games: int = 0

    def with_(self, **changes) -> "EloSettings":
        return replace(self, **changes)


def win_probability(rating_diff: float) -> float:
    """P(win) for a side `rating_diff` Elo points better."""
    return 1.0 / (1.0 + 10.0 ** (-rating_diff / 400.0))


def mov_multiplier(kind: str, margin: int, winner_lead: float) -> float:
    """How much more a win by `margin` counts than a close one.

    log: ln(|margin| + 1). fte: FiveThirtyEight's NFL form, ln(|margin| + 1) x 2.2 / (0.001 x the
    winner's pre-game Elo lead + 2.2), which damps the autocorrelation of favourites winning big.
    A tie counts as a margin of 1 (a tie's surprise is never larger than a one-run win's would be),
    and under fte without the damping (there is no winner): ln 2 x 2.2, as in FiveThirtyEight's code
    (nfl-elo-game forecast.py, `math.log(max(pd, 1) + 1.0) * (2.2 / 1.0)` when the result is 0.5).
    """
    if kind == "none":
        return 1.0
    base = math.log(max(abs(margin), 1) + 1.0)
    if kind == "log":
        return base
    if kind == "fte":
        return base * 2.2 / (1.0 if margin == 0 else winner_lead * 0.001 + 2.2)
    raise ValueError(f"unknown margin-of-victory multiplier {kind!r} (none, log, fte)")


@dataclass
class EloGame:
    season: int
    home: str
    away: str
    home_score: int
    away_score: int
    neutral: bool = False
    home_conference: str | None = None
    away_conference: str | None = None
    adjustment: float = 0.0  # extra Elo points for the home side known before the game (e.g. pitchers)
    day: object = None       # the game's date: same-day games do not see each other (None = its own day)


@dataclass
class EloReplay:
    """Per game, in input order: ratings when its date began (pre), ratings once its date's games are
    all applied (post; equal to the next date's pre) and the pre-game home-win probability. The
    conference ratings likewise (0 without a conference layer or without a conference)."""

    home_pre: list[float] = field(default_factory=list)
    away_pre: list[float] = field(default_factory=list)
    home_post: list[float] = field(default_factory=list)
    away_post: list[float] = field(default_factory=list)
    home_conf_pre: list[float] = field(default_factory=list)
    away_conf_pre: list[float] = field(default_factory=list)
    home_conf_post: list[float] = field(default_factory=list)
    away_conf_post: list[float] = field(default_factory=list)
    p_home: list[float] = field(default_factory=list)
    ratings: dict[str, float] = field(default_factory=dict)
    conference_ratings: dict[str, float] = field(default_factory=dict)


def replay(games: list[EloGame], settings: EloSettings, adjustments: list[float] | None = None) -> EloReplay:
    """Replay games in the order given (sort by date first); ties count as half a win.

    adjustments: optional Elo points for the home side per game, used instead of each game's own
    `adjustment` (lets a caller try several scalings without rebuilding the games).
    """
    s = settings
    out = EloReplay()
    rating, conf = out.ratings, out.conference_ratings
    games_in_season: dict[str, int] = {}
    use_conf = s.conference_k > 0
    current_season, current_day = None, object()
    day_games: list[int] = []               # indexes of the current date's games
    deltas: dict[str, float] = {}           # the current date's rating changes, applied when it ends
    conf_deltas: dict[str, float] = {}

    def close_day() -> None:
        for team, d in deltas.items():
            rating[team] += d
        for name, d in conf_deltas.items():
            conf[name] = conf.get(name, 0.0) + d
        for j in day_games:
            out.home_post[j] = rating[games[j].home]
            out.away_post[j] = rating[games[j].away]
        if use_conf:  # without a layer every conference rating stays 0, as the pre-game values appended
            for j in day_games:  # conf never has a key for a missing conference (None or "")
                out.home_conf_post[j] = conf.get(games[j].home_conference, 0.0)
                out.away_conf_post[j] = conf.get(games[j].away_conference, 0.0)
        day_games.clear()
        deltas.clear()
        conf_deltas.clear()

    for i, g in enumerate(games):
        if g.day is None or g.day != current_day or g.season != current_season:
            close_day()
            current_day = g.day
        if g.season != current_season:
            if current_season is not None:
                _revert(rating, conf, s, g.season - current_season)
            current_season = g.season
            games_in_season.clear()
        for team, team_conf in ((g.home, g.home_conference), (g.away, g.away_conference)):
            if team not in rating:
                rating[team] = s.new_team_unaffiliated if (
                    team_conf is None and s.new_team_unaffiliated is not None) else s.new_team
        h_conf = conf.get(g.home_conference, 0.0) if use_conf and g.home_conference else 0.0
        a_conf = conf.get(g.away_conference, 0.0) if use_conf and g.away_conference else 0.0
        h, a = rating[g.home], rating[g.away]
        extra = adjustments[i] if adjustments is not None else g.adjustment
        diff = (h + h_conf) - (a + a_conf) + (0.0 if g.neutral else s.home_advantage) + extra
        p = win_probability(diff)
        result = 1.0 if g.home_score > g.away_score else 0.0 if g.home_score < g.away_score else 0.5
        margin = g.home_score - g.away_score
        mult = mov_multiplier(s.mov, margin, diff if margin > 0 else -diff)
        k_home = s.k * (s.early_k_multiplier if games_in_season.get(g.home, 0) < s.early_games else 1.0)
        k_away = s.k * (s.early_k_multiplier if games_in_season.get(g.away, 0) < s.early_games else 1.0)
        surprise = result - p
        deltas[g.home] = deltas.get(g.home, 0.0) + k_home * mult * surprise
        deltas[g.away] = deltas.get(g.away, 0.0) - k_away * mult * surprise
        if use_conf and g.home_conference and g.away_conference and g.home_conference != g.away_conference:
            conf_deltas[g.home_conference] = conf_deltas.get(g.home_conference, 0.0) + s.conference_k * mult * surprise
            conf_deltas[g.away_conference] = conf_deltas.get(g.away_conference, 0.0) - s.conference_k * mult * surprise
        games_in_season[g.home] = games_in_season.get(g.home, 0) + 1
        games_in_season[g.away] = games_in_season.get(g.away, 0) + 1
        out.home_pre.append(h)
        out.away_pre.append(a)
        out.home_conf_pre.append(h_conf)
        out.away_conf_pre.append(a_conf)
        out.home_post.append(h)  # filled in when the date closes
        out.away_post.append(a)
        out.home_conf_post.append(h_conf)
        out.away_conf_post.append(a_conf)
        out.p_home.append(p)
        day_games.append(i)
    close_day()
    return out


def _revert(rating: dict[str, float], conf: dict[str, float], s: EloSettings, seasons: int) -> None:
    """Move ratings toward the mean once per season boundary crossed: a league whose data skips
    seasons (2021 then 2024) must not carry three-year-old ratings as if they were last year's."""
    seasons = max(1, seasons)
    if s.reversion:
        keep = (1.0 - s.reversion) ** seasons
        for team, r in rating.items():
            rating[team] = s.mean + keep * (r - s.mean)
    if s.conference_reversion:
        keep = (1.0 - s.conference_reversion) ** seasons
        for name, r in conf.items():
            conf[name] = r * keep
