"""Rating systems per league, forecast walk-forward: every probability uses only earlier games.

Systems:
- elo_plain: the published-practice settings of elo_settings.yaml, fixed.
- elo_fit: for each season, the grid settings with the lowest Brier score on all earlier seasons
  (the first season is warm-up only; it is forecast with the plain settings).
- elo_pitcher (MLB): elo_fit's search with the starting-pitcher adjustment's scale added to the grid.
- components (MLB, with game-log details): plain Elo plus team BaseRuns, the starters' strikeout, walk
  and home-run rates, starter depth and lineup regularity, combined by a logistic regression refitted
  before each season on earlier seasons (bsi_pipeline/ratings/mlb_components.py).
- market (where closing lines exist): the home-win probability implied by the closing spread.
- ridge_margin (leagues with a `ridge` block): margin ratings refit every game day from all earlier games
  (bsi_pipeline/ratings/margin_ridge.py); P(home win) = logistic(slope x predicted margin), the slope
  fitted on earlier seasons (the first season uses the settings' first_season_slope). With a
  `ridge_grid`, each season takes the grid point with the lowest Brier on earlier seasons, as elo_fit.
- ridge_stack (leagues with a `stack` block, given starting pitchers): ridge_margin's margin, the
  starters' K-BB rates and the same-conference flag, combined by a logistic regression refitted before
  every date (bsi_pipeline/ratings/college_stack.py).
- home_rate: the constant home-win rate of all earlier seasons (the naive baseline).

Each grid point is replayed once over the league's whole history; season s then takes its
forecasts from the replay whose settings scored best before s. Selecting settings never looks at
season s itself, so the forecasts of s are out of sample.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from bsi_pipeline.betting import market_home_win_probability
from bsi_pipeline.ratings import college_stack, mlb_components
from bsi_pipeline.ratings.elo import EloGame, EloReplay, EloSettings, replay
from bsi_pipeline.ratings.margin_ridge import RidgeReplay, RidgeSettings, probability_scale, replay_ridge, ridge_games
from bsi_pipeline.ratings.pitchers import PitcherSettings, starter_differences

SETTINGS_FILE = Path(__file__).with_name("elo_settings.yaml")
WARM_UP = "none (warm-up season: default settings)"


@dataclass
class LeagueConfig:
    league: str
    sport: str
    plain: EloSettings
    grid: list[EloSettings]
    aliases: dict[str, str] = field(default_factory=dict)
    pitcher: PitcherSettings | None = None
    pitcher_scales: list[float] = field(default_factory=list)
    ridge: RidgeSettings | None = None
    ridge_grid: list[RidgeSettings] = field(default_factory=list)  # empty: `ridge` in every season
    components: mlb_components.ComponentSettings | None = None
    stack: college_stack.StackSettings | None = None


def load_league_configs(path: Path = SETTINGS_FILE) -> dict[str, LeagueConfig]:
    raw = yaml.safe_load(Path(path).read_text())
    configs = {}
    for league, spec in raw.items():
        plain = EloSettings(**spec["plain"])
        pitcher = spec.get("pitcher")
        ridge = RidgeSettings(**spec["ridge"]) if spec.get("ridge") else None
        configs[league] = LeagueConfig(
            league=league, sport=spec["sport"], plain=plain, grid=_grid(plain, spec["grid"]),
            aliases=spec.get("aliases") or {},
            pitcher=PitcherSettings(**{k: v for k, v in pitcher.items() if k != "elo_per_run"}) if pitcher else None,
            pitcher_scales=list(pitcher["elo_per_run"]) if pitcher else [],
            ridge=ridge, ridge_grid=_grid(ridge, spec.get("ridge_grid")) if ridge else [],
            components=mlb_components.ComponentSettings(**spec["components"]) if spec.get("components") else None,
            stack=college_stack.StackSettings(**spec["stack"]) if spec.get("stack") else None,
        )
    return configs


def _grid(base, axes: dict | None) -> list:
    """Every combination of the grid's values (a dataclass per combination), the other fields as in `base`."""
    if not axes:
        return []
    keys = list(axes)
    return [replace(base, **dict(zip(keys, values))) for values in itertools.product(*(axes[k] for k in keys))]


