"""Run expectancy (RE24): a hand-made half-inning table worked by hand, the real fixture games against a plain
Python count, the college sample, and (slow) the full 2016 MLB season against Albert's published 2016 matrix."""

from __future__ import annotations

from collections import defaultdict

import polars as pl
import pytest

from bsi_pipeline.run_expectancy import BASE_LABELS, BASES_123, run_expectancy
from bsi_pipeline.sources.retrosheet_cwevent import read_retrosheet_cwevent
from bsi_pipeline_tests.conftest import EMBEDDED_PBP, FIXTURES, REPO, SHARED_DATA

CWEVENT = FIXTURES / "retrosheet_cwevent"
ALBERT = REPO / "data" / "reference" / "albert_re24_by_season_2000_2019.csv"
SHARED_EVENTS = SHARED_DATA / "retrosheet_events_2016" / "retro2016_events.parquet"
COLUMNS = ["league", "season", "outs", "bases", "bases_123", "re_mean_runs", "p_runs_ge1", "p_runs_ge2", "count"]

# One game, three half innings. (seq, inning, half, outs_before, outs_after, bases_before, bases_after, runs, PA)
HAND = [
    # top 1: single, steal of second, two-run homer, strikeout, single, double play. 2 runs.
    (1, 1, "top", 0, 0, "empty", "1", 0, True),
    (2, 1, "top", 0, 0, "1", "2", 0, False),
    (3, 1, "top", 0, 0, "2", "empty", 2, True),
    (4, 1, "top", 0, 1, "empty", "empty", 0, True),
    (5, 1, "top", 1, 1, "empty", "1", 0, True),
    (6, 1, "top", 1, 3, "1", "empty", 0, True),
    # bottom 1: leadoff homer, out, a line that changes nothing (a substitution), out, out. 1 run.
    (7, 1, "bot", 0, 0, "empty", "empty", 1, True),
    (8, 1, "bot", 0, 1, "empty", "empty", 0, True),
    (9, 1, "bot", 1, 1, "empty", "empty", 0, False),
    (10, 1, "bot", 1, 2, "empty", "empty", 0, True),
    (11, 1, "bot", 2, 3, "empty", "empty", 0, True),
    # bottom 2, never finished (a walk-off): double, single that scores. Left out entirely.
    (12, 2, "bot", 0, 0, "empty", "2", 0, True),
    (13, 2, "bot", 0, 0, "2", "1", 1, True),
]


def hand_plays(season: int = 2016) -> pl.DataFrame:
    cols = ["seq", "inning", "half", "outs_before", "outs_after", "bases_before", "bases_after", "runs_on_play",
            "is_plate_appearance"]
    return pl.DataFrame([dict(zip(cols, row)) for row in HAND]).with_columns(
        pl.lit(f"g{season}").alias("game_id"), pl.lit(season, dtype=pl.Int32).alias("season"),
        pl.col("outs_before", "outs_after").cast(pl.Int8), pl.col("runs_on_play").cast(pl.Int16))


def state(re: pl.DataFrame, outs: int, bases: str) -> dict:
    rows = re.filter((pl.col("outs") == outs) & (pl.col("bases") == bases)).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_hand_made_half_innings_state_change():
    """Runs to the end of the half inning, by hand: top 1 plays 1-3 have 2 to come (the homer's own 2 included),
    plays 4-6 none; bottom 1 play 7 has 1 (its own homer), the rest none; bottom 2 never reaches 3 outs."""
    re = run_expectancy(hand_plays(), league="mlb")
    assert re.columns == COLUMNS and re.height == 24
    # (0, empty): plays 1 (2 runs to come), 4 (0), 7 (1: a homer leaves the state unchanged but scores), 8 (0)
    s = state(re, 0, "empty")
    assert (s["count"], s["re_mean_runs"], s["p_runs_ge1"], s["p_runs_ge2"]) == (4, 0.75, 0.5, 0.25)
    s = state(re, 0, "1")   # play 2, the steal: 2 to come
    assert (s["count"], s["re_mean_runs"], s["p_runs_ge1"], s["p_runs_ge2"]) == (1, 2.0, 1.0, 1.0)
    s = state(re, 0, "2")   # play 3
    assert (s["count"], s["re_mean_runs"]) == (1, 2.0)
    s = state(re, 1, "empty")  # plays 5 and 10; play 9 changes nothing and is not counted
    assert (s["count"], s["re_mean_runs"], s["p_runs_ge1"]) == (2, 0.0, 0.0)
    assert (state(re, 1, "1")["count"], state(re, 2, "empty")["count"]) == (1, 1)
    assert re["count"].sum() == 10
    never = re.filter(pl.col("count") == 0)
    assert never.height == 18 and never["re_mean_runs"].is_null().all() and never["p_runs_ge1"].is_null().all()
    assert (re["league"] == "mlb").all() and (re["season"] == 2016).all()


