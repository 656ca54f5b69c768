"""Backtest a rating model against historical closing lines: analysis, not betting advice.

Pure functions, no Dagster. The pieces:

- Probabilities under a normal model of the final score. The home margin is N(predicted margin, sigma),
  the combined points N(predicted total, sigma_total):
  `spread_cover_probability`, `market_home_win_probability`, `over_probability`.
  A normal distribution is continuous, so an exact landing on the line (a push) has probability 0 under the
  model: push probability is ignored. On integer lines (3, 7, 44) real pushes happen (about one game in
  ten at 3), so the model's probabilities are best read as "probability of winning the bet, given it is not
  a push". On half-point lines there is no push and the reading is exact.
- Stake sizing (`kelly_fraction`, `stake_fraction`, BacktestRules): fractional Kelly with a cap and a
  minimum edge over the break-even probability of the price (1 / decimal odds; 110/210 at -110).
- `backtest`: one bankroll through candidate bets in date order; per-bet rows and a summary per market and
  overall, with the DISCLAIMER in every summary row.
- NFL helpers: `nfl_candidates` (candidate bets from games + spreadspoke lines + model predictions),
  `elo_margin` (Elo difference -> points), `rolling_total_prediction` (walk-forward team scoring averages).
- `walk_forward_probabilities`: the candidates' probabilities with each market's sigma fitted (`fit_sigma`)
  on earlier seasons' results, which is what the backtest bets on: a fixed sigma around the model's
  number took every gap between model and line for an edge.

Every bet is placed at the closing line, the only line in the data, so closing-line value (the usual
yardstick of a bettor's skill: did the line move towards the bet after it was placed?) is 0 by
construction and tells nothing; the summary reports it as null with a note saying so.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

DISCLAIMER = "Analysis of historical closing lines, not betting advice. Past results do not predict future ones."

CLV_NOTE = (
    "closing_line_value is null: every bet is placed at the closing line itself (the data has no opening "
    "or bet-time line), so CLV is 0 by construction and measures nothing"
)

# standard deviation of NFL home margin around the closing spread (points): Pro-Football-Reference's published
# win probability model (its 1978-2012 average; Stern's 1981-84 figure was 13.86). A published constant, not
# fitted here: it spans the 2000-2015 seasons the market baseline is scored on, as it does for PFR's readers.
SIGMA_MARGIN_NFL = 13.45
SIGMA_TOTAL_NFL = 13.0    # standard deviation of NFL total points around the closing total (points)
ELO_POINTS_PER_POINT = 25.0  # FiveThirtyEight's NFL rule of thumb: 25 Elo points ~ 1 point of margin

MARKET_SIDES = {"spread": ("home", "away"), "total": ("over", "under")}
RESULTS = ("win", "loss", "push")
CANDIDATE_COLUMNS = ("game_id", "date", "season", "market", "side", "model_probability", "result")

_EDGE_TOLERANCE = 1e-12  # an edge of exactly min_edge qualifies despite float rounding


# ---------------------------------------------------------------------------------------- probabilities


def _normal_cdf(x):
    """Standard normal CDF of a number (returns float) or of an array-like (returns a numpy array)."""
    if np.ndim(x) == 0:
        return 0.5 * (1.0 + math.erf(float(x) / math.sqrt(2.0)))
    arr = np.asarray(x, dtype=np.float64)
    return 0.5 * (1.0 + _ERF(arr / math.sqrt(2.0)).astype(np.float64))


_ERF = np.vectorize(math.erf, otypes=[np.float64])


def spread_cover_probability(predicted_home_margin, home_spread, sigma: float = SIGMA_MARGIN_NFL):
    """P(home margin + home_spread > 0): the home side covers, with margin ~ N(predicted_home_margin, sigma).

    home_spread follows spreadspoke's sign: negative when the home team is favored (-7 means the home team
    must win by more than 7). Push probability is ignored (see the module docstring). Numbers or arrays.
    """
    _check_sigma(sigma)
    return _normal_cdf((_num(predicted_home_margin) + _num(home_spread)) / sigma)


def market_home_win_probability(home_spread, sigma: float = SIGMA_MARGIN_NFL):
    """P(home team wins outright) implied by the spread: margin ~ N(-home_spread, sigma), P(margin > 0).

    home_spread -7, sigma 13.45 -> Phi(7 / 13.45) ~ 0.70. Ties ignored.
    """
    _check_sigma(sigma)
    return _normal_cdf(-_num(home_spread) / sigma)


def over_probability(predicted_total, line, sigma_total: float = SIGMA_TOTAL_NFL):
    """P(total points > line) with total ~ N(predicted_total, sigma_total); push probability ignored."""
    _check_sigma(sigma_total)
    return _normal_cdf((_num(predicted_total) - _num(line)) / sigma_total)


def _num(x):
    """A float for a number, a float64 numpy array for anything array-like (list, array, polars Series)."""
    return float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=np.float64)


def _check_sigma(sigma: float) -> None:
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")


# --------------------------------------------------------------------------------------- prices, stakes


def american_to_decimal(american_odds: float) -> float:
    """-110 -> 1 + 100/110 = 1.9091; +150 -> 2.5."""
    if american_odds <= -100:
        return 1.0 + 100.0 / -american_odds
    if american_odds >= 100:
        return 1.0 + american_odds / 100.0
    raise ValueError(f"American odds must be <= -100 or >= +100, got {american_odds!r}")


def break_even_probability(decimal_odds: float) -> float:
    """The win probability at which a bet at these odds has zero expected profit: 1 / decimal odds
    (110/210 = 0.5238 at -110)."""
    if not decimal_odds > 1:
        raise ValueError(f"decimal odds must be > 1, got {decimal_odds!r}")
    return 1.0 / decimal_odds


def kelly_fraction(p: float, decimal_odds: float) -> float:
    """Full-Kelly share of the bankroll: (b p - (1 - p)) / b with b = decimal_odds - 1; 0 when negative.

    p = 0.6 at -110: b = 0.90909, f = (0.90909 x 0.6 - 0.4) / 0.90909 = 0.16.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"probability must be in [0, 1], got {p!r}")
    b = decimal_odds - 1.0
    if not b > 0:
        raise ValueError(f"decimal odds must be > 1, got {decimal_odds!r}")
    return max(0.0, (b * p - (1.0 - p)) / b)


