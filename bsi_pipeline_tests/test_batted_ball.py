"""Batted-ball features and labels: the Statcast barrel rule at its exact edges, hard-hit, spray angle,
launch-angle buckets, hit labels and FanGraphs wOBA values; and the whole frame on real fixture rows."""

from __future__ import annotations

import math

import polars as pl
import pytest

from bsi_pipeline.batted_ball import (
    FEATURE_COLUMNS,
    WOBA_WEIGHTS_FILE,
    barrel_angle_window,
    batted_ball_features,
    hard_hit,
    is_barrel,
    is_extra_base_hit,
    is_hard_hit,
    is_hit,
    is_home_run,
    launch_angle_bucket,
    load_woba_weights,
    spray_angle,
    woba_value,
    woba_weights_frame,
)
from bsi_pipeline.sources.statcast_csv import read_statcast_csv
from bsi_pipeline_tests.conftest import FIXTURES, SHARED_DATA

SHORT = FIXTURES / "statcast" / "statcast2021_sample.csv"
FULL = FIXTURES / "statcast" / "sc_2023-06-11_sample.csv"


@pytest.fixture(scope="module")
def weights() -> pl.DataFrame:
    return load_woba_weights()


def both_ways(speed, angle, **kw) -> bool:
    """is_barrel on plain numbers, and the same answer from the polars expression and Series forms."""
    plain = is_barrel(speed, angle, **kw)
    frame = pl.DataFrame({"v": [speed], "a": [angle]}, schema={"v": pl.Float64, "a": pl.Float64})
    assert frame.select(is_barrel(pl.col("v"), pl.col("a"), **kw)).item() == plain
    assert is_barrel(frame["v"], frame["a"], **kw).item() == plain
    return plain


# ---------------------------------------------------------------------------------------------- barrel

@pytest.mark.parametrize("angle", [-10, 8, 20, 26, 28, 30, 40, 50])
def test_below_98_mph_never_a_barrel(angle):
    assert not both_ways(97.9, angle)
    assert not both_ways(90.0, angle)


@pytest.mark.parametrize(("angle", "barrel"), [(25.9, False), (26, True), (28, True), (30, True), (30.1, False)])
def test_98_mph_window_is_26_to_30(angle, barrel):
    assert both_ways(98.0, angle) is barrel


@pytest.mark.parametrize("speed", [116.0, 118.5, 120.0, 125.0])
@pytest.mark.parametrize(("angle", "barrel"), [(7.9, False), (8, True), (30, True), (50, True), (50.1, False)])
def test_from_116_mph_the_window_is_8_to_50(speed, angle, barrel):
    assert both_ways(speed, angle) is barrel


@pytest.mark.parametrize(("speed", "low", "high"), [
    # the glossary's own points: 98 -> 26-30, 99 -> 25-31 (31.5: angles are whole degrees), 100 -> 24-33,
    # 116 -> 8-50; in between the lower bound drops 1 degree per mph, the upper rises 1.5 (capped at 50)
    (98, 26, 30), (99, 25, 31.5), (100, 24, 33), (101, 23, 34.5), (104, 20, 39), (108, 16, 45),
    (110, 14, 48), (111, 13, 49.5), (112, 12, 50), (115, 9, 50), (116, 8, 50),
])
def test_intermediate_speeds_follow_the_official_window(speed, low, high):
    assert barrel_angle_window(float(speed)) == (low, high)
    assert both_ways(float(speed), low) and both_ways(float(speed), high)
    assert not both_ways(float(speed), low - 0.1) and not both_ways(float(speed), high + 0.1)
    # whole-degree statements of the glossary
    if speed == 99:
        assert both_ways(99.0, 25) and both_ways(99.0, 31) and not both_ways(99.0, 24) and not both_ways(99.0, 32)