def test_hand_made_half_innings_other_methods():
    pa = run_expectancy(hand_plays(), league="mlb", method="plate_appearance")
    # the steal (play 2) and the substitution (play 9) are not plate appearances
    assert state(pa, 0, "1")["count"] == 0 and state(pa, 0, "1")["re_mean_runs"] is None
    assert (state(pa, 0, "empty")["count"], state(pa, 0, "empty")["re_mean_runs"]) == (4, 0.75)
    assert state(pa, 1, "empty")["count"] == 2
    assert pa["count"].sum() == 9
    every = run_expectancy(hand_plays(), league="mlb", method="all")
    assert state(every, 1, "empty")["count"] == 3  # plays 5, 9, 10
    assert every["count"].sum() == 11
    with pytest.raises(ValueError, match="method 'pitch' is not one of"):
        run_expectancy(hand_plays(), league="mlb", method="pitch")


def test_incomplete_half_innings_are_left_out():
    plays = hand_plays()
    re = run_expectancy(plays, league="mlb")
    # bottom 2 would add a (0, empty) with 1 run to come and a (0, "2") with 1
    assert state(re, 0, "empty")["count"] == 4 and state(re, 0, "2")["count"] == 1
    # finish it with a triple play: now it counts
    done = pl.concat([plays, plays.filter(pl.col("seq") == 13).with_columns(
        seq=pl.lit(14, dtype=pl.Int64), outs_before=pl.lit(0, dtype=pl.Int8), outs_after=pl.lit(3, dtype=pl.Int8),
        bases_before=pl.lit("1"), bases_after=pl.lit("empty"), runs_on_play=pl.lit(0, dtype=pl.Int16))])
    re = run_expectancy(done, league="mlb")
    assert state(re, 0, "empty")["count"] == 5 and state(re, 0, "2")["count"] == 2
    assert state(re, 0, "2")["re_mean_runs"] == pytest.approx((2 + 1) / 2)
    # plays out of order in the table are put in order by seq first
    assert run_expectancy(done.reverse(), league="mlb").equals(re)


def test_nulls_are_handled_as_the_module_says():
    plays = hand_plays()
    at = lambda seq: pl.col("seq") == seq  # noqa: E731

    def nulled(seq: int, column: str) -> pl.DataFrame:
        return plays.with_columns(pl.when(at(seq)).then(None).otherwise(pl.col(column)).alias(column))

    base = run_expectancy(plays, league="mlb")
    # the substitution (play 9) with an unknown after-state is an occurrence of (1 out, empty), 0 runs to come
    for column in ("outs_after", "bases_after"):
        s = state(run_expectancy(nulled(9, column), league="mlb"), 1, "empty")
        assert (s["count"], s["re_mean_runs"]) == (3, 0.0)
    # the homer's two runs unknown: no run to come from plays 1-3 any more
    no_runs = run_expectancy(nulled(3, "runs_on_play"), league="mlb")
    assert (state(no_runs, 0, "1")["re_mean_runs"], state(no_runs, 0, "empty")["re_mean_runs"]) == (0.0, 0.25)
    # the steal's before-state unknown: not an occurrence; the homer after it still counts for play 1
    lost = run_expectancy(nulled(2, "bases_before"), league="mlb")
    assert state(lost, 0, "1")["count"] == 0 and state(lost, 0, "empty")["re_mean_runs"] == 0.75
    # a row that cannot be placed in a half inning adds nothing, not even its runs
    stray = plays.filter(at(1)).with_columns(seq=None, runs_on_play=pl.lit(4, dtype=pl.Int16))
    assert run_expectancy(pl.concat([plays, stray]), league="mlb").equals(base)
    # no plate-appearance flag: not a plate appearance
    pa = run_expectancy(nulled(1, "is_plate_appearance"), league="mlb", method="plate_appearance")
    assert state(pa, 0, "empty")["count"] == 3


