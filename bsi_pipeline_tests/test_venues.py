"""Neutral sites inferred from the play-by-play's city and each team's earlier home games."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from bsi_pipeline.games import pbp_games_to_shared, with_venue_neutral
from bsi_pipeline.ncaa.pbp_reader import lines_frame, read_pbp_files
from bsi_pipeline.ncaa.pbp_tables import build_pbp_tables
from bsi_pipeline.ncaa.teams import load_registry, teams_table
from bsi_pipeline.ncaa.venues import city_key, infer_neutral, same_city
from bsi_pipeline.sources.espn_ncaa_baseball_games import read_espn_ncaa_baseball_games
from bsi_pipeline_tests.conftest import EMBEDDED_PBP, REGISTRY_FILES, SHARED_DATA


@pytest.mark.parametrize("location, key", [
    ("Starkville, Miss.", "starkville"), ("Starkville, MS", "starkville"), ("West Point,N.Y.", "west point"),
    ("Austin Texas", "austin texas"), ("Lawrence KS,", "lawrence ks"), ("St. Louis, Mo.", "st louis"),
    ("Winston-Salem, N.C.", "winston salem"),
    ("  ", None), (None, None),
])
def test_city_key_keeps_the_city_and_drops_state_and_punctuation(location, key):
    assert city_key(location) == key


def test_same_city_allows_a_trailing_state_but_not_another_town():
    assert same_city("austin texas", "austin") and same_city("lawrence", "lawrence ks")
    assert not same_city("port charlotte", "charlotte")
    assert not same_city("charlotte", "port charlotte")


@pytest.mark.parametrize("a, b", [  # misspellings from the shared 2019-2021 play-by-play
    ("portles", "portales"), ("nashille", "nashville"), ("nacodgoches", "nacogdoches"),
    ("murfreeesboro", "murfreesboro"), ("sotckton", "stockton"), ("alban", "albany"), ("arlingtonn", "arlington"),
])
def test_one_typing_slip_is_the_same_city(a, b):
    assert same_city(a, b) and same_city(b, a)


@pytest.mark.parametrize("a, b", [
    ("lorman", "norman"),           # another first letter: another town
    ("alba", "albay"),              # too short to tell a slip from a town
    ("murfreesboro", "murfreesbrooo"),  # two slips
    ("kannapolis", "annapolis"),
])
def test_more_than_one_slip_or_a_short_word_is_another_city(a, b):
    assert not same_city(a, b) and not same_city(b, a)


def games(rows):
    """rows: (day, home, location) or (day, home, away, location)."""
    start = date(2021, 2, 19)
    rows = [row if len(row) == 4 else (row[0], row[1], f"opponent {i}", row[2]) for i, row in enumerate(rows)]
    return pl.DataFrame([{"game_id": f"g{i:02d}", "date": start + timedelta(days=d), "home_team": home,
                          "away_team": away, "location": location} for i, (d, home, away, location) in enumerate(rows)])


def test_home_city_learned_from_earlier_dates_only():
    frame = games([
        (0, "LSU", "Baton Rouge, La."), (0, "LSU", "Baton Rouge, La."),       # doubleheader
        (1, "LSU", "Baton Rouge, LA"),     # 2 hosted games before this date: unknown
        (2, "LSU", "Houston, Texas"),      # 3 before: Baton Rouge is home -> neutral
        (3, "LSU", "Houston, Texas"),      # Houston (1) has not overtaken Baton Rouge -> neutral
        (4, "LSU", "Baton Rouge, La"),     # home
        (4, "Tulane", "Baton Rouge, La."), # Tulane has no home city yet
        (5, "LSU", None),                  # no location: unknown
    ])
    assert infer_neutral(frame).to_list() == [None, None, None, True, True, False, None, None]


def test_a_misspelled_home_city_is_home():
    """Eastern N.M. and Tarleton St. on 2020-02-22 in the shared play-by-play: game one in "Portales, N.M.",
    game two in "Portles, N.M."; one keystroke must not send the second game to a neutral site."""
    frame = games([(d, "Eastern N.M.", "Portales, N.M.") for d in range(3)]
                  + [(5, "Eastern N.M.", "Portles, N.M."), (6, "Eastern N.M.", "Portalis, N.M."),
                     (7, "Eastern N.M.", "Clovis, N.M.")])
    assert infer_neutral(frame).to_list()[3:] == [False, False, True]


def test_a_doubleheader_partner_in_the_home_city_brings_the_other_game_home():
    """ETSU and Western Caro. on 2021-04-23: one game at "Johnson City, Tenn.", the other at "Thomas
    Stadium" (the park). Same day, same listed home and away: one park."""
    frame = games([(d, "ETSU", "Rival", "Johnson City, Tenn.") for d in range(3)] + [
        (5, "ETSU", "Western Caro.", "Thomas Stadium"), (5, "ETSU", "Western Caro.", "Johnson City, Tenn."),
        (5, "ETSU", "Western Caro.", None),
        (6, "ETSU", "Western Caro.", "Thomas Stadium"),          # alone on its date: no partner to go by
        (7, "ETSU", "Western Caro.", "Hoover, Ala."), (7, "Western Caro.", "ETSU", "Johnson City, Tenn."),
    ])
    assert infer_neutral(frame).to_list()[3:] == [False, False, False, True, True, None]