@dataclass
class LeagueForecasts:
    forecasts: pl.DataFrame       # game_id, system, p_home (one row per game and system)
    team_ratings: pl.DataFrame    # elo_fit (and ridge_margin) ratings before and after every game, per team
    settings: pl.DataFrame        # chosen settings per season and system, with the Brier that chose them
    final_replay: EloReplay | None = None


def forecast_league(games: pl.DataFrame, config: LeagueConfig, game_details: pl.DataFrame | None = None,
                    home_spread: pl.DataFrame | None = None, starter_lines: pl.DataFrame | None = None
                    ) -> LeagueForecasts:
    """Forecast every game of one league (games in the shared schema) with every system.

    game_details: the MLB game logs' details (retrosheet_gamelogs_details: starters, team lines, lineups)
    for elo_pitcher and components; home_spread: game_id, home_spread (NFL closing lines) for market;
    starter_lines: college starters' lines (bsi_pipeline.ncaa.box_scores.starter_lines) for ridge_stack."""
    games = games.sort("date", "game_id")
    rows = games.to_dicts()
    alias = config.aliases
    seasons = np.array([r["season"] for r in rows])
    outcome = np.array([1.0 if r["home_score"] > r["away_score"] else 0.0 for r in rows])
    decided = np.array([r["home_score"] != r["away_score"] for r in rows])
    base = [EloGame(r["season"], alias.get(r["home_team"], r["home_team"]), alias.get(r["away_team"], r["away_team"]),
                    r["home_score"], r["away_score"], bool(r["neutral"]), r["home_conference"], r["away_conference"],
                    day=r["date"])
            for r in rows]

    frames, settings_rows = [], []
    plain = replay(base, config.plain)
    frames.append(_forecast_frame(games, "elo_plain", plain.p_home))
    settings_rows += [_settings_row(config, season, "elo_plain", Candidate(
        config.plain, plain, fit_seasons="none (published practice)")) for season in sorted(set(seasons.tolist()))]

    chosen = _walk_forward([Candidate(s, replay(base, s)) for s in config.grid], Candidate(config.plain, plain),
                           seasons, outcome, decided)
    frames.append(_forecast_frame(games, "elo_fit", _stitch(chosen, seasons)))
    settings_rows += [_settings_row(config, season, "elo_fit", c) for season, c in chosen.items()]

    if config.pitcher is not None and game_details is not None:
        diffs = _starter_diffs(rows, game_details, config)
        candidates = []
        for s, scale in itertools.product(config.grid, config.pitcher_scales):
            candidates.append(Candidate(s, replay(base, s, [scale * d for d in diffs]), pitcher_scale=scale))
        chosen_p = _walk_forward(candidates, Candidate(config.plain, plain, pitcher_scale=0.0),
                                 seasons, outcome, decided)
        frames.append(_forecast_frame(games, "elo_pitcher", _stitch(chosen_p, seasons)))
        settings_rows += [_settings_row(config, season, "elo_pitcher", c) for season, c in chosen_p.items()]

    if config.components is not None and game_details is not None:
        p, rows_components = _component_forecasts(games, base, game_details, config, plain, seasons, outcome, decided)
        frames.append(_forecast_frame(games, "components", p))
        settings_rows += rows_components

    ridge = None
    if config.ridge is not None:
        ridge, p, rows_ridge = _ridge_forecasts(rows, config, seasons, outcome, decided)
        frames.append(_forecast_frame(games, "ridge_margin", p))
        settings_rows += rows_ridge
        if config.stack is not None and starter_lines is not None:
            p, rows_stack = _stack_forecasts(games, ridge.margins, starter_lines, config, seasons, outcome, decided)
            frames.append(_forecast_frame(games, "ridge_stack", p))
            settings_rows += rows_stack

    if home_spread is not None:
        market = games.join(home_spread, on="game_id", how="left").get_column("home_spread").to_list()
        p = [None if v is None else market_home_win_probability(v) for v in market]
        frames.append(_forecast_frame(games, "market", p))

    frames.append(_forecast_frame(games, "home_rate", _home_rate(seasons, outcome, decided)))
    forecasts = pl.concat(frames).filter(pl.col("p_home").is_not_null())
    team_ratings = _team_ratings(games, base, chosen, seasons, ridge)
    return LeagueForecasts(forecasts, team_ratings, pl.DataFrame(settings_rows), plain)


