"""features_pitcher_starts: one row per college starting pitcher per team per game, label strikeouts.

Why from play-by-play: stats.ncaa.org box scores are not in the data, but the parsed plays name the
pitcher (bsi_pipeline.ncaa.pbp_replay learns him from `X to p for Y` lines and credits the lines before),
and box_pitching sums his lines. A pitcher is (team, player_key): names are often surnames only and
collide across teams, and each scorer writes them his own way ("KEY", "Key, J.", "J. Key"), so his
starts and appearances are keyed by bsi_pipeline.ncaa.player_names (surname and first initial); `player`
keeps the name as this game's text writes it. His history spans every earlier date in the data (seasons
included), because a college pitcher usually stays with his team for several seasons;
prior_starts_season tells a model how much of it is this season's.

The starter is the pitcher on the fielding team's first play line (ordered by seq). When that line has
no pitcher, the row is excluded rather than guessed: the first pitcher the text does name can be a
reliever whose predecessor was never named. Input rows are the (game, fielding team) pairs of `plays`;
each becomes a row or an exclusion (no play line, game missing from `games`, team not in the game,
starter unknown, or no box_pitching line for him).

Features come from dates strictly before the game (as-of joins that exclude the game's own date):
- prior_starts, prior_starts_season, prior_appearances, prior_bf: counts (0 before any).
- k_per_bf: K / BF over all earlier appearances, shrunk toward the league rate with PITCHER_PRIOR_BF
  batters faced: (K + 50 * league) / (BF + 50).
- k_per_start, bf_per_start, outs_per_start: means over earlier starts; the league's average per start
  before the date when he has none (LEAGUE_PRIOR_STARTS starts of DEFAULT_PER_START pull the first
  days' league averages toward typical values).
- days_rest: days since his last appearance, capped at DAYS_REST_CAP (the cap, with first_appearance = 1,
  before any).
- opp_k_rate: the opponent's batting K / PA this season before the date (box_batting), shrunk toward the
  league rate with OPP_PRIOR_PA plate appearances; opp_prior_pa is the count. Season-to-date because
  lineups turn over each year.
- league_k_rate: league K / PA of every earlier date, with LEAGUE_PRIOR_PA plate appearances of
  DEFAULT_LEAGUE_K_RATE (so the first date has a value).
- is_home, conference_game (same non-null conference).
- line: a default prop line for P(over): the largest x.5 not above k_per_start (5.3 -> 4.5, 5.5 -> 5.5,
  5.0 -> 4.5), at least MIN_LINE. Before any start k_per_start is the league average, so the line is too.
Labels: strikeouts (K in his box line), over_line (strikeouts > line), batters_faced.
Baselines (a naive rule, not a model): baseline_k = k_per_bf x bf_per_start; baseline_p_over =
P(Poisson(baseline_k) > line).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from bsi_pipeline.features.common import FeatureBuild, concat_excluded, excluded_rows, finalize, optional, require
from bsi_pipeline.ncaa.box_scores import first_pitchers
from bsi_pipeline.ncaa.player_names import player_keys, with_player_key

TABLE = "features_pitcher_starts"
SOURCE_TABLE = "plays"
DEFAULT_LEAGUE_K_RATE = 0.20     # D1 batting K / PA: 0.203 over the parsed 2019-2021 seasons
LEAGUE_PRIOR_PA = 1000
PITCHER_PRIOR_BF = 50
OPP_PRIOR_PA = 200
DEFAULT_PER_START = {"k": 4.1, "bf": 20.6, "outs": 13.6}  # the mean D1 start of 2019-2021
LEAGUE_PRIOR_STARTS = 20
DAYS_REST_CAP = 30
MIN_LINE = 2.5


def build_pitcher_start_features(plays: pl.DataFrame, box_pitching: pl.DataFrame, box_batting: pl.DataFrame,
                                 games: pl.DataFrame) -> FeatureBuild:
    """features_pitcher_starts from plays, box_pitching, box_batting and games (college baseball)."""
    require(plays, "plays", ("game_id", "seq", "fielding_team", "line_kind", "pitcher"))
    require(box_pitching, "box_pitching", ("game_id", "team", "player", "BF", "outs_recorded", "K"))
    require(box_batting, "box_batting", ("game_id", "team", "PA", "K"))
    require(games, "games", ("game_id", "league", "season", "date", "home_team", "away_team"))
    info = games.select(
        pl.col("game_id").cast(pl.String), pl.col("league").cast(pl.String), pl.col("season").cast(pl.Int32),
        pl.col("date").cast(pl.Date), "home_team", "away_team",
        optional(games, "home_conference", pl.String), optional(games, "away_conference", pl.String),
    ).filter(pl.col("game_id").is_not_null() & pl.col("date").is_not_null()).unique("game_id", keep="first")

    starts = first_pitchers(plays)
    box = (box_pitching.select(pl.col("game_id").cast(pl.String), "team", "player",
                               pl.col("K").cast(pl.Float64), pl.col("BF").cast(pl.Float64),
                               pl.col("outs_recorded").cast(pl.Float64).alias("outs"))
           .filter(pl.col("player").is_not_null()).unique(["game_id", "team", "player"], keep="first"))
    rows = (starts.join(info, on="game_id", how="left")
            .join(box.rename({"player": "starter"}), on=["game_id", "team", "starter"], how="left"))
    is_home = pl.col("team") == pl.col("home_team")
    rows = rows.with_columns(
        row_id=pl.format("{}:{}", "game_id", "team"),
        is_home=is_home,
        opponent=pl.when(is_home).then(pl.col("away_team")).otherwise(pl.col("home_team")),
        reason=pl.when(~pl.col("has_play").fill_null(False)).then(pl.lit("no play line for this fielding team"))
        .when(pl.col("date").is_null()).then(pl.lit("game not in the games table"))
        .when((pl.col("team") != pl.col("home_team")) & (pl.col("team") != pl.col("away_team")))
        .then(pl.lit("fielding team is neither home nor away in games"))
        .when(pl.col("starter").is_null() & ~pl.col("any_known"))
        .then(pl.lit("starter unknown: the play-by-play never names this team's pitcher"))
        .when(pl.col("starter").is_null())
        .then(pl.lit("starter unknown: no pitcher on the team's first play line (the first named may be a reliever)"))
        .when(pl.col("K").is_null()).then(pl.lit("no box_pitching line for the starter")),
    )
    keys = player_keys(box)
    kept = with_player_key(rows.filter(pl.col("reason").is_null()).rename({"starter": "player"}), keys=keys)
    kept = kept.sort("date")

    league = _league_rates(box_batting, box, starts, info)
    kept = _before(kept, league, ["league"])
    kept = _before(kept, _pitcher_history(with_player_key(box, keys=keys), starts, info), ["team", "player_key"])
    kept = _before(kept, _team_batting(box_batting, info).rename({"team": "opponent"}), ["opponent", "season"])
    kept = _features(kept)
    return FeatureBuild(finalize(TABLE, kept), concat_excluded([excluded_rows(rows, SOURCE_TABLE)]))


def _before(rows: pl.DataFrame, totals: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Attach the latest cumulative totals of `by` from a date strictly before each row's date."""
    return rows.join_asof(totals, on="date", by=by, strategy="backward", allow_exact_matches=False,
                          check_sortedness=False)  # both sides are sorted by date


