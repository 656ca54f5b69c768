"""Run expectancy (RE24): the runs a team scores from a base-out state to the end of the half inning.

`run_expectancy(plays, by=("league", "season"))` works on any plays table with the columns of the college
`plays` table (bsi_pipeline.ncaa.pbp_tables) or the MLB cwevent `events` table
(bsi_pipeline.sources.retrosheet_cwevent): game_id, seq, inning, half, outs_before, outs_after, bases_before,
bases_after, runs_on_play (and is_plate_appearance for method="plate_appearance"), plus the `by` columns. A
table without a `league` column gets one from the `league=` argument.

Method (Albert, "Analyzing Baseball Data with R", ch. 5 "Value of Plays Using Run Expectancy"; the method behind
his published RE24 matrices in bayesball/ShinyBaseball, data/reference/albert_re24_by_season_2000_2019.csv):
1. Half innings are (game_id, inning, half), their plays ordered by seq. Only half innings that reach 3 outs
   (some play has outs_after = 3) count: a walk-off, a rain-shortened or a mercy-rule half inning ends with fewer
   outs and would understate the runs to come, so all of its plays are left out.
2. For every play, runs to the end of the half inning = runs_on_play of that play and of every later play of the
   half inning (the play's own runs included).
3. A state occurrence is counted at the start of every play that changes something: the base-out state
   (bases_before, outs_before) differs from (bases_after, outs_after), or a run scores (method="state_change",
   the default). Plays that change nothing (a foul error, "no play", the college table's substitution, summary
   and note lines) are not counted. Steals, wild pitches, pickoffs and the like are counted, in the state before
   them; the plate appearance then goes on from the new state, which is counted again at the next play.
4. Per `by` group and state (outs_before 0-2 x 8 base states): re_mean_runs = mean runs to the end of the half
   inning, p_runs_ge1 / p_runs_ge2 = share of occurrences with at least 1 / 2 such runs, count = occurrences.

Which occurrences to count was checked against Albert's published 2016 row, from the full 2016 Retrosheet events
(../shared/data/retrosheet_events_2016): state_change reproduces every one of the 24 published values within
their rounding (max |difference| 0.0047 runs for re_mean_runs, published to 0.01; 0.0005 for p_runs_ge1 and
p_runs_ge2, published to 0.001), and the state counts match his published count table (which keeps incomplete
half innings) to within 1 in 3 states. Counting only the state before each batting event
(method="plate_appearance": is_plate_appearance rows, the state at the start of the play that ends each plate
appearance) gives up to 0.021 runs off (1 out, runners on 1st and 3rd) and 0.015 off in p_runs_ge1; counting
every event row (method="all") is within 0.0053 runs but 0.0007 in p_runs_ge1, outside the published rounding.

The state columns are taken as given: a half inning that lost a play (a quarantined cwevent row, a college game
whose replay did not reconcile with the score) still counts if it reaches 3 outs, with its runs off by what the
lost play scored. Filter such games out first when that matters (e.g. keep the college games whose parse_report
status is "reconciled").

Nulls: a row without game_id, seq, inning or half cannot be placed in a half inning and is left out (the plays
tables never have one). A null runs_on_play counts as no run. A null outs_after or bases_after is an unknown
after-state, counted as a change (the occurrence is kept, not guessed away). A before-state outside the 24
(null bases or outs) is no occurrence, but its runs still count for the plays before it. With
method="plate_appearance", a null is_plate_appearance is not a plate appearance.

Output: one row per `by` group and each of the 24 states, all 24 even when a state never occurs (count 0,
means null), sorted by the `by` columns, outs, then bases in BASE_LABELS order. Columns: the `by` columns, outs,
bases (college label: 'empty', '1', '2', '1-2', '3', '1-3', '2-3', '1-2-3'), bases_123 (Albert's label: "000"
empty, "103" first and third, "023" second and third), re_mean_runs, p_runs_ge1, p_runs_ge2, count. Means are
exact integer sums divided by the count, so the result does not depend on the order polars adds in.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

BASE_LABELS = ("empty", "1", "2", "1-2", "3", "1-3", "2-3", "1-2-3")
BASES_123 = {"empty": "000", "1": "100", "2": "020", "1-2": "120", "3": "003", "1-3": "103", "2-3": "023",
             "1-2-3": "123"}
METHODS = ("state_change", "plate_appearance", "all")
_NEEDED = ("game_id", "seq", "inning", "half", "outs_before", "outs_after", "bases_before", "bases_after",
           "runs_on_play")

STATES = pl.DataFrame(
    {"outs": [o for o in range(3) for _ in BASE_LABELS], "bases": [b for _ in range(3) for b in BASE_LABELS]},
    schema={"outs": pl.Int8, "bases": pl.String},
).with_columns(
    pl.col("bases").replace_strict(BASES_123, return_dtype=pl.String).alias("bases_123"),
    pl.int_range(pl.len(), dtype=pl.Int32).alias("_state_order"),
)


def run_expectancy(
    plays: pl.DataFrame,
    by: Sequence[str] = ("league", "season"),
    *,
    league: str | None = None,
    method: str = "state_change",
) -> pl.DataFrame:
    """The 24-state run expectancy matrix per `by` group; see the module docstring for the method."""
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not one of {', '.join(METHODS)}")
    by = list(by)
    if league is not None:
        plays = plays.with_columns(pl.lit(league, dtype=pl.String).alias("league"))
    needed = [*_NEEDED, *by, *(["is_plate_appearance"] if method == "plate_appearance" else [])]
    missing = [c for c in dict.fromkeys(needed) if c not in plays.columns]
    if missing:
        hint = " (pass league=... to add a league column)" if "league" in missing and league is None else ""
        raise ValueError(f"plays lack column(s) {', '.join(missing)}{hint}")

    half = [*by, "game_id", "inning", "half"]
    rows = (
        plays.select(list(dict.fromkeys(needed)))
        .filter(pl.all_horizontal(pl.col(c).is_not_null() for c in ("game_id", "seq", "inning", "half")))
        .sort([*by, "game_id", "seq"], maintain_order=True)
        .with_columns(pl.col("runs_on_play").fill_null(0).cast(pl.Int64).alias("_runs"))
        .with_columns(
            pl.col("_runs").reverse().cum_sum().reverse().over(half).alias("_runs_to_end"),
            (pl.col("outs_after").max().over(half) == 3).alias("_complete"),
        )
        .filter(pl.col("_complete") & pl.col("outs_before").is_between(0, 2)
                & pl.col("bases_before").is_in(list(BASE_LABELS)))
    )
    if method == "state_change":
        rows = rows.filter(
            (pl.col("outs_before") != pl.col("outs_after")).fill_null(True)
            | (pl.col("bases_before") != pl.col("bases_after")).fill_null(True)
            | (pl.col("_runs") > 0))
    elif method == "plate_appearance":
        rows = rows.filter(pl.col("is_plate_appearance").fill_null(False))

    sums = rows.group_by([*by, pl.col("outs_before").cast(pl.Int8).alias("outs"),
                          pl.col("bases_before").alias("bases")]).agg(
        pl.len().cast(pl.Int64).alias("count"),
        pl.col("_runs_to_end").sum().alias("_runs_sum"),
        (pl.col("_runs_to_end") >= 1).sum().cast(pl.Int64).alias("_ge1"),
        (pl.col("_runs_to_end") >= 2).sum().cast(pl.Int64).alias("_ge2"),
    )
    groups = rows.select(by).unique() if by else pl.DataFrame({"_all": [0]})
    grid = groups.join(STATES, how="cross")
    out = grid.join(sums, on=[*by, "outs", "bases"], how="left", nulls_equal=True).with_columns(
        pl.col("count").fill_null(0)
    ).with_columns(
        (pl.col("_runs_sum") / pl.col("count")).alias("re_mean_runs"),
        (pl.col("_ge1") / pl.col("count")).alias("p_runs_ge1"),
        (pl.col("_ge2") / pl.col("count")).alias("p_runs_ge2"),
    )
    return out.sort([*by, "outs", "_state_order"], nulls_last=True).select(
        *by, "outs", "bases", "bases_123", "re_mean_runs", "p_runs_ge1", "p_runs_ge2", "count")


def re24_heatmap_png(re24: pl.DataFrame, title: str) -> bytes:
    """A heatmap of one league-season's RE24 (bases down, outs across) with the values written in, as PNG."""
    import numpy as np

    from bsi_pipeline.metrics import figure_png, new_figure

    order = {label: i for i, label in enumerate(BASE_LABELS)}
    grid = np.full((len(BASE_LABELS), 3), np.nan)
    for outs, bases, value in re24.select("outs", "bases", "re_mean_runs").iter_rows():
        if value is not None:
            grid[order[bases], int(outs)] = value
    fig = new_figure((4.2, 5.0), 80)
    ax = fig.add_subplot()
    image = ax.imshow(grid, cmap="viridis", aspect="auto")
    for (row, col), value in np.ndenumerate(grid):
        if not np.isnan(value):
            ax.text(col, row, f"{value:.2f}", ha="center", va="center", color="white" if value < 1.2 else "black")
    ax.set_xticks(range(3), labels=["0 outs", "1 out", "2 outs"])
    ax.set_yticks(range(len(BASE_LABELS)), labels=list(BASE_LABELS))
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="expected runs to end of inning")
    fig.tight_layout()
    return figure_png(fig)