@dataclass(frozen=True)
class BacktestRules:
    """Staking rules. Defaults: quarter Kelly, at most 2% of the current bankroll per bet, only bets with
    an edge of at least 3 percentage points over break-even, every bet at -110, bankroll 100."""

    kelly_multiplier: float = 0.25
    max_stake_fraction: float = 0.02
    min_edge: float = 0.03
    american_odds: float = -110
    starting_bankroll: float = 100.0

    @property
    def decimal_odds(self) -> float:
        return american_to_decimal(self.american_odds)

    @property
    def break_even(self) -> float:
        return break_even_probability(self.decimal_odds)

    def edge(self, p: float) -> float:
        """Model probability minus the break-even probability of the price."""
        return p - self.break_even

    def stake_fraction(self, p: float) -> float:
        """Share of the bankroll to stake: 0 below the minimum edge, else min(multiplier x Kelly, cap)."""
        if self.edge(p) < self.min_edge - _EDGE_TOLERANCE:
            return 0.0
        return min(self.kelly_multiplier * kelly_fraction(p, self.decimal_odds), self.max_stake_fraction)


def stake_fraction(p: float, rules: BacktestRules = BacktestRules()) -> float:
    """`rules.stake_fraction(p)`: p = 0.6 at -110 -> Kelly 0.16, quarter 0.04, capped to 0.02."""
    return rules.stake_fraction(p)


# -------------------------------------------------------------------------------------------- backtest

BETS_SCHEMA_EXTRA = {
    "break_even": pl.Float64,       # break-even probability of the price
    "edge": pl.Float64,             # model_probability - break_even
    "kelly": pl.Float64,            # full-Kelly fraction
    "stake_fraction": pl.Float64,   # share of the start-of-date bankroll staked (after any daily scaling)
    "bankroll_before": pl.Float64,  # bankroll at the start of the bet's date (what it was sized from)
    "stake": pl.Float64,
    "profit": pl.Float64,           # stake x (decimal odds - 1) on a win, -stake on a loss, 0 on a push
    "bankroll_after": pl.Float64,   # running bankroll once this bet is settled
}

