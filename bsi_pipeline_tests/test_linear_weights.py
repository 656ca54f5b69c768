"""Linear weights: run values worked by hand on a tiny table with a made-up RE table, event values, wOBA weights
scaled to OBP, player-season values (wRAA, wRC+, FIP), agreement with the college box scores, the conference
adjustment, and (slow) the full 2016 MLB season against FanGraphs' published 2016 weights."""

from __future__ import annotations

import polars as pl
import pytest

from bsi_pipeline.analytics import analytic_plays
from bsi_pipeline.linear_weights import (
    BATTING_OUTS,
    WOBA_EVENTS,
    event_run_values,
    player_season_value,
    run_values,
    team_woba_slope,
    woba_weights,
)
from bsi_pipeline.ncaa.player_names import player_keys
from bsi_pipeline.run_expectancy import BASE_LABELS, run_expectancy
from bsi_pipeline.sources.retrosheet_cwevent import read_retrosheet_cwevent
from bsi_pipeline_tests.conftest import EMBEDDED_PBP, FIXTURES, REGISTRY_FILES, REPO, SHARED_DATA
from bsi_pipeline_tests.pbp_helpers import replayed

CWEVENT = FIXTURES / "retrosheet_cwevent"
FANGRAPHS = REPO / "data" / "reference" / "fangraphs_guts_woba_weights.csv"
SHARED_EVENTS = SHARED_DATA / "retrosheet_events_2016" / "retro2016_events.parquet"
WEIGHTS = list(WOBA_EVENTS)


# A made-up RE table: RE(outs, bases) = 0.1 * (3 - outs) + 0.05 * (index of bases in BASE_LABELS), so
# RE(0, empty) = 0.30, RE(0, 1) = 0.35, RE(0, 2) = 0.40, RE(0, 2-3) = 0.60, RE(1, empty) = 0.20, RE(1, 1) = 0.25,
# RE(1, 2) = 0.30, RE(2, 3) = 0.30.
def made_up_re(season: int = 2000) -> pl.DataFrame:
    return pl.DataFrame([
        {"league": "t", "season": season, "outs": o, "bases": b, "re_mean_runs": 0.1 * (3 - o) + 0.05 * i}
        for o in range(3) for i, b in enumerate(BASE_LABELS)
    ], schema={"league": pl.String, "season": pl.Int32, "outs": pl.Int8, "bases": pl.String,
               "re_mean_runs": pl.Float64})


# (seq, inning, half, kind, event, PA, sac, outs_before, outs_after, bases_before, bases_after, runs, run value)
HAND = [
    # top 1, complete (3 outs). Batters of team A ("a1".."a5") against pitcher "p1" of team H.
    (1, 1, "top", "play", "single", True, None, 0, 0, "empty", "1", 0, 0.35 - 0.30),
    (2, 1, "top", "play", "stolen_base", False, None, 0, 0, "1", "2", 0, 0.40 - 0.35),
    (3, 1, "top", "play", "home_run", True, None, 0, 0, "2", "empty", 2, 0.30 - 0.40 + 2),
    (4, 1, "top", "play", "strikeout", True, None, 0, 1, "empty", "empty", 0, 0.20 - 0.30),
    (5, 1, "top", "play", "walk", True, None, 1, 1, "empty", "1", 0, 0.25 - 0.20),
    (6, 1, "top", "play", "double_play", True, None, 1, 3, "1", "empty", 0, 0.0 - 0.25),  # 3rd out: RE(end) = 0
    # bottom 1, complete. Team H against pitcher "p2" of team A; a substitution line changes nothing.
    (7, 1, "bot", "play", "hit_by_pitch", True, None, 0, 0, "empty", "1", 0, 0.35 - 0.30),
    (8, 1, "bot", "play", "double", True, None, 0, 0, "1", "2-3", 0, 0.60 - 0.35),
    (9, 1, "bot", "substitution", "substitution", False, None, 0, 0, "2-3", "2-3", 0, 0.0),
    (10, 1, "bot", "play", "sac_fly", True, "SF", 0, 1, "2-3", "2", 1, 0.30 - 0.60 + 1),
    (11, 1, "bot", "play", "groundout", True, None, 1, 2, "2", "3", 0, 0.30 - 0.30),
    (12, 1, "bot", "play", "triple", True, None, 2, 2, "3", "3", 1, 0.30 - 0.30 + 1),
    (13, 1, "bot", "play", "flyout", True, None, 2, 3, "3", "3", 0, 0.0 - 0.30),
    # top 2, never finished (rain): a single, then a line whose state is unknown.
    (14, 2, "top", "play", "single", True, None, 0, 0, "empty", "1", 0, 0.35 - 0.30),
    (15, 2, "top", "play", "other", False, None, None, None, None, None, 0, None),
]
BATTERS = {1: "a1", 3: "a2", 4: "a3", 5: "a4", 6: "a5", 7: "h1", 8: "h2", 10: "h3", 11: "h4", 12: "h5", 13: "h1",
           14: "a1"}


