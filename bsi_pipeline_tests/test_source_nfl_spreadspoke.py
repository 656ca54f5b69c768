"""nfl_spreadspoke adapter: real rows from tobycrabtree/spreadspoke (fixture) and the full shared file (slow).

Expected values below were checked by hand against the raw fixture rows (see fixtures/nfl_spreadspoke/README.md).
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from bsi_pipeline.sources.common import SourceFormatError, game_id
from bsi_pipeline.sources.nfl_spreadspoke import DETAILS_SCHEMA, TEAM_ABBREVIATIONS, read_nfl_spreadspoke
from bsi_pipeline_tests.conftest import FIXTURES, SHARED_DATA
from bsi_pipeline_tests.source_helpers import check_schemas, csv_rows, game_with_details, write_csv

FIXTURE = FIXTURES / "nfl_spreadspoke" / "spreadspoke_scores_sample.csv"
SHARED_FILE = SHARED_DATA / "nfl_games" / "spreadspoke_scores_1966_2015.csv"
N_FIXTURE_ROWS = 38


def _row(rows: list[list[str]], day: str, home: str) -> list[str]:
    """A copy of the fixture row of that date and home team."""
    (match,) = [r for r in rows if r[0] == day and r[4] == home]
    return list(match)


def _game(result, day: date, home: str) -> dict:
    return game_with_details(result, (pl.col("date") == day) & (pl.col("home_team") == home))


@pytest.fixture(scope="module")
def fixture_result():
    return read_nfl_spreadspoke([FIXTURE])


# ----------------------------------------------------------------------------------------------- real rows


def test_every_fixture_row_is_accepted_and_accounted(fixture_result):
    r = fixture_result
    check_schemas(r, DETAILS_SCHEMA)  # games, details, quarantine and files, columns in order
    (f,) = r.files.to_dicts()
    assert f["source"] == "nfl_spreadspoke" and f["source_file"] == FIXTURE.name
    assert f["rows_read"] == N_FIXTURE_ROWS == f["rows_accepted"] + f["rows_quarantined"]
    assert r.games.height + r.quarantine.height == N_FIXTURE_ROWS
    assert r.quarantine.height == 0
    assert r.details.height == r.games.height
    assert r.details["game_id"].to_list() == r.games["game_id"].to_list()
    assert r.games["game_id"].n_unique() == r.games.height
    assert set(r.games["sport"]) == {"football"} and set(r.games["league"]) == {"nfl"}
    assert set(r.games["source"]) == {"nfl_spreadspoke"}
    assert r.games["home_conference"].null_count() == r.games["away_conference"].null_count() == r.games.height
    # Rows 2, 2267, 2271, 2272 of the source have no line at all.
    assert f["note"] == "no betting line (team_favorite_id and spread_favorite empty): 4 games"


def test_super_bowl_50_real_values_and_away_favorite(fixture_result):
    # 2/7/2016,2015,Superbowl,TRUE,Denver Broncos,24,10,Carolina Panthers,CAR,-4.5,43,Levi's Stadium,TRUE,76,16,,
    g = _game(fixture_result, date(2016, 2, 7), "Denver Broncos")
    sgid = "20160207-carolina-panthers-at-denver-broncos"
    assert g["source_game_id"] == sgid
    assert g["game_id"] == game_id("football", "nfl", 2015, sgid) == f"football:nfl:2015:game:{sgid}"
    assert (g["season"], g["away_team"], g["away_score"], g["home_score"]) == (2015, "Carolina Panthers", 10, 24)
    assert g["neutral"] is True and g["game_type"] == "postseason" and g["location"] == "Levi's Stadium"
    assert g["d_week"] == "Superbowl" and g["d_playoff"] is True and g["d_season"] == 2015
    assert g["d_team_favorite_id"] == "CAR" and g["d_favorite_team"] == "Carolina Panthers"
    assert g["d_spread_favorite"] == -4.5
    assert g["d_home_spread"] == 4.5  # the away team is favored: positive from the home side
    assert g["d_over_under_line"] == 43.0
    assert (g["d_weather_temperature"], g["d_weather_wind_mph"], g["d_weather_humidity"]) == (76, 16, None)
    assert g["d_weather_detail"] is None


def test_home_favorite_is_negative_home_spread(fixture_result):
    # 9/10/2015,2015,1,FALSE,New England Patriots,28,21,Pittsburgh Steelers,NE,-7,51,Gillette Stadium,FALSE,64,9,,rain
    g = _game(fixture_result, date(2015, 9, 10), "New England Patriots")
    assert (g["home_score"], g["away_score"], g["away_team"]) == (28, 21, "Pittsburgh Steelers")
    assert g["neutral"] is False and g["game_type"] == "regular" and g["location"] == "Gillette Stadium"
    assert g["d_favorite_team"] == "New England Patriots"
    assert g["d_spread_favorite"] == -7.0 and g["d_home_spread"] == -7.0
    assert g["d_over_under_line"] == 51.0 and g["d_week"] == "1" and g["d_playoff"] is False
    assert (g["d_weather_temperature"], g["d_weather_wind_mph"], g["d_weather_detail"]) == (64, 9, "rain")


def test_away_favorite_is_positive_home_spread(fixture_result):
    # 9/13/2015,2015,1,FALSE,Houston Texans,20,27,Kansas City Chiefs,KC,-1,40.5,Reliant Stadium,FALSE,83,8,,...
    g = _game(fixture_result, date(2015, 9, 13), "Houston Texans")
    assert g["d_favorite_team"] == "Kansas City Chiefs"
    assert g["d_spread_favorite"] == -1.0 and g["d_home_spread"] == 1.0
    assert g["d_weather_detail"] == "retractable (open roof)"


def test_pick_game_has_zero_home_spread_and_no_favorite(fixture_result):
    # 9/27/2015,2015,3,FALSE,Dallas Cowboys,28,39,Atlanta Falcons,PICK,0,43.5,Cowboys Stadium,FALSE,72,0,,indoor
    g = _game(fixture_result, date(2015, 9, 27), "Dallas Cowboys")
    assert g["d_team_favorite_id"] == "PICK" and g["d_favorite_team"] is None
    assert g["d_spread_favorite"] == 0.0 and g["d_home_spread"] == 0.0
    assert (g["home_score"], g["away_score"]) == (28, 39)
    picks = fixture_result.details.filter(pl.col("team_favorite_id") == "PICK")
    assert picks.height == 4 and picks["home_spread"].to_list() == [0.0] * 4


def test_london_games_are_neutral(fixture_result):
    london = fixture_result.games.filter(pl.col("location") == "Wembley Stadium").sort("date")
    assert london["neutral"].to_list() == [True, True, True]
    assert london["home_team"].to_list() == ["Miami Dolphins", "Jacksonville Jaguars", "Kansas City Chiefs"]
    # 10/25/2015 Jacksonville 34, Buffalo 31, Buffalo favored by 3.5.
    g = _game(fixture_result, date(2015, 10, 25), "Jacksonville Jaguars")
    assert (g["home_score"], g["away_score"], g["d_favorite_team"], g["d_home_spread"]) == (
        34, 31, "Buffalo Bills", 3.5)


def test_games_without_lines_keep_nulls(fixture_result):
    # 9/3/1978,1978,1,FALSE,Atlanta Falcons,20,14,Houston Oilers,,,,Atlanta-Fulton County Stadium,FALSE,77,10,75,
    g = _game(fixture_result, date(1978, 9, 3), "Atlanta Falcons")
    assert (g["home_score"], g["away_score"], g["away_team"]) == (20, 14, "Houston Oilers")
    assert g["d_team_favorite_id"] is None and g["d_favorite_team"] is None
    assert g["d_spread_favorite"] is None and g["d_home_spread"] is None and g["d_over_under_line"] is None
    assert (g["d_weather_temperature"], g["d_weather_wind_mph"], g["d_weather_humidity"]) == (77, 10, 75)
    # 1978 week 1 Tampa Bay - Giants has a spread but no over/under.
    g = _game(fixture_result, date(1978, 9, 2), "Tampa Bay Buccaneers")
    assert g["d_home_spread"] == -2.0 and g["d_over_under_line"] is None
    # A single-space over/under (1979 wild card, source line 2727) is blank, not an error.
    g = _game(fixture_result, date(1979, 12, 23), "Houston Oilers")
    assert g["d_over_under_line"] is None and g["d_home_spread"] == -7.0


@pytest.mark.parametrize(
    "day, home, favorite, home_spread",
    [
        (date(1969, 1, 12), "Baltimore Colts", "Baltimore Colts", -18.0),       # IND, Super Bowl III
        (date(1977, 1, 9), "Minnesota Vikings", "Oakland Raiders", 4.0),        # LVR, Super Bowl XI
        (date(1979, 1, 21), "Dallas Cowboys", "Pittsburgh Steelers", 3.5),      # Super Bowl XIII
        (date(1978, 12, 24), "Miami Dolphins", "Miami Dolphins", -6.5),
        (date(1979, 9, 16), "Houston Oilers", "Houston Oilers", -5.0),          # TEN
        (date(1979, 9, 2), "St. Louis Cardinals", "Dallas Cowboys", 4.0),
        (date(1979, 9, 30), "Baltimore Colts", "Baltimore Colts", -2.0),        # IND
        (date(1982, 12, 18), "Los Angeles Raiders", "Los Angeles Raiders", -8.0),  # LVR vs the LA Rams
        (date(1988, 9, 18), "Los Angeles Raiders", "Los Angeles Rams", 1.0),       # LAR vs the LA Raiders
        (date(1988, 9, 12), "Phoenix Cardinals", "Phoenix Cardinals", -2.5),    # ARI
        (date(1997, 9, 21), "Tennessee Oilers", "Tennessee Oilers", -4.5),      # TEN
        (date(2016, 1, 3), "San Francisco 49ers", "St. Louis Rams", 3.0),       # LAR
    ],
)
def test_favorite_abbreviations_across_relocations(fixture_result, day, home, favorite, home_spread):
    g = _game(fixture_result, day, home)
    assert g["d_favorite_team"] == favorite
    assert g["d_home_spread"] == home_spread


def test_every_fixture_favorite_is_resolved(fixture_result):
    d = fixture_result.details
    with_id = d.filter(pl.col("team_favorite_id").is_not_null() & (pl.col("team_favorite_id") != "PICK"))
    assert with_id.height == 30
    assert with_id["favorite_team"].null_count() == 0
    assert with_id["home_spread"].null_count() == 0
    # The favorite is always one of the two teams of the game.
    joined = with_id.join(fixture_result.games, on="game_id")
    assert joined.filter((pl.col("favorite_team") != pl.col("home_team"))
                         & (pl.col("favorite_team") != pl.col("away_team"))).height == 0
    # Sign convention: home_spread = spread_favorite when home is favored, its negation when away is.
    expect = pl.when(pl.col("favorite_team") == pl.col("home_team")).then(pl.col("spread_favorite")) \
        .otherwise(-pl.col("spread_favorite"))
    assert joined.filter(pl.col("home_spread") != expect).height == 0


def test_january_playoff_game_belongs_to_previous_season(fixture_result):
    g = _game(fixture_result, date(1979, 1, 21), "Dallas Cowboys")
    assert g["season"] == 1978 and g["game_type"] == "postseason" and g["neutral"] is True
    assert (g["home_score"], g["away_score"], g["location"]) == (31, 35, "Orange Bowl")
    assert g["d_weather_detail"] == "rain"


def test_abbreviation_table_covers_every_name_in_the_fixture(fixture_result):
    names = set(fixture_result.games["home_team"]) | set(fixture_result.games["away_team"])
    assert names <= set(TEAM_ABBREVIATIONS)


# ------------------------------------------------------------------------------------------- bad inputs


def test_bad_rows_are_quarantined_with_reasons(tmp_path):
    header, rows = csv_rows(FIXTURE)
    sb50 = _row(rows, "2/7/2016", "Denver Broncos")
    unplayed = list(sb50); unplayed[5] = unplayed[6] = ""                                  # future game
    letters = _row(rows, "9/10/2015", "New England Patriots"); letters[5] = "2x8"
    bad_date = _row(rows, "9/13/2015", "Arizona Cardinals"); bad_date[0] = "9/31/2015"
    not_date = _row(rows, "9/13/2015", "Buffalo Bills"); not_date[0] = "Sept 13"
    no_team = _row(rows, "9/13/2015", "Houston Texans"); no_team[7] = ""
    short = _row(rows, "9/27/2015", "Dallas Cowboys")[:-1]
    season = _row(rows, "10/4/2015", "Miami Dolphins"); season[1] = "2009"
    same = _row(rows, "10/25/2015", "Jacksonville Jaguars"); same[7] = same[4]
    playoff = _row(rows, "11/1/2015", "Kansas City Chiefs"); playoff[3] = "MAYBE"
    good = _row(rows, "1/9/2016", "Cincinnati Bengals")
    bad = [unplayed, letters, bad_date, not_date, no_team, short, season, same, playoff]
    path = write_csv(tmp_path / "bad.csv", header, [good, *bad, good, []])

    r = read_nfl_spreadspoke([path])
    (f,) = r.files.to_dicts()
    assert f["rows_read"] == 12 == f["rows_accepted"] + f["rows_quarantined"]
    assert (f["rows_accepted"], f["rows_quarantined"]) == (1, 11)
    assert r.games["source_game_id"].to_list() == ["20160109-pittsburgh-steelers-at-cincinnati-bengals"]
    q = {row["line_no"]: row for row in r.quarantine.to_dicts()}
    assert sorted(q) == list(range(3, 14))
    assert q[3]["reason"] == "no final score"
    assert q[3]["source_game_id"] == "20160207-carolina-panthers-at-denver-broncos"
    assert q[3]["raw"].startswith("2/7/2016,2015,Superbowl,TRUE,Denver Broncos,,,Carolina Panthers,CAR")
    assert "score_home '2x8' is not a score" in q[4]["reason"]
    assert q[5]["reason"] == "bad date: schedule_date '9/31/2015' is not a calendar date"
    assert q[6]["reason"] == "bad date: schedule_date 'Sept 13' is not M/D/YYYY"
    assert q[7]["reason"] == "missing team: team_away is empty"
    assert q[8]["reason"] == "expected 17 fields, found 16"
    assert q[9]["reason"] == "date 10/4/2015 lies outside season 2009"
    assert q[10]["reason"].startswith("home and away team are the same")
    assert q[11]["reason"] == "schedule_playoff 'MAYBE' is not TRUE or FALSE"
    assert q[12]["reason"] == ("duplicate game: 20160109-pittsburgh-steelers-at-cincinnati-bengals "
                               "was already read from bad.csv line 2")
    assert q[13]["reason"] == "empty line"
    assert r.quarantine["reason"].null_count() == 0


def test_a_game_in_the_year_after_its_season_is_accepted_only_in_january_february(tmp_path):
    """Playoffs run into February (Super Bowl 50, 2016-02-07); an October game filed under the season before
    would land in the wrong season."""
    header, rows = csv_rows(FIXTURE)
    sb50 = _row(rows, "2/7/2016", "Denver Broncos")
    march = _row(rows, "1/9/2016", "Cincinnati Bengals"); march[0] = "3/1/2016"
    october = _row(rows, "10/4/2015", "Miami Dolphins"); october[1] = "2014"
    r = read_nfl_spreadspoke([write_csv(tmp_path / "next_year.csv", header, [sb50, march, october])])
    assert r.games.select("date", "season").rows() == [(date(2016, 2, 7), 2015)]
    why = "(a game in the year after its season must be in January-February: bowls, playoffs)"
    assert r.quarantine.select("line_no", "reason").rows() == [
        (3, f"date 3/1/2016 lies outside season 2015 {why}"),
        (4, f"date 10/4/2015 lies outside season 2014 {why}")]
    assert r.files.select("rows_read", "rows_accepted", "rows_quarantined").row(0) == (3, 1, 2)


def test_a_team_in_other_letter_case_and_a_season_int_refuses_are_quarantined(tmp_path):
    header, rows = csv_rows(FIXTURE)
    shouted = _row(rows, "9/13/2015", "Arizona Cardinals"); shouted[7] = "ARIZONA CARDINALS"
    superscript = _row(rows, "9/13/2015", "Buffalo Bills"); superscript[1] = "²"
    r = read_nfl_spreadspoke([write_csv(tmp_path / "bad.csv", header, [shouted, superscript])])
    assert r.quarantine["reason"].to_list() == [
        "home and away team are the same ('Arizona Cardinals', 'ARIZONA CARDINALS')",
        "schedule_season '²' is not a year"]
    assert r.games.height == 0


def test_a_game_listed_again_with_home_and_away_swapped_is_a_duplicate(tmp_path):
    """A neutral-site game (Super Bowl 50) listed a second time from the other side's view."""
    header, rows = csv_rows(FIXTURE)
    sb50 = _row(rows, "2/7/2016", "Denver Broncos")
    swapped = list(sb50)
    swapped[4], swapped[7] = sb50[7], sb50[4]  # team_home, team_away
    swapped[5], swapped[6] = sb50[6], sb50[5]  # score_home, score_away
    r = read_nfl_spreadspoke([write_csv(tmp_path / "twice.csv", header, [sb50, swapped])])
    assert r.games["source_game_id"].to_list() == ["20160207-carolina-panthers-at-denver-broncos"]
    assert r.quarantine["reason"].to_list() == [
        "duplicate game: 20160207-carolina-panthers-at-denver-broncos (the same teams that day, home and away "
        "swapped) was already read from twice.csv line 2"]