SUMMARY_SCHEMA = {
    "market": pl.String,            # spread, total, or all
    "bets": pl.Int64,               # settled bets: wins + losses (pushes are counted apart)
    "wins": pl.Int64,
    "losses": pl.Int64,
    "pushes": pl.Int64,
    "hit_rate": pl.Float64,         # wins / (wins + losses)
    "staked": pl.Float64,           # total stake on wins and losses (a push's stake comes back: no action)
    "profit": pl.Float64,
    "roi": pl.Float64,              # profit / staked
    "final_bankroll": pl.Float64,
    "max_drawdown": pl.Float64,     # largest peak-to-trough fall as a fraction of the peak
    "bets_per_season": pl.Float64,  # settled bets / seasons with at least one bet
    "sharpe": pl.Float64,           # per-bet Sharpe x sqrt(bets_per_season)
    "closing_line_value": pl.Float64,  # always null, see note
    "note": pl.String,
    "disclaimer": pl.String,
}


def max_drawdown(bankrolls) -> float:
    """Largest fall from a running peak to a later trough, as a fraction of that peak.

    [100, 110, 88, 99, 120, 90] -> max((110 - 88) / 110, (120 - 90) / 120) = 0.25. 0 for a path that never falls.
    """
    peak = None
    worst = 0.0
    for value in bankrolls:
        value = float(value)
        if peak is None or value > peak:
            peak = value
        elif peak > 0:
            worst = max(worst, (peak - value) / peak)
    return worst


