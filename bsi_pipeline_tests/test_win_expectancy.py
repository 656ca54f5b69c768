"""Win expectancy, WPA and leverage: hand-made games worked by hand, the real cwevent fixture and the college
sample, and (slow) the full 2016 MLB season against published facts."""

from __future__ import annotations

import time

import numpy as np
import polars as pl
import pytest

from bsi_pipeline.run_expectancy import BASE_LABELS
from bsi_pipeline.sources.retrosheet_cwevent import read_retrosheet_cwevent
from bsi_pipeline.win_expectancy import (
    MAX_DIFF,
    N_CELLS,
    PLAY_COLUMNS,
    TABLE_COLUMNS,
    leverage_histogram_png,
    play_win_probability,
    reconciled_plays,
    we_curve_png,
    win_expectancy_table,
)
from bsi_pipeline_tests.conftest import EMBEDDED_PBP, FIXTURES, SHARED_DATA

SHARED_EVENTS = SHARED_DATA / "retrosheet_events_2016" / "retro2016_events.parquet"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
QUIET = ["K", "K", "K"]  # a 1-2-3 half inning

# ---------------------------------------------------------------------------------------------------------
# Hand-made games. A script is a list of (inning, half, events); events: "K" an out, "HR" a home run (everyone
# scores), "1B" a single (runners move up one base; from third they score), "SUB" a line that changes nothing.


def game_rows(game: str, script: list[tuple[int, str, list[str]]]) -> list[dict]:
    rows, score, seq = [], {"top": 0, "bot": 0}, 0
    for inning, half, events in script:
        outs, bases = 0, [False, False, False]
        for ev in events:
            seq += 1
            before = dict(outs=outs, bases=label(bases), away=score["top"], home=score["bot"])
            runs = 0
            if ev == "K":
                outs += 1
            elif ev == "HR":
                runs, bases = 1 + sum(bases), [False, False, False]
            elif ev == "1B":
                runs, bases = int(bases[2]), [True, bases[0], bases[1]]
            score[half] += runs
            rows.append({
                "game_id": game, "seq": seq, "inning": inning, "half": half,
                "outs_before": before["outs"], "outs_after": outs, "bases_before": before["bases"],
                "bases_after": label(bases), "runs_on_play": runs,
                "away_score": score["top"], "home_score": score["bot"], "event": ev,
            })
    return rows


def label(bases: list[bool]) -> str:
    return BASE_LABELS[bases[0] + 2 * bases[1] + 4 * bases[2]]


def regular(overrides: dict[tuple[int, str], list[str]], last: tuple[int, str] = (9, "bot")) -> list:
    halves = [(i, h) for i in range(1, 20) for h in ("top", "bot")]
    return [(i, h, overrides.get((i, h), QUIET)) for i, h in halves[:halves.index(last) + 1]]


GAMES = {
    # home wins 1-0 on a homer in the 1st; no bottom 9th. A substitution after the first out of the top 5th.
    "g1_home": regular({(1, "bot"): ["HR", "K", "K", "K"], (5, "top"): ["K", "SUB", "K", "K"]}, last=(9, "top")),
    # away wins 1-0 on a leadoff homer
    "g2_away": regular({(1, "top"): ["HR", "K", "K", "K"]}),
    # home wins 1-0 on a walk-off homer leading off the bottom 9th (the last play leaves 0 outs)
    "g3_walkoff": regular({(9, "bot"): ["HR"]}),
    # 0-0 after the bottom 5th and called: no result, left out
    "g4_called_tie": regular({}, last=(5, "bot")),
    # 0-0 through 9, home wins in the bottom 10th: single, then a homer scoring two
    "g5_extras": regular({(10, "bot"): ["1B", "HR"]}, last=(10, "bot")),
}
RESULT = {"g1_home": 1.0, "g2_away": 0.0, "g3_walkoff": 1.0, "g5_extras": 1.0}


def hand_plays() -> pl.DataFrame:
    rows = [r for game, script in GAMES.items() for r in game_rows(game, script)]
    return pl.DataFrame(rows).with_columns(
        pl.col("seq").cast(pl.Int32), pl.col("inning").cast(pl.Int16),
        pl.col("outs_before", "outs_after").cast(pl.Int8),
        pl.col("runs_on_play", "away_score", "home_score").cast(pl.Int16))