def hand_plays(season: int = 2000) -> pl.DataFrame:
    rows = []
    for seq, inning, half, kind, event, pa, sac, ob, oa, bb, ba, runs, _ in HAND:
        top = half == "top"
        rows.append({"game_id": f"g{season}", "season": season, "seq": seq, "inning": inning, "half": half,
                     "batting_team": "A" if top else "H", "fielding_team": "H" if top else "A",
                     "line_kind": kind, "event_type": event, "is_plate_appearance": pa,
                     "batter": BATTERS.get(seq), "pitcher": "p1" if top else "p2", "outs_before": ob,
                     "outs_after": oa, "bases_before": bb, "bases_after": ba, "runs_on_play": runs, "sac": sac})
    return pl.DataFrame(rows, schema_overrides={"season": pl.Int32, "seq": pl.Int32, "inning": pl.Int16,
                                                "outs_before": pl.Int8, "outs_after": pl.Int8,
                                                "runs_on_play": pl.Int16})


def hand_values():
    plays = hand_plays()
    rv = run_values(plays, made_up_re(), league="t")
    events = event_run_values(rv)
    return plays, rv, events, woba_weights(events, plays, league="t")


def test_run_values_by_hand():
    plays = hand_plays()
    rv = run_values(plays, made_up_re(), league="t")
    assert rv.height == plays.height and rv["seq"].to_list() == plays["seq"].to_list()
    assert rv.columns == [*plays.columns, "league", "re_before", "re_after", "run_value", "complete_half_inning"]
    expected = [row[-1] for row in HAND]
    got = rv["run_value"].to_list()
    assert got[-1] is None  # unknown state
    assert got[:-1] == pytest.approx(expected[:-1], abs=1e-12)
    # the third out ends the half inning: RE(end) = 0 whatever the bases
    third = rv.filter(pl.col("outs_after") == 3)
    assert third["re_after"].to_list() == [0.0, 0.0]
    assert rv["complete_half_inning"].to_list() == [True] * 13 + [False] * 2
    # rows out of order give the same values row by row
    shuffled = run_values(plays.reverse(), made_up_re(), league="t")
    assert shuffled.reverse().equals(rv)
    with pytest.raises(ValueError, match="league.*pass league="):
        run_values(plays, made_up_re())


def test_duplicate_reference_rows_are_refused():
    """A state listed twice in the RE table, or a group twice in the weights, would be joined to every play twice
    (doubling plays and counts): both are refused."""
    plays, _, _, weights = hand_values()
    with pytest.raises(ValueError, match="re24 has more than one row for a state"):
        run_values(plays, pl.concat([made_up_re(), made_up_re().head(1)]), league="t")
    with pytest.raises(ValueError, match="weights have more than one row for a group"):
        player_season_value(plays, pl.concat([weights, weights]), league="t")


def test_run_values_from_run_expectancy_real_games():
    """On the real fixture games, with their own RE24 table: run values add up along each half inning."""
    events = read_retrosheet_cwevent(sorted(CWEVENT.glob("*.csv"))).events
    rv = run_values(events, run_expectancy(events, league="mlb"), league="mlb")
    # each play ends in the state the next one starts from, and the third out has RE 0, so the run values of a
    # complete half inning add up to its runs minus RE(0 outs, bases empty)
    complete = rv.filter("complete_half_inning")
    halves = complete.group_by("game_id", "inning", "half").agg(
        pl.col("run_value").sum(), pl.col("run_value").null_count().alias("unknown"),
        pl.col("runs_on_play").sum().alias("runs"), first=pl.col("re_before").sort_by("seq").first())
    assert halves.height == 53 and halves["unknown"].sum() == 0
    assert (halves["run_value"] - (halves["runs"] - halves["first"])).abs().max() < 1e-9
    # three games leave two states of the unfinished walk-off half inning without an RE value: no run value there
    unknown = rv.filter(pl.col("run_value").is_null())
    assert unknown.height == 2 and not unknown["complete_half_inning"].any()
    assert (unknown["re_before"].is_null() | unknown["re_after"].is_null()).all()


