"""MLB `components` system: Elo plus what the game logs say about each side, combined by a logistic
regression refitted before every season on earlier seasons only.

Why: a team's Elo knows its wins, not who pitches today. The game logs carry each team's batting line,
the line its pitchers allowed, the starting pitchers, how many pitchers were used and the starting
lineups, so each side gets (home minus away enters the regression):
- elo: the plain Elo rating before the date (points / 400).
- off_bsr / def_bsr: BaseRuns per game the team scored / allowed, from exponentially weighted batting
  lines (team_decay per game, team_season_keep at a new season), shrunk toward the league by
  team_shrink_games pseudo-games, relative to the league.
- sp_k / sp_bb / sp_hr: the starter's strikeout, walk + hit-by-pitch and home-run rates per PA in his
  earlier starts (the opponents' line in games he started, weighted sp_decay per start, sp_season_keep
  between seasons, career-long), each shrunk toward the league by its own PA count (sp_shrink_pa),
  relative to the league and scaled to pa_per_game. Strikeouts are the strongest single signal.
- sp_n: log(1 + his weighted starts): an experienced starter is a better bet than a call-up.
- sp_depth: pitchers his team used in his starts, shrunk toward depth_prior (an early hook means a weak
  starter or a taxed bullpen).
- lineup: the mean share of the team's recent starts held by today's lineup, pitcher's slot excluded
  (regulars vs. a rest-day lineup).

Known before the game and used for it: its date, teams, starting pitchers and starting lineups. Results
(scores, lines) are folded in only once their whole date is over, so doubleheader games do not see each
other. Season s is forecast with coefficients fitted on decided games of seasons before s (from
fit_from_season on). A season with no earlier season to fit on (the first seasons of the data, while
the features warm up) uses the settings' prior_coefficients when they were fitted on game logs before it
(prior_fitted_through), else the plain Elo forecast: coefficients fitted on later game logs would be
hindsight for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression

from bsi_pipeline.ratings.dates import date_blocks, lined_up

FEATURES = ("elo", "off_bsr", "def_bsr", "sp_k", "sp_bb", "sp_hr", "sp_n", "sp_depth", "lineup")
STATS = ("pa", "ab", "h", "2b", "3b", "hr", "bb", "ibb", "hbp", "k", "sb", "cs", "gdp", "sf", "sh", "r", "g")
_I = {name: i for i, name in enumerate(STATS)}
# details column (without the away_/home_ prefix) for each stat read from the line
LINE_COLUMNS = {"ab": "at_bats", "h": "hits", "2b": "doubles", "3b": "triples", "hr": "home_runs",
                "bb": "walks", "ibb": "intentional_walks", "hbp": "hit_by_pitch", "k": "strikeouts",
                "sb": "stolen_bases", "cs": "caught_stealing", "gdp": "grounded_into_double_plays",
                "sf": "sacrifice_flies", "sh": "sacrifice_hits", "ci": "catcher_interference"}
# one league-average team game (1990s-2000s MLB) standing in before any line has been seen
LEAGUE_PRIOR = np.array([38, 34, 9, 1.7, 0.2, 1, 3.3, 0.3, 0.3, 6, 0.6, 0.3, 0.8, 0.3, 0.4, 4.6, 1.0])
PITCHER_POSITION = 1


@dataclass(frozen=True)
class ComponentSettings:
    team_decay: float = 0.99
    team_season_keep: float = 0.5
    team_shrink_games: float = 30.0
    sp_decay: float = 0.97
    sp_season_keep: float = 0.5
    sp_shrink_pa: dict = field(default_factory=lambda: {"k": 150.0, "bb": 300.0, "hbp": 1000.0, "hr": 1500.0})
    depth_prior: float = 3.5
    depth_shrink: float = 10.0
    league_decay: float = 0.999
    lineup_decay: float = 0.97
    pa_per_game: float = 38.0
    fit_from_season: int = 1991
    ridge: float = 1e-4
    prior_coefficients: dict = field(default_factory=dict)  # intercept + FEATURES, fitted on earlier game logs
    prior_fitted_through: int | None = None  # the last season prior_coefficients were fitted on


def base_runs(line: np.ndarray) -> float:
    """David Smyth's BaseRuns estimate of the runs a batting line is worth: A x B / (B + C) + HR."""
    h, hr, bb, ibb, hbp = (line[_I[k]] for k in ("h", "hr", "bb", "ibb", "hbp"))
    total_bases = h + line[_I["2b"]] + 2 * line[_I["3b"]] + 3 * hr
    a = h + bb + hbp - hr - 0.5 * ibb
    b = 1.1 * (1.4 * total_bases - 0.6 * h - 3 * hr + 0.1 * (bb + hbp - ibb)
               + 0.9 * (line[_I["sb"]] - line[_I["cs"]] - line[_I["gdp"]]))
    c = line[_I["ab"]] - h + line[_I["sh"]] + line[_I["sf"]] + line[_I["cs"]] + line[_I["gdp"]]
    return a * b / max(b + c, 1e-9) + hr