@dataclass
class Candidate:
    """One setting of a system, its replay over the whole history, and (once chosen) why."""

    settings: EloSettings
    replay: EloReplay
    pitcher_scale: float | None = None
    fit_brier: float | None = None
    fit_seasons: str = "none (warm-up season: plain settings)"


def _walk_forward(candidates: list[Candidate], fallback: Candidate, seasons, outcome, decided) -> dict:
    """season -> the candidate with the lowest Brier on earlier seasons (see _best_on_earlier_seasons)."""
    choices = _best_on_earlier_seasons([np.asarray(c.replay.p_home) for c in candidates], seasons, outcome, decided)
    return {season: fallback if best is None else replace(candidates[best], fit_brier=score, fit_seasons=used)
            for season, (best, score, used) in choices.items()}


def _best_on_earlier_seasons(forecasts: list[np.ndarray], seasons, outcome, decided) -> dict:
    """season -> (index of the forecast with the lowest Brier on earlier seasons, that Brier, "first-last"
    season it was scored on). The first season is warm-up only, (None, None, None): the second season is
    chosen on it, later seasons on everything after it."""
    order = sorted(set(seasons.tolist()))
    errors = [(p - outcome) ** 2 for p in forecasts]
    chosen = {order[0]: (None, None, None)}
    for i, season in enumerate(order[1:], start=1):
        past = decided & (seasons < season) & ((seasons > order[0]) if i > 1 else True)
        scores = [float(e[past].mean()) for e in errors]
        best = int(np.argmin(scores))
        used = sorted(set(seasons[past].tolist()))
        chosen[season] = (best, scores[best], f"{used[0]}-{used[-1]}")
    return chosen


def _stitch(chosen: dict, seasons: np.ndarray) -> list[float]:
    out = [0.0] * len(seasons)
    for season, candidate in chosen.items():
        p = candidate.replay.p_home
        for i in np.flatnonzero(seasons == season):
            out[i] = p[i]
    return out


def _ridge_forecasts(rows, config, seasons, outcome, decided) -> tuple[RidgeReplay, list[float], list[dict]]:
    """ridge_margin: predicted margins and ratings, P(home win) per game, and one settings row per season. With a
    grid, every grid point is run over the whole history and each season takes the one that scored best on
    earlier seasons; the first season uses `config.ridge`."""
    games = ridge_games(rows, config.aliases)
    candidates = [config.ridge, *[s for s in config.ridge_grid if s != config.ridge]]
    runs = [_ridge_run(games, s, seasons, outcome, decided) for s in candidates]
    if len(runs) > 1:
        choices = _best_on_earlier_seasons([p for _, p, _ in runs], seasons, outcome, decided)
    else:
        choices = {season: (None, None, None) for season in set(seasons.tolist())}
    names = [f.name for f in fields(RidgeReplay)]
    stitched = {name: np.zeros(len(rows)) for name in names}
    p = np.zeros(len(rows))
    settings_rows = []
    for season in sorted(choices):
        best, fit_brier, fit_seasons = choices[season]
        run, run_p, slopes = runs[best or 0]
        now = seasons == season
        p[now] = run_p[now]
        for name in names:
            stitched[name][now] = getattr(run, name)[now]
        slope, slope_seasons = slopes[season]
        settings_rows.append({
            "sport": config.sport, "league": config.league, "season": season, "system": "ridge_margin",
            "fit_brier": fit_brier,
            "fit_seasons": fit_seasons or (WARM_UP if len(runs) > 1 else slope_seasons),
            "settings": json.dumps({**asdict(candidates[best or 0]), "probability_slope": slope,
                                    "probability_slope_seasons": slope_seasons}, sort_keys=True)})
    return RidgeReplay(**stitched), p.tolist(), settings_rows