def test_the_range_grows_two_and_a_half_degrees_per_mph_then_one_until_116():
    width = {v: barrel_angle_window(float(v))[1] - barrel_angle_window(float(v))[0] for v in range(98, 121)}
    growth = {v: width[v] - width[v - 1] for v in range(99, 121)}
    assert width[98] == 4 and width[100] == 9 and width[116] == 42
    assert all(growth[v] == 2.5 for v in range(99, 112))        # lower -1, upper +1.5 per mph
    assert all(growth[v] == 1.0 for v in range(113, 117))       # upper bound held at 50
    assert all(growth[v] == 0.0 for v in range(117, 121))       # 8-50 from 116 mph on


def test_barrel_nulls():
    assert is_barrel(None, 28) is None and is_barrel(100.0, None) is None
    assert barrel_angle_window(97.9) is None and barrel_angle_window(None) is None


def test_savant_rounding_rounds_speed_to_whole_mph():
    assert not both_ways(97.7, 28) and both_ways(97.7, 28, savant_rounding=True)
    assert both_ways(97.5, 28, savant_rounding=True) and not both_ways(97.4, 28, savant_rounding=True)
    assert not both_ways(98.4, 31, savant_rounding=True) and both_ways(98.5, 31, savant_rounding=True)


def test_barrels_agree_with_savants_launch_speed_angle_code_on_real_rows():
    bb = read_statcast_csv([FULL]).batted_balls
    savant = (bb["launch_speed_angle"] == 6).to_list()
    assert sum(savant) == 2  # line 24 (99.8 mph, 26 degrees) and line 30 (105.4 mph, 38 degrees)
    assert is_barrel(bb["launch_speed"], bb["launch_angle"]).to_list() == savant
    assert is_barrel(bb["launch_speed"], bb["launch_angle"], savant_rounding=True).to_list() == savant


# ------------------------------------------------------------------------------------ other features

def test_hard_hit_edge():
    assert is_hard_hit(94.9) is False and is_hard_hit(95.0) is True and is_hard_hit(None) is None
    assert hard_hit is is_hard_hit
    assert is_hard_hit(pl.Series([94.9, 95.0, None])).to_list() == [False, True, None]


def test_spray_angle_on_known_coordinates():
    assert spray_angle(125.42, 98.27) == 0.0                              # straight away center
    assert spray_angle(225.42, 98.27) == pytest.approx(45.0)              # right-field line
    assert spray_angle(25.42, 98.27) == pytest.approx(-45.0)              # left-field line
    assert spray_angle(125.42 + 30, 198.27 - 40) == pytest.approx(math.degrees(math.atan(0.75)))  # 36.87
    assert spray_angle(125.42 - 10, 198.27 + 10) == pytest.approx(-135.0)  # behind home plate, third-base side
    assert spray_angle(None, 100.0) is None
    series = spray_angle(pl.Series([125.42, 225.42]), pl.Series([98.27, 98.27]))
    assert series.to_list() == pytest.approx([0.0, 45.0])


def test_spray_angle_sign_matches_where_savant_says_the_ball_went():
    bb = read_statcast_csv([FULL]).batted_balls
    angle = dict(zip(bb["line_no"], spray_angle(bb["hc_x"], bb["hc_y"])))
    # line 30: "Matt Chapman homers (9) on a fly ball to left center field" (R batter: pulled, negative)
    assert angle[30] == pytest.approx(math.degrees(math.atan((56.36 - 125.42) / (198.27 - 67.34))))
    assert -45 < angle[30] < -15
    # line 29: "Jeimer Candelario homers (8) on a fly ball to right field" (L batter: pulled, positive)
    assert 15 < angle[29] < 45
    # line 28: "Carlos Correa doubles (13) on a line drive to left fielder": near the left-field line
    assert -45 < angle[28] < -40
    # line 2: pops out to the second baseman
    assert angle[2] == pytest.approx(30.51, abs=0.01)


@pytest.mark.parametrize(("angle", "bucket"), [
    (-60, "ground_ball"), (9.9, "ground_ball"), (10, "line_drive"), (25, "line_drive"), (25.1, "fly_ball"),
    (50, "fly_ball"), (50.1, "popup"), (89, "popup"), (None, None),
])
def test_launch_angle_bucket_edges(angle, bucket):
    assert launch_angle_bucket(angle) == bucket