def test_row_order_does_not_matter():
    frame = games([(d, "Rice", "Houston, Texas") for d in range(4)] + [(5, "Rice", "Biloxi, Miss."),
                                                                        (6, "Rice", "Houston")])
    flags = infer_neutral(frame)
    shuffled = frame.with_row_index("i").reverse()
    assert infer_neutral(shuffled.drop("i")).reverse().to_list() == flags.to_list()
    assert flags.to_list() == [None, None, None, False, True, False]


def test_tournament_host_away_from_campus_stays_neutral():
    """Listed home five times at a preseason event, then on campus all season: the campus wins."""
    rows = [(d, "Oregon St.", "Surprise, Ariz.") for d in range(3)]
    rows += [(10 + d, "Oregon St.", "Corvallis, Ore.") for d in range(5)]
    rows += [(40, "Oregon St.", "Surprise, Ariz."), (41, "Oregon St.", "Corvallis, Ore.")]
    assert infer_neutral(games(rows)).to_list()[-2:] == [True, False]


def test_embedded_sec_sample_flags_the_sec_tournament_neutral():
    """2019 SEC sample (real play-by-play): the conference tournament in Hoover, Ala. is neutral for every
    team with a home city, and campus games are not."""
    registry = load_registry(REGISTRY_FILES)
    path = next(p for p in EMBEDDED_PBP if "2019" in p.name)
    tables = build_pbp_tables(lines_frame(read_pbp_files([path])))
    shared = pbp_games_to_shared(tables.games, teams_table(tables.games, registry))
    hoover = shared.filter(pl.col("location").str.starts_with("Hoover"))
    assert hoover.height >= 10
    assert hoover["neutral"].drop_nulls().all() and hoover["neutral"].drop_nulls().len() >= 10
    campus = shared.filter(pl.col("neutral").is_not_null() & ~pl.col("location").str.starts_with("Hoover"))
    assert campus["neutral"].sum() < 0.2 * campus.height
    assert shared.height == tables.games.height


def test_espn_results_get_neutral_college_world_series_and_keep_a_source_true():
    """The ESPN results say neutral_site=false for every game; inferred from venue history, the 2025
    College World Series (Charles Schwab Field, Omaha) is neutral, and inferred-neutral games are far
    closer to a coin flip for the listed home team than home games are."""
    folder = SHARED_DATA / "ncaa_baseball_teams"
    if not (folder / "espn_games_2024_2025.csv").exists():
        pytest.skip(f"shared real data not present: {folder}")
    espn = read_espn_ncaa_baseball_games([folder / "espn_games_2024_2025.csv"], folder / "canonical_teams_2026.csv",
                                         sorted(folder.glob("ncaa_d1_teams_*.csv"))).games
    assert not espn["neutral"].any()
    settled = with_venue_neutral(espn).with_columns(home_win=pl.col("home_score") > pl.col("away_score"))
    # Creighton plays some home games there in April; the World Series is in June
    omaha = settled.filter((pl.col("location") == "Charles Schwab Field") & (pl.col("season") == 2025)
                           & (pl.col("date").dt.month() == 6))
    assert omaha.height >= 10 and omaha["neutral"].drop_nulls().all() and omaha["neutral"].null_count() <= 2
    rate = dict(settled.group_by("neutral").agg(pl.col("home_win").mean()).rows())
    assert rate[True] < rate[False] - 0.05
    source_says = espn.head(3).with_columns(neutral=pl.lit(True))
    assert with_venue_neutral(source_says)["neutral"].to_list() == [True, True, True]
    assert with_venue_neutral(espn.clear()).height == 0


def test_a_source_true_neutral_stands_where_the_venue_says_home():
    """with_venue_neutral: "a source's True stands; otherwise the flag inferred". LSU hosts three games in
    Baton Rouge (its home city from then on); the fourth, also in Baton Rouge, is one the source marks
    neutral (a conference tournament LSU hosted, say): it stays True although the venue says home. The fifth,
    in Houston, which the source marks False, is inferred neutral (the ESPN results say false for every
    game). The first three: no home city yet and no source flag, null."""
    frame = games([(0, "LSU", "Baton Rouge, La."), (1, "LSU", "Baton Rouge, La."), (2, "LSU", "Baton Rouge, La."),
                         (5, "LSU", "Baton Rouge, La."), (6, "LSU", "Houston, Texas")])
    frame = frame.with_columns(neutral=pl.Series([None, None, None, True, False], dtype=pl.Boolean))
    assert with_venue_neutral(frame)["neutral"].to_list() == [None, None, None, True, True]