def test_groups_labels_and_arguments():
    plays = pl.concat([hand_plays(2016), hand_plays(2017)]).with_columns(league=pl.lit("mlb"))
    re = run_expectancy(plays)
    assert re.height == 48 and re["season"].unique().sort().to_list() == [2016, 2017]
    assert re.filter(pl.col("season") == 2016).drop("season").equals(re.filter(pl.col("season") == 2017)
                                                                        .drop("season"))
    one = re.filter(pl.col("season") == 2016)
    assert one["bases"].to_list() == list(BASE_LABELS) * 3
    assert one["outs"].to_list() == [0] * 8 + [1] * 8 + [2] * 8
    assert dict(zip(one["bases"], one["bases_123"])) == BASES_123
    assert BASES_123 == {"empty": "000", "1": "100", "2": "020", "1-2": "120", "3": "003", "1-3": "103",
                         "2-3": "023", "1-2-3": "123"}
    by_season = run_expectancy(plays, by=["season"])
    assert by_season.columns[0] == "season" and "league" not in by_season.columns
    with pytest.raises(ValueError, match="league.*pass league="):
        run_expectancy(hand_plays())
    with pytest.raises(ValueError, match="runs_on_play"):
        run_expectancy(hand_plays().drop("runs_on_play"), league="mlb")


def test_a_game_id_reused_in_another_group_is_another_game():
    """Two seasons whose hand-made game has the same game_id "g": runs to the end of a half inning stay within their
    own season, so each season's matrix is the one-season matrix of test_hand_made_half_innings_state_change
    ((0, empty): 4 occurrences, 0.75 runs)."""
    plays = pl.concat([hand_plays(2016), hand_plays(2017)]).with_columns(game_id=pl.lit("g"))
    re = run_expectancy(plays, league="mlb")
    alone = run_expectancy(hand_plays(2016), league="mlb").drop("season")
    for season in (2016, 2017):
        assert re.filter(pl.col("season") == season).drop("season").equals(alone)
    assert (state(alone, 0, "empty")["count"], state(alone, 0, "empty")["re_mean_runs"]) == (4, 0.75)


def reference_counts(events: pl.DataFrame) -> dict:
    """A plain Python version of the method, for the real fixture games: {(outs, bases): [runs to come, ...]}."""
    halves: dict[tuple, list[dict]] = defaultdict(list)
    for row in events.sort("game_id", "seq").to_dicts():
        halves[(row["game_id"], row["inning"], row["half"])].append(row)
    found: dict[tuple, list[int]] = defaultdict(list)
    for plays in halves.values():
        if max(p["outs_after"] for p in plays) != 3:
            continue
        for k, p in enumerate(plays):
            changed = (p["outs_before"], p["bases_before"]) != (p["outs_after"], p["bases_after"])
            if changed or p["runs_on_play"] > 0:
                found[(p["outs_before"], p["bases_before"])].append(sum(q["runs_on_play"] for q in plays[k:]))
    return found


def test_real_fixture_games_match_a_plain_count():
    events = read_retrosheet_cwevent(sorted(CWEVENT.glob("*.csv"))).events
    re = run_expectancy(events, league="mlb")
    expected = reference_counts(events)
    for row in re.to_dicts():
        runs = expected.get((row["outs"], row["bases"]), [])
        assert row["count"] == len(runs)
        if runs:
            assert row["re_mean_runs"] == pytest.approx(sum(runs) / len(runs))
            assert row["p_runs_ge1"] == pytest.approx(sum(r >= 1 for r in runs) / len(runs))
            assert row["p_runs_ge2"] == pytest.approx(sum(r >= 2 for r in runs) / len(runs))
    # The walk-off half (bottom 10 of SDN201607160: single, single, steal, single, balk, none out) is left out;
    # its five plays all change the state (0 outs: empty, 1, 1-3, 2-3, 1-3) and would add 5 occurrences.
    walkoff = events.filter((pl.col("source_game_id") == "SDN201607160") & (pl.col("inning") == 10)
                            & (pl.col("half") == "bot"))
    assert walkoff.height == 5 and walkoff["outs_after"].max() == 0
    state_changes = events.filter(
        (pl.col("outs_before") != pl.col("outs_after")) | (pl.col("bases_before") != pl.col("bases_after"))
        | (pl.col("runs_on_play") > 0))
    assert re["count"].sum() == state_changes.height - 5