@pytest.fixture(scope="module")
def hand_table() -> pl.DataFrame:
    return win_expectancy_table(hand_plays(), "mlb", k_we=10, k_li=5)


def cell(table: pl.DataFrame, inning: int, half: str, outs: int, bases: str, diff: int) -> dict:
    rows = table.filter((pl.col("inning") == inning) & (pl.col("half") == half) & (pl.col("outs") == outs)
                        & (pl.col("bases") == bases) & (pl.col("score_diff") == diff)).to_dicts()
    assert len(rows) == 1
    return rows[0]


def assert_monotone(table: pl.DataFrame) -> None:
    steps = table.sort("inning", "half", "outs", "bases", "score_diff").group_by(
        "league", "inning", "half", "outs", "bases").agg(pl.col("we_home").diff().drop_nulls().min().alias("step"))
    assert steps["step"].min() >= -1e-12


# ---------------------------------------------------------------------------------------------------------


def test_table_shape_and_order(hand_table):
    t = hand_table
    assert t.columns == list(TABLE_COLUMNS) and t.height == N_CELLS == 9 * 2 * 3 * 8 * 21
    assert (t["league"] == "mlb").all()
    assert t["inning"].unique().sort().to_list() == list(range(1, 10))
    assert t["score_diff"].min() == -MAX_DIFF and t["score_diff"].max() == MAX_DIFF
    first = t.head(21 * 8 * 3)
    assert first["half"].unique().to_list() == ["top"] and (first["inning"] == 1).all()
    assert t["bases"].head(21 * 8).unique(maintain_order=True).to_list() == list(BASE_LABELS)
    assert t["we_home"].is_between(0, 1).all() and t["leverage_index"].min() >= 0


def test_counts_and_raw_rates_by_hand(hand_table):
    t = hand_table
    # the first state of every complete game: g1, g2, g3, g5 (g4 is a called tie), home won 3 of them
    c = cell(t, 1, "top", 0, "empty", 0)
    assert (c["games_observed"], c["raw_rate"], c["plays_observed"]) == (4, 0.75, 4)
    c = cell(t, 1, "bot", 0, "empty", 0)  # g1 (then the homer), g3, g5
    assert (c["games_observed"], c["raw_rate"]) == (3, 1.0)
    c = cell(t, 1, "bot", 0, "empty", -1)  # g2 after the leadoff homer
    assert (c["games_observed"], c["raw_rate"]) == (1, 0.0)
    # innings 9 and later share cells: g5 reaches top 9 and top 10 tied with none out; the game counts once,
    # its plays twice
    c = cell(t, 9, "top", 0, "empty", 0)
    assert (c["games_observed"], c["raw_rate"], c["plays_observed"]) == (2, 1.0, 3)
    c = cell(t, 9, "bot", 0, "empty", 0)  # g3's walk-off homer, g5's bottom 9 and bottom 10 leadoff
    assert (c["games_observed"], c["raw_rate"], c["plays_observed"]) == (2, 1.0, 3)
    assert (cell(t, 9, "top", 0, "empty", 1)["raw_rate"], cell(t, 9, "top", 0, "empty", -1)["raw_rate"]) == (1, 0)
    c = cell(t, 9, "bot", 0, "1", 0)  # g5 after the single
    assert (c["games_observed"], c["raw_rate"]) == (1, 1.0)
    # the substitution in g1's top 5th changes nothing and is not an observation
    c = cell(t, 5, "top", 1, "empty", 1)
    assert (c["games_observed"], c["plays_observed"]) == (1, 1)
    # totals: distinct (game, cell) pairs and state-changing plays of the four complete games
    plays = hand_plays()
    complete = plays.filter(pl.col("game_id") != "g4_called_tie", pl.col("event") != "SUB")
    assert t["plays_observed"].sum() == complete.height
    # g5 reaches top 9 and top 10 with 0, 1 and 2 outs, bottom 9 and bottom 10 with none out: 4 repeats
    assert t["games_observed"].sum() == complete.height - 4
    unseen = t.filter(pl.col("games_observed") == 0)
    assert unseen["raw_rate"].is_null().all() and unseen["abs_dwe_raw"].is_null().all()