def backtest(bets_frame: pl.DataFrame, rules: BacktestRules = BacktestRules()) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Run one bankroll through candidate bets; return (bets, summary).

    `bets_frame`: one row per (game, market) candidate with columns game_id, date, season, market ("spread"
    or "total"), side ("home"/"away" or "over"/"under"), model_probability (of that side winning the bet)
    and result ("win"/"loss"/"push"); extra columns are carried through to the bets.

    Candidates are processed in date order (input order within a date). Every bet on a date is sized from
    the bankroll at the start of that date (`rules.stake_fraction`), as if all of a day's bets were placed
    before its first kickoff; should a day's stakes add up to more than that bankroll (possible only with
    loose rules), they are scaled down in proportion to fit it. Bets then settle one by one in that order,
    which is the path `bankroll_after` and max_drawdown follow.

    Pushes: the sportsbook returns the stake. A qualifying bet that pushes stays in `bets` with result
    "push", its stake and zero profit, but it is no action: it is counted in `pushes` only, not in `bets`,
    hit_rate, staked, roi or the Sharpe ratio.

    `bets` holds the placed bets only (candidates below the minimum edge are not bets), with the input
    columns plus BETS_SCHEMA_EXTRA.

    `summary`: one row per market in the candidates (sorted) and one for market "all" (SUMMARY_SCHEMA).
    The "all" row follows the one shared bankroll; a market's row is that market's share of the same run
    (its own bets at the stakes the shared bankroll set): final_bankroll = starting bankroll + the market's
    profit, max_drawdown over starting bankroll + its cumulative profit.
    sharpe = mean / standard deviation (sample, n - 1) of per-bet returns profit / stake over settled bets,
    times sqrt(bets_per_season): the per-bet Sharpe ratio annualised to a season (an NFL season is the
    natural year); null with fewer than two settled bets or no spread in returns.
    closing_line_value is null: see CLV_NOTE, repeated in `note`. DISCLAIMER is in `disclaimer`.
    """
    frame = _validate_candidates(bets_frame)
    decimal_odds = rules.decimal_odds
    break_even = rules.break_even

    rows = frame.to_dicts()
    bankroll = float(rules.starting_bankroll)
    kept: list[int] = []
    extra: dict[str, list] = {name: [] for name in BETS_SCHEMA_EXTRA}
    i = 0
    while i < len(rows):
        day = rows[i]["date"]
        j = i
        while j < len(rows) and rows[j]["date"] == day:
            j += 1
        start = bankroll
        picks = []
        for k in range(i, j):
            p = rows[k]["model_probability"]
            f = rules.stake_fraction(p) if start > 0 else 0.0
            if f > 0:
                picks.append((k, p, f))
        total_fraction = sum(f for _, _, f in picks)
        scale = 1.0 / total_fraction if total_fraction > 1.0 else 1.0
        for k, p, f in picks:
            f *= scale
            stake = start * f
            result = rows[k]["result"]
            profit = stake * (decimal_odds - 1.0) if result == "win" else -stake if result == "loss" else 0.0
            bankroll += profit
            kept.append(k)
            for name, value in (("break_even", break_even), ("edge", p - break_even),
                                ("kelly", kelly_fraction(p, decimal_odds)), ("stake_fraction", f),
                                ("bankroll_before", start), ("stake", stake), ("profit", profit),
                                ("bankroll_after", bankroll)):
                extra[name].append(value)
        i = j

    bets = frame.with_row_index("_candidate").filter(pl.col("_candidate").is_in(kept)).drop("_candidate")
    bets = bets.with_columns(
        [pl.Series(name, extra[name], dtype=dtype) for name, dtype in BETS_SCHEMA_EXTRA.items()]
    )
    markets = sorted(set(frame["market"].to_list()))
    summary_rows = [_summary_row(m, bets.filter(pl.col("market") == m), rules) for m in markets]
    summary_rows.append(_summary_row("all", bets, rules))
    return bets, pl.DataFrame(summary_rows, schema=SUMMARY_SCHEMA)


def _validate_candidates(frame: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in CANDIDATE_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"candidate bets lack column(s) {', '.join(missing)}")
    null = [c for c in CANDIDATE_COLUMNS if frame[c].null_count()]
    if null:
        raise ValueError(f"candidate bets have nulls in {', '.join(null)}")
    bad_market = set(frame["market"].to_list()) - set(MARKET_SIDES)
    if bad_market:
        raise ValueError(f"unknown market(s) {sorted(bad_market)} (spread, total)")
    for market, sides in MARKET_SIDES.items():
        bad = set(frame.filter(pl.col("market") == market)["side"].to_list()) - set(sides)
        if bad:
            raise ValueError(f"side(s) {sorted(bad)} do not belong to market {market!r} ({', '.join(sides)})")
    bad_result = set(frame["result"].to_list()) - set(RESULTS)
    if bad_result:
        raise ValueError(f"unknown result(s) {sorted(bad_result)} (win, loss, push)")
    p = frame["model_probability"].cast(pl.Float64)
    if ((p < 0) | (p > 1) | p.is_nan()).any():
        raise ValueError("model_probability must lie in [0, 1]")
    return frame.with_columns(pl.col("model_probability").cast(pl.Float64)).sort("date", maintain_order=True)


def _summary_row(market: str, bets: pl.DataFrame, rules: BacktestRules) -> dict:
    results = bets["result"].to_list()
    wins, losses, pushes = results.count("win"), results.count("loss"), results.count("push")
    settled = bets.filter(pl.col("result") != "push")
    staked = float(settled["stake"].sum()) if settled.height else 0.0
    profit = float(bets["profit"].sum()) if bets.height else 0.0
    path = [rules.starting_bankroll]
    for x in bets["profit"].to_list():
        path.append(path[-1] + x)
    seasons = settled["season"].n_unique() if settled.height else 0
    per_season = settled.height / seasons if seasons else None
    sharpe = None
    if settled.height >= 2:
        returns = np.asarray(settled["profit"].to_list()) / np.asarray(settled["stake"].to_list())
        sd = float(np.std(returns, ddof=1))
        if sd > 0:
            sharpe = float(np.mean(returns)) / sd * math.sqrt(per_season)
    return {
        "market": market, "bets": wins + losses, "wins": wins, "losses": losses, "pushes": pushes,
        "hit_rate": wins / (wins + losses) if wins + losses else None,
        "staked": staked, "profit": profit, "roi": profit / staked if staked > 0 else None,
        "final_bankroll": path[-1], "max_drawdown": max_drawdown(path), "bets_per_season": per_season,
        "sharpe": sharpe, "closing_line_value": None, "note": CLV_NOTE, "disclaimer": DISCLAIMER,
    }


# ------------------------------------------------------------------------------------------ NFL helpers


def elo_margin(elo_diff_including_home_advantage):
    """Predicted home margin in points from the pre-game Elo difference (home - away, home advantage
    included): FiveThirtyEight's NFL rule of thumb, elo_diff / 25. Numbers or arrays."""
    return _num(elo_diff_including_home_advantage) / ELO_POINTS_PER_POINT