def _cumulative(frame: pl.DataFrame, by: list[str], values: list[str]) -> pl.DataFrame:
    """Daily sums per `by`, cumulated through each date (an as-of join excluding the date reads the
    totals of strictly earlier dates)."""
    daily = frame.group_by(*by, "date").agg(pl.col(v).sum() for v in values).sort(*by, "date")
    return daily.with_columns(pl.col(v).cum_sum().over(by) for v in values).sort("date")


def _league_rates(box_batting: pl.DataFrame, box: pl.DataFrame, starts: pl.DataFrame, info: pl.DataFrame):
    batting = (box_batting.select(pl.col("game_id").cast(pl.String), L_K=pl.col("K").cast(pl.Float64),
                                  L_PA=pl.col("PA").cast(pl.Float64))
               .join(info.select("game_id", "league", "date"), on="game_id"))
    starters = (_start_lines(box, starts).join(info.select("game_id", "league", "date"), on="game_id")
                .select("league", "date", L_starts=pl.lit(1.0), L_Ks=pl.col("K"), L_BFs=pl.col("BF"),
                        L_outss=pl.col("outs")))
    a = _cumulative(batting, ["league"], ["L_K", "L_PA"])
    b = _cumulative(starters, ["league"], ["L_starts", "L_Ks", "L_BFs", "L_outss"])
    both = a.join(b, on=["league", "date"], how="full", coalesce=True).sort("league", "date")
    # a date present in only one of the two tables carries the other's totals forward
    cols = ["L_K", "L_PA", "L_starts", "L_Ks", "L_BFs", "L_outss"]
    return both.with_columns(pl.col(cols).forward_fill().over("league").fill_null(0.0)).sort("date")