def test_shrinkage_weights(hand_table):
    t = hand_table
    n, k = t["games_observed"].to_numpy(), 10.0
    assert np.allclose(t["we_weight"].to_numpy(), n / (n + k))
    c = cell(t, 1, "top", 0, "empty", 0)
    assert c["we_weight"] == pytest.approx(4 / 14)
    assert c["we_shrunk"] == pytest.approx((3 + 10 * c["we_model"]) / 14)
    seen = t.filter(pl.col("games_observed") > 0)
    expected = seen["we_weight"] * seen["raw_rate"] + (1 - seen["we_weight"]) * seen["we_model"]
    assert np.allclose(seen["we_shrunk"].to_numpy(), expected.to_numpy())
    never = t.filter(pl.col("games_observed") == 0)
    assert np.allclose(never["we_shrunk"].to_numpy(), never["we_model"].to_numpy())
    # leverage: the same form with k_li = 5 over plays
    m = t["plays_observed"].to_numpy()
    assert np.allclose(t["li_weight"].to_numpy(), m / (m + 5.0))
    live = t.filter(~((pl.col("inning") == 9) & (pl.col("half") == "bot") & (pl.col("score_diff") > 0)))
    expected = (live["li_weight"] * live["abs_dwe_raw"].fill_null(0)
                + (1 - live["li_weight"]) * live["abs_dwe_model"])
    assert np.allclose(live["abs_dwe"].to_numpy(), expected.to_numpy())
    # leverage_index is abs_dwe over its play-weighted mean
    mean = (t["plays_observed"] * t["abs_dwe"]).sum() / t["plays_observed"].sum()
    assert np.allclose(t["leverage_index"].to_numpy(), t["abs_dwe"].to_numpy() / mean)


def test_monotone_in_score_difference(hand_table):
    assert_monotone(hand_table)
    # the isotonic step pools only where the shrunk values fall; a state already monotone is left alone, and its
    # weighted mean is kept where it pools
    t = hand_table.with_columns((pl.col("games_observed") + 10).alias("w"))
    groups = t.group_by("inning", "half", "outs", "bases").agg(
        pl.col("we_shrunk").diff().drop_nulls().min().alias("fall"),
        (pl.col("we_home") - pl.col("we_shrunk")).abs().max().alias("moved"),
        ((pl.col("we_home") - pl.col("we_shrunk")) * pl.col("w")).sum().alias("mass"),
        ((pl.col("half") == "bot") & (pl.col("inning") == 9)).any().alias("walkoff"))
    regular_groups = groups.filter(~pl.col("walkoff"))
    assert (regular_groups.filter(pl.col("fall") >= 0)["moved"] < 1e-12).all()
    assert (regular_groups["mass"].abs() < 1e-9).all()
    # bottom 9 or later with the home team ahead is game over
    over = hand_table.filter((pl.col("inning") == 9) & (pl.col("half") == "bot") & (pl.col("score_diff") > 0))
    assert over.height == 3 * 8 * 10 and (over["we_home"] == 1).all() and (over["leverage_index"] == 0).all()


def check_plays(wp: pl.DataFrame, results: dict[str, float] | None = None, whole: bool = True) -> None:
    """Telescoping, the final WE, and (when wp holds all the plays the table was built from) mean LI 1."""
    games = wp.sort("game_id", "seq").group_by("game_id", maintain_order=True).agg(
        pl.col("home_wpa").sum(), pl.col("we_before").first().alias("first"),
        pl.col("we_after").last().alias("last"), pl.col("home_won").first())
    decided = games.filter(pl.col("home_won").is_not_null())
    assert decided.height > 0
    result = decided["home_won"].cast(pl.Float64).to_numpy()
    assert np.allclose(decided["home_wpa"].to_numpy(), result - decided["first"].to_numpy(), atol=1e-12)
    assert np.array_equal(decided["last"].to_numpy(), result)  # after the last play WE is 1 or 0
    if results is not None:
        assert dict(zip(decided["game_id"], result)) == results
    if whole:
        sample = wp.filter(pl.col("in_table_sample"))
        assert sample["leverage_index"].mean() == pytest.approx(1.0, abs=1e-12)
    signed = wp.select(pl.when(pl.col("half") == "bot").then(pl.col("home_wpa")).otherwise(-pl.col("home_wpa")))
    assert (wp["wpa"] == signed.to_series()).all()