def test_event_run_values_by_hand():
    _, _, events, _ = hand_values()
    value = dict(zip(events["event_type"], events["run_value"]))
    count = dict(zip(events["event_type"], events["events"]))
    # play 14 (a single in an unfinished half inning) and the substitution line are not used
    assert value["single"] == pytest.approx(0.05) and count["single"] == 1
    assert "substitution" not in value and "other" not in value
    assert value["home_run"] == pytest.approx(1.90) and value["triple"] == pytest.approx(1.0)
    assert value["double"] == pytest.approx(0.25) and value["stolen_base"] == pytest.approx(0.05)
    assert value["sac_fly"] == pytest.approx(0.70)
    # outs: strikeout -0.10, double play -0.25, groundout 0.0, flyout -0.30; the sacrifice fly is not an out here
    out = (-0.10 - 0.25 + 0.0 - 0.30) / 4
    assert events["out_value"].unique().to_list() == [pytest.approx(out)]
    assert events["out_events"].unique().to_list() == [4]
    above = dict(zip(events["event_type"], events["run_value_above_out"]))
    assert above["walk"] == pytest.approx(0.05 - out) and above["home_run"] == pytest.approx(1.90 - out)
    pa = dict(zip(events["event_type"], events["plate_appearances"]))
    assert pa["stolen_base"] == 0 and pa["walk"] == 1
    assert set(BATTING_OUTS) >= {"strikeout", "double_play", "groundout", "flyout"}


def test_woba_weights_by_hand_and_scaled_to_obp():
    _, _, _, weights = hand_values()
    assert weights.height == 1
    w = weights.row(0, named=True)
    out = -0.1625
    # relative to an out: BB, HBP, 1B each 0.05 - out = 0.2125; 2B 0.4125; 3B 1.1625; HR 2.0625
    rel = {"wBB": 0.2125, "wHBP": 0.2125, "w1B": 0.2125, "w2B": 0.4125, "w3B": 1.1625, "wHR": 2.0625}
    # 12 PA: 5 hits (two singles, a double, a triple, a homer), 1 BB, 1 HBP, 1 SF, so AB = 9
    obp = (5 + 1 + 1) / (9 + 1 + 1 + 1)
    raw_woba = (rel["wBB"] + rel["wHBP"] + 2 * rel["w1B"] + rel["w2B"] + rel["w3B"] + rel["wHR"]) / 12
    scale = obp / raw_woba
    assert w["woba_scale"] == pytest.approx(scale, rel=1e-12)
    for name in WEIGHTS:
        assert w[name] == pytest.approx(rel[name] * scale, rel=1e-12)
    assert w["league_obp"] == pytest.approx(7 / 12, rel=1e-15)
    assert w["league_woba"] == pytest.approx(w["league_obp"], rel=1e-14)
    assert (w["PA"], w["runs"], w["out_value"]) == (12, 4, pytest.approx(out))
    assert w["runs_per_pa"] == pytest.approx(4 / 12)


def test_player_values_by_hand():
    plays, _, _, weights = hand_values()
    value = player_season_value(plays, weights, league="t")
    hitting, pitching = value.hitting, value.pitching
    a1 = hitting.filter(pl.col("player") == "a1").row(0, named=True)
    assert (a1["team"], a1["PA"], a1["AB"], a1["H"], a1["1B"]) == ("A", 2, 2, 2, 2)
    assert a1["wOBA"] == pytest.approx(weights["w1B"].item())
    h3 = hitting.filter(pl.col("player") == "h3").row(0, named=True)  # one sacrifice fly
    assert (h3["PA"], h3["AB"], h3["SF"], h3["wOBA"]) == (1, 0, 1, 0.0)
    # league pitching: 6 outs (2 IP), 4 runs -> RA9 18; 1 HR, 1 BB, 1 HBP, 1 K -> (13 + 6 - 2) / 2 = 8.5
    assert pitching["fip_constant"].unique().to_list() == [pytest.approx(9.5)]
    p1 = pitching.filter(pl.col("player") == "p1").row(0, named=True)  # HR, BB, K in 3 outs; top 2 adds no out
    p2 = pitching.filter(pl.col("player") == "p2").row(0, named=True)  # HBP in 3 outs
    assert (p1["team"], p1["BF"], p1["outs"], p1["IP"], p1["R"]) == ("H", 6, 3, 1.0, 2)
    assert p1["FIP"] == pytest.approx(14 + 9.5) and p2["FIP"] == pytest.approx(3 + 9.5)
    assert p1["RA9"] == pytest.approx(18.0) and p2["RA9"] == pytest.approx(18.0)
    assert (p1["K_pct"], p1["BB_pct"], p1["K_BB_pct"]) == (pytest.approx(1 / 6), pytest.approx(1 / 6), 0.0)
    # every play has a pitcher: the IP-weighted mean FIP is the league's runs per 9
    assert (pitching["FIP"] * pitching["IP"]).sum() / pitching["IP"].sum() == pytest.approx(18.0)


