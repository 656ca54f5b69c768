"""features_games: one row per decided game, pre-game features from earlier dates only, label home_win.

Why strictly earlier dates and not earlier games: game order within a day is not known (game ids do not
say which game of a doubleheader started first, and a forecast made the night before cannot know either),
so a game never sees a result from its own date. Everything is computed from a long table of
team-games with cumulative sums taken at the team's first game of each date, in vectorised polars.

Team identity is (league, team) with the league's aliases from elo_settings.yaml (relocations, e.g.
MON = WAS), so history follows a franchise. Form, rest and run features reset each season; head-to-head
spans this season and the last.

Columns (provenance in provenance.py; every feature Float64, never null):
- p_<system>, logit_<system>, has_<system> for elo_fit, elo_plain, elo_pitcher, ridge_margin, components
  (MLB) and ridge_stack (college): the systems' pre-game home-win probability (game_forecasts). Every
  system rates from earlier dates only (the Elo replays freeze ratings within a date), so a
  doubleheader's games do not see each other. An absent value falls back to elo_fit (or 0.5 / logit 0 when that is absent too) with has_<system> = 0.
- rating_diff: home minus away elo_fit rating before the game's date; conference_rating_diff: the same
  for the conference layer (0 where the league has none); has_rating: 1 when both teams have ratings.
- rest_home/away/diff: days since the team's previous game date this season, capped at REST_CAP;
  REST_CAP with first_game_home/away = 1 before a team's first game of the season.
- travel_home/away/diff: thousands of miles from the site of the team's previous game date this season
  to today's (MLB park ids, bsi_pipeline/features/travel.py); 0 at a season's first game and wherever a
  site has no coordinates (college games name a city only).
- games_played_home/away/diff: games this season before the date.
- form5 / form10: win share over the last 5 / 10 games before the date (ties count half; 0.5 before any).
- run_diff10: run differential per game over the last 10 games; run_diff_season: per game this season
  (0 before any).
- pythag: season-to-date Pythagorean expectation RF^1.83 / (RF^1.83 + RA^1.83), with PYTHAG_PRIOR_GAMES
  games of league-average runs (all earlier dates of the league) added to both RF and RA, which pulls a
  short record toward .500 (exactly .500 before any game). The exponent is baseball's.
- h2h_net: home's wins minus losses against this opponent in earlier games of this and last season;
  h2h_games: how many (ties count as games, not wins).
- series_day: which day of a series against this opponent the game is on (1 on the first date; a series
  is this season's dates of the pair at most SERIES_GAP_DAYS apart, so a Friday-Saturday-Sunday college
  weekend is 1, 2, 3 and both games of a doubleheader share a day); weekend: 1 on Friday, Saturday and
  Sunday (college weekend series vs midweek games). Known from the schedule before the game.
- conference_game (same non-null conference; AL/NL in MLB), neutral (1 only when the source says so, or for
  college baseball when bsi_pipeline/ncaa/venues.py infers it from the city),
  postseason (game_type).
- labels home_win (1/0; ties excluded), home_score, away_score; baseline p_elo = the league's Elo
  forecast as published (BASELINE_SYSTEM; not rebuilt at start of day, null where absent).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from bsi_pipeline.features.common import (
    FeatureBuild,
    concat_excluded,
    excluded_rows,
    finalize,
    logit,
    mark_later_copies,
    optional,
    require,
    sigmoid,
)
from bsi_pipeline.features.starters import STARTER_REST_UNKNOWN, home_edge, starter_rest
from bsi_pipeline.features.travel import great_circle_miles, with_site_coordinates
from bsi_pipeline.ratings.systems import load_league_configs

TABLE = "features_games"
SOURCE_TABLE = "games"
BASELINE_SYSTEM = {"mlb": "elo_pitcher", "ncaa": "elo_fit"}  # the league's best published Elo system
DEFAULT_BASELINE_SYSTEM = "elo_fit"
FALLBACK_SYSTEM = "elo_fit"                   # the system team_ratings holds; stands in for an absent one
SYSTEMS = (FALLBACK_SYSTEM, "elo_plain", "elo_pitcher", "ridge_margin", "components", "ridge_stack")
REST_CAP = 10                 # days
PYTHAG_EXPONENT = 1.83
PYTHAG_PRIOR_GAMES = 5        # games of league-average runs added to each side
FORM_WINDOWS = (5, 10)
H2H_SEASONS = 2               # this season and the last
SERIES_GAP_DAYS = 1           # consecutive dates of a pair closer than this gap belong to one series

# the two teams of a game in a fixed order, so that a pair's games group together whoever is at home
PAIR_LO = pl.min_horizontal("home_key", "away_key")
PAIR_HI = pl.max_horizontal("home_key", "away_key")

_SIDE_FEATURES = ("rest", "travel", "first_game", "games_played", "form5", "form10", "run_diff10", "run_diff_season",
                  "pythag")


def build_game_features(games: pl.DataFrame, team_ratings: pl.DataFrame | None, game_forecasts: pl.DataFrame | None,
                        leagues: Sequence[str] = ("ncaa", "mlb"), aliases: dict[str, dict[str, str]] | None = None,
                        starters: pl.DataFrame | None = None) -> FeatureBuild:
    """features_games for `leagues`; input rows are the games of those leagues (others are not considered).

    aliases: league -> {name: canonical name}; default the `aliases` of elo_settings.yaml.
    starters: game_id, home_starter, away_starter (MLB game logs); None leaves starter features at defaults."""
    require(games, "games", ("game_id", "league", "season", "date", "home_team", "away_team", "home_score",
                             "away_score"))
    if aliases is None:
        aliases = {league: c.aliases for league, c in load_league_configs().items()}
    g = games.filter(pl.col("league").is_in(list(leagues))).with_row_index("_row").select(
        "_row", pl.col("game_id").cast(pl.String), pl.col("league").cast(pl.String),
        pl.col("season").cast(pl.Int32), pl.col("date").cast(pl.Date),
        pl.col("home_team").cast(pl.String), pl.col("away_team").cast(pl.String),
        pl.col("home_score").cast(pl.Int32), pl.col("away_score").cast(pl.Int32),
        optional(games, "neutral", pl.Boolean), optional(games, "home_conference", pl.String),
        optional(games, "away_conference", pl.String), optional(games, "game_type", pl.String),
        optional(games, "location", pl.String),
    )
    g = g.with_columns(home_key=_canonical("home_team", aliases), away_key=_canonical("away_team", aliases))
    g = g.with_columns(reason=(
        pl.when(pl.col("game_id").is_null()).then(pl.lit("no game_id"))
        .when(pl.col("date").is_null() | pl.col("season").is_null()).then(pl.lit("no date or season"))
        .when(pl.col("home_team").is_null() | pl.col("away_team").is_null()).then(pl.lit("a team is missing"))
        .when(pl.col("home_key") == pl.col("away_key")).then(pl.lit("home and away are the same team"))
        .when(pl.col("home_score").is_null() | pl.col("away_score").is_null()).then(pl.lit("no final score"))
    ), row_id=pl.coalesce("game_id", pl.format("row:{}", "_row")))
    g = mark_later_copies(g, "game_id")
    played = g.filter(pl.col("reason").is_null()).drop("reason")  # the history every feature reads
    g = g.with_columns(reason=pl.when(pl.col("reason").is_null() & (pl.col("home_score") == pl.col("away_score")))
                       .then(pl.lit("tie")).otherwise(pl.col("reason")))

    long = _team_games(played)
    sides = _side_features(long, _league_runs(long))
    rows = played.filter(pl.col("home_score") != pl.col("away_score"))
    for is_home, side in ((True, "home"), (False, "away")):
        rows = rows.join(sides.filter(pl.col("is_home") == is_home).select(
            "game_id", *[pl.col(f).alias(f"{f}_{side}") for f in _SIDE_FEATURES]), on="game_id", how="left")
    rows = (rows.join(_head_to_head(played), on="game_id", how="left")
            .join(_series(played), on="game_id", how="left")
            .join(_ratings(team_ratings, leagues), on="game_id", how="left")
            .join(_forecasts(game_forecasts), on="game_id", how="left")
            .join(starter_rest(starters, played.select("game_id", "date")), on="game_id", how="left")
            .join(home_edge(long).rename({"team": "home_key"}), on=["league", "home_key", "season"], how="left"))
    rows = _forecast_features(rows)
    rows = rows.with_columns(
        row_id=pl.col("game_id"),
        **{f"{f}_diff": pl.col(f"{f}_home") - pl.col(f"{f}_away") for f in _SIDE_FEATURES if f != "first_game"},
        conference_game=(pl.col("home_conference") == pl.col("away_conference")).fill_null(False),
        neutral=pl.col("neutral").fill_null(False),
        postseason=(pl.col("game_type") == "postseason").fill_null(False),
        home_win=pl.col("home_score") > pl.col("away_score"),
        p_elo=_baseline(),
        home_edge=pl.col("home_edge").fill_null(0.0),
        **{c: pl.col(c).fill_null(STARTER_REST_UNKNOWN if c.startswith("starter_rest") else 0.0)
           for c in STARTER_COLUMNS},
    ).with_columns(starter_rest_diff=pl.col("starter_rest_home") - pl.col("starter_rest_away"))
    return FeatureBuild(finalize(TABLE, rows), concat_excluded([excluded_rows(g, SOURCE_TABLE)]))


STARTER_COLUMNS = [f"{name}_{side}" for name in ("starter_rest", "starter_short_rest", "starter_long_rest",
                                                  "has_starter") for side in ("home", "away")]


def _canonical(column: str, aliases: dict[str, dict[str, str]]) -> pl.Expr:
    """The team's canonical name in its league (aliases join relocated or renamed franchises)."""
    expr = pl.col(column)
    for league, mapping in aliases.items():
        if mapping:
            expr = pl.when(pl.col("league") == league).then(pl.col(column).replace(mapping)).otherwise(expr)
    return expr