def test_play_win_probability_by_hand(hand_table):
    plays = hand_plays()
    wp = play_win_probability(plays, hand_table)
    assert wp.columns == [*plays.columns, *PLAY_COLUMNS] and wp.height == plays.height
    assert wp.select(plays.columns).equals(plays)
    check_plays(wp, RESULT)
    # the state at the start of the game is the (1, top, 0, empty, 0) cell
    start = cell(hand_table, 1, "top", 0, "empty", 0)["we_home"]
    assert (wp.filter(pl.col("seq") == 1)["we_before"] == start).all()
    # g1's bottom 1 homer: the home team's WPA from the tied leadoff state to (0 outs, empty, +1)
    hr = wp.filter((pl.col("game_id") == "g1_home") & (pl.col("event") == "HR")).row(0, named=True)
    assert hr["we_before"] == cell(hand_table, 1, "bot", 0, "empty", 0)["we_home"]
    assert hr["we_after"] == cell(hand_table, 1, "bot", 0, "empty", 1)["we_home"]
    assert hr["wpa"] == hr["home_wpa"] == pytest.approx(hr["we_after"] - hr["we_before"])
    # a third out leads to the start of the next half inning; a top-half play's wpa is the away team's
    third = wp.filter((pl.col("game_id") == "g2_away") & (pl.col("inning") == 1) & (pl.col("half") == "top")
                      & (pl.col("outs_after") == 3)).row(0, named=True)
    assert third["we_after"] == cell(hand_table, 1, "bot", 0, "empty", -1)["we_home"]
    assert third["wpa"] == -third["home_wpa"]
    # the substitution: no change, same LI as the state
    sub = wp.filter(pl.col("event") == "SUB").row(0, named=True)
    assert sub["home_wpa"] == 0 and not sub["state_change"] and not sub["in_table_sample"]
    assert sub["leverage_index"] == cell(hand_table, 5, "top", 1, "empty", 1)["leverage_index"]
    # the called tie: no result, not in the sample, its WE from the table to the end
    tie = wp.filter(pl.col("game_id") == "g4_called_tie")
    assert tie["home_won"].is_null().all() and not tie["in_table_sample"].any()
    assert tie["we_after"][-1] == cell(hand_table, 6, "top", 0, "empty", 0)["we_home"]
    # the walk-off leaves 0 outs; WE after it is the result
    walkoff = wp.filter(pl.col("game_id") == "g3_walkoff").tail(1).row(0, named=True)
    assert (walkoff["outs_after"], walkoff["we_after"], walkoff["home_won"]) == (0, 1.0, True)
    # input order is kept
    shuffled = plays.sample(fraction=1.0, shuffle=True, seed=7)
    again = play_win_probability(shuffled, hand_table)
    assert again.select(plays.columns).equals(shuffled)
    assert again.sort("game_id", "seq").equals(wp.sort("game_id", "seq"))


def test_score_before_columns_are_read_when_present(hand_table):
    """A table that lost a play (g1_home without the home team's homer in the bottom 1st) still knows the score
    before each later play from home_score_before / away_score_before: the next play starts 1-0 (score_diff_before
    1, the cell of a one-run lead), not 0-0 as the previous row's score would say."""
    batting = {"home_score_before": "bot", "away_score_before": "top"}
    plays = hand_plays().filter(pl.col("game_id") == "g1_home").with_columns(**{
        col: pl.col(col.removesuffix("_before")) - pl.when(pl.col("half") == half).then("runs_on_play").otherwise(0)
        for col, half in batting.items()}).filter(pl.col("event") != "HR")
    after = play_win_probability(plays, hand_table).filter((pl.col("inning") == 1) & (pl.col("half") == "bot"))
    assert after["score_diff_before"][0] == 1
    assert after["we_before"][0] == cell(hand_table, 1, "bot", 0, "empty", 1)["we_home"]


