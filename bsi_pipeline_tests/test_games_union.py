"""One games table from several sources: a game two sources give is counted once, and the row left out is
recorded with the reason (union_games)."""

from __future__ import annotations

import polars as pl
import pytest

from bsi_pipeline.games import EXCLUDED_SCHEMA, union_games
from bsi_pipeline.sources.common import GAMES_SCHEMA
from bsi_pipeline.sources.espn_ncaa_baseball_games import read_espn_ncaa_baseball_games
from bsi_pipeline_tests.conftest import FIXTURES, REPO

TEAMS_DIR = REPO / "data" / "ncaa_baseball_teams"


@pytest.fixture(scope="module")
def espn() -> pl.DataFrame:
    return read_espn_ncaa_baseball_games([FIXTURES / "espn_ncaa_baseball_games" / "espn_games_sample.csv"],
                                         TEAMS_DIR / "canonical_teams_2026.csv",
                                         sorted(TEAMS_DIR.glob("ncaa_d1_teams_20*.csv"))).games


def other_source(games: pl.DataFrame, swap: set[int] = frozenset()) -> pl.DataFrame:
    """The same real games as another source would give them: its own ids, and for the rows in ``swap``
    the other team listed as home (sources disagree at neutral sites)."""
    rows = []
    for i, row in enumerate(games.to_dicts()):
        if i in swap:
            row["home_team"], row["away_team"] = row["away_team"], row["home_team"]
            row["home_score"], row["away_score"] = row["away_score"], row["home_score"]
        rows.append({**row, "game_id": f"baseball:ncaa:{row['season']}:game:{9_000_000 + i}", "source": "ncaa_pbp",
                     "source_game_id": str(9_000_000 + i)})
    return pl.DataFrame(rows, schema=GAMES_SCHEMA)


def test_a_game_two_sources_give_is_kept_once_from_the_first(espn):
    pbp = other_source(espn.head(5), swap={1, 3})
    games, excluded = union_games([pbp, espn])
    assert games.height == espn.height and games["game_id"].is_unique().all()
    assert games.filter(pl.col("source") == "ncaa_pbp").height == 5
    assert excluded.schema == pl.Schema(EXCLUDED_SCHEMA)
    assert sorted(excluded["game_id"]) == sorted(espn.head(5)["game_id"])
    kept_for = dict(zip(espn.head(5)["game_id"], pbp["game_id"]))
    for row in excluded.to_dicts():
        assert row["kept_game_id"] == kept_for[row["game_id"]]
        assert row["reason"] == (f"the same game (date, teams and score) as {row['kept_game_id']} "
                                 "from source ncaa_pbp")
    assert games.height + excluded.height == pbp.height + espn.height


def test_a_taken_game_id_is_excluded_naming_the_source_that_has_it(espn):
    first = espn.head(1)
    impostor = espn.slice(1, 1).with_columns(game_id=first["game_id"], source=pl.lit("ncaa_pbp"))
    games, excluded = union_games([espn, impostor])
    assert games.height == espn.height
    assert excluded.select("game_id", "kept_game_id", "reason").rows() == [
        (first["game_id"][0], first["game_id"][0], "game id already read from source espn_ncaa_baseball_games")]


def test_one_source_doubleheader_with_one_score_keeps_both_games(espn):
    game = espn.head(1)
    second = game.with_columns(game_id=pl.col("game_id") + "-2", source_game_id=pl.col("source_game_id") + "2")
    doubleheader = pl.concat([game, second])
    games, excluded = union_games([doubleheader])
    assert games.height == 2 and excluded.height == 0
    # another source that has both is matched game for game; one that has one of them loses only that one
    games, excluded = union_games([other_source(game), doubleheader])
    assert (games.height, excluded["game_id"].to_list()) == (2, [game["game_id"][0]])
    games, excluded = union_games([doubleheader, other_source(pl.concat([game, game]))])
    assert (games.height, excluded.height) == (2, 2)


def test_different_leagues_or_scores_are_not_the_same_game(espn):
    game = espn.head(1)
    rescored = other_source(game).with_columns(home_score=pl.col("home_score") + 1)
    relabelled = other_source(game).with_columns(league=pl.lit("mlb"), game_id=pl.lit("baseball:mlb:2024:game:1"))
    games, excluded = union_games([game, rescored, relabelled])
    assert (games.height, excluded.height) == (3, 0)


def test_no_frames_give_empty_tables_with_the_schemas():
    games, excluded = union_games([])
    assert games.schema == pl.Schema(GAMES_SCHEMA) and excluded.schema == pl.Schema(EXCLUDED_SCHEMA)


def test_the_same_teams_with_the_result_reversed_are_another_game(espn):
    """"The same game" is the same date, teams AND score, either side home. A doubleheader split with the
    same score (A beats B 5-3, then B beats A 5-3) is two games: when one source has only the first and
    another only the second, both are kept. Here the first ESPN sample game and, from a second source, the
    same teams on the same date with the two scores exchanged (the other team won by the same score)."""
    game = espn.head(1)
    first = game.row(0, named=True)
    assert first["home_score"] != first["away_score"]
    reversed_result = other_source(game).with_columns(home_score=pl.col("away_score"), away_score=pl.col("home_score"))
    games, excluded = union_games([game, reversed_result])
    assert (games.height, excluded.height) == (2, 0)
    assert sorted(games["home_score"].to_list()) == sorted([first["home_score"], first["away_score"]])