def test_league_average_hitter_has_wrc_plus_100():
    """A league of one hitter: his wOBA is the league's, so wRAA 0 and wRC+ 100; better hitters are above 100."""
    plays = hand_plays().with_columns(pl.when(pl.col("is_plate_appearance")).then(pl.lit("only")).alias("batter"))
    rv = run_values(plays, made_up_re(), league="t")
    weights = woba_weights(event_run_values(rv), plays, league="t")
    hitting = player_season_value(plays, weights, league="t").hitting
    # one row per batting team, both the same player name: the league is the two rows together
    assert hitting["player"].unique().to_list() == ["only"]
    solo = player_season_value(plays.with_columns(batting_team=pl.lit("A")), weights, league="t").hitting
    row = solo.row(0, named=True)
    assert row["wOBA"] == pytest.approx(weights["league_woba"].item(), rel=1e-14)
    assert row["wRAA"] == pytest.approx(0.0, abs=1e-12)
    assert row["wRC_plus"] == pytest.approx(100.0, rel=1e-12)
    # the two half-seasons: wRC+ follows wRAA
    assert ((hitting["wRC_plus"] > 100) == (hitting["wRAA"] > 0)).all()


def college():
    from bsi_pipeline.ncaa.pbp_reader import lines_frame, read_pbp_files
    from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables

    return build_pbp_tables(lines_frame(read_pbp_files(EMBEDDED_PBP)))


@pytest.fixture(scope="module")
def college_tables():
    return college()


@pytest.fixture(scope="module")
def college_value(college_tables):
    plays = college_tables.plays
    rv = run_values(plays, run_expectancy(plays, league="ncaa"), league="ncaa")
    weights = woba_weights(event_run_values(rv), plays, league="ncaa")
    return weights, player_season_value(plays, weights, league="ncaa")


def test_college_weights_and_league_sums(college_value):
    weights, value = college_value
    assert weights["season"].to_list() == [2019, 2021]
    for w in weights.iter_rows(named=True):
        assert 0 < w["wBB"] < w["w1B"] < w["w2B"] < w["w3B"] < w["wHR"]
        assert w["wBB"] < w["wHBP"]
        assert w["league_woba"] == pytest.approx(w["league_obp"], rel=1e-14)
    hitting = value.hitting
    # wOBA recomputed from the counts and the weights, and league wOBA from the players' sums
    with_w = hitting.join(weights, on=["league", "season"])
    den = with_w["AB"] + with_w["BB"] + with_w["SF"] + with_w["HBP"]
    num = sum(with_w[w] * with_w[c] for w, c in zip(WEIGHTS, ("BB", "HBP", "1B", "2B", "3B", "HR")))
    assert ((num / den) - with_w["wOBA"]).drop_nans().abs().max() < 1e-12
    for season, group in with_w.group_by("season"):
        d = group["AB"] + group["BB"] + group["SF"] + group["HBP"]
        n = sum(group[w] * group[c] for w, c in zip(WEIGHTS, ("BB", "HBP", "1B", "2B", "3B", "HR")))
        assert n.sum() / d.sum() == pytest.approx(group["league_woba"][0], rel=1e-12)
        # wRAA weighted by wOBA's own denominator sums to 0 exactly; by PA (FanGraphs' wRAA) to about 0
        lg, scale = group["league_woba"][0], group["woba_scale"][0]
        exact = ((group["wOBA"] - lg) / scale * d).sum()
        assert abs(exact) < 1e-9
        wraa = group["wRAA"].sum()
        assert abs(wraa) < 0.002 * group["PA"].sum()
        assert abs(wraa) < 0.03 * group["wRAA"].abs().sum()
    # the league's runs per 9 is the IP-weighted mean FIP, up to the plays with no pitcher
    pitching = value.pitching
    assert (pitching["FIP"].is_not_null() == (pitching["outs"] > 0)).all()


def test_box_score_agreement(college_tables, college_value):
    """Counts per player-season from plays equal the sums of box_batting / box_pitching over the games, a
    player being his team and key across the forms scorers write his name in (the keys are tested in
    test_player_names); the embedded games do write some players two ways, so merged rows are checked."""
    from bsi_pipeline.ncaa.box_scores import box_batting, box_pitching

    _, value = college_value
    plays = college_tables.plays
    keys = ["season", "team", "player_key"]

    def keyed(box: pl.DataFrame, team: str, role: str) -> pl.DataFrame:
        forms = player_keys(plays.select("game_id", team=team, player=role))
        return box.join(forms, on=["team", "player"], how="left")

    box = keyed(box_batting(plays, college_tables.play_runners), "batting_team", "batter")
    columns = ["PA", "AB", "H", "2B", "3B", "HR", "BB", "IBB", "HBP", "K", "SH", "SF"]
    summed = (box.filter(pl.col("PA") > 0).group_by(keys)
              .agg(pl.col(c).cast(pl.Int64).sum() for c in columns).sort(keys, nulls_last=True))
    ours = value.hitting.select(*keys, *columns).sort(keys, nulls_last=True)
    assert ours.height == summed.height > 300
    assert ours.equals(summed)
    forms = box.filter(pl.col("PA") > 0).group_by(keys).agg(pl.col("player").n_unique())
    assert (forms["player"] > 1).sum() > 10
    pbox = keyed(box_pitching(plays), "fielding_team", "pitcher")
    psum = (pbox.group_by(keys).agg(pl.col("BF", "outs_recorded", "H", "R", "BB", "HBP", "K", "HR")
                                    .cast(pl.Int64).sum()).sort(keys))
    pours = (value.pitching.select(*keys, "BF", pl.col("outs").alias("outs_recorded"), "H", "R",
                                   (pl.col("BB") + pl.col("IBB")).alias("BB"), "HBP", "K", "HR").sort(keys))
    assert pours.equals(psum)
    # each row shows the form most of his plate appearances were written in (ties: the first in sort order)
    most = (box.filter(pl.col("PA") > 0).group_by(*keys, "player").agg(pl.col("PA").sum())
            .sort(*keys, "PA", "player", descending=[False, False, False, True, False])
            .group_by(keys, maintain_order=True).agg(pl.col("player").first()).sort(keys, nulls_last=True))
    assert value.hitting.select(*keys, "player").sort(keys, nulls_last=True).equals(most)