def _team_games(played: pl.DataFrame) -> pl.DataFrame:
    """Two rows per game (one per team), sorted by team, season, date, game_id."""
    common = ["game_id", "league", "season", "date", "site_lat", "site_lon"]
    played = with_site_coordinates(played)
    home = played.select(*common, team=pl.col("home_key"), is_home=pl.lit(True),
                         rf=pl.col("home_score"), ra=pl.col("away_score"))
    away = played.select(*common, team=pl.col("away_key"), is_home=pl.lit(False),
                         rf=pl.col("away_score"), ra=pl.col("home_score"))
    long = pl.concat([home, away]).with_columns(
        pl.col("rf").cast(pl.Float64), pl.col("ra").cast(pl.Float64))
    return long.with_columns(
        win=pl.when(pl.col("rf") > pl.col("ra")).then(1.0).when(pl.col("rf") < pl.col("ra")).then(0.0).otherwise(0.5),
        rd=pl.col("rf") - pl.col("ra"), one=pl.lit(1.0),
    ).sort("league", "team", "season", "date", "game_id")


def _league_runs(long: pl.DataFrame) -> pl.DataFrame:
    """Average runs per team-game in the league over all dates before each date (null before any)."""
    daily = long.group_by("league", "date").agg(runs=pl.col("rf").sum(), n=pl.len().cast(pl.Float64)).sort(
        "league", "date")
    daily = daily.with_columns(runs_before=pl.col("runs").cum_sum().over("league") - pl.col("runs"),
                               n_before=pl.col("n").cum_sum().over("league") - pl.col("n"))
    return daily.select("league", "date", league_runs=pl.when(pl.col("n_before") > 0)
                        .then(pl.col("runs_before") / pl.col("n_before")))