def nfl_predictions(games: pl.DataFrame, game_forecasts: pl.DataFrame, system: str = "elo_fit") -> pl.DataFrame:
    """The NFL games in date order with the inputs of the backtest: `p_home` of `system`, the Elo difference
    behind it (home advantage included) turned into `predicted_margin` at ELO_POINTS_PER_POINT, and the
    walk-forward `predicted_total`."""
    nfl = games.filter(pl.col("league") == "nfl").sort("date", "game_id")
    forecast = game_forecasts.filter((pl.col("league") == "nfl") & (pl.col("system") == system))
    nfl = nfl.join(forecast.select("game_id", "p_home"), on="game_id", how="left")
    elo_diff = 400 * (nfl["p_home"] / (1 - nfl["p_home"])).log(10)
    nfl = nfl.with_columns(predicted_margin=pl.Series(elo_margin(elo_diff.to_numpy())))
    return nfl.with_columns(predicted_total=rolling_total_prediction(nfl))


def _prediction_array(games: pl.DataFrame, prediction, name: str) -> np.ndarray:
    if isinstance(prediction, str):
        if prediction not in games.columns:
            raise ValueError(f"{name}: games has no column {prediction!r}")
        prediction = games[prediction]
    if isinstance(prediction, pl.Series):
        values = prediction.cast(pl.Float64).fill_null(float("nan")).to_numpy()
    else:
        values = np.array([float("nan") if v is None else v for v in prediction], dtype=np.float64)
    if values.shape != (games.height,):
        raise ValueError(f"{name}: {values.shape[0] if values.ndim else 0} values for {games.height} games")
    return values


def nfl_candidates(
    games: pl.DataFrame,
    details: pl.DataFrame,
    predicted_home_margin,
    predicted_total,
    sigma_margin: float = SIGMA_MARGIN_NFL,
    sigma_total: float = SIGMA_TOTAL_NFL,
) -> pl.DataFrame:
    """Candidate bets, one per game and market, for `backtest`.

    `games`: the shared game schema (game_id, date, season, home_score, away_score used). `details`:
    spreadspoke details (game_id, home_spread, over_under_line). `predicted_home_margin` and
    `predicted_total`: the model's predictions, each either a sequence / numpy array / polars Series aligned
    row for row with `games`, or the name of a column of `games`; null or NaN means no prediction.

    A game gets a spread candidate when it has a home_spread and a margin prediction, and a total candidate
    when it has an over_under_line and a total prediction; others, and games without a final score, are
    skipped. The side is the one the
    model favours (home on an exact 0.5, over likewise); model_probability is the model's probability of
    that side winning the bet (spread_cover_probability / over_probability; pushes ignored).
    Results: the home side wins when home margin + home_spread > 0, loses when < 0, pushes when = 0
    (the away side the reverse); over wins when the total exceeds the line, under when it falls short,
    push when equal.

    Columns: CANDIDATE_COLUMNS plus `line` (home_spread or over_under_line), `prediction` (predicted
    margin or total) and `actual` (home margin or total points). Sorted by date, game_id, market.
    """
    margin_pred = _prediction_array(games, predicted_home_margin, "predicted_home_margin")
    total_pred = _prediction_array(games, predicted_total, "predicted_total")
    frame = games.select("game_id", "date", "season", "home_score", "away_score").with_columns(
        pl.Series("_margin_pred", margin_pred), pl.Series("_total_pred", total_pred),
    ).join(details.select("game_id", "home_spread", "over_under_line"), on="game_id", how="left",
           maintain_order="left")

    out_schema = {"game_id": pl.String, "date": pl.Date, "season": pl.Int32, "market": pl.String,
                  "side": pl.String, "model_probability": pl.Float64, "result": pl.String,
                  "line": pl.Float64, "prediction": pl.Float64, "actual": pl.Float64}
    rows = []
    for g in frame.iter_rows(named=True):
        if g["home_score"] is None or g["away_score"] is None:  # not played (yet): nothing to settle
            continue
        margin = g["home_score"] - g["away_score"]
        total = g["home_score"] + g["away_score"]
        spread, pred = g["home_spread"], g["_margin_pred"]
        if spread is not None and pred is not None and not math.isnan(pred):
            p_home = spread_cover_probability(pred, spread, sigma_margin)
            cover = margin + spread
            home_side = p_home >= 0.5
            result = "push" if cover == 0 else "win" if (cover > 0) == home_side else "loss"
            rows.append({"game_id": g["game_id"], "date": g["date"], "season": g["season"], "market": "spread",
                         "side": "home" if home_side else "away",
                         "model_probability": p_home if home_side else 1.0 - p_home, "result": result,
                         "line": spread, "prediction": pred, "actual": float(margin)})
        line, pred = g["over_under_line"], g["_total_pred"]
        if line is not None and pred is not None and not math.isnan(pred):
            p_over = over_probability(pred, line, sigma_total)
            over_side = p_over >= 0.5
            result = "push" if total == line else "win" if (total > line) == over_side else "loss"
            rows.append({"game_id": g["game_id"], "date": g["date"], "season": g["season"], "market": "total",
                         "side": "over" if over_side else "under",
                         "model_probability": p_over if over_side else 1.0 - p_over, "result": result,
                         "line": line, "prediction": pred, "actual": float(total)})
    return pl.DataFrame(rows, schema=out_schema).sort("date", "game_id", "market", maintain_order=True)