def _ridge_run(games: list[dict], settings: RidgeSettings, seasons, outcome, decided):
    """One setting over the whole history: its replay (margins and ratings), P(home win) with each season's
    slope fitted on earlier seasons, and season -> (slope, the seasons that fitted it)."""
    run = replay_ridge(games, settings)
    margins = run.margins
    p = np.zeros(len(games))
    slopes = {}
    for season in sorted(set(seasons.tolist())):
        past = decided & (seasons < season)
        used = sorted(set(seasons[past].tolist()))
        slope = probability_scale(margins[past], outcome[past]) if past.any() else settings.first_season_slope
        slopes[season] = (slope, f"{used[0]}-{used[-1]}" if used else "none (first season: default slope)")
        now = seasons == season
        p[now] = 1.0 / (1.0 + np.exp(-slope * margins[now]))
    return run, p, slopes


def _stack_forecasts(games: pl.DataFrame, margins: np.ndarray, starter_lines: pl.DataFrame, config: LeagueConfig,
                     seasons, outcome, decided) -> tuple[list[float], list[dict]]:
    spd = college_stack.starter_kbb_difference(games, starter_lines, config.stack)
    x = college_stack.design(games, margins, spd)
    p = college_stack.stacked_probabilities(x, outcome, decided, games["date"].to_list(), config.stack)
    settings = json.dumps({**asdict(config.stack), "features": list(college_stack.FEATURES)}, sort_keys=True)
    settings_rows = [{"sport": config.sport, "league": config.league, "season": season, "system": "ridge_stack",
                      "fit_seasons": "every earlier date (refitted before each date)", "settings": settings}
                     for season in sorted(set(seasons.tolist()))]
    return p.tolist(), settings_rows


def _forecast_frame(games: pl.DataFrame, system: str, p_home) -> pl.DataFrame:
    return games.select("game_id", "sport", "league", "season", "date").with_columns(
        system=pl.lit(system), p_home=pl.Series(p_home, dtype=pl.Float64, strict=False))


def _home_rate(seasons, outcome, decided) -> list[float | None]:
    rate_by_season = {}
    for season in sorted(set(seasons.tolist())):
        past = decided & (seasons < season)
        rate_by_season[season] = float(outcome[past].mean()) if past.any() else None
    return [rate_by_season[s] for s in seasons.tolist()]


def _settings_row(config: LeagueConfig, season: int, system: str, c: Candidate) -> dict:
    s = c.settings
    return {"sport": config.sport, "league": config.league, "season": season, "system": system,
            "k": s.k, "home_advantage": s.home_advantage, "mov": s.mov, "reversion": s.reversion,
            "conference_k": s.conference_k, "new_team_unaffiliated": s.new_team_unaffiliated,
            "pitcher_elo_per_run": c.pitcher_scale, "fit_brier": c.fit_brier, "fit_seasons": c.fit_seasons,
            "settings": json.dumps(asdict(s), sort_keys=True)}