def test_labels():
    events = ["single", "double", "triple", "home_run", "field_out", "field_error", "fielders_choice",
              "sac_fly", "grounded_into_double_play"]
    assert [is_hit(e) for e in events] == [True, True, True, True, False, False, False, False, False]
    assert [is_extra_base_hit(e) for e in events] == [False, True, True, True, False, False, False, False, False]
    assert [is_home_run(e) for e in events] == [False, False, False, True, False, False, False, False, False]
    assert is_hit(None) is None
    assert is_home_run(pl.Series(["home_run", None])).to_list() == [True, None]


# ------------------------------------------------------------------------------------------------ wOBA

def test_woba_values_for_2021(weights):
    # FanGraphs Guts 2021: wBB .692, wHBP .722, w1B .879, w2B 1.242, w3B 1.568, wHR 2.007
    expected = {"walk": 0.692, "hit_by_pitch": 0.722, "single": 0.879, "double": 1.242, "triple": 1.568,
                "home_run": 2.007, "field_out": 0.0, "field_error": 0.0, "fielders_choice": 0.0,
                "grounded_into_double_play": 0.0, "sac_fly": 0.0, "strikeout": 0.0,
                "sac_bunt": None, "intent_walk": None, "catcher_interf": None, None: None}
    for event, value in expected.items():
        assert woba_value(event, 2021, weights) == value, event
    assert woba_value("home_run", 2019, weights) == 1.94
    # no weights for a season -> null (the shipped table ends with 2021)
    assert weights["season"].max() == 2021
    assert woba_value("home_run", 2022, weights) is None and woba_value("field_out", 2022, weights) is None


def test_weights_table_checks():
    with pytest.raises(ValueError, match="lacks column"):
        woba_weights_frame(pl.DataFrame({"Season": [2021], "w1B": [0.9]}))
    row = {"Season": 2021, "wBB": 0.7, "wHBP": 0.7, "w1B": 0.9, "w2B": 1.2, "w3B": 1.6, "wHR": 2.0}
    with pytest.raises(ValueError, match="more than one row for season"):
        woba_weights_frame(pl.DataFrame([row, row]))
    # the pipeline's derived table: its 2021 row is college, which would price MLB 2021-2022 balls
    derived = pl.DataFrame([{**row, "league": "mlb", "Season": 2016}, {**row, "league": "ncaa"}])
    with pytest.raises(ValueError, match=r"league\(s\) \['ncaa'\]"):
        woba_weights_frame(derived)
    assert woba_weights_frame(derived.filter(pl.col("league") == "mlb"))["season"].to_list() == [2016]


def test_shipped_weights_are_the_shared_copy_with_attribution():
    shared = SHARED_DATA / "reference" / "fangraphs_guts_woba_weights.csv"
    if shared.exists():
        assert WOBA_WEIGHTS_FILE.read_bytes() == shared.read_bytes()
    readme = (WOBA_WEIGHTS_FILE.parent / "README.md").read_text()
    assert "fangraphs_guts_woba_weights.csv" in readme and "bayesball/HomeRuns2021" in readme


# ----------------------------------------------------------------------------------------------- frame

def test_features_on_the_2021_fixture(weights):
    bb = read_statcast_csv([SHORT]).batted_balls
    out = batted_ball_features(bb, weights)
    assert out.columns == bb.columns + list(FEATURE_COLUMNS)
    assert {c: out.schema[c] for c in FEATURE_COLUMNS} == FEATURE_COLUMNS
    assert out.drop(list(FEATURE_COLUMNS)).equals(bb)
    row = {r["line_no"]: r for r in out.iter_rows(named=True)}
    # line 4: 32 degrees at 100.1 mph, a home run: a barrel (window 23.9-33.15)
    assert (row[4]["is_barrel"], row[4]["is_hard_hit"], row[4]["launch_angle_bucket"]) == (True, True, "fly_ball")
    assert (row[4]["is_home_run"], row[4]["is_extra_base_hit"], row[4]["is_hit"], row[4]["woba_value_fg"]) == (
        True, True, True, 2.007)
    # line 3: 21 degrees at 101.7 mph: hard hit, line drive, not a barrel (window starts at 22.3), an out
    assert (row[3]["is_barrel"], row[3]["is_hard_hit"], row[3]["launch_angle_bucket"], row[3]["woba_value_fg"]) == (
        False, True, "line_drive", 0.0)
    # line 38: 30 degrees at 102.9 mph, a field_out: a barrel that was caught
    assert row[38]["is_barrel"] and not row[38]["is_hit"]
    # line 17: -19 degrees at 97.9 mph
    assert (row[17]["is_barrel"], row[17]["is_hard_hit"], row[17]["launch_angle_bucket"]) == (
        False, True, "ground_ball")
    assert out["spray_angle"].null_count() == out.height  # the short format has no hit coordinates
    assert out["is_barrel"].sum() == 5 and out["is_home_run"].sum() == 3
    assert out["is_barrel"].sum() == sum(is_barrel(v, a) for v, a in zip(bb["launch_speed"], bb["launch_angle"]))