def test_duplicate_game_across_files_keeps_the_first(tmp_path):
    header, rows = csv_rows(FIXTURE)
    a = write_csv(tmp_path / "a.csv", header, rows[:5])
    b = write_csv(tmp_path / "b.csv", header, rows[3:8])
    r = read_nfl_spreadspoke([a, b])
    assert r.games.height == 8
    files = {f["source_file"]: f for f in r.files.to_dicts()}
    assert (files["a.csv"]["rows_accepted"], files["a.csv"]["rows_quarantined"]) == (5, 0)
    assert (files["b.csv"]["rows_accepted"], files["b.csv"]["rows_quarantined"]) == (3, 2)
    assert r.quarantine["reason"].str.starts_with("duplicate game:").all()
    assert r.quarantine["reason"].str.contains("already read from a.csv line ").all()


def test_unmatched_favorite_is_kept_null_and_counted(tmp_path):
    header, rows = csv_rows(FIXTURE)
    wrong = _row(rows, "9/10/2015", "New England Patriots"); wrong[8] = "MIA"   # neither team is Miami
    positive = _row(rows, "9/13/2015", "Buffalo Bills"); positive[9] = "1"
    garbage = _row(rows, "9/13/2015", "Arizona Cardinals"); garbage[10] = "n/a"; garbage[15] = "71%"
    path = write_csv(tmp_path / "lines.csv", header, [wrong, positive, garbage])
    r = read_nfl_spreadspoke([path])
    assert r.games.height == 3 and r.quarantine.height == 0
    d = {row["game_id"].rsplit(":", 1)[1]: row for row in r.details.to_dicts()}
    w = d["20150910-pittsburgh-steelers-at-new-england-patriots"]
    assert w["team_favorite_id"] == "MIA" and w["favorite_team"] is None and w["home_spread"] is None
    assert w["spread_favorite"] == -7.0
    p = d["20150913-indianapolis-colts-at-buffalo-bills"]
    assert p["favorite_team"] == "Indianapolis Colts" and p["home_spread"] is None
    g = d["20150913-new-orleans-saints-at-arizona-cardinals"]
    assert g["over_under_line"] is None and g["home_spread"] == -2.5 and g["weather_humidity"] == 71
    note = r.files["note"][0]
    assert "favorite not matched to either team (favorite_team kept null): 1 game (lines 2)" in note
    assert "spread_favorite > 0 (home_spread kept null): 1 game (lines 3)" in note
    assert "over_under_line not a number (kept null): 1 game (lines 4)" in note