MIN_SCALE_GAMES = 500  # settled earlier candidates of a market its probability scale is fitted on
SCALE_SCHEMA = {"market": pl.String, "season": pl.Int32, "sigma": pl.Float64, "fit_games": pl.Int64,
                "fit_seasons": pl.String}


def fit_sigma(gap, covers) -> float:
    """The sigma that makes P(side) = Phi(gap / sigma) most likely for the outcomes ``covers`` (1 when the
    home side covers / the over wins), by maximum likelihood over the slope 1 / sigma in [0, 1].

    Why: a model's predicted margin is not the mean of the result as the closing line's is: centring a
    normal of the result's spread around the line (13.45 points) on the model's prediction called most
    gaps between model and line edges of 5-10%, where the hits showed none. Fitted on earlier seasons,
    sigma says how much of a gap the results bore out. inf when they bore out none (slope 0)."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_ndtr

    gap, covers = np.asarray(gap, dtype=np.float64), np.asarray(covers, dtype=bool)

    def loss(b: float) -> float:
        z = b * gap
        return -float(np.sum(np.where(covers, log_ndtr(z), log_ndtr(-z))))

    slope = float(minimize_scalar(loss, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-6}).x)
    return math.inf if slope <= 1e-6 else 1.0 / slope


def walk_forward_probabilities(candidates: pl.DataFrame, min_games: int = MIN_SCALE_GAMES,
                               ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(candidates, scales): each candidate's model_probability recomputed with its market's sigma fitted
    (fit_sigma) on the settled candidates of earlier seasons only, and per market and season the sigma, the
    games and the seasons it was fitted on.

    A season whose market has fewer than ``min_games`` earlier settled candidates gets no sigma, and its
    candidates of that market are not returned: with no evidence of how far to trust a gap, nothing is bet
    (the scales frame names those seasons with sigma null). Sides stay the model's (the sign of the gap);
    a sigma of inf makes every probability 0.5, below any edge. Uses the nfl_candidates columns (market,
    side, line, prediction, actual, result)."""
    gap = pl.when(pl.col("market") == "spread").then(pl.col("prediction") + pl.col("line")) \
        .otherwise(pl.col("prediction") - pl.col("line"))
    covers = pl.when(pl.col("market") == "spread").then(pl.col("actual") + pl.col("line") > 0) \
        .otherwise(pl.col("actual") > pl.col("line"))
    frame = candidates.with_columns(_gap=gap, _covers=covers)
    scales, kept = [], []
    for (market,), rows in frame.group_by("market", maintain_order=True):
        for season in sorted(rows["season"].unique().to_list()):
            earlier = rows.filter((pl.col("season") < season) & (pl.col("result") != "push"))
            sigma = fit_sigma(earlier["_gap"], earlier["_covers"]) if earlier.height >= min_games else None
            seasons = earlier["season"]
            scales.append({"market": market, "season": season, "sigma": sigma, "fit_games": earlier.height,
                           "fit_seasons": f"{seasons.min()}-{seasons.max()}" if earlier.height else None})
            if sigma is None:
                continue
            these = rows.filter(pl.col("season") == season)
            p_home_or_over = _normal_cdf(these["_gap"].to_numpy() / sigma) if math.isfinite(sigma) else \
                np.full(these.height, 0.5)
            first_side = these["side"].is_in(["home", "over"]).to_numpy()
            kept.append(these.with_columns(model_probability=pl.Series(
                np.where(first_side, p_home_or_over, 1.0 - p_home_or_over), dtype=pl.Float64)))
    out = (pl.concat(kept) if kept else frame.clear()).drop("_gap", "_covers")
    return out.sort("date", "game_id", "market", maintain_order=True), pl.DataFrame(scales, schema=SCALE_SCHEMA)