def test_college_plays_table():
    from bsi_pipeline.ncaa.pbp_reader import lines_frame, read_pbp_files
    from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables

    plays = build_pbp_tables(lines_frame(read_pbp_files(EMBEDDED_PBP))).plays
    re = run_expectancy(plays, league="ncaa")
    assert re.columns == COLUMNS
    assert re.height == 48 and sorted(re["season"].unique()) == [2019, 2021]
    assert (re["count"] > 0).all()
    for season in (2019, 2021):
        one = re.filter(pl.col("season") == season)
        empty = [state(one, outs, "empty")["re_mean_runs"] for outs in range(3)]
        loaded = [state(one, outs, "1-2-3")["re_mean_runs"] for outs in range(3)]
        assert empty[0] > empty[1] > empty[2] > 0 and all(lo > e for lo, e in zip(loaded, empty))
    # substitutions, summaries and notes change no state: counting them or not gives the same matrix
    only_plays = run_expectancy(plays.filter(pl.col("line_kind") == "play"), league="ncaa")
    assert only_plays.equals(re)


def albert_2016() -> pl.DataFrame:
    albert = pl.read_csv(ALBERT, schema_overrides={"bases_123": pl.String}, glob=False)
    return albert.filter(pl.col("season") == 2016).with_columns(pl.col("outs").cast(pl.Int8))


def test_shipped_reference_table():
    albert = pl.read_csv(ALBERT, schema_overrides={"bases_123": pl.String}, glob=False)
    assert albert.columns == ["season", "outs", "bases_123", "re_mean_runs", "p_runs_ge1", "p_runs_ge2"]
    assert albert.height == 20 * 24 and sorted(albert["season"].unique()) == list(range(2000, 2020))
    assert set(albert["bases_123"]) == set(BASES_123.values())
    assert albert_2016().filter((pl.col("outs") == 0) & (pl.col("bases_123") == "000"))["re_mean_runs"].item() == 0.5


@pytest.mark.slow
def test_mlb_2016_matches_albert_published_matrix():
    """Acceptance: every one of the 24 states within 0.02 runs of Albert's 2016 row (in fact within its rounding)."""
    if not SHARED_EVENTS.exists():
        pytest.skip(f"shared real data not present: {SHARED_EVENTS}")
    events = read_retrosheet_cwevent([SHARED_EVENTS]).events
    albert = albert_2016()

    def compare(method: str) -> pl.DataFrame:
        re = run_expectancy(events, league="mlb", method=method)
        both = re.join(albert, on=["season", "outs", "bases_123"], suffix="_albert", validate="1:1")
        assert both.height == 24
        return both.select(
            "outs", "bases",
            (pl.col("re_mean_runs") - pl.col("re_mean_runs_albert")).abs().alias("re"),
            (pl.col("p_runs_ge1") - pl.col("p_runs_ge1_albert")).abs().alias("p1"),
            (pl.col("p_runs_ge2") - pl.col("p_runs_ge2_albert")).abs().alias("p2"),
            "count")

    diff = compare("state_change")
    print(f"\nRE24 2016 vs Albert: max |re| {diff['re'].max():.4f}, max |p_runs_ge1| {diff['p1'].max():.5f}, "
          f"max |p_runs_ge2| {diff['p2'].max():.5f}")
    assert diff["re"].max() < 0.02
    # within the published rounding: runs to 0.01, probabilities to 0.001
    assert diff["re"].max() <= 0.005 and diff["p1"].max() <= 0.0005 + 1e-9 and diff["p2"].max() <= 0.0005 + 1e-9
    assert diff["count"].sum() == 189_735
    # counting the state before each batting event only is not Albert's method: it misses in 1 out, 1st and 3rd
    pa = compare("plate_appearance")
    assert pa["re"].max() > 0.02


def test_re24_heatmap_is_a_png():
    from bsi_pipeline.run_expectancy import BASE_LABELS, re24_heatmap_png

    table = pl.DataFrame({"outs": [o for o in range(3) for _ in BASE_LABELS],
                          "bases": [b for _ in range(3) for b in BASE_LABELS],
                          "re_mean_runs": [0.5 + 0.1 * i for i in range(24)]})
    assert re24_heatmap_png(table, "RE24 test").startswith(b"\x89PNG\r\n\x1a\n")
