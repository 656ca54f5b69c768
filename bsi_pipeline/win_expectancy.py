"""Win expectancy (WE), win probability added (WPA) and Tango's leverage index (LI) from a plays table.

`win_expectancy_table(plays, league)` estimates the home team's chance of winning from every game state;
`play_win_probability(plays, we_table)` puts WE before and after, WPA and LI on every play; `we_curve_png` and
`leverage_histogram_png` draw PNG bytes for asset metadata. The plays table is the college `plays` table
(bsi_pipeline.ncaa.pbp_tables) or the MLB cwevent `events` table (bsi_pipeline.sources.retrosheet_cwevent):
game_id, seq, inning, half, outs_before, outs_after, bases_before, bases_after, runs_on_play, away_score,
home_score (the score after the play), and, when present, away_score_before / home_score_before (otherwise the
score before a play is the score after the game's previous row, 0-0 before the first).

Game state: inning 1-9, half ("top"/"bot"), outs 0-2, bases (the 8 labels of run_expectancy.BASE_LABELS) and
score_diff = home runs minus away runs before the play, capped at +-10 (a bigger lead is looked up as 10: a
ten-run lead is within 0.04 of a sure win even in the 1st inning on MLB 2016, and its leverage is near 0; the
cells beyond would be thin). Inning 9 means "the 9th or later": before the
2020 extra-inning runner rule an extra inning is played exactly like the 9th (the home team wins as soon as it
leads in the bottom half), so extra innings are pooled with it. 9 x 2 x 3 x 8 x 21 = 9,072 cells.

Which games (the same rule for both functions' sample): a game is complete when its final score (after its last
state-changing play) is not tied, it ended in the 9th inning or later, and it ended the way a 9-inning game
ends - the third out of a bottom half, the third out of a top half with the home team ahead, or the home team
taking the lead in the bottom half (a walk-off). Ties, suspended and rain-shortened games and 7-inning games
(college doubleheaders, mercy rules) are left out of the estimates. For college plays pass only the games whose
pbp_parse_report status is "reconciled" (`reconciled_plays` does that): an unreconciled replay has states or runs
that disagree with the score.

Observations: every state-changing play (as in run_expectancy: the base-out state changes or a run scores) of a
complete game, in the state at its start. Substitutions, summaries, notes and other lines that change nothing
are not observations. For WE each game counts once per cell (a game can reach the same pooled 9+ cell twice,
e.g. top 9 and top 10 tied with the bases empty): games_observed = the number of games that reached the cell,
raw_rate = the share of them the home team won.

Smoothing: empirical Bayes, each cell's binomial rate shrunk toward a model fitted to the whole league.
1. Structural model we_markov (Tango's Markov win expectancy): from the sample's plays in innings 1-8 of half
   innings that reach 3 outs, per half (the home and the away team bat separately, which carries the home
   advantage) and base-out state, the distribution of runs to the end of the half inning (0-15; each state's
   counts shrunk with a pseudo-count of 20 toward a zero-inflated geometric with Albert's MLB 2016 mean and
   P(at least one run), DEFAULT_RE24 / DEFAULT_P_RUNS_GE1, which is all a state never seen gets). Backward
   induction over the half innings from the 9th gives WE at the start of every half inning for every lead; a
   cell's WE sums, over the runs its batting team still scores in this half, the WE at the end of the half:
   after a top half of the 9th or later the home team has won if ahead, after a bottom half of the 9th or later
   it has won if ahead and lost if behind, a tie goes to an extra inning whose WE solves x = sum_r P_top(r) *
   (P_bot(more than r) + P_bot(exactly r) * x). (A walk-off ends the bottom half early, but the home team wins
   exactly when its runs in the half, had it been played out, would put it ahead, so the sum is unchanged.)
2. Prior mean we_model: a logistic calibration of the structural model, logit(we_model) = a + b *
   logit(we_markov) + c * (half innings left / 18), fitted by maximum likelihood (Newton-Raphson, a unit ridge
   penalty on b and c so that a handful of games cannot separate) to all of the league's observations. It
   corrects the Markov model's independence assumptions (on MLB 2016 the Markov model alone overrates the home
   team by 1.5 points on average; calibrated, the 268 cells seen in 150 or more games are within binomial
   noise of it: mean squared z 0.94).
3. Posterior mean we_shrunk = (wins + k * we_model) / (n + k) = we_weight * raw_rate + (1 - we_weight) *
   we_model with we_weight = n / (n + k): the posterior mean of a Beta(k * we_model, k * (1 - we_model)) prior
   updated with the cell's n games. k is chosen by 5-fold cross-validation by game (games are dealt to folds by
   sorted game_id; a game never spans two folds): for each fold the runs distributions, the calibration and the
   cell counts come from the other folds and the held-out games' observations are scored by log loss; the k of
   the grid K_GRID with the least total held-out log loss wins (pass k_we= to fix it). On one MLB season the
   calibrated model predicts held-out games so well that k = 10,000 wins: a cell seen in 2,421 games (the first
   state of every game) keeps a weight of 0.19, a late-inning cell seen in 200 games 0.02 - the raw rates of
   one season are mostly noise around the model.
4. Monotone in score difference: we_home is the weighted isotonic regression (pool-adjacent-violators, weights
   n + k, the posterior's effective sample size) of we_shrunk over score_diff within each (inning, half, outs,
   bases), so WE never falls as the home team's lead grows. Bottom of the 9th or later with the home team ahead
   is game over: we_home = 1 there.

Leverage index (Tango): the expected absolute change in WE from a state, over the outcomes of a play from it,
relative to the average state. Per state-changing play of the sample |we_after - we_before| (with the smoothed
table; after the game's final play WE is 1 or 0 by the result); per cell abs_dwe_raw = its mean over the
plays_observed plays starting there. It is smoothed the same way: abs_dwe = (sum + k * abs_dwe_model) / (n + k),
li_weight = n / (n + k), k chosen by 5-fold cross-validation by game on held-out squared error (the WE table is
held fixed; the outcome distribution and the cell means come from the other folds), where abs_dwe_model is
Tango's construction: the league's empirical distribution of play outcomes (outs after, bases after, runs, 0-4)
from the cell's base-out state, pooled over all innings and scores, applied to this cell's inning, half and score
with the game-ending rules (home ahead after a top half of the 9th or later, any decided score after such a
bottom half, the home team taking the lead in it), |WE after - WE before| averaged over that distribution
(k = 500 on MLB 2016). leverage_index = abs_dwe / (the mean of abs_dwe over all the sample's plays), so the mean
LI over the plays the table was estimated from is exactly 1. Tango averages over plate appearances; here every
state-changing play counts (steals, wild pitches and pickoffs too), as in run_expectancy.

The table: one row per cell, all 9,072, sorted by inning, half (top first), outs, bases (BASE_LABELS order),
score_diff. Columns: league, inning, half, outs, bases, score_diff, games_observed, raw_rate (null when no game
reached the cell), we_home, we_markov, we_model, we_weight, we_shrunk, plays_observed, abs_dwe_raw,
abs_dwe_model, li_weight, abs_dwe, leverage_index.

7-inning games are valued, not estimated from: a game that ended the natural way in the 7th or 8th inning
(extra innings of a 7-inning game) by fewer than 10 runs was scheduled for 7, and each of its plays is looked
up two innings later (its 7th inning is the table's 9th, where the game-ending rules live). Looked up as a
9-inning game, a tie in the bottom of its 7th with none out and the bases empty read WE 0.66 and LI 1.5 on
the shared college data instead of 0.72 and 2.5. A 7-inning game won by 10 or more is indistinguishable from a
run-ruled 9-inning one and keeps its innings (at such a lead the two readings hardly differ); so does one that
ended in the 9th, which looks like a 9-inning game, and one that ended tied (called or suspended), which has no
natural ending to tell.

`play_win_probability(plays, we_table)`: every row of plays, in the input order, with score_diff_before (home
minus away, not capped; from home_score_before / away_score_before when the plays carry them, else, or where
they are null, from the previous row's score after), we_before (WE of the state at the start of the row; a row
after the third out, e.g. a college summary line, is at the start of the next half inning), we_after (the state after it: after a third out
the start of the next half inning; at and after the game's last state-changing play 1 or 0 by the result when
the game has one), home_wpa = we_after - we_before, wpa = home_wpa for the home team batting and -home_wpa for
the away team (positive helps the batting team), leverage_index (of the state at the start; null for rows with no
valid state and rows after the game ended), state_change, in_table_sample (a state-changing play of a complete
game: the plays the table is estimated from; over the same plays the mean leverage_index is 1) and home_won
(null when the final score is tied). When each play's state after equals the next play's state before (true of
the MLB 2016 events), the home_wpa of a game sums to its result minus the WE of its first state.

MLB 2016 (190,713 events): the table takes about 0.6 s, play_win_probability about 0.1 s. Home WE at the first
pitch 0.527 (raw 0.530 over 2,421 complete games), bottom 9th tied with none out 0.642, bottom 9th two outs bases
loaded down one LI 10.2 (Tango's maximum is 10.9).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

from bsi_pipeline.metrics import figure_png, new_figure
from bsi_pipeline.run_expectancy import BASE_LABELS

INNINGS = 9  # regulation; innings 9 and later share the inning-9 cells
SHORT_INNINGS = 7  # college doubleheader games (and MLB's 2020-2021 ones) are scheduled for 7
RUN_RULE_MARGIN = 10  # the college run rule ends a 9-inning game after 7 at a 10-run lead
MAX_DIFF = 10  # score_diff is capped at +-MAX_DIFF
HALVES = ("top", "bot")
K_GRID = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 100_000)
FOLDS = 5
RIDGE = 1.0  # penalty on the logistic prior's slopes
PSEUDO_COUNT = 20  # weight of the default runs distribution of a base-out state in the Markov model
MAX_RUNS_TO_END = 15  # runs to the end of a half inning: 0-15 (more are counted as 15)
_INTERNAL_DIFF = 40  # the Markov model works on home leads of -40..40
# Albert's MLB 2016 row (data/reference/albert_re24_by_season_2000_2019.csv): per base-out state the mean runs to
# the end of the half inning and P(at least one). Their zero-inflated geometric distribution is the default a
# state's observed runs distribution is shrunk toward (and used alone where a league's plays never reach it).
DEFAULT_RE24 = {
    0: {"empty": 0.50, "1": 0.86, "2": 1.13, "1-2": 1.44, "3": 1.35, "1-3": 1.72, "2-3": 1.93, "1-2-3": 2.11},
    1: {"empty": 0.27, "1": 0.51, "2": 0.67, "1-2": 0.92, "3": 0.94, "1-3": 1.20, "2-3": 1.36, "1-2-3": 1.54},
    2: {"empty": 0.11, "1": 0.22, "2": 0.31, "1-2": 0.41, "3": 0.37, "1-3": 0.48, "2-3": 0.55, "1-2-3": 0.70},
}
DEFAULT_P_RUNS_GE1 = {
    0: {"empty": 0.275, "1": 0.412, "2": 0.613, "1-2": 0.612, "3": 0.834, "1-3": 0.848, "2-3": 0.820,
        "1-2-3": 0.817},
    1: {"empty": 0.162, "1": 0.264, "2": 0.398, "1-2": 0.412, "3": 0.661, "1-3": 0.643, "2-3": 0.672,
        "1-2-3": 0.649},
    2: {"empty": 0.072, "1": 0.124, "2": 0.212, "1-2": 0.215, "3": 0.262, "1-3": 0.262, "2-3": 0.244,
        "1-2-3": 0.304},
}

N_DIFF = 2 * MAX_DIFF + 1
N_CELLS = INNINGS * 2 * 3 * 8 * N_DIFF
_BASE_INDEX = {label: i for i, label in enumerate(BASE_LABELS)}
_MAX_RUNS = 4  # runs on one play: 0-4
_N_TRANS = 4 * 8 * (_MAX_RUNS + 1)  # outs after 0-3 x bases after x runs
_NEEDED = ("game_id", "seq", "inning", "half", "outs_before", "outs_after", "bases_before", "bases_after",
           "runs_on_play", "away_score", "home_score")
TABLE_COLUMNS = ("league", "inning", "half", "outs", "bases", "score_diff", "games_observed", "raw_rate", "we_home",
                 "we_markov", "we_model", "we_weight", "we_shrunk", "plays_observed", "abs_dwe_raw", "abs_dwe_model",
                 "li_weight", "abs_dwe", "leverage_index")
PLAY_COLUMNS = ("score_diff_before", "we_before", "we_after", "home_wpa", "wpa", "leverage_index", "state_change",
                "in_table_sample", "home_won")

# The cells, in key order: key = ((((inning - 1) * 2 + bottom) * 3 + outs) * 8 + bases) * 21 + diff + 10.
_C_INN, _C_BOT, _C_OUTS, _C_BASE, _C_DIFF = (
    a.ravel() for a in np.meshgrid(np.arange(1, INNINGS + 1), np.arange(2), np.arange(3), np.arange(8),
                                   np.arange(-MAX_DIFF, MAX_DIFF + 1), indexing="ij"))
_GAME_OVER = (_C_BOT == 1) & (_C_INN == INNINGS) & (_C_DIFF > 0)  # bottom 9+, home ahead: already won


def _key(inning, bottom, outs, base, diff):
    """Cell key from numpy arrays or polars expressions (inning 1-9, bottom 0/1, outs 0-2, base 0-7, diff capped)."""
    return (((((inning - 1) * 2 + bottom) * 3 + outs) * 8 + base) * N_DIFF) + diff + MAX_DIFF


# ---------------------------------------------------------------------------------------------------------
# Plays -> game states, results and cell keys.


def reconciled_plays(plays: pl.DataFrame, parse_report: pl.DataFrame) -> pl.DataFrame:
    """The college plays of the games whose pbp_parse_report status is "reconciled"."""
    ok = parse_report.filter(pl.col("status") == "reconciled").select("game_id").unique()
    return plays.join(ok, on="game_id", how="semi", maintain_order="left")


def _prepare(plays: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in _NEEDED if c not in plays.columns]
    if missing:
        raise ValueError(f"plays lack column(s) {', '.join(missing)}")
    has_before = "home_score_before" in plays.columns and "away_score_before" in plays.columns
    cols = [*_NEEDED, *(["home_score_before", "away_score_before"] if has_before else [])]
    g = "game_id"
    df = (plays.select(cols).with_row_index("_row")
          .sort([g, "seq"], maintain_order=True, nulls_last=True)
          .with_columns(
              pl.col("home_score").cast(pl.Int64).forward_fill().over(g).fill_null(0).alias("_h"),
              pl.col("away_score").cast(pl.Int64).forward_fill().over(g).fill_null(0).alias("_a"),
              pl.col("runs_on_play").cast(pl.Int64).fill_null(0).alias("_runs"),
              pl.col("outs_before").cast(pl.Int64).alias("_ob"),
              pl.col("outs_after").cast(pl.Int64).fill_null(pl.col("outs_before").cast(pl.Int64)).alias("_oa"),
              pl.col("bases_after").fill_null(pl.col("bases_before")).alias("_ba"),
              pl.col("inning").cast(pl.Int64).alias("_inn"),
          ))
    prev_h = pl.col("_h").shift(1).over(g).fill_null(0)
    prev_a = pl.col("_a").shift(1).over(g).fill_null(0)
    if has_before:
        prev_h = pl.col("home_score_before").cast(pl.Int64).fill_null(prev_h)
        prev_a = pl.col("away_score_before").cast(pl.Int64).fill_null(prev_a)
    df = df.with_columns(prev_h.alias("_hb"), prev_a.alias("_ab")).with_columns(
        ((pl.col("_ob") != pl.col("_oa")) | (pl.col("bases_before") != pl.col("_ba")) | (pl.col("_runs") > 0))
        .fill_null(False).alias("_change"),
        (pl.col("_inn").ge(1) & pl.col("half").is_in(HALVES)).fill_null(False).alias("_when_ok"),
    ).with_columns(
        (pl.col("_when_ok") & pl.col("_ob").is_between(0, 2) & pl.col("bases_before").is_in(BASE_LABELS))
        .fill_null(False).alias("_valid"),
    )
    # The game's end: its last state-changing row (its last row when nothing changes).
    df = df.with_columns(
        pl.col("seq").filter(pl.col("_change") & pl.col("_when_ok")).max().over(g).alias("_last_seq"),
    ).with_columns(pl.col("_last_seq").fill_null(pl.col("seq").max().over(g)))
    fin = (df.filter(pl.col("seq") == pl.col("_last_seq")).unique(g, keep="first", maintain_order=True)
           .select(g, pl.col("_h").alias("_fh"), pl.col("_a").alias("_fa"), pl.col("_inn").alias("_finn"),
                   pl.col("half").alias("_fhalf"), pl.col("_oa").alias("_foa")))
    df = df.join(fin, on=g, how="left", maintain_order="left")
    fdiff = pl.col("_fh") - pl.col("_fa")
    natural = (((pl.col("_foa") == 3) & ((pl.col("_fhalf") == "bot") | (fdiff > 0)))
               | ((pl.col("_fhalf") == "bot") & (fdiff > 0)))
    home_won = pl.when(fdiff > 0).then(True).when(fdiff < 0).then(False)
    bottom = (pl.col("half") == "bot").cast(pl.Int64)
    # a 7-inning game is looked up as the last 7 innings of a 9-inning one: its 1st inning as the 3rd
    seven = (natural & home_won.is_not_null() & pl.col("_finn").is_between(SHORT_INNINGS, SHORT_INNINGS + 1)
             & (fdiff.abs() < RUN_RULE_MARGIN)).fill_null(False)
    inn_raw = pl.col("_inn") + pl.when(seven).then(INNINGS - SHORT_INNINGS).otherwise(0)
    inn = inn_raw.clip(1, INNINGS)
    d_before = (pl.col("_hb") - pl.col("_ab")).clip(-MAX_DIFF, MAX_DIFF)
    d_after = (pl.col("_h") - pl.col("_a")).clip(-MAX_DIFF, MAX_DIFF)
    # the start of the next half inning: top -> bottom of the same inning, bottom -> top of the next
    next_inn = pl.when(bottom == 1).then((inn_raw + 1).clip(1, INNINGS)).otherwise(inn)
    next_bot = 1 - bottom

    def base(col: str) -> pl.Expr:
        return pl.col(col).replace_strict(_BASE_INDEX, default=None, return_dtype=pl.Int64)

    key_before = (pl.when(pl.col("_valid")).then(_key(inn, bottom, pl.col("_ob"), base("bases_before"), d_before))
                  .when(pl.col("_when_ok") & (pl.col("_ob") == 3)).then(_key(next_inn, next_bot, 0, 0, d_before)))
    key_after = (pl.when(pl.col("_when_ok") & (pl.col("_oa") == 3)).then(_key(next_inn, next_bot, 0, 0, d_after))
                 .when(pl.col("_when_ok") & pl.col("_oa").is_between(0, 2))
                 .then(_key(inn, bottom, pl.col("_oa"), base("_ba"), d_after)))
    runs = pl.col("_runs").clip(0, _MAX_RUNS)
    trans = (pl.when(pl.col("_oa") == 3).then(3 * 8 * (_MAX_RUNS + 1) + runs)
             .when(pl.col("_oa").is_between(0, 2)).then((pl.col("_oa") * 8 + base("_ba")) * (_MAX_RUNS + 1) + runs))
    return df.with_columns(
        home_won.alias("_home_won"),
        (home_won.is_not_null() & natural & (pl.col("_finn") >= INNINGS)).fill_null(False).alias("_complete"),
        (pl.col("_hb") - pl.col("_ab")).alias("_diff"),
        key_before.alias("_kb"),
        key_after.alias("_ka"),
        (pl.col("_ob") * 8 + base("bases_before")).alias("_bo"),
        trans.alias("_trans"),
        (pl.col("seq") >= pl.col("_last_seq")).fill_null(False).alias("_at_end"),
        (pl.col("seq") > pl.col("_last_seq")).fill_null(False).alias("_after_end"),
    ).with_columns(
        (pl.col("_complete") & pl.col("_change") & pl.col("_valid") & pl.col("_trans").is_not_null())
        .alias("_sample"),
    )


def _play_we(prep: pl.DataFrame, we: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """we_before and we_after per prepared row (NaN where the state is unknown)."""
    result = prep.get_column("_home_won").cast(pl.Float64).to_numpy()  # NaN when no result
    decided = ~np.isnan(result)
    kb = prep.get_column("_kb").fill_null(-1).to_numpy()
    ka = prep.get_column("_ka").fill_null(-1).to_numpy()
    before = np.where(kb >= 0, we[np.maximum(kb, 0)], np.nan)
    after = np.where(ka >= 0, we[np.maximum(ka, 0)], np.nan)
    at_end = prep.get_column("_at_end").to_numpy() & decided
    after_end = prep.get_column("_after_end").to_numpy() & decided
    after = np.where(at_end, result, after)
    before = np.where(after_end, result, before)
    return before, after


# ---------------------------------------------------------------------------------------------------------
# The prior models.


def _default_runs() -> np.ndarray:
    """The default runs-to-end distribution per base-out state (24 x 16): zero-inflated geometric."""
    out = np.zeros((24, MAX_RUNS_TO_END + 1))
    r = np.arange(1, MAX_RUNS_TO_END + 1)
    for outs in range(3):
        for label, i in _BASE_INDEX.items():
            mean, p1 = DEFAULT_RE24[outs][label], DEFAULT_P_RUNS_GE1[outs][label]
            q = 1.0 - p1 / mean  # runs given at least one: geometric on 1, 2, ... with mean mean / p1
            row = np.concatenate([[1.0 - p1], p1 * (1.0 - q) * q ** (r - 1)])
            row[-1] += 1.0 - row.sum()  # the tail beyond the last bin
            out[outs * 8 + i] = row
    return out


_DEFAULT_RUNS = _default_runs()


def _runs_distribution(bottom: np.ndarray, bo: np.ndarray, runs_to_end: np.ndarray) -> np.ndarray:
    """P(runs to the end of the half inning | half, base-out state): 2 x 24 x 16, shrunk toward the default."""
    counts = np.zeros((2, 24, MAX_RUNS_TO_END + 1))
    np.add.at(counts, (bottom, bo, np.minimum(runs_to_end, MAX_RUNS_TO_END)), 1.0)
    n = counts.sum(axis=2, keepdims=True)
    return (counts + PSEUDO_COUNT * _DEFAULT_RUNS[None]) / (n + PSEUDO_COUNT)


def _markov_we(dist: np.ndarray) -> np.ndarray:
    """Tango's Markov win expectancy of every cell from the runs-to-end distributions (see the module docstring)."""
    big = _INTERNAL_DIFF
    leads = np.arange(-big, big + 1)
    runs = np.arange(MAX_RUNS_TO_END + 1)
    # Tied after the 8th or later: x = WE at the start of an extra top half, tied. The top half scores r with
    # P_top(r); the home team then wins if it scores more than r, and the game goes on (x again) if it ties.
    top0, bot0 = dist[0, 0], dist[1, 0]
    tied = float(np.sum(top0 * (1.0 - np.cumsum(bot0))) / (1.0 - np.sum(top0 * bot0)))
    start = np.zeros((INNINGS + 2, 2, leads.size))  # WE at the start of each half inning, by home lead

    def at(values: np.ndarray, lead: np.ndarray) -> np.ndarray:
        return values[np.clip(lead, -big, big) + big]

    def end_of_half(inning: int, bottom: int, lead: np.ndarray) -> np.ndarray:
        if bottom == 0:
            later = at(start[inning, 1], lead)
            return np.where(lead > 0, 1.0, later) if inning >= INNINGS else later
        if inning >= INNINGS:
            return np.where(lead > 0, 1.0, np.where(lead < 0, 0.0, tied))
        return at(start[inning + 1, 0], lead)

    def value(inning: int, bottom: int, probs: np.ndarray, lead: np.ndarray) -> np.ndarray:
        moved = lead[:, None] + (runs if bottom else -runs)[None, :]
        return np.sum(probs[None, :] * end_of_half(inning, bottom, moved), axis=1)

    for inning in range(INNINGS, 0, -1):
        start[inning, 1] = value(inning, 1, bot0, leads)
        if inning >= INNINGS:
            start[inning, 1] = np.where(leads > 0, 1.0, start[inning, 1])
        start[inning, 0] = value(inning, 0, top0, leads)
    out = np.empty(N_CELLS)
    cell_leads = np.arange(-MAX_DIFF, MAX_DIFF + 1)
    for inning in range(1, INNINGS + 1):
        for bottom in range(2):
            for bo in range(24):
                first = _key(inning, bottom, bo // 8, bo % 8, -MAX_DIFF)
                out[first:first + N_DIFF] = value(inning, bottom, dist[bottom, bo], cell_leads)
    return np.where(_GAME_OVER, 1.0, out)


_C_TIME_LEFT = np.maximum(18.0 - (2 * (_C_INN - 1) + _C_BOT) - _C_OUTS / 3.0, 1.0 / 3.0) / 18.0


def _logit_features(markov: np.ndarray) -> np.ndarray:
    """The calibration's features: 1, logit(Markov WE), share of the 18 half innings left."""
    p = np.clip(markov, 1e-6, 1 - 1e-6)
    return np.column_stack([np.ones(N_CELLS), np.log(p / (1 - p)), _C_TIME_LEFT])


def _fit_logistic(x: np.ndarray, n: np.ndarray, wins: np.ndarray, ridge: float = RIDGE) -> np.ndarray:
    """Logistic prior for every cell from binomial counts (Newton-Raphson, ridge on the slopes)."""
    seen = n > 0
    xs, ns, ws = x[seen], n[seen], wins[seen]
    penalty = np.full(x.shape[1], ridge)
    penalty[0] = 0.0
    beta = np.zeros(x.shape[1])
    rate = np.clip(ws.sum() / max(ns.sum(), 1), 1e-3, 1 - 1e-3)
    beta[0] = np.log(rate / (1 - rate))
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(xs @ beta)))
        grad = xs.T @ (ws - ns * p) - penalty * beta
        hess = (xs.T * (ns * p * (1 - p))) @ xs + np.diag(penalty) + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return np.clip(1.0 / (1.0 + np.exp(-(x @ beta))), 1e-6, 1 - 1e-6)