def rolling_total_prediction(
    games: pl.DataFrame,
    alpha: float = 0.1,
    default_points: float = 21.0,
) -> pl.Series:
    """Walk-forward prediction of each game's total points, aligned row for row with `games`.

    For each team, exponentially weighted averages of points scored and points allowed over its games of
    the same season and the previous season that were played on strictly earlier dates (a game's own date
    and later never count). Each average starts from a prior at the start of that two-season window and
    moves by `alpha` per game: with n games x_1..x_n (oldest first) it is
    prior x (1 - alpha)^n + sum alpha x (1 - alpha)^(n - i) x x_i.
    The prior is the league average of points per team per game over the same window (all teams' games of
    the same and previous season on earlier dates), or `default_points` when there are none yet.
    Prediction: home points (home scored + away allowed) / 2 plus away points (away scored + home allowed)
    / 2. Uses columns date, season, home_team, away_team, home_score, away_score; returns a Float64 Series
    named "predicted_total".
    """
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    cols = ("date", "season", "home_team", "away_team", "home_score", "away_score")
    missing = [c for c in cols if c not in games.columns]
    if missing:
        raise ValueError(f"games lack column(s) {', '.join(missing)}")
    data = games.select(cols).with_row_index("_row").sort("date", maintain_order=True)
    # Per team, in date order: seasons, points scored, points allowed. Per season: league points, team-games.
    seasons: dict[str, list[int]] = defaultdict(list)
    scored: dict[str, list[float]] = defaultdict(list)
    allowed: dict[str, list[float]] = defaultdict(list)
    league_points: dict[int, float] = defaultdict(float)
    league_games: dict[int, int] = defaultdict(int)
    out = np.full(games.height, np.nan)

    def settle(rows: list[dict]) -> None:
        for r in rows:
            if r["home_score"] is None or r["away_score"] is None:
                continue
            h, a = float(r["home_score"]), float(r["away_score"])
            for team, x, y in ((r["home_team"], h, a), (r["away_team"], a, h)):
                seasons[team].append(r["season"])
                scored[team].append(x)
                allowed[team].append(y)
            league_points[r["season"]] += h + a
            league_games[r["season"]] += 2

    def averages(team: str, season: int, prior: float) -> tuple[float, float]:
        off = dfn = prior
        if team not in seasons:
            return off, dfn
        first = bisect_left(seasons[team], season - 1)  # seasons are in date order, so non-decreasing
        for x, y in zip(scored[team][first:], allowed[team][first:]):
            off += alpha * (x - off)
            dfn += alpha * (y - dfn)
        return off, dfn

    day_rows: list[dict] = []
    current: date | None = None
    for r in data.iter_rows(named=True):
        if r["date"] != current:
            settle(day_rows)  # a date's games count only from the next date on
            day_rows, current = [], r["date"]
        season = r["season"]
        count = league_games.get(season, 0) + league_games.get(season - 1, 0)
        points = league_points.get(season, 0.0) + league_points.get(season - 1, 0.0)
        prior = points / count if count else default_points
        h_off, h_def = averages(r["home_team"], season, prior)
        a_off, a_def = averages(r["away_team"], season, prior)
        out[r["_row"]] = (h_off + a_def) / 2.0 + (a_off + h_def) / 2.0
        day_rows.append(r)
    return pl.Series("predicted_total", out, dtype=pl.Float64)