def test_unknown_team_name_learns_its_abbreviation_from_the_data(tmp_path):
    """Real rows with the Chiefs renamed to a name the table does not know: two games against known teams
    whose ids are not the favorite's (KC over the Baltimore Colts, KC over the Houston Texans) teach KC."""
    header, rows = csv_rows(FIXTURE)
    renamed = [[("Kansas City Wolves" if v == "Kansas City Chiefs" else v) for v in r] for r in rows]
    path = write_csv(tmp_path / "renamed.csv", header, renamed)
    r = read_nfl_spreadspoke([path])
    assert r.games.height == N_FIXTURE_ROWS
    g = _game(r, date(2015, 9, 13), "Houston Texans")
    assert g["d_favorite_team"] == "Kansas City Wolves" and g["d_home_spread"] == 1.0
    assert "abbreviations learned from the data (not in TEAM_ABBREVIATIONS): Kansas City Wolves -> KC" \
        in r.files["note"][0]
    assert r.details.filter(pl.col("team_favorite_id").is_not_null() & (pl.col("team_favorite_id") != "PICK")
                            )["favorite_team"].null_count() == 0


def test_undecodable_bytes_quarantine_the_row(tmp_path):
    header, rows = csv_rows(FIXTURE)
    text = FIXTURE.read_bytes().split(b"\n")
    text[2] = text[2].replace(b"Green Bay", b"Green B\xe6y")
    path = tmp_path / "bytes.csv"
    path.write_bytes(b"\n".join(text))
    r = read_nfl_spreadspoke([path])
    assert r.games.height == N_FIXTURE_ROWS - 1
    (q,) = r.quarantine.to_dicts()
    assert q["line_no"] == 3 and q["reason"] == "row holds bytes that are not valid UTF-8"
    assert "Green B\\xe6y" in q["raw"]