def _transitions(bo: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """P(outcome | base-out state): a 24 x _N_TRANS matrix (a state never seen has a row of zeros)."""
    counts = np.bincount(bo * _N_TRANS + trans, minlength=24 * _N_TRANS).reshape(24, _N_TRANS).astype(float)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def _after_we_by_outcome(we: np.ndarray) -> np.ndarray:
    """WE after each outcome from each (inning, half, diff): shape (9 * 2 * 21, _N_TRANS), game-ending rules."""
    inn, bot, diff, oa, ba, runs = np.meshgrid(
        np.arange(1, INNINGS + 1), np.arange(2), np.arange(-MAX_DIFF, MAX_DIFF + 1), np.arange(4), np.arange(8),
        np.arange(_MAX_RUNS + 1), indexing="ij")
    new = diff + np.where(bot == 1, runs, -runs)
    newc = np.clip(new, -MAX_DIFF, MAX_DIFF)
    last = inn >= INNINGS
    same_half = we[_key(inn, bot, np.minimum(oa, 2), ba, newc)]
    next_inn = np.where(bot == 1, np.minimum(inn + 1, INNINGS), inn)
    next_half = we[_key(next_inn, 1 - bot, 0, 0, newc)]
    out = np.where(oa < 3, np.where((bot == 1) & last & (new > 0), 1.0, same_half),
                   np.where(last & (bot == 0) & (new > 0), 1.0,
                            np.where(last & (bot == 1) & (new != 0), (new > 0).astype(float), next_half)))
    return out.reshape(INNINGS * 2 * N_DIFF, _N_TRANS)


_C_IHD = ((_C_INN - 1) * 2 + _C_BOT) * N_DIFF + _C_DIFF + MAX_DIFF
_C_BO = _C_OUTS * 8 + _C_BASE


def _abs_dwe_model(we: np.ndarray, probs: np.ndarray) -> np.ndarray:
    after = _after_we_by_outcome(we)[_C_IHD]  # N_CELLS x _N_TRANS
    model = np.einsum("ct,ct->c", probs[_C_BO], np.abs(after - we[:, None]))
    return np.where(_GAME_OVER, 0.0, model)


# ---------------------------------------------------------------------------------------------------------
# Shrinkage, cross-validation and the monotone projection.


def _check_k(k: float | None, name: str) -> None:
    if k is not None and not k > 0:
        raise ValueError(f"{name} must be a positive number, not {k!r}")


def _we_prior(runs_rows: tuple[np.ndarray, ...], n: np.ndarray, wins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Markov WE, its logistic calibration fitted to the cell counts) for every cell."""
    bottom, bo, runs_to_end = runs_rows
    markov = _markov_we(_runs_distribution(bottom, bo, runs_to_end))
    return markov, _fit_logistic(_logit_features(markov), n, wins)


def _cv_k_we(keys, y, fold, runs_rows, runs_fold, nfolds, grid) -> float:
    loss = np.zeros(len(grid))
    for f in range(nfolds):
        tr, te = fold != f, fold == f
        n_tr = np.bincount(keys[tr], minlength=N_CELLS).astype(float)
        w_tr = np.bincount(keys[tr], weights=y[tr], minlength=N_CELLS)
        n_te = np.bincount(keys[te], minlength=N_CELLS).astype(float)
        w_te = np.bincount(keys[te], weights=y[te], minlength=N_CELLS)
        _, prior = _we_prior(tuple(a[runs_fold != f] for a in runs_rows), n_tr, w_tr)
        used = n_te > 0
        for j, k in enumerate(grid):
            p = ((w_tr + k * prior) / (n_tr + k))[used]
            loss[j] -= np.sum(w_te[used] * np.log(p) + (n_te[used] - w_te[used]) * np.log1p(-p))
    return float(grid[int(np.argmin(loss))])


def _cv_k_li(keys, absd, bo, trans, fold, nfolds, we, grid) -> float:
    loss = np.zeros(len(grid))
    for f in range(nfolds):
        tr, te = fold != f, fold == f
        prior = _abs_dwe_model(we, _transitions(bo[tr], trans[tr]))
        n_tr = np.bincount(keys[tr], minlength=N_CELLS).astype(float)
        s_tr = np.bincount(keys[tr], weights=absd[tr], minlength=N_CELLS)
        n_te = np.bincount(keys[te], minlength=N_CELLS).astype(float)
        s_te = np.bincount(keys[te], weights=absd[te], minlength=N_CELLS)
        ss_te = np.bincount(keys[te], weights=absd[te] ** 2, minlength=N_CELLS)
        for j, k in enumerate(grid):
            p = (s_tr + k * prior) / (n_tr + k)
            loss[j] += np.sum(ss_te - 2 * p * s_te + n_te * p * p)
    return float(grid[int(np.argmin(loss))])


def _pava(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted isotonic (non-decreasing) regression by pool-adjacent-violators."""
    values: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for yi, wi in zip(y.tolist(), w.tolist()):
        values.append(yi)
        weights.append(wi)
        sizes.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            wt = weights[-2] + weights[-1]
            values[-2] = (values[-2] * weights[-2] + values[-1] * weights[-1]) / wt
            weights[-2] = wt
            sizes[-2] += sizes[-1]
            del values[-1], weights[-1], sizes[-1]
    return np.repeat(values, sizes)


def _monotone(shrunk: np.ndarray, weight: np.ndarray) -> np.ndarray:
    out = shrunk.copy().reshape(-1, N_DIFF)
    wts = weight.reshape(-1, N_DIFF)
    over = _GAME_OVER.reshape(-1, N_DIFF)
    for g in range(out.shape[0]):
        if np.all(np.diff(out[g]) >= 0) and not over[g].any():
            continue
        live = ~over[g]
        out[g, live] = _pava(out[g, live], wts[g, live])
        out[g, over[g]] = 1.0
    return out.ravel()


# ---------------------------------------------------------------------------------------------------------
# Public API.


def win_expectancy_table(
    plays: pl.DataFrame,
    league: str,
    *,
    k_we: float | None = None,
    k_li: float | None = None,
    folds: int = FOLDS,
    k_grid: Sequence[float] = K_GRID,
) -> pl.DataFrame:
    """Home win expectancy and leverage per game state; see the module docstring for the method.

    k_we / k_li fix the shrinkage pseudo-counts; None chooses each by `folds`-fold cross-validation by game
    over `k_grid`."""
    _check_k(k_we, "k_we")
    _check_k(k_li, "k_li")
    grid = np.asarray(sorted(float(k) for k in k_grid))
    if (k_we is None or k_li is None) and (grid.size == 0 or grid[0] <= 0):
        raise ValueError("k_grid must hold positive numbers")
    prep = _prepare(plays)
    sample = prep.filter(pl.col("_sample"))
    if sample.height == 0:
        raise ValueError("no state-changing plays of complete games (decided, 9 innings or more) in plays")
    games = sample.get_column("game_id").unique().sort()
    nfolds = min(folds, games.len()) if k_we is None or k_li is None else 1
    if nfolds < 2 and (k_we is None or k_li is None):
        raise ValueError("choosing k by cross-validation needs at least 2 complete games; pass k_we= and k_li=")
    fold_of = pl.DataFrame({"game_id": games, "_fold": np.arange(games.len()) % nfolds})
    half = ["game_id", "inning", "half"]
    sample = sample.join(fold_of, on="game_id", how="left", maintain_order="left").with_columns(
        pl.col("_runs").reverse().cum_sum().reverse().over(half).alias("_runs_to_end"),
        ((pl.col("_oa").max().over(half) == 3) & (pl.col("_inn") < INNINGS)).alias("_for_runs"),
    )
    # The Markov model's data: plays of innings 1-8 in half innings that reach 3 outs.
    for_runs = sample.filter(pl.col("_for_runs"))
    runs_rows = ((for_runs.get_column("half") == "bot").cast(pl.Int64).to_numpy(),
                 for_runs.get_column("_bo").to_numpy(), for_runs.get_column("_runs_to_end").to_numpy())
    runs_fold = for_runs.get_column("_fold").to_numpy()

    # WE: one observation per game and cell.
    obs = sample.unique(["game_id", "_kb"], keep="first", maintain_order=True)
    keys = obs.get_column("_kb").to_numpy()
    y = obs.get_column("_home_won").cast(pl.Float64).to_numpy()
    if k_we is None:
        k_we = _cv_k_we(keys, y, obs.get_column("_fold").to_numpy(), runs_rows, runs_fold, nfolds, grid)
    n = np.bincount(keys, minlength=N_CELLS).astype(float)
    wins = np.bincount(keys, weights=y, minlength=N_CELLS)
    markov, model = _we_prior(runs_rows, n, wins)
    model = np.where(_GAME_OVER, 1.0, model)
    we_weight = n / (n + k_we)
    shrunk = (wins + k_we * model) / (n + k_we)
    we = _monotone(shrunk, n + k_we)

    # LI: every sample play, |WE after - WE before| with the smoothed table.
    before, after = _play_we(sample, we)
    after = np.where(np.isnan(after), before, after)
    absd = np.abs(after - before)
    pkeys = sample.get_column("_kb").to_numpy()
    bo = sample.get_column("_bo").to_numpy()
    trans = sample.get_column("_trans").to_numpy()
    if k_li is None:
        k_li = _cv_k_li(pkeys, absd, bo, trans, sample.get_column("_fold").to_numpy(), nfolds, we, grid)
    n_li = np.bincount(pkeys, minlength=N_CELLS).astype(float)
    s_li = np.bincount(pkeys, weights=absd, minlength=N_CELLS)
    li_model = _abs_dwe_model(we, _transitions(bo, trans))
    li_weight = n_li / (n_li + k_li)
    abs_dwe = np.where(_GAME_OVER, 0.0, (s_li + k_li * li_model) / (n_li + k_li))
    mean_abs = float(np.sum(n_li * abs_dwe) / np.sum(n_li))
    leverage = abs_dwe / mean_abs if mean_abs > 0 else np.full(N_CELLS, np.nan)

    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(n > 0, wins / np.maximum(n, 1), np.nan)
        abs_raw = np.where(n_li > 0, s_li / np.maximum(n_li, 1), np.nan)
    return pl.DataFrame({
        "league": pl.Series([league] * N_CELLS, dtype=pl.String),
        "inning": pl.Series(_C_INN, dtype=pl.Int8),
        "half": pl.Series(np.array(HALVES)[_C_BOT], dtype=pl.String),
        "outs": pl.Series(_C_OUTS, dtype=pl.Int8),
        "bases": pl.Series(np.array(BASE_LABELS)[_C_BASE], dtype=pl.String),
        "score_diff": pl.Series(_C_DIFF, dtype=pl.Int8),
        "games_observed": pl.Series(n.astype(np.int64), dtype=pl.Int64),
        "raw_rate": pl.Series(raw, dtype=pl.Float64, nan_to_null=True),
        "we_home": we,
        "we_markov": markov,
        "we_model": model,
        "we_weight": we_weight,
        "we_shrunk": shrunk,
        "plays_observed": pl.Series(n_li.astype(np.int64), dtype=pl.Int64),
        "abs_dwe_raw": pl.Series(abs_raw, dtype=pl.Float64, nan_to_null=True),
        "abs_dwe_model": li_model,
        "li_weight": li_weight,
        "abs_dwe": abs_dwe,
        "leverage_index": leverage,
    })


def _table_arrays(we_table: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    missing = [c for c in ("inning", "half", "outs", "bases", "score_diff", "we_home", "leverage_index")
               if c not in we_table.columns]
    if missing:
        raise ValueError(f"we_table lacks column(s) {', '.join(missing)}")
    keyed = we_table.select(
        _key(pl.col("inning").cast(pl.Int64), (pl.col("half") == "bot").cast(pl.Int64),
             pl.col("outs").cast(pl.Int64),
             pl.col("bases").replace_strict(_BASE_INDEX, default=None, return_dtype=pl.Int64),
             pl.col("score_diff").cast(pl.Int64)).alias("key"),
        pl.col("we_home").cast(pl.Float64), pl.col("leverage_index").cast(pl.Float64))
    key = keyed.get_column("key")
    if keyed.height != N_CELLS or key.null_count() or key.n_unique() != N_CELLS or key.min() != 0 \
            or key.max() != N_CELLS - 1:
        raise ValueError(f"we_table must hold each of the {N_CELLS:,} cells of one league exactly once")
    order = key.to_numpy().argsort()
    return keyed.get_column("we_home").to_numpy()[order], keyed.get_column("leverage_index").to_numpy()[order]


def play_win_probability(plays: pl.DataFrame, we_table: pl.DataFrame) -> pl.DataFrame:
    """Every row of plays with WE before/after, WPA and LI; see the module docstring.

    A we_table of several leagues needs a league column in plays (each league's rows use its own cells)."""
    leagues = we_table.get_column("league").unique().to_list() if "league" in we_table.columns else [None]
    if len(leagues) > 1:
        if "league" not in plays.columns:
            raise ValueError("we_table holds several leagues: plays need a league column")
        if plays.filter(~pl.col("league").is_in(leagues) | pl.col("league").is_null()).height:
            raise ValueError("plays hold leagues the we_table does not have")
        parts = [play_win_probability(plays.filter(pl.col("league") == lg), we_table.filter(pl.col("league") == lg))
                 for lg in leagues]
        return _concat_in_order(plays, parts)
    we, li = _table_arrays(we_table)
    prep = _prepare(plays)
    before, after = _play_we(prep, we)
    kb = prep.get_column("_kb").fill_null(-1).to_numpy()
    valid = prep.get_column("_valid").to_numpy() & ~prep.get_column("_after_end").to_numpy()
    lev = np.where(valid & (kb >= 0), li[np.maximum(kb, 0)], np.nan)
    home_wpa = after - before
    bottom = (prep.get_column("half") == "bot").fill_null(False).to_numpy()
    added = pl.DataFrame({
        "_row": prep.get_column("_row"),
        "score_diff_before": prep.get_column("_diff").cast(pl.Int16),
        "we_before": pl.Series(before, nan_to_null=True),
        "we_after": pl.Series(after, nan_to_null=True),
        "home_wpa": pl.Series(home_wpa, nan_to_null=True),
        "wpa": pl.Series(np.where(bottom, home_wpa, -home_wpa), nan_to_null=True),
        "leverage_index": pl.Series(lev, nan_to_null=True),
        "state_change": prep.get_column("_change") & prep.get_column("_valid"),
        "in_table_sample": prep.get_column("_sample"),
        "home_won": prep.get_column("_home_won"),
    }).sort("_row").drop("_row")
    return pl.concat([plays.drop([c for c in PLAY_COLUMNS if c in plays.columns]), added], how="horizontal")


def _concat_in_order(plays: pl.DataFrame, parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Per-league results back in the input order of plays."""
    index = plays.with_row_index("_order").select("_order", "league")
    ordered = [index.filter(pl.col("league") == part.get_column("league")[0]).select("_order").hstack(part)
               for part in parts if part.height]
    return pl.concat(ordered).sort("_order").drop("_order")


# ---------------------------------------------------------------------------------------------------------
# Pictures for asset metadata (bare matplotlib Figure on the Agg canvas: no pyplot, safe in threads).


def we_curve_png(
    we_table: pl.DataFrame,
    *,
    diffs: Iterable[int] = range(-3, 4),
    title: str | None = None,
    dpi: int = 80,
    figsize: tuple[float, float] = (7.0, 4.2),
) -> bytes:
    """Home WE at the start of each half inning (0 outs, bases empty) for each home lead in `diffs`, as PNG."""
    from matplotlib import colormaps

    starts = we_table.filter((pl.col("outs") == 0) & (pl.col("bases") == "empty"))
    league = ", ".join(str(v) for v in starts.get_column("league").unique().sort()) \
        if "league" in starts.columns else ""
    fig = new_figure(figsize, dpi)
    ax = fig.add_subplot(1, 1, 1)
    xs = np.arange(2 * INNINGS)
    cmap = colormaps["coolwarm"]
    diffs = list(diffs)
    for j, d in enumerate(diffs):
        rows = starts.filter(pl.col("score_diff") == d)
        ys = np.full(2 * INNINGS, np.nan)
        for inn, half, v in rows.select("inning", "half", "we_home").iter_rows():
            if not (half == "bot" and inn >= INNINGS and d > 0):  # game over: not a state
                ys[2 * (inn - 1) + (half == "bot")] = v
        color = cmap(j / max(len(diffs) - 1, 1))
        ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.3, color=color, label=f"{d:+d}" if d else "tied")
    ax.set_xticks(xs, [f"{'T' if h == 0 else 'B'}{i}{'+' if i == INNINGS else ''}"
                       for i in range(1, INNINGS + 1) for h in (0, 1)], fontsize=7)
    ax.set_ylim(0, 1)
    ax.axhline(0.5, color="0.7", linewidth=0.8, linestyle="--")
    ax.set_xlabel("start of half inning (0 outs, bases empty)")
    ax.set_ylabel("home win expectancy")
    ax.set_title(title or f"Home win expectancy by inning and home lead{f' ({league})' if league else ''}")
    ax.legend(title="home lead", fontsize=7, title_fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return figure_png(fig)


def leverage_histogram_png(
    li,
    *,
    bins: int = 50,
    title: str | None = None,
    dpi: int = 80,
    figsize: tuple[float, float] = (6.0, 3.6),
) -> bytes:
    """Histogram of leverage index values (nulls and NaN dropped) with the mean and median marked, as PNG."""
    values = pl.Series(li, dtype=pl.Float64, strict=False).drop_nulls().drop_nans().to_numpy()
    fig = new_figure(figsize, dpi)
    ax = fig.add_subplot(1, 1, 1)
    if values.size:
        ax.hist(values, bins=bins, range=(0, max(float(values.max()), 1.0)), color="#4477aa")
        ax.set_yscale("log")
        mean, median = float(values.mean()), float(np.median(values))
        ax.axvline(mean, color="#cc3311", linewidth=1.2, label=f"mean {mean:.2f}")
        ax.axvline(median, color="#228833", linewidth=1.2, linestyle="--", label=f"median {median:.2f}")
        ax.legend(fontsize=8)
    ax.set_xlabel("leverage index")
    ax.set_ylabel("plays (log scale)")
    ax.set_title(title or f"Leverage index of {values.size:,} plays")
    fig.tight_layout()
    return figure_png(fig)