def test_catcher_interference_is_a_plate_appearance_not_an_at_bat():
    """Real lines of game 4770356 (2019, Delaware at Elon, bottom 8th; scores left out): Cicci reaches on
    catcher's interference. Official scoring: a PA, not an AB, in the box score and in the linear weights."""
    from bsi_pipeline.ncaa.box_scores import box_batting

    texts = ["Oldham walked (3-2 BBFSBFB).",
             "Cicci reached on catchers interference (0-1 F); Oldham advanced to second.",
             "Pico walked (3-2 BBKBKB); Cicci advanced to second; Oldham advanced to third."]
    plays, runners = replayed([(8, "bot", "Elon", "Delaware", t) for t in texts], "g2000", 2000)
    runners = runners.with_columns(team=pl.lit("Elon"))
    assert plays["event_type"][1] == "catcher_interference" and plays["bases_after"][1] == "1-2"
    box = box_batting(plays, runners).filter(pl.col("player") == "Cicci").row(0, named=True)
    assert (box["PA"], box["AB"]) == (1, 0)
    _, _, _, weights = hand_values()  # league "t", season 2000
    hitting = player_season_value(plays, weights, league="t").hitting.filter(pl.col("player") == "Cicci")
    assert hitting.select("PA", "AB", "H").row(0) == (1, 0, 0)