class _Decayed:
    """Exponentially weighted sums per key: decay per added observation, season_keep per season crossed."""

    def __init__(self, decay: float, season_keep: float):
        self.decay, self.season_keep = decay, season_keep
        self.values: dict = {}
        self.seasons: dict = {}

    def get(self, key, season: int) -> np.ndarray | None:
        value = self.values.get(key)
        if value is not None and self.seasons[key] != season:
            value = value * self.season_keep ** (season - self.seasons[key])
            self.values[key], self.seasons[key] = value, season
        return value

    def add(self, key, season: int, x: np.ndarray) -> None:
        value = self.get(key, season)
        self.values[key] = x.copy() if value is None else value * self.decay + x
        self.seasons[key] = season


def team_lines(details: pl.DataFrame, side: str, score: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """(lines in STATS order, whether the game has one) for one side's batting, from details columns."""
    cols = {k: details[f"{side}_{c}"].cast(pl.Float64).to_numpy() for k, c in LINE_COLUMNS.items()}
    lines = np.zeros((details.height, len(STATS)))
    for k, values in cols.items():
        if k in _I:
            lines[:, _I[k]] = values
    lines[:, _I["pa"]] = cols["ab"] + cols["bb"] + cols["hbp"] + cols["sf"] + cols["sh"] + cols["ci"]
    lines[:, _I["r"]] = score.cast(pl.Float64).to_numpy()
    lines[:, _I["g"]] = 1.0
    present = ~np.isnan(lines).any(axis=1)
    return np.nan_to_num(lines), present


def side_features(games: pl.DataFrame, details: pl.DataFrame, elo_home: list[float], elo_away: list[float],
                  settings: ComponentSettings) -> dict[str, np.ndarray]:
    """Per game, in the order given (sorted by date): {feature}_home and {feature}_away.

    games: game_id, season, date, home, away (canonical team names), home_score, away_score.
    details: one row per game_id with the game-log columns (missing games carry no line)."""
    d = lined_up(games.select("game_id"), details, ["game_id"], "game-log details")
    n = games.height
    season, dates = games["season"].to_numpy(), games["date"].to_list()
    teams = {"home": games["home"].to_list(), "away": games["away"].to_list()}
    starters = {s: d[f"{s}_starting_pitcher_id"].to_list() for s in ("home", "away")}
    batting = {s: team_lines(d, s, games[f"{s}_score"]) for s in ("home", "away")}
    pitchers_used = {s: d[f"{s}_pitchers_used"].cast(pl.Float64).to_numpy() for s in ("home", "away")}
    lineups = {s: list(zip(d[f"{s}_lineup_ids"].to_list(), d[f"{s}_lineup_positions"].to_list()))
               for s in ("home", "away")}
    out = {f"{f}_{s}": np.zeros(n) for f in FEATURES for s in ("home", "away")}
    out["elo_home"], out["elo_away"] = np.asarray(elo_home) / 400.0, np.asarray(elo_away) / 400.0
    state = _State(settings)
    for start, end in date_blocks(dates):
        s = int(season[start])
        league = state.league_rates(s)
        for g in range(start, end):
            for side in ("home", "away"):
                state.describe(out, g, side, s, teams[side][g], starters[side][g], lineups[side][g], league)
        for g in range(start, end):  # the date is over: fold its results in
            if not (batting["home"][1][g] and batting["away"][1][g]):
                continue  # no game-log line for this game: nothing to learn from it
            for side, other in (("home", "away"), ("away", "home")):
                state.record(s, teams[side][g], starters[side][g], batting[side][0][g], batting[other][0][g],
                             pitchers_used[side][g], lineups[side][g])
    return out


class _State:
    """Everything known so far: decayed team, starter and league lines and lineup shares."""

    def __init__(self, settings: ComponentSettings):
        self.s = settings
        self.offense = _Decayed(settings.team_decay, settings.team_season_keep)
        self.defense = _Decayed(settings.team_decay, settings.team_season_keep)
        self.starter = _Decayed(settings.sp_decay, settings.sp_season_keep)
        self.depth = _Decayed(settings.sp_decay, settings.sp_season_keep)
        self.league = _Decayed(settings.league_decay, 1.0)
        self.lineup_share: dict[str, dict[str, float]] = {}

    def league_rates(self, season: int) -> dict[str, float]:
        line = self.league.get("league", season)
        line = LEAGUE_PRIOR if line is None else line
        rates = {k: line[_I[k]] / line[_I["pa"]] for k in ("k", "bb", "hbp", "hr")}
        rates["bsr"] = base_runs(line) / line[_I["g"]]
        return rates

    def describe(self, out: dict, g: int, side: str, season: int, team: str, starter: str | None, lineup,
                 league: dict[str, float]) -> None:
        s = self.s
        for name, table in (("off_bsr", self.offense), ("def_bsr", self.defense)):
            line = table.get(team, season)
            runs, games = (base_runs(line), line[_I["g"]]) if line is not None else (0.0, 0.0)
            out[f"{name}_{side}"][g] = (runs + s.team_shrink_games * league["bsr"]) / (
                games + s.team_shrink_games) - league["bsr"]
        line = self.starter.get(starter, season) if starter else None
        pa = line[_I["pa"]] if line is not None else 0.0

        def rate(k: str) -> float:
            m = s.sp_shrink_pa[k]
            return ((line[_I[k]] if line is not None else 0.0) + m * league[k]) / (pa + m) - league[k]

        out[f"sp_k_{side}"][g] = rate("k") * s.pa_per_game
        out[f"sp_bb_{side}"][g] = (rate("bb") + rate("hbp")) * s.pa_per_game
        out[f"sp_hr_{side}"][g] = rate("hr") * s.pa_per_game
        out[f"sp_n_{side}"][g] = math.log1p(line[_I["g"]]) if line is not None else 0.0
        depth = self.depth.get(starter, season) if starter else None
        used, starts = (depth[0], depth[1]) if depth is not None else (0.0, 0.0)
        out[f"sp_depth_{side}"][g] = (used + s.depth_shrink * s.depth_prior) / (starts + s.depth_shrink) - s.depth_prior
        shares = self.lineup_share.get(team)
        values = [shares.get(p, 0.0) for p in _batters(lineup)] if shares else []
        out[f"lineup_{side}"][g] = float(np.mean(values)) if values else 0.0

    def record(self, season: int, team: str, starter: str | None, batted: np.ndarray, allowed: np.ndarray,
               pitchers_used: float, lineup) -> None:
        self.offense.add(team, season, batted)
        self.defense.add(team, season, allowed)
        self.league.add("league", season, batted)
        if starter:
            self.starter.add(starter, season, allowed)
            if not math.isnan(pitchers_used):
                self.depth.add(starter, season, np.array([pitchers_used, 1.0]))
        shares = self.lineup_share.setdefault(team, {})
        keep = self.s.lineup_decay
        for player in shares:
            shares[player] *= keep
        for player in _batters(lineup):
            shares[player] = shares.get(player, 0.0) + (1.0 - keep)


def _batters(lineup) -> list[str]:
    """The lineup's players, the pitcher's batting slot left out."""
    ids, positions = lineup
    if not ids:
        return []
    return [p for p, pos in zip(ids, positions or [None] * len(ids)) if p and pos != PITCHER_POSITION]


def design(features: dict[str, np.ndarray]) -> np.ndarray:
    """Home-minus-away difference of every feature, one column each in FEATURES order."""
    return np.column_stack([features[f"{f}_home"] - features[f"{f}_away"] for f in FEATURES])


def fit_coefficients(x: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """Intercept (the home edge) then one coefficient per column: L2-logistic with penalty ridge x n / 2."""
    model = LogisticRegression(C=1.0 / (ridge * len(y)), tol=1e-10, max_iter=1000).fit(x, y)
    return np.concatenate([model.intercept_, model.coef_[0]])


NOT_FITTED = "none (no earlier season to fit on: the plain Elo forecast)"


def _prior(settings: ComponentSettings, season: int) -> tuple[np.ndarray | None, str]:
    """The settings' prior coefficients for a season with nothing earlier to fit on, when they come from
    earlier seasons; (None, NOT_FITTED) otherwise."""
    through = settings.prior_fitted_through
    if not settings.prior_coefficients or through is None or season <= through:
        return None, NOT_FITTED
    w = np.array([settings.prior_coefficients[k] for k in ("intercept", *FEATURES)], dtype=float)
    return w, f"prior_coefficients (fitted through {through})"


def walk_forward(x: np.ndarray, outcome: np.ndarray, seasons: np.ndarray, decided: np.ndarray,
                 settings: ComponentSettings, p_plain: np.ndarray | list[float]
                 ) -> tuple[np.ndarray, dict[int, tuple[np.ndarray | None, str]]]:
    """p_home per game and, per season, (coefficients or None, the seasons they were fitted on).
    p_plain: the plain Elo forecast per game, for seasons with nothing earlier to fit on and no prior."""
    p = np.asarray(p_plain, dtype=float).copy()
    chosen = {}
    for season in sorted(set(seasons.tolist())):
        train = decided & (seasons >= settings.fit_from_season) & (seasons < season)
        if train.any() and len(set(outcome[train].tolist())) == 2:
            w = fit_coefficients(x[train], outcome[train], settings.ridge)
            used = sorted(set(seasons[train].tolist()))
            fitted_on = f"{used[0]}-{used[-1]}"
        else:
            w, fitted_on = _prior(settings, season)
        chosen[season] = (w, fitted_on)
        if w is not None:
            now = seasons == season
            p[now] = 1.0 / (1.0 + np.exp(-(w[0] + x[now] @ w[1:])))
    return p, chosen


def forecast(games: pl.DataFrame, details: pl.DataFrame, elo_home: list[float], elo_away: list[float],
             p_plain: list[float], outcome: np.ndarray, seasons: np.ndarray, decided: np.ndarray,
             settings: ComponentSettings):
    """The components system end to end: p_home per game and per season (coefficients, fitted on)."""
    x = design(side_features(games, details, elo_home, elo_away, settings))
    return walk_forward(x, outcome, seasons, decided, settings, p_plain)