def test_rows_after_the_end_and_summary_lines(hand_table):
    """A college-style line after the third out (outs 3 -> 3) sits at the start of the next half inning; lines
    after the game's last play keep the result."""
    plays = hand_plays().filter(pl.col("game_id") == "g2_away")
    last = plays["seq"].max()
    extra = pl.DataFrame({
        "game_id": ["g2_away", "g2_away"], "seq": [last + 1, last + 2], "inning": [9, 9], "half": ["bot", "bot"],
        "outs_before": [3, 3], "outs_after": [3, 3], "bases_before": ["empty", "empty"],
        "bases_after": ["empty", "empty"], "runs_on_play": [0, 0], "away_score": [1, 1], "home_score": [0, 0],
        "event": ["summary", "note"]}, schema=plays.schema)
    wp = play_win_probability(pl.concat([plays, extra]), hand_table)
    tail = wp.tail(2)
    assert tail["we_before"].to_list() == [0.0, 0.0] and tail["we_after"].to_list() == [0.0, 0.0]
    assert tail["leverage_index"].is_null().all() and (tail["home_wpa"] == 0).all()
    check_plays(wp, {"g2_away": 0.0}, whole=False)
    # a summary line between half innings: WE of the next half's start, no change
    mid = hand_plays().filter(pl.col("game_id") == "g1_home")
    top1_end = mid.filter((pl.col("inning") == 1) & (pl.col("half") == "top"))["seq"].max()
    line = mid.filter(pl.col("seq") == top1_end).with_columns(
        pl.lit(top1_end, dtype=pl.Int32).alias("seq"), pl.lit(3, dtype=pl.Int8).alias("outs_before"),
        pl.lit("summary").alias("event"))
    rows = pl.concat([mid.filter(pl.col("seq") <= top1_end),
                      line.with_columns(pl.col("seq") + 1),
                      mid.filter(pl.col("seq") > top1_end).with_columns(pl.col("seq") + 1)])
    wp = play_win_probability(rows, hand_table)
    summary = wp.filter(pl.col("event") == "summary").row(0, named=True)
    assert summary["we_before"] == summary["we_after"] == cell(hand_table, 1, "bot", 0, "empty", 0)["we_home"]
    assert summary["leverage_index"] is None and not summary["state_change"]
    check_plays(wp, {"g1_home": 1.0}, whole=False)


SEVEN = {
    # a college doubleheader game: home wins 1-0 on a homer in the 1st, no bottom 7th
    "s1_seven": regular({(1, "bot"): ["HR", "K", "K", "K"]}, last=(7, "top")),
    # 0-0 through 7, home walks off with a homer leading off the bottom 8th (an extra inning of a 7-inning game)
    "s2_seven_extra": regular({(8, "bot"): ["HR"]}, last=(8, "bot")),
    # run-ruled after 7 at a 10-run lead: may have been a 9-inning game, keeps its innings
    "s3_run_rule": regular({(1, "bot"): ["HR"] * 10 + QUIET}, last=(7, "top")),
}