def test_conference_adjustment(college_tables):

    from bsi_pipeline.ncaa.teams import load_registry, teams_table

    plays = college_tables.plays.with_columns(league=pl.lit("ncaa"))
    mlb = read_retrosheet_cwevent(sorted(CWEVENT.glob("*.csv"))).events.with_columns(league=pl.lit("mlb"))
    both = pl.concat([plays, mlb], how="diagonal_relaxed")
    weights = woba_weights(event_run_values(run_values(both, run_expectancy(both))), both)
    assert weights.select("league", "season").rows() == [("mlb", 2016), ("ncaa", 2019), ("ncaa", 2021)]
    teams = teams_table(college_tables.games, load_registry(REGISTRY_FILES))
    dropped = "Arkansas"
    teams = teams.filter(~((pl.col("season") == 2021) & (pl.col("team_name") == dropped)))
    strength = pl.DataFrame({
        "sport": ["baseball", "baseball", "baseball", "baseball", "football"],
        "league": ["ncaa", "ncaa", "ncaa", "ncaa", "ncaaf"],
        "season": [2021, 2021, 2019, 2019, 2021],
        "conference": ["SEC", "Big 12", "SEC", "Big 12", "SEC"],
        # Big 12 2019 as conference_strength gives an independent: no edge
        "scoring_edge_per_game": [1.5, -0.5, 1.0, None, 9.0],
    })
    plain = player_season_value(both, weights)
    value = player_season_value(both, weights, strength, teams)
    hitting, pitching = value.hitting, value.pitching
    added = ["conference", "scoring_edge_per_game"]
    assert hitting.drop(*added, "wOBA_conf_adj", "wRAA_conf_adj", "wRC_plus_conf_adj").equals(plain.hitting)
    assert pitching.drop(*added, "FIP_conf_adj").equals(plain.pitching)

    # plate appearances and outs per team per game, counted here from the plays
    per_game = {
        season: (frame["is_plate_appearance"].fill_null(False).sum() / (2 * frame["game_id"].n_unique()),
                 (frame["outs_after"] - frame["outs_before"]).fill_null(0).sum() / (2 * frame["game_id"].n_unique()))
        for (season,), frame in both.filter((pl.col("league") == "ncaa") & (pl.col("line_kind") == "play"))
        .partition_by("season", as_dict=True).items()}
    constants = {row["season"]: row for row in weights.filter(pl.col("league") == "ncaa").iter_rows(named=True)}
    expected = {(2021, "SEC"): 1.5, (2021, "Big 12"): -0.5, (2019, "SEC"): 1.0, (2019, "Big 12"): None}
    college_rows = hitting.filter(pl.col("league") == "ncaa")
    for row in college_rows.iter_rows(named=True):
        if row["season"] == 2021 and row["team"] == dropped:
            assert row["conference"] is None and row["scoring_edge_per_game"] is None and row["wOBA_conf_adj"] is None
            continue
        edge = expected[(row["season"], row["conference"])]
        assert row["scoring_edge_per_game"] == edge
        if edge is None or row["wOBA"] is None:
            assert row["wOBA_conf_adj"] is None and row["wRC_plus_conf_adj"] is None
            continue
        pa_g, c = per_game[row["season"]][0], constants[row["season"]]
        # additive: the same wOBA credit for every hitter of a conference-season, whatever his own wOBA
        assert row["wOBA_conf_adj"] == pytest.approx(row["wOBA"] + c["woba_scale"] * edge / pa_g)
        # wRAA and wRC+ recomputed from the adjusted wOBA are the adjusted wRAA and wRC+
        wraa = (row["wOBA_conf_adj"] - c["league_woba"]) / c["woba_scale"] * row["PA"]
        assert row["wRAA_conf_adj"] == pytest.approx(wraa)
        assert row["wRC_plus_conf_adj"] == pytest.approx(
            100 * (wraa / row["PA"] + c["runs_per_pa"]) / c["runs_per_pa"])
    assert college_rows["conference"].drop_nulls().unique().sort().to_list() == ["Big 12", "SEC"]
    sec = college_rows.filter((pl.col("season") == 2021) & (pl.col("conference") == "SEC")).drop_nulls("wOBA")
    credit = sec["wOBA_conf_adj"] - sec["wOBA"]
    assert sec.height > 20 and credit.max() - credit.min() < 1e-12
    assert 0.03 < credit[0] < 0.06  # 1.5 runs a game: about 40 points of wOBA
    college_pitching = pitching.filter((pl.col("league") == "ncaa") & pl.col("FIP").is_not_null())
    for row in college_pitching.iter_rows(named=True):
        if row["scoring_edge_per_game"] is None:
            assert row["FIP_conf_adj"] is None
        else:
            outs_g = per_game[row["season"]][1]
            assert row["FIP_conf_adj"] == pytest.approx(row["FIP"] - 27 * row["scoring_edge_per_game"] / outs_g)
    assert college_pitching["FIP_conf_adj"].drop_nulls().len() > 50
    # MLB rows are not adjusted
    mlb_rows = hitting.filter(pl.col("league") == "mlb")
    assert mlb_rows.height > 0 and mlb_rows["scoring_edge_per_game"].is_null().all()
    assert mlb_rows["wOBA_conf_adj"].is_null().all()
    assert pitching.filter(pl.col("league") == "mlb")["FIP_conf_adj"].is_null().all()
    with pytest.raises(ValueError, match="needs teams"):
        player_season_value(both, weights, strength)


def test_conference_adjustment_rejects_inputs_it_cannot_use(college_tables):
    """Each input the conference credit needs, when missing or ambiguous, gives an error that names it rather
    than a silently null or doubled credit."""

    from bsi_pipeline.ncaa.teams import load_registry, teams_table

    plays = college_tables.plays.with_columns(league=pl.lit("ncaa"))
    weights = woba_weights(event_run_values(run_values(plays, run_expectancy(plays))), plays)
    teams = teams_table(college_tables.games, load_registry(REGISTRY_FILES))
    strength = pl.DataFrame({"league": ["ncaa", "ncaa"], "season": [2021, 2019], "conference": ["SEC", "SEC"],
                             "scoring_edge_per_game": [1.5, 1.0]})
    assert player_season_value(plays, weights, strength, teams).hitting["wOBA_conf_adj"].drop_nulls().len() > 20
    with pytest.raises(ValueError, match="plays lack column.*game_id"):
        player_season_value(plays.drop("game_id"), weights, strength, teams)
    with pytest.raises(ValueError, match="scoring_edge_per_game"):
        player_season_value(plays, weights, strength.drop("scoring_edge_per_game"), teams)
    with pytest.raises(ValueError, match="more than once"):
        player_season_value(plays, weights, strength, pl.concat([teams, teams.head(1)]))
    with pytest.raises(ValueError, match="more than one ncaa row"):
        player_season_value(plays, weights, pl.concat([strength, strength.head(1)]), teams)
    # weights pooled over leagues cannot say which rows are college
    pooled = woba_weights(event_run_values(run_values(plays, run_expectancy(plays))), plays, by=["season"])
    with pytest.raises(ValueError, match="needs league and season"):
        player_season_value(plays, pooled, strength, teams)