def test_missing_required_column_raises_naming_file_and_column(tmp_path):
    header, rows = csv_rows(FIXTURE)
    i = header.index("score_home")
    path = write_csv(tmp_path / "no_score.csv", header[:i] + header[i + 1:], [r[:i] + r[i + 1:] for r in rows])
    with pytest.raises(SourceFormatError, match=r"no_score\.csv: missing required column\(s\) score_home"):
        read_nfl_spreadspoke([path])


def test_empty_file_raises(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(SourceFormatError, match=r"empty\.csv: empty file"):
        read_nfl_spreadspoke([path])


def test_weather_columns_are_optional(tmp_path):
    header, rows = csv_rows(FIXTURE)
    path = write_csv(tmp_path / "no_weather.csv", header[:13], [r[:13] for r in rows])
    r = read_nfl_spreadspoke([path])
    assert r.games.height == N_FIXTURE_ROWS
    assert r.details["weather_temperature"].null_count() == N_FIXTURE_ROWS


# ------------------------------------------------------------------------------------- full shared file


@pytest.mark.slow
def test_full_shared_file_real_facts():
    if not SHARED_FILE.exists():
        pytest.skip(f"shared real data not present: {SHARED_FILE}")
    r = read_nfl_spreadspoke([SHARED_FILE])
    (f,) = r.files.to_dicts()
    data_rows = sum(1 for _ in SHARED_FILE.open()) - 1
    assert f["rows_read"] == data_rows == 11_610
    assert f["rows_accepted"] + f["rows_quarantined"] == f["rows_read"]
    assert r.games.height + r.quarantine.height == data_rows
    assert r.quarantine.height == 0  # the 1966-2015 file is clean: no unplayed games, no damaged rows
    assert r.games["game_id"].n_unique() == r.games.height

    g = r.games.join(r.details, on="game_id")
    per_season = g.group_by("season").agg(
        (pl.col("game_type") == "regular").sum().alias("regular"),
        (pl.col("game_type") == "postseason").sum().alias("post"),
    )
    counts = {row["season"]: (row["regular"], row["post"]) for row in per_season.to_dicts()}
    for season in range(2002, 2016):  # 32 teams x 16 games / 2, and 12 playoff teams
        assert counts[season] == (256, 11), season
    for season in (1999, 2000, 2001):  # 31 teams (Cleveland back, Houston not yet)
        assert counts[season] == (248, 11), season
    assert counts[1982] == (126, 15)  # strike-shortened season, 16-team playoff

    # From 1979 on every game has a line and every favorite resolves to one of its two teams.
    modern = g.filter(pl.col("season") >= 1979)
    resolved = modern.filter(pl.col("favorite_team").is_not_null() | (pl.col("team_favorite_id") == "PICK"))
    assert resolved.height / modern.height == 1.0
    assert modern["home_spread"].null_count() == 0
    assert "not matched" not in (f["note"] or "") and "both teams" not in (f["note"] or "")
    # Before the 1978 season only the Super Bowls carry a line.
    early = g.filter((pl.col("season") < 1978) & pl.col("spread_favorite").is_not_null())
    assert early.height == 12 and set(early["week"]) == {"Superbowl"}
    assert g.filter(pl.col("week") == "Superbowl").height == 50

    # Home-field advantage: home teams are favored about two games in three, by ~2.6 points on average,
    # and the line points the right way (the home margin rises as home_spread falls).
    lined = g.filter(pl.col("home_spread").is_not_null())
    assert 0.62 < (lined["home_spread"] < 0).mean() < 0.72
    assert -3.2 < lined["home_spread"].mean() < -2.0
    margin = (lined["home_score"].cast(pl.Int32) - lined["away_score"].cast(pl.Int32)).cast(pl.Float64)
    assert pl.DataFrame({"m": margin, "s": -lined["home_spread"]}).select(pl.corr("m", "s")).item() > 0.3

    # Neutral sites: every Super Bowl and every Wembley game.
    assert g.filter(pl.col("week") == "Superbowl")["neutral"].all()
    assert g.filter(pl.col("location") == "Wembley Stadium")["neutral"].all()


def _nfl_renamed(rows: list[list[str]]) -> list[list[str]]:
    return [[("Kansas City Wolves" if v == "Kansas City Chiefs" else v) for v in r] for r in rows]


def test_one_game_does_not_teach_an_abbreviation(tmp_path):
    """"Adopt an id only when at least two such games agree": the Chiefs renamed to a name the table does not
    know, and only ONE game giving evidence (9/2/1979, Kansas City 14, Baltimore Colts 0, favorite KC): KC is
    not learned, the favorite stays null and the game is counted as unmatched."""
    header, rows = csv_rows(FIXTURE)
    one = [r for r in _nfl_renamed(rows) if r[0] == "9/2/1979" and r[4] == "Kansas City Wolves"]
    assert len(one) == 1 and one[0][8] == "KC"
    r = read_nfl_spreadspoke([write_csv(tmp_path / "one.csv", header, one)])
    g = game_with_details(r, pl.col("home_team") == "Kansas City Wolves")
    assert (g["d_team_favorite_id"], g["d_favorite_team"], g["d_home_spread"]) == ("KC", None, None)
    note = r.files["note"][0]
    assert "abbreviations learned" not in note
    assert "favorite not matched to either team (favorite_team kept null): 1 game (lines 2)" in note


def test_disagreeing_evidence_does_not_teach_an_abbreviation(tmp_path):
    """"... and at least 90% of them do": the renamed Chiefs' two KC-favored games (1979 v Baltimore Colts,
    2015 at Houston Texans) and a third real game (11/1/2015 v Detroit at Wembley) whose favorite id is
    damaged to "KCW": 2 of 3 agree (67%), so nothing is learned and neither KC game's favorite is resolved."""
    header, rows = csv_rows(FIXTURE)
    renamed = [r for r in _nfl_renamed(rows) if "Kansas City Wolves" in (r[4], r[7]) and r[0] in
               ("9/2/1979", "9/13/2015", "11/1/2015")]
    assert len(renamed) == 3
    for r in renamed:
        if r[0] == "11/1/2015":
            r[8] = "KCW"
    res = read_nfl_spreadspoke([write_csv(tmp_path / "three.csv", header, renamed)])
    assert "abbreviations learned" not in (res.files["note"][0] or "")
    assert res.details["favorite_team"].null_count() == 3


def test_a_blank_stadium_neutral_is_null_not_false(tmp_path):
    """GAMES_SCHEMA: neutral is "null when the source does not say". The Super Bowl 50 row (2/7/2016, Denver 24,
    Carolina 10 at Levi's Stadium, neutral TRUE) with stadium_neutral left blank: neutral is null."""
    header, rows = csv_rows(FIXTURE)
    sb50 = [list(r) for r in rows if r[0] == "2/7/2016"]
    assert len(sb50) == 1
    sb50[0][header.index("stadium_neutral")] = ""
    r = read_nfl_spreadspoke([write_csv(tmp_path / "blank_neutral.csv", header, sb50)])
    assert r.quarantine.height == 0 and r.games["neutral"].to_list() == [None]