def test_seven_inning_games_are_looked_up_two_innings_later(hand_table):
    """A 7-inning game's 7th is the table's 9th (where the game-ending rules are), its 1st the table's 3rd; a
    game that ended after 7 at a 10-run lead reads its own innings. None of them is part of the table's sample."""
    plays = pl.DataFrame([r for game, script in SEVEN.items() for r in game_rows(game, script)],
                         schema=hand_plays().schema)
    wp = play_win_probability(plays, hand_table)
    check_plays(wp, {"s1_seven": 1.0, "s2_seven_extra": 1.0, "s3_run_rule": 1.0}, whole=False)
    assert not wp["in_table_sample"].any()

    def row(game: str, inning: int, half: str, outs: int) -> dict:
        return wp.filter((pl.col("game_id") == game) & (pl.col("inning") == inning) & (pl.col("half") == half)
                         & (pl.col("outs_before") == outs)).row(0, named=True)

    first = row("s1_seven", 1, "top", 0)
    assert first["we_before"] == cell(hand_table, 3, "top", 0, "empty", 0)["we_home"]
    assert first["leverage_index"] == cell(hand_table, 3, "top", 0, "empty", 0)["leverage_index"]
    last_top = row("s1_seven", 7, "top", 2)
    assert last_top["we_before"] == cell(hand_table, 9, "top", 2, "empty", 1)["we_home"]
    assert last_top["leverage_index"] == cell(hand_table, 9, "top", 2, "empty", 1)["leverage_index"]
    # the third out of the top 6th leads to the bottom 6th, the table's bottom 8th
    assert row("s1_seven", 6, "top", 2)["we_after"] == cell(hand_table, 8, "bot", 0, "empty", 1)["we_home"]
    # the bottom 7th ends tied: the top 8th is extra innings, the table's 9th
    assert row("s2_seven_extra", 7, "bot", 2)["we_after"] == cell(hand_table, 9, "top", 0, "empty", 0)["we_home"]
    assert row("s2_seven_extra", 8, "bot", 0)["we_before"] == cell(hand_table, 9, "bot", 0, "empty", 0)["we_home"]
    assert row("s3_run_rule", 1, "top", 0)["we_before"] == cell(hand_table, 1, "top", 0, "empty", 0)["we_home"]
    assert row("s3_run_rule", 7, "top", 0)["we_before"] == cell(hand_table, 7, "top", 0, "empty", 10)["we_home"]
    # the table is estimated from 9-inning games only: adding 7-inning games changes no cell
    both = win_expectancy_table(pl.concat([hand_plays(), plays]), "mlb", k_we=10, k_li=5)
    assert both.equals(hand_table)


def test_a_game_called_tied_after_seven_keeps_its_innings(hand_table):
    """Without a winner a game cannot be told to be a 7-inning one (module docstring): its plays read their own
    innings, as a 9-inning game's."""
    plays = pl.DataFrame(game_rows("s4_seven_tied", regular({}, last=(7, "bot"))), schema=hand_plays().schema)
    wp = play_win_probability(plays, hand_table)
    assert wp["home_won"].is_null().all()
    first = wp.filter((pl.col("inning") == 1) & (pl.col("half") == "top") & (pl.col("outs_before") == 0))
    assert first["we_before"][0] == cell(hand_table, 1, "top", 0, "empty", 0)["we_home"]
    seventh = wp.filter((pl.col("inning") == 7) & (pl.col("half") == "bot") & (pl.col("outs_before") == 0))
    assert seventh["we_before"][0] == cell(hand_table, 7, "bot", 0, "empty", 0)["we_home"]
    assert seventh["we_before"][0] != cell(hand_table, 9, "bot", 0, "empty", 0)["we_home"]


def test_a_null_score_before_falls_back_to_the_previous_rows_score(hand_table):
    """g1_home's homer (bottom 1st) scored, so the next play starts 1-0. With home_score_before null on that
    play, the score after the homer row is read instead; a wrong value where present is believed."""
    plays = hand_plays().filter(pl.col("game_id") == "g1_home").with_columns(
        home_score_before=pl.col("home_score") - pl.when(pl.col("half") == "bot").then("runs_on_play").otherwise(0),
        away_score_before=pl.col("away_score") - pl.when(pl.col("half") == "top").then("runs_on_play").otherwise(0))
    after_homer = (pl.col("inning") == 1) & (pl.col("half") == "bot") & (pl.col("outs_before") == 0) & (
        pl.col("event") == "K")
    for value, diff in ((None, 1), (0, 0)):
        edited = plays.with_columns(home_score_before=pl.when(after_homer).then(value)
                                    .otherwise(pl.col("home_score_before")))
        row = play_win_probability(edited, hand_table).filter(after_homer).row(0, named=True)
        assert row["score_diff_before"] == diff
        assert row["we_before"] == cell(hand_table, 1, "bot", 0, "empty", diff)["we_home"]