def _side_features(long: pl.DataFrame, league_runs: pl.DataFrame) -> pl.DataFrame:
    """Per team-game: its form before the date, read at the team's first game of that date.

    E_x = sum of x over the team's earlier games this season (exclusive cumulative sum); at the first game
    of a date it counts exactly the games of earlier dates, and every game of that date takes that value.
    The last-n window is E_x minus E_x n games back."""
    season = ["league", "team", "season"]
    day = [*season, "date"]
    sums = ("one", "win", "rd", "rf", "ra")
    long = long.with_columns(**{f"E_{c}": pl.col(c).cum_sum().over(season) - pl.col(c) for c in sums})
    lagged = {f"E{n}_{c}": pl.col(f"E_{c}").shift(n).over(season).fill_null(0.0)
              for n in FORM_WINDOWS for c in ("win", "rd")}
    long = long.with_columns(**lagged, **{f"prev_{c}": pl.col(c).shift(1).over(season)
                                          for c in ("date", "site_lat", "site_lon")})
    at_day_start = [c for c in long.columns if c.startswith(("E", "prev_"))]
    long = long.with_columns(pl.col(c).first().over(day) for c in at_day_start)
    long = long.join(league_runs, on=["league", "date"], how="left")
    gp = pl.col("E_one")
    out = {"games_played": gp}
    for n in FORM_WINDOWS:
        count = pl.min_horizontal(gp, pl.lit(float(n)))
        out[f"form{n}"] = pl.when(count > 0).then((pl.col("E_win") - pl.col(f"E{n}_win")) / count).otherwise(0.5)
    out["run_diff10"] = pl.when(gp > 0).then((pl.col("E_rd") - pl.col("E10_rd")) / pl.min_horizontal(gp, 10.0)
                                             ).otherwise(0.0)
    out["run_diff_season"] = pl.when(gp > 0).then(pl.col("E_rd") / gp).otherwise(0.0)
    prior = PYTHAG_PRIOR_GAMES * pl.col("league_runs").fill_null(0.0)
    rf, ra = (pl.col("E_rf") + prior) ** PYTHAG_EXPONENT, (pl.col("E_ra") + prior) ** PYTHAG_EXPONENT
    out["pythag"] = pl.when(rf + ra > 0).then(rf / (rf + ra)).otherwise(0.5)
    rest = (pl.col("date") - pl.col("prev_date")).dt.total_days().cast(pl.Float64)
    out["rest"] = rest.clip(upper_bound=REST_CAP).fill_null(float(REST_CAP))
    out["travel"] = great_circle_miles(pl.col("prev_site_lat"), pl.col("prev_site_lon"), pl.col("site_lat"),
                                       pl.col("site_lon")).fill_null(0.0) / 1000.0
    out["first_game"] = pl.col("prev_date").is_null().cast(pl.Float64)
    return long.select("game_id", "is_home", **out)