def test_team_woba_moves_by_woba_scale_per_run_per_plate_appearance(college_tables, college_value):
    """The evidence for an additive conference credit: across the embedded teams, wOBA moves about woba_scale per
    run per plate appearance (measured: 1.09 against 1.04 in 2019, 1.20 against 1.03 in 2021), not the
    league_woba / runs_per_pa (about 2.4) that multiplying wOBA by a run ratio assumes."""
    weights, value = college_value
    plays = college_tables.plays.with_columns(league=pl.lit("ncaa"))
    check = team_woba_slope(value.hitting, plays, weights, min_games=5).join(
        weights.select("season", "league_woba", "runs_per_pa"), on="season")
    assert check["season"].to_list() == [2019, 2021] and check["teams"].min() >= 13
    for row in check.iter_rows(named=True):
        assert abs(row["slope"] / row["woba_scale"] - 1) < 0.2, row
        assert row["slope"] < 0.6 * row["league_woba"] / row["runs_per_pa"], row
    with pytest.raises(ValueError, match="plays lack column"):
        team_woba_slope(value.hitting, plays.drop("game_id"), weights)


@pytest.mark.slow
def test_mlb_2016_weights_match_fangraphs():
    """Acceptance: the six wOBA weights from the full 2016 season within 0.05 of FanGraphs' 2016 Guts row."""
    if not SHARED_EVENTS.exists():
        pytest.skip(f"shared real data not present: {SHARED_EVENTS}")
    events = read_retrosheet_cwevent([SHARED_EVENTS]).events
    rv = run_values(events, run_expectancy(events, league="mlb"), league="mlb")
    weights = woba_weights(event_run_values(rv), events, league="mlb")
    ours = weights.row(0, named=True)
    fangraphs = pl.read_csv(FANGRAPHS, glob=False).filter(pl.col("Season") == 2016).row(0, named=True)
    lines = ["", "weight   derived  FanGraphs  diff"]
    for name in WEIGHTS:
        lines.append(f"{name:<7}  {ours[name]:.3f}    {fangraphs[name]:.3f}   {ours[name] - fangraphs[name]:+.3f}")
    lines.append(f"scale    {ours['woba_scale']:.3f}    {fangraphs['wOBAScale']:.3f}   "
                 f"{ours['woba_scale'] - fangraphs['wOBAScale']:+.3f}")
    lines.append(f"lg wOBA  {ours['league_woba']:.3f}    {fangraphs['wOBA']:.3f}")
    lines.append(f"R/PA     {ours['runs_per_pa']:.3f}    {fangraphs['R.PA']:.3f}")
    print("\n".join(lines))
    for name in WEIGHTS:
        assert abs(ours[name] - fangraphs[name]) < 0.05, name
    # the league figures FanGraphs publishes, to their rounding
    assert round(ours["league_woba"], 3) == fangraphs["wOBA"] and round(ours["runs_per_pa"], 3) == fangraphs["R.PA"]
    assert ours["league_woba"] == pytest.approx(ours["league_obp"], rel=1e-14)
    assert (ours["PA"], ours["runs"]) == (184_580, 21_744)
    # players: wRAA about 0 over the league, wRC+ 100 at the league's wOBA
    hitting = player_season_value(events, weights, league="mlb").hitting
    assert abs(hitting["wRAA"].sum()) < 0.001 * ours["PA"]
    assert hitting["AB"].sum() == 165_561  # MLB's 2016 at-bats (catcher's interference is not an at-bat)
    # across the 30 teams wOBA moves woba_scale per run per plate appearance (measured 1.236 against 1.237)
    slope = team_woba_slope(hitting, events.with_columns(league=pl.lit("mlb")), weights).row(0, named=True)
    assert slope["teams"] == 30 and slope["slope"] == pytest.approx(ours["woba_scale"], rel=0.01)


def test_analytic_plays_keep_what_the_weights_need(college_tables):
    """The plays the analytics assets read (analytic_plays) keep line_kind and event_code, so college
    substitutions stay out of the event run values and catcher's interference stays out of the at-bats."""
    from bsi_pipeline.analytics import analytic_plays, play_analytics

    fix = FIXTURES / "retrosheet_cwevent"
    mlb = read_retrosheet_cwevent([fix / "retro2016_sdn_2games_header.csv"]).events
    # one real reached-on-error becomes catcher's interference (cwevent 17): a PA, not an AB
    error = mlb.filter(pl.col("event_code") == 18).row(0, named=True)
    mlb = mlb.with_columns(event_code=pl.when((pl.col("game_id") == error["game_id"]) & (pl.col("seq") == error["seq"]))
                           .then(pl.lit(17, pl.Int8)).otherwise("event_code"))
    plays = college_tables.plays
    assert plays.filter(pl.col("line_kind") == "substitution").height > 0
    both = analytic_plays(plays, college_tables.parse_report, mlb)
    result = play_analytics(both)
    assert "substitution" not in result.event_run_values["event_type"].to_list()
    mlb_weights = result.woba_weights.filter(pl.col("league") == "mlb")
    from_pipeline = player_season_value(both.filter(pl.col("league") == "mlb"), mlb_weights, league="mlb").hitting
    direct = player_season_value(mlb, mlb_weights, league="mlb").hitting
    without_code = player_season_value(mlb.drop("event_code"), mlb_weights, league="mlb").hitting
    assert from_pipeline["AB"].sum() == direct["AB"].sum() == without_code["AB"].sum() - 1