def test_cross_validated_k_and_errors():
    plays = hand_plays()
    t = win_expectancy_table(plays, "mlb")  # four complete games: leave-one-game-out
    assert_monotone(t)
    w, n = t["we_weight"].to_numpy(), t["games_observed"].to_numpy()
    k = n[n > 0] * (1 - w[n > 0]) / w[n > 0]
    assert np.allclose(k, k[0]) and k[0] > 0
    wp = play_win_probability(plays, t)
    check_plays(wp, RESULT)
    one = plays.filter(pl.col("game_id") == "g1_home")
    with pytest.raises(ValueError, match="at least 2 complete games"):
        win_expectancy_table(one, "mlb")
    assert win_expectancy_table(one, "mlb", k_we=5, k_li=5).height == N_CELLS
    with pytest.raises(ValueError, match="k_we must be a positive"):
        win_expectancy_table(plays, "mlb", k_we=0)
    with pytest.raises(ValueError, match="no state-changing plays of complete games"):
        win_expectancy_table(plays.filter(pl.col("game_id") == "g4_called_tie"), "mlb", k_we=5, k_li=5)
    with pytest.raises(ValueError, match="home_score"):
        win_expectancy_table(plays.drop("home_score"), "mlb")
    with pytest.raises(ValueError, match="each of the 9,072 cells"):
        play_win_probability(plays, t.head(100))


def test_several_leagues(hand_table):
    plays = hand_plays()
    other = win_expectancy_table(plays, "ncaa", k_we=50, k_li=50)
    both = pl.concat([hand_table, other])
    mixed = pl.concat([plays.with_columns(league=pl.lit("mlb")),
                       plays.with_columns(league=pl.lit("ncaa"), game_id=pl.col("game_id") + "_c")])
    mixed = mixed.sample(fraction=1.0, shuffle=True, seed=3)
    wp = play_win_probability(mixed, both)
    assert wp.select(mixed.columns).equals(mixed)
    for league, table in (("mlb", hand_table), ("ncaa", other)):
        part = mixed.filter(pl.col("league") == league)
        assert wp.filter(pl.col("league") == league).equals(play_win_probability(part, table))
    with pytest.raises(ValueError, match="several leagues"):
        play_win_probability(plays, both)
    # a league the table does not hold has no cells to read: refused, not dropped or valued with another's
    with pytest.raises(ValueError, match="plays hold leagues the we_table does not have"):
        play_win_probability(mixed.with_columns(league=pl.when(pl.col("game_id") == "g1_home").then(pl.lit("nfl"))
                                                .otherwise("league")), both)


def test_pngs(hand_table):
    png = we_curve_png(hand_table)
    assert png.startswith(PNG_MAGIC) and len(png) > 1000
    wp = play_win_probability(hand_plays(), hand_table)
    png = leverage_histogram_png(wp["leverage_index"])
    assert png.startswith(PNG_MAGIC) and len(png) > 1000
    assert leverage_histogram_png([]).startswith(PNG_MAGIC)


def test_real_fixture_games():
    events = read_retrosheet_cwevent(sorted((FIXTURES / "retrosheet_cwevent").glob("*.csv"))).events
    table = win_expectancy_table(events, "mlb", k_we=100, k_li=100)
    assert_monotone(table)
    wp = play_win_probability(events, table)
    assert wp["we_before"].null_count() == 0 and wp["we_after"].null_count() == 0
    check_plays(wp)


def test_college_sample():
    from bsi_pipeline.ncaa.pbp_reader import lines_frame, read_pbp_files
    from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables

    tables = build_pbp_tables(lines_frame(read_pbp_files(EMBEDDED_PBP)))
    plays = reconciled_plays(tables.plays, tables.parse_report)
    reconciled = tables.parse_report.filter(pl.col("status") == "reconciled")["game_id"]
    assert set(plays["game_id"]) == set(reconciled) and plays.height < tables.plays.height
    table = win_expectancy_table(plays, "ncaa")
    assert_monotone(table)
    assert (table["league"] == "ncaa").all()
    wp = play_win_probability(plays, table)
    check_plays(wp)
    # substitutions, summaries and notes are never observations
    assert not wp.filter(pl.col("line_kind") != "play")["in_table_sample"].any()
    start = cell(table, 1, "top", 0, "empty", 0)
    assert 0.5 < start["we_home"] < 0.65  # college home teams win more often than MLB's (about 0.55-0.60)


# ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mlb_2016():
    if not SHARED_EVENTS.exists():
        pytest.skip(f"shared real data not present: {SHARED_EVENTS}")
    events = read_retrosheet_cwevent([SHARED_EVENTS]).events
    started = time.perf_counter()
    table = win_expectancy_table(events, "mlb")
    built = time.perf_counter() - started
    started = time.perf_counter()
    wp = play_win_probability(events, table)
    applied = time.perf_counter() - started
    print(f"MLB 2016: {events.height:,} events, table {built:.2f} s, plays {applied:.2f} s")
    return events, table, wp, built, applied


@pytest.mark.slow
def test_mlb_2016_known_facts(mlb_2016):
    events, table, wp, built, applied = mlb_2016
    assert built + applied < 20  # about 1 s on a laptop
    # Start of the game. Home teams won 53.99% of decided games 1950-2010 (Retrosheet via Chadwick,
    # http://hawknotes.blogspot.com/2011/08 "The Home Team Wins Most Ties"); in 2016 they won 0.530 of the
    # complete games here (standard error 0.010), so the band allows a season a point or so below the long run.
    start = cell(table, 1, "top", 0, "empty", 0)
    assert start["games_observed"] == 2421 and start["raw_rate"] == pytest.approx(0.530, abs=0.001)
    assert 0.515 <= start["we_home"] <= 0.555
    # Bottom of the 9th, tied, none out, bases empty: "home teams win 64% of the time"
    # (https://bikingforbaseball.org/?p=396, from historical win expectancy tables); Tango's model gives about
    # 0.66 for a 4.5-run environment (THT Win Probability Inquirer).
    b9 = cell(table, 9, "bot", 0, "empty", 0)
    assert 0.60 <= b9["we_home"] <= 0.72
    # Bottom 9th, tied, one out, runners on first and second: Tango's model (THT Win Probability Inquirer,
    # http://www.hardballtimes.com/thtstats/other/wpa_inquirer.php, 4.00 runs/game) WE 0.6987, LI 4.33.
    c = cell(table, 9, "bot", 1, "1-2", 0)
    assert 0.66 <= c["we_home"] <= 0.78 and 3.5 <= c["leverage_index"] <= 5.5
    # The highest leverage: bottom 9th, two outs, bases loaded, home team down one. Tango: "The highest possible
    # LI is 10.9" (https://tangotiger.net/wiki_archive/Leverage_Index.html), in this state.
    top = cell(table, 9, "bot", 2, "1-2-3", -1)
    assert 7 <= top["leverage_index"] <= 14
    assert top["leverage_index"] >= 0.9 * table["leverage_index"].max()
    # late, close states have high leverage; early, lopsided ones low
    assert cell(table, 1, "top", 0, "empty", 0)["leverage_index"] < 1.1
    assert cell(table, 3, "top", 0, "empty", -8)["leverage_index"] < 0.3
    assert_monotone(table)
    # WE moves the right way in the 9th: the home team is better off the more runners and the fewer outs
    assert (cell(table, 9, "bot", 0, "1-2-3", 0)["we_home"] > cell(table, 9, "bot", 0, "1", 0)["we_home"]
            > cell(table, 9, "bot", 0, "empty", 0)["we_home"] > cell(table, 9, "bot", 2, "empty", 0)["we_home"])
    check_plays(wp)
    sample = wp.filter(pl.col("in_table_sample"))
    assert sample["leverage_index"].mean() == pytest.approx(1.0, abs=1e-12)
    assert sample.height == table["plays_observed"].sum()
    assert wp["we_before"].null_count() == 0 and wp["we_after"].null_count() == 0
    # the tie (PIT 2016-09-29, called after 6) and the shortened games are not in the sample
    assert wp.filter(pl.col("home_won").is_null())["game_id"].n_unique() == 1
    assert sample["game_id"].n_unique() == 2421
    assert we_curve_png(table).startswith(PNG_MAGIC)
    assert leverage_histogram_png(sample["leverage_index"]).startswith(PNG_MAGIC)