def _head_to_head(played: pl.DataFrame) -> pl.DataFrame:
    """h2h_net (home's wins minus losses) and h2h_games against this opponent on earlier dates of this
    season plus all of last season."""
    lo, hi = PAIR_LO, PAIR_HI
    home_result = pl.when(pl.col("home_score") > pl.col("away_score")).then(1.0).when(
        pl.col("home_score") < pl.col("away_score")).then(-1.0).otherwise(0.0)
    pairs = played.select("game_id", "league", "season", "date", "home_key", lo=lo, hi=hi,
                          v=pl.when(pl.col("home_key") == lo).then(home_result).otherwise(-home_result),
                          n=pl.lit(1.0))
    pair_season = ["league", "lo", "hi", "season"]
    pairs = pairs.sort(*pair_season, "date", "game_id").with_columns(
        E_v=pl.col("v").cum_sum().over(pair_season) - pl.col("v"),
        E_n=pl.col("n").cum_sum().over(pair_season) - pl.col("n"),
    ).with_columns(pl.col("E_v", "E_n").first().over([*pair_season, "date"]))
    earlier = pairs.group_by(pair_season).agg(pl.col("v").sum().alias("P_v"), pl.col("n").sum().alias("P_n"))
    frames = [pairs]
    for back in range(1, H2H_SEASONS):
        frames.append(earlier.with_columns(pl.col("season") + back).rename({"P_v": f"P{back}_v", "P_n": f"P{back}_n"}))
    for extra in frames[1:]:
        pairs = pairs.join(extra, on=pair_season, how="left")
    net_lo = pl.sum_horizontal("E_v", *[pl.col(f"P{b}_v").fill_null(0.0) for b in range(1, H2H_SEASONS)])
    games = pl.sum_horizontal("E_n", *[pl.col(f"P{b}_n").fill_null(0.0) for b in range(1, H2H_SEASONS)])
    return pairs.select("game_id", h2h_net=pl.when(pl.col("home_key") == pl.col("lo")).then(net_lo).otherwise(-net_lo) + 0.0,
                        h2h_games=games)