def _start_lines(box: pl.DataFrame, starts: pl.DataFrame) -> pl.DataFrame:
    """The box lines of identified starters."""
    return box.join(starts.filter(pl.col("starter").is_not_null()).select("game_id", "team", player="starter"),
                    on=["game_id", "team", "player"], how="semi")


def _pitcher_history(box: pl.DataFrame, starts: pl.DataFrame, info: pl.DataFrame) -> pl.DataFrame:
    """Per (team, player_key) and date of appearance: totals of every appearance through that date (box
    carries player_key; a start is matched on the name as written in its own game)."""
    started = _start_lines(box, starts).select("game_id", "team", "player", s=pl.lit(1.0))
    apps = (box.join(started, on=["game_id", "team", "player"], how="left")
            .join(info.select("game_id", "season", "date"), on="game_id")
            .with_columns(pl.col("s").fill_null(0.0)))
    apps = apps.select("team", "player_key", "season", "date", P_app=pl.lit(1.0), P_start=pl.col("s"),
                       P_K=pl.col("K"), P_BF=pl.col("BF"), P_Ks=pl.col("K") * pl.col("s"),
                       P_BFs=pl.col("BF") * pl.col("s"), P_outss=pl.col("outs") * pl.col("s"))
    who = ["team", "player_key"]
    history = _cumulative(apps, who, ["P_app", "P_start", "P_K", "P_BF", "P_Ks", "P_BFs", "P_outss"])
    season = (_cumulative(apps, [*who, "season"], ["P_start"])
              .select(*who, "date", "season", P_start_season=pl.col("P_start")))
    return (history.join(season, on=[*who, "date"], how="left")
            .rename({"season": "P_season"}).with_columns(P_last=pl.col("date")).sort("date"))


def _team_batting(box_batting: pl.DataFrame, info: pl.DataFrame) -> pl.DataFrame:
    """Per (team, season) and date: batting K and PA through that date."""
    per_game = (box_batting.select(pl.col("game_id").cast(pl.String), "team", O_K=pl.col("K").cast(pl.Float64),
                                   O_PA=pl.col("PA").cast(pl.Float64))
                .join(info.select("game_id", "season", "date"), on="game_id"))
    return _cumulative(per_game, ["team", "season"], ["O_K", "O_PA"])