def _component_forecasts(games: pl.DataFrame, base: list[EloGame], details: pl.DataFrame, config: LeagueConfig,
                         plain: EloReplay, seasons, outcome, decided) -> tuple[list[float], list[dict]]:
    keyed = games.select("game_id", "season", "date", "home_score", "away_score").with_columns(
        home=pl.Series([g.home for g in base], dtype=pl.String), away=pl.Series([g.away for g in base], dtype=pl.String))
    p, chosen = mlb_components.forecast(keyed, details, plain.home_pre, plain.away_pre, plain.p_home, outcome,
                                        seasons, decided, config.components)
    settings_rows = [{
        "sport": config.sport, "league": config.league, "season": season, "system": "components",
        "fit_seasons": fitted_on, "settings": json.dumps({
            "coefficients": None if w is None else dict(
                zip(("intercept", *mlb_components.FEATURES), [round(float(v), 6) for v in w])),
            **{k: v for k, v in asdict(config.components).items() if k != "prior_coefficients"}},
            sort_keys=True)} for season, (w, fitted_on) in chosen.items()]
    return p.tolist(), settings_rows


def _starter_diffs(rows: list[dict], details: pl.DataFrame, config: LeagueConfig) -> list[float]:
    starters = details.select("game_id", home_starter="home_starting_pitcher_id",
                              away_starter="away_starting_pitcher_id")
    by_game = {r["game_id"]: r for r in starters.iter_rows(named=True)}
    alias = config.aliases
    games = []
    for r in rows:
        s = by_game.get(r["game_id"], {})
        games.append({"date": r["date"], "home": alias.get(r["home_team"], r["home_team"]),
                      "away": alias.get(r["away_team"], r["away_team"]),
                      "home_score": r["home_score"], "away_score": r["away_score"],
                      "home_starter": s.get("home_starter"), "away_starter": s.get("away_starter")})
    return starter_differences(games, config.pitcher)


def _team_ratings(games: pl.DataFrame, base: list[EloGame], chosen: dict, seasons: np.ndarray,
                  ridge: RidgeReplay | None = None) -> pl.DataFrame:
    """Two rows per game (home and away team): the elo_fit team and conference ratings before and after its
    date, and (leagues with a ridge, else null) ridge_margin's rating before and after the game's date."""
    out = {k: [] for k in ("game_id", "team", "opponent", "is_home", "conference", "rating_pre", "rating_post",
                           "conference_rating_pre", "conference_rating_post")}
    ids = games.get_column("game_id").to_list()
    for i, g in enumerate(base):
        r = chosen[int(seasons[i])].replay
        for is_home in (True, False):
            out["game_id"].append(ids[i])
            out["team"].append(g.home if is_home else g.away)
            out["opponent"].append(g.away if is_home else g.home)
            out["is_home"].append(is_home)
            out["conference"].append(g.home_conference if is_home else g.away_conference)
            out["rating_pre"].append(r.home_pre[i] if is_home else r.away_pre[i])
            out["rating_post"].append(r.home_post[i] if is_home else r.away_post[i])
            out["conference_rating_pre"].append(r.home_conf_pre[i] if is_home else r.away_conf_pre[i])
            out["conference_rating_post"].append(r.home_conf_post[i] if is_home else r.away_conf_post[i])
    for when in ("pre", "post"):  # rows alternate home, away, as above
        out[f"ridge_rating_{when}"] = ([None] * len(out["game_id"]) if ridge is None else np.column_stack(
            [getattr(ridge, f"home_{when}"), getattr(ridge, f"away_{when}")]).ravel())
    keys = games.select("game_id", "sport", "league", "season", "date")
    schema = {"game_id": pl.String, "team": pl.String, "opponent": pl.String, "is_home": pl.Boolean,
              "conference": pl.String, "rating_pre": pl.Float64, "rating_post": pl.Float64,
              "conference_rating_pre": pl.Float64, "conference_rating_post": pl.Float64,
              "ridge_rating_pre": pl.Float64, "ridge_rating_post": pl.Float64}
    return keys.join(pl.DataFrame(out, schema=schema, strict=False), on="game_id", how="inner").sort(
        "date", "game_id", "is_home")