def _series(played: pl.DataFrame) -> pl.DataFrame:
    """series_day and weekend per game (see the module docstring)."""
    pair = ["league", "season", "lo", "hi"]
    keyed = played.select("game_id", "league", "season", "date", lo=PAIR_LO, hi=PAIR_HI)
    days = keyed.select(*pair, "date").unique().sort(*pair, "date")
    gap = (pl.col("date") - pl.col("date").shift(1).over(pair)).dt.total_days()
    days = days.with_columns(new=gap.is_null() | (gap > SERIES_GAP_DAYS)).with_columns(
        series=pl.col("new").cum_sum().over(pair)).with_columns(
        series_day=pl.col("date").rank("dense").over([*pair, "series"]).cast(pl.Float64))
    return keyed.join(days, on=[*pair, "date"], how="left").select(
        "game_id", "series_day", weekend=(pl.col("date").dt.weekday() >= 5).cast(pl.Float64))


def _ratings(team_ratings: pl.DataFrame | None, leagues: Sequence[str]) -> pl.DataFrame:
    """Per game: elo_fit rating and conference-rating differences (home minus away) before its date."""
    schema = {"game_id": pl.String, "rating_diff": pl.Float64, "conference_rating_diff": pl.Float64,
              "has_rating": pl.Boolean}
    if team_ratings is None or team_ratings.height == 0:
        return pl.DataFrame(schema=schema)
    require(team_ratings, "team_ratings", ("game_id", "league", "team", "is_home", "rating_pre"))
    tr = team_ratings.filter(pl.col("league").is_in(list(leagues))).select(
        pl.col("game_id").cast(pl.String), "is_home", pl.col("rating_pre").cast(pl.Float64),
        optional(team_ratings, "conference_rating_pre", pl.Float64).fill_null(0.0),
    ).unique(["game_id", "is_home"], keep="first", maintain_order=True)
    home = tr.filter(pl.col("is_home")).select("game_id", h=pl.col("rating_pre"), hc=pl.col("conference_rating_pre"))
    away = tr.filter(~pl.col("is_home")).select("game_id", a=pl.col("rating_pre"), ac=pl.col("conference_rating_pre"))
    return home.join(away, on="game_id", how="inner").select(
        "game_id", rating_diff=pl.col("h") - pl.col("a"), conference_rating_diff=pl.col("hc") - pl.col("ac"),
        has_rating=pl.lit(True))


def _forecasts(game_forecasts: pl.DataFrame | None) -> pl.DataFrame:
    """Per game: each system's published p_home (columns _raw_<system>), one value per game and system."""
    wanted = list(dict.fromkeys([*SYSTEMS, *BASELINE_SYSTEM.values(), DEFAULT_BASELINE_SYSTEM]))
    schema = {"game_id": pl.String, **{f"_raw_{s}": pl.Float64 for s in wanted}}
    if game_forecasts is None or game_forecasts.height == 0:
        return pl.DataFrame(schema=schema)
    require(game_forecasts, "game_forecasts", ("game_id", "system", "p_home"))
    gf = game_forecasts.filter(pl.col("system").is_in(wanted) & pl.col("p_home").is_not_null())
    return gf.group_by("game_id").agg(
        pl.col("p_home").filter(pl.col("system") == s).first().cast(pl.Float64).alias(f"_raw_{s}") for s in wanted
    ).cast({"game_id": pl.String})


def _forecast_features(rows: pl.DataFrame) -> pl.DataFrame:
    rows = rows.with_columns(pl.col("rating_diff", "conference_rating_diff").fill_null(0.0),
                             has_rating=pl.col("has_rating").fill_null(False))
    fallback = logit(pl.col(f"_raw_{FALLBACK_SYSTEM}")).fill_null(0.0)
    exprs = {}
    for system in SYSTEMS:
        raw = pl.col(f"_raw_{system}")
        exprs[f"has_{system}"] = raw.is_not_null()
        exprs[f"logit_{system}"] = pl.when(raw.is_not_null()).then(logit(raw)).otherwise(fallback)
    rows = rows.with_columns(**exprs)
    return rows.with_columns(**{f"p_{s}": sigmoid(pl.col(f"logit_{s}")) for s in SYSTEMS})


def _baseline() -> pl.Expr:
    """p_elo: the published p_home of the league's BASELINE_SYSTEM (null where absent)."""
    expr = pl.col(f"_raw_{DEFAULT_BASELINE_SYSTEM}")
    for league, system in BASELINE_SYSTEM.items():
        expr = pl.when(pl.col("league") == league).then(pl.col(f"_raw_{system}")).otherwise(expr)
    return expr