def intentional_walk_values():
    """The hand table with its walk (seq 5, a4 against p1) made intentional, and that table's weights."""
    plays = hand_plays().with_columns(event_type=pl.when(pl.col("seq") == 5).then(pl.lit("intentional_walk"))
                                      .otherwise(pl.col("event_type")))
    return plays, woba_weights(event_run_values(run_values(plays, made_up_re(), league="t")), plays, league="t")


def test_fip_counts_intentional_walks():
    """The hand table with its walk (seq 5) made intentional. League: 6 outs (2 IP), 4 runs -> RA9 18;
    13 x 1 HR + 3 x (1 IBB + 1 HBP) - 2 x 1 K = 17 -> 8.5 per IP -> constant 9.5. p1 (HR, IBB, K in 1 IP):
    13 + 3 - 2 + 9.5 = 23.5 (FanGraphs' FIP counts every walk, as the module says)."""
    plays, weights = intentional_walk_values()
    pitching = player_season_value(plays, weights, league="t").pitching
    p1 = pitching.filter(pl.col("player") == "p1").row(0, named=True)
    assert (p1["IBB"], p1["BB"]) == (1, 0)
    assert p1["fip_constant"] == pytest.approx(9.5) and p1["FIP"] == pytest.approx(23.5)


def test_intentional_walks_stay_out_of_league_obp_and_count_in_bb_pct():
    """With the walk made intentional: 12 PA, 5 hits, no unintentional walk, 1 HBP, 1 SF, so AB = 12 - 1 IBB - 1 HBP
    - 1 SF = 9. League OBP is FanGraphs' one without intentional walks, (5 + 0 + 1) / (9 + 0 + 1 + 1) = 6/11 (7/11
    with the IBB). A batter's BB% counts every walk: a4's one PA is the intentional walk, BB_pct 1; and with no
    AB, BB, SF or HBP his wOBA has no denominator: null, not NaN."""
    plays, weights = intentional_walk_values()
    assert weights["league_obp"].item() == pytest.approx(6 / 11)
    a4 = player_season_value(plays, weights, league="t").hitting.filter(pl.col("player") == "a4").row(0, named=True)
    assert (a4["PA"], a4["IBB"], a4["BB_pct"], a4["wOBA"]) == (1, 1, 1.0, None)


def test_a_sacrifice_is_not_an_out_for_the_out_value():
    """The groundout of seq 11 (run value 0.0) made a sacrifice bunt (sac "SH"): the out value is the mean of the
    other batting outs, strikeout -0.10, double play -0.25 and flyout -0.30: -0.65 / 3 over 3 events."""
    plays = hand_plays().with_columns(sac=pl.when(pl.col("seq") == 11).then(pl.lit("SH")).otherwise(pl.col("sac")))
    events = event_run_values(run_values(plays, made_up_re(), league="t"))
    assert events["out_value"].unique().to_list() == [pytest.approx(-0.65 / 3)]
    assert events["out_events"].unique().to_list() == [3]


def test_team_woba_slope_keeps_teams_with_exactly_min_games():
    """Each team of the hand table bats in its one game: with min_games 1 both teams count, with 2 neither."""
    plays, _, _, weights = hand_values()
    plays = plays.with_columns(league=pl.lit("t"))
    hitting = player_season_value(plays, weights).hitting
    assert team_woba_slope(hitting, plays, weights, min_games=1)["teams"].to_list() == [2]
    assert team_woba_slope(hitting, plays, weights, min_games=2).height == 0


def test_analytic_plays_keep_only_reconciled_college_games(college_tables):
    """analytics.py: "College plays enter only from games that reconciled with the score column (a game whose
    runs or outs do not add up would bend every state's expectancy)". The embedded sample has games whose
    replay is a mismatch: none of their lines reach the analytics, every reconciled game's play and
    substitution lines do, and no summary or note line."""
    report = college_tables.parse_report
    mismatched = set(report.filter(pl.col("status") != "reconciled")["game_id"])
    reconciled = set(report.filter(pl.col("status") == "reconciled")["game_id"])
    assert mismatched, "the embedded sample has unreconciled games"
    college = analytic_plays(college_tables.plays, report, pl.DataFrame()).filter(pl.col("league") == "ncaa")
    assert not set(college["game_id"]) & mismatched
    assert set(college["game_id"]) == reconciled
    assert set(college["line_kind"]) == {"play", "substitution"}
