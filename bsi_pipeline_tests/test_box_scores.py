"""Box scores from replayed play-by-play (ncaa/box_scores.py) on its own: real text lines of NCAA games
replayed into plays, then the batting and pitching lines and each side's starter read off by hand."""

from __future__ import annotations

import polars as pl
import pytest

from bsi_pipeline.ncaa.box_scores import box_batting, box_pitching, starter_lines
from bsi_pipeline_tests.pbp_helpers import replayed


def test_stolen_bases_and_caught_stealing_are_credited_to_the_runner():
    """Real lines of game 5030072 (2021, Oklahoma St. batting): Trenkle singles and steals second, McLean walks
    and is caught stealing. Box: Trenkle SB 1, CS 0; McLean SB 0, CS 1 (and neither steal is a PA)."""
    bat, fld = "Oklahoma St.", "Texas Tech"
    plays, runners = replayed([
        (1, "top", bat, fld, "Trenkle singled to left field (1-1 BS)."),
        (1, "top", bat, fld, "Trenkle stole second."),
        (1, "top", bat, fld, "McLean walked (3-1 BBSBB)."),
        (1, "top", bat, fld, "McLean out at second c to ss, caught stealing."),
    ])
    runners = runners.with_columns(team=pl.lit(bat))
    box = {r["player"]: r for r in box_batting(plays, runners).iter_rows(named=True)}
    assert (box["Trenkle"]["PA"], box["Trenkle"]["SB"], box["Trenkle"]["CS"]) == (1, 1, 0)
    assert (box["McLean"]["PA"], box["McLean"]["SB"], box["McLean"]["CS"]) == (1, 0, 1)


PITCHING_LINES = [  # real lines of game 4770356 (2019, Delaware at Elon, bottom 8th), a pitching change added
    (8, "bot", "Elon", "Delaware", "Oldham walked (3-2 BBFSBFB)."),
    (8, "bot", "Elon", "Delaware", "Cicci reached on catchers interference (0-1 F); Oldham advanced to second."),
    (8, "bot", "Elon", "Delaware", "Pico walked (3-2 BBKBKB); Cicci advanced to second; Oldham advanced to third."),
    (8, "bot", "Elon", "Delaware", "Smith to p for Jones."),
    (8, "bot", "Elon", "Delaware", "Doe struck out swinging (1-2 BSFS)."),
    (8, "bot", "Elon", "Delaware", "Roe grounded out to ss (2-1 BBS)."),
]


def test_innings_pitched_are_written_in_thirds():
    """Smith records two outs (a strikeout, a groundout): IP 0.2, the box-score notation for two thirds (not
    0.67); Jones, who walked two and gave up catcher's interference, records none: IP 0.0."""
    plays, _ = replayed(PITCHING_LINES)
    box = {r["player"]: r for r in box_pitching(plays).iter_rows(named=True)}
    assert (box["Smith"]["BF"], box["Smith"]["outs_recorded"], box["Smith"]["K"]) == (2, 2, 1)
    assert box["Smith"]["IP"] == pytest.approx(0.2)
    assert (box["Jones"]["BF"], box["Jones"]["outs_recorded"], box["Jones"]["BB"]) == (3, 0, 2)
    assert box["Jones"]["IP"] == 0.0


def test_pitch_counts_add_the_ball_in_play_but_not_after_a_walk_or_strikeout():
    """The count in brackets lists every pitch before the last one of a ball in play (which ends the plate
    appearance), but includes ball four and strike three. Jones: BBFSBFB (7, ball four included) + F and the
    pitch the catcher interfered with (2) + BBKBKB (6) = 15 pitches. Smith: BSFS (4, strike three included) +
    BBS and the ground ball (4) = 8."""
    plays, _ = replayed(PITCHING_LINES)
    box = {r["player"]: r for r in box_pitching(plays).iter_rows(named=True)}
    assert (box["Jones"]["pitches"], box["Jones"]["pa_with_pitch_count"]) == (15, 3)
    assert (box["Smith"]["pitches"], box["Smith"]["pa_with_pitch_count"]) == (8, 2)


def test_starter_lines_are_matched_within_the_team():
    """Pitchers are unique only within a team: Elon starts Jones and brings in a reliever named Smith in the
    top of the 1st; Delaware starts a Smith of its own. Each side's starter line is its own pitcher's:
    Elon Jones (BF 1, BB 1), Delaware Smith (BF 1, BB 1, K 0), not Elon's Smith's strikeout, and one line
    per side."""
    plays, _ = replayed([
        (1, "top", "Delaware", "Elon", "Oldham walked (3-2 BBFSBFB)."),
        (1, "top", "Delaware", "Elon", "Smith to p for Jones."),
        (1, "top", "Delaware", "Elon", "Doe struck out swinging (1-2 BSFS)."),
        (1, "bot", "Elon", "Delaware", "Cicci walked (3-1 BBSBB)."),
        (1, "bot", "Elon", "Delaware", "Lee to p for Smith."),
        (1, "bot", "Elon", "Delaware", "Pico struck out looking (0-2 KK)."),
    ])
    lines = starter_lines(plays, box_pitching(plays)).sort("team")
    assert lines.select("team", "starter", "BF", "K", "BB").rows() == [
        ("Delaware", "Smith", 1, 0, 1), ("Elon", "Jones", 1, 0, 1)]