def test_features_on_the_full_fixture(weights):
    bb = read_statcast_csv([FULL]).batted_balls
    out = batted_ball_features(bb, weights)
    assert out["spray_angle"].null_count() == 0
    assert out["woba_value_fg"].null_count() == out.height  # 2023: no FanGraphs weights in the table
    # Savant's bb_type and the launch-angle buckets agree on these rows
    assert out["launch_angle_bucket"].to_list() == out["bb_type"].to_list()
    assert out["is_barrel"].to_list() == (out["launch_speed_angle"] == 6).to_list()


def test_features_need_the_columns(weights):
    with pytest.raises(ValueError, match="lacks column"):
        batted_ball_features(pl.DataFrame({"season": [2021]}), weights)


# ---------------------------------------------------------------------------------------- full data

@pytest.mark.slow
def test_barrels_match_savant_on_every_shared_ball_in_play():
    files = [SHARED_DATA / "statcast_pitches" / n for n in (
        "sc_2023-06-11_all_pitches.csv", "savant_homeruns_2019_through_july.csv")]
    if not all(p.exists() for p in files):
        pytest.skip("shared real data not present")
    bb = read_statcast_csv(files).batted_balls.filter(pl.col("launch_speed_angle").is_not_null())
    savant = bb["launch_speed_angle"] == 6
    rounded = is_barrel(bb["launch_speed"], bb["launch_angle"], savant_rounding=True)
    plain = is_barrel(bb["launch_speed"], bb["launch_angle"])
    half = ((bb["launch_speed"] * 10).round(0) % 10) == 5
    print(f"\n{bb.height} balls with Savant's code: rule on the speed as given disagrees on {(plain != savant).sum()}, "
          f"on the speed rounded to whole mph on {(rounded != savant).sum()} (all at x.5 mph)")
    assert bb.height == 5003
    assert (rounded != savant).sum() == 19 and ((rounded != savant) & ~half).sum() == 0
    assert (plain != savant).sum() == 98


@pytest.mark.slow
def test_features_on_the_full_2021_season(weights):
    path = SHARED_DATA / "statcast_batted_balls" / "statcast2021.csv"
    if not path.exists():
        pytest.skip(f"shared real data not present: {path}")
    out = batted_ball_features(read_statcast_csv([path]).batted_balls, weights)
    assert out["woba_value_fg"].null_count() == (out["events"].is_in(["sac_bunt", "sac_bunt_double_play"])).sum()
    hr = out.filter(pl.col("is_home_run"))
    print(f"\n2021: {out.height:,} balls in play, barrels {out['is_barrel'].sum():,} "
          f"({out['is_barrel'].mean():.1%}), hard hit {out['is_hard_hit'].mean():.1%}, home runs {hr.height:,} "
          f"of which barrels {hr['is_barrel'].mean():.1%}; wOBAcon {out['woba_value_fg'].mean():.3f}")
    # most home runs are barrels, few barrels are outs; wOBA on contact is in its usual .360-.400 band
    assert hr["is_barrel"].mean() > 0.6
    assert 0.36 < out["woba_value_fg"].mean() < 0.40