def _features(kept: pl.DataFrame) -> pl.DataFrame:
    zero = ["L_K", "L_PA", "L_starts", "L_Ks", "L_BFs", "L_outss", "P_app", "P_start", "P_K", "P_BF", "P_Ks",
            "P_BFs", "P_outss", "O_K", "O_PA"]
    kept = kept.with_columns(pl.col(zero).fill_null(0.0))
    league_k = (pl.col("L_K") + LEAGUE_PRIOR_PA * DEFAULT_LEAGUE_K_RATE) / (pl.col("L_PA") + LEAGUE_PRIOR_PA)
    per_start = {"k": "L_Ks", "bf": "L_BFs", "outs": "L_outss"}
    kept = kept.with_columns(
        league_k_rate=league_k,
        **{f"_league_{k}": (pl.col(total) + LEAGUE_PRIOR_STARTS * DEFAULT_PER_START[k])
           / (pl.col("L_starts") + LEAGUE_PRIOR_STARTS) for k, total in per_start.items()},
    )
    has_start = pl.col("P_start") > 0
    same_season = (pl.col("P_season") == pl.col("season")).fill_null(False)
    rest = (pl.col("date") - pl.col("P_last")).dt.total_days().cast(pl.Float64)
    kept = kept.with_columns(
        prior_appearances=pl.col("P_app"), prior_starts=pl.col("P_start"), prior_bf=pl.col("P_BF"),
        prior_starts_season=pl.when(same_season).then(pl.col("P_start_season")).otherwise(0.0).fill_null(0.0),
        k_per_bf=(pl.col("P_K") + PITCHER_PRIOR_BF * pl.col("league_k_rate")) / (pl.col("P_BF") + PITCHER_PRIOR_BF),
        k_per_start=pl.when(has_start).then(pl.col("P_Ks") / pl.col("P_start")).otherwise(pl.col("_league_k")),
        bf_per_start=pl.when(has_start).then(pl.col("P_BFs") / pl.col("P_start")).otherwise(pl.col("_league_bf")),
        outs_per_start=pl.when(has_start).then(pl.col("P_outss") / pl.col("P_start"))
        .otherwise(pl.col("_league_outs")),
        days_rest=rest.clip(upper_bound=DAYS_REST_CAP).fill_null(float(DAYS_REST_CAP)),
        first_appearance=pl.col("P_last").is_null(),
        opp_k_rate=(pl.col("O_K") + OPP_PRIOR_PA * pl.col("league_k_rate")) / (pl.col("O_PA") + OPP_PRIOR_PA),
        opp_prior_pa=pl.col("O_PA"),
        conference_game=(pl.col("home_conference") == pl.col("away_conference")).fill_null(False),
        strikeouts=pl.col("K"), batters_faced=pl.col("BF"),
    )
    kept = kept.with_columns(line=prop_line(pl.col("k_per_start")),
                             baseline_k=pl.col("k_per_bf") * pl.col("bf_per_start"))
    kept = kept.with_columns(over_line=pl.col("strikeouts") > pl.col("line"))
    return kept.with_columns(baseline_p_over=pl.Series(
        poisson_over(kept["baseline_k"].to_numpy(), kept["line"].to_numpy()), dtype=pl.Float64))


def prop_line(k_per_start: pl.Expr) -> pl.Expr:
    """The largest x.5 not above k_per_start, at least MIN_LINE (5.3 -> 4.5, 5.5 -> 5.5, 1.0 -> 2.5)."""
    return pl.max_horizontal((k_per_start - 0.5).floor() + 0.5, pl.lit(MIN_LINE))


def poisson_over(mu: np.ndarray, line: np.ndarray) -> np.ndarray:
    """P(X > line) for X ~ Poisson(mu), elementwise (line x.5, so X > line means X >= floor(line) + 1)."""
    mu = np.asarray(mu, dtype=float)
    top = np.floor(np.asarray(line, dtype=float)).astype(int)
    if mu.size == 0:
        return mu.copy()
    term = np.exp(-mu)
    cdf = term.copy()
    for k in range(1, int(top.max()) + 1):
        term = term * mu / k
        cdf = cdf + np.where(k <= top, term, 0.0)
    return np.clip(1.0 - cdf, 0.0, 1.0)
