"""Linear weights from run expectancy: play run values, event values, wOBA weights, player-season value.

Works on any plays table with the columns of the college `plays` table (bsi_pipeline.ncaa.pbp_tables) or the
MLB cwevent `events` table (bsi_pipeline.sources.retrosheet_cwevent). Neither table has a `league` column; every
function takes `league=` to add one (as bsi_pipeline.run_expectancy.run_expectancy does), or the caller adds it.
The RE24 table comes from `run_expectancy(plays, by)`; its `by` columns (league, season by default) are the keys
everything here is computed by.

1. run_values(plays, re24): every play's run value
       run_value = RE(end state) - RE(start state) + runs_on_play,
   RE(state) = re_mean_runs of (outs, bases) in the play's `by` group, and RE(end) = 0 when the play makes the
   third out (outs_after = 3). Columns added: re_before, re_after, run_value, complete_half_inning. A play whose
   start or end state is unknown (null, or a state the RE table has no value for) gets run_value null.
   complete_half_inning: the half inning (by columns, game_id, inning, half) reaches 3 outs. Every play keeps its
   run value, but only plays of complete half innings are used to derive event values and weights: a walk-off,
   rain-shortened or mercy-rule half inning ends without a third out, so its last state's RE credits runs that
   were never going to be played for (the same half innings run_expectancy leaves out).

2. event_run_values(plays_with_rv, by): per `by` group and event_type, over plays of complete half innings with a
   run value (and line_kind "play" when the table has line_kind: the college table's substitution, summary and
   note lines are not events): events (count), plate_appearances (how many are plate appearances), run_value
   (mean). The out value is the mean run value over batting outs: plate appearances whose event_type is one of
   BATTING_OUTS (strikeout, groundout, flyout, lineout, popout, double_play, triple_play, fielders_choice) and
   that are not sacrifices (sac null), i.e. the at-bats that are neither a hit nor reached on an error. Columns
   out_value and out_events are on every row of the group, and run_value_above_out = run_value - out_value.
   (On MLB 2016 adding sacrifices to the outs moves the weights by at most 0.0043, adding reached-on-error by
   at most 0.012; leaving out fielder's choices by less than 0.0001.)

3. woba_weights(event_values, plays, by): Tango's wOBA weights as FanGraphs publishes them (Guts page):
       raw_X = run_value(X) - out_value  for X in BB (unintentional walk), HBP, 1B, 2B, 3B, HR
       raw league wOBA = sum_X raw_X * n_X / (AB + BB + SF + HBP)
       woba_scale = league_obp / raw league wOBA,   wX = raw_X * woba_scale
   so that league wOBA (the same sum with the scaled weights) equals league OBP. The definitions are FanGraphs':
       wOBA = (wBB*uBB + wHBP*HBP + w1B*1B + w2B*2B + w3B*3B + wHR*HR) / (AB + BB - IBB + SF + HBP)
   with BB there all walks, so the denominator is AB + uBB + SF + HBP; and the OBP it is scaled to is the one
   with the same denominator, intentional walks left out of both parts:
       league_obp = (H + uBB + HBP) / (AB + uBB + HBP + SF).
   This is why FanGraphs' league wOBA (.318 in 2016) is below the official league OBP (.322, with IBB): .318 is
   the OBP without intentional walks. Counts come from every plate appearance of `plays` (complete half innings
   or not); AB = PA - BB - IBB - HBP - SH - SF - catcher's interference (event_type catcher_interference in the
   college table, as in box_batting, and for cwevent's event_code 17; either one is enough). Output
   per group: wBB, wHBP, w1B, w2B, w3B, wHR, woba_scale, league_woba, league_obp, runs_per_pa (all runs_on_play
   of `plays` / PA), out_value, PA, runs. An event that never occurs in a group has a null weight (and adds 0 to wOBA).
   Checked on the full 2016 Retrosheet events (../shared/data/retrosheet_events_2016) against FanGraphs' 2016
   Guts row (data/reference/fangraphs_guts_woba_weights.csv): wBB .692 (FanGraphs .691), wHBP .722 (.721), w1B
   .872 (.878), w2B 1.244 (1.242), w3B 1.585 (1.569), wHR 2.039 (2.015); scale 1.237 (1.212); league wOBA .318
   and runs per PA .118 equal FanGraphs' to their rounding.

4. player_season_value(plays, weights, conference_strength=None, teams=None) -> PlayerSeasonValue:
   hitting, one row per (weights' key columns, team, player_key) with team the batting team and player the
   batter (college: one key across the forms scorers write his name in, "KEY", "Key, J.", "J. Key"
   (bsi_pipeline.ncaa.player_names), and `player` is the form most of his plays write; MLB: a Retrosheet id,
   which is also the key, so a player traded in season has one row per team): PA, AB, H, 1B, 2B, 3B, HR, BB
   (unintentional, as box_batting), IBB, HBP, K, SH, SF (the same
   definitions as bsi_pipeline.ncaa.box_scores.box_batting, so the college counts equal its sums), and
       wOBA = as above (null when AB + BB + SF + HBP = 0: only intentional walks, sacrifice bunts, interference)
       wRAA = (wOBA - league_woba) / woba_scale * PA
       wRC_plus = 100 * (wRAA / PA + runs_per_pa) / runs_per_pa   (league runs per PA; no park factors and no
                  league split: 100 = the league-average hitter, whose wOBA is league_woba)
       K_pct = K / PA, BB_pct = (BB + IBB) / PA (FanGraphs' K% and BB%: all walks).
   wRAA sums to about 0 over a league, not exactly: wRAA uses all PA, wOBA's denominator leaves out IBB and SH.
   pitching, one row per (keys, team, player_key) with team the fielding team and player the pitcher, over the plays
   with a known pitcher (line_kind "play" when the table has line_kind): BF (plate appearances), outs (outs made
   on his plays, steals and pickoffs included), IP = outs / 3 (a true third, not the .1/.2 notation), H, HR, BB
   (unintentional), IBB, HBP, K, R (runs scored on his plays: inherited runners are not re-assigned), RA9,
       FIP = (13*HR + 3*(BB + IBB + HBP) - 2*K) / IP + fip_constant   (FanGraphs' form, intentional walks in)
       fip_constant = league RA9 - (13*lgHR + 3*(lgBB + lgIBB + lgHBP) - 2*lgK) / lgIP
   from the league's totals over all its plays (pitcher known or not), so league FIP equals league runs per 9
   innings (RA9 = 27 * runs / outs; FanGraphs scales to ERA, but the college play-by-play has no earned runs, so
   runs are used for both leagues). When every play has a pitcher (MLB) the IP-weighted mean of the pitchers'
   FIP is the league RA9 (MLB 2016: fip_constant 3.476, FanGraphs' ERA-based cFIP 3.147; the gap is the league's
   unearned runs per 9). K_pct = K / BF, BB_pct = (BB + IBB) / BF, K_BB_pct = K_pct - BB_pct.
   Conference adjustment (college): with `conference_strength` (bsi_pipeline.ratings.conference: league, season,
   conference, scoring_edge_per_game) and `teams` (season, team_name, conference; e.g. bsi_pipeline.ncaa.teams
   .teams_table), rows whose league is "ncaa" get conference (their team's that season), scoring_edge_per_game (the
   runs per game by which the pitching its hitters faced, and the hitting its pitchers faced, was better than
   average) and, with PA_g and outs_g the league-season's plate appearances and outs per team per game,
       hitting: wOBA_conf_adj = wOBA + woba_scale * scoring_edge_per_game / PA_g
                wRAA_conf_adj = wRAA + PA * scoring_edge_per_game / PA_g
                wRC_plus_conf_adj = wRC_plus + 100 * scoring_edge_per_game / (PA_g * runs_per_pa)
       pitching: FIP_conf_adj = FIP - 27 * scoring_edge_per_game / outs_g
   The credit is added, not multiplied: a run per game is a run per PA_g plate appearances whatever the hitter's
   own rate, and wOBA moves woba_scale per run per plate appearance (the definition of wRAA above; FanGraphs' park
   adjustment of wRC+ is additive in runs per PA in the same way). wOBA_conf_adj is consistent with the others:
   wRAA and wRC+ recomputed from it equal wRAA_conf_adj and wRC_plus_conf_adj. Checked on the shared data
   (team_woba_slope, the player_season_value asset's metadata): across teams, wOBA moves 1.12, 1.08 and 1.05 per
   run per plate appearance against woba_scale 1.03, 1.04 and 1.01 in college 2019-2021, 1.239 against 1.237 in
   MLB 2016, where a multiplicative adjustment (wOBA x a run ratio) assumes league_woba / runs_per_pa, about 2.4.
   Other leagues, and teams with no conference or no edge (independents), get nulls.

5. team_woba_slope(hitting, plays, weights): per league and season, the least-squares slope of team wOBA on team runs per
   plate appearance (teams with at least min_games games), beside woba_scale: the evidence for the additive
   conversion above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from bsi_pipeline.ncaa.player_names import NAME_KEYED_LEAGUES, player_keys, with_player_key

__all__ = [
    "BATTING_OUTS",
    "HITS",
    "PlayerSeasonValue",
    "WOBA_EVENTS",
    "event_run_values",
    "player_season_value",
    "run_values",
    "team_woba_slope",
    "woba_weights",
]

# The batting events that are outs for the out value (plate appearances, and not sacrifices).
BATTING_OUTS = ("strikeout", "groundout", "flyout", "lineout", "popout", "double_play", "triple_play",
                "fielders_choice")
HITS = ("single", "double", "triple", "home_run")
# weight name -> event_type
WOBA_EVENTS = {"wBB": "walk", "wHBP": "hit_by_pitch", "w1B": "single", "w2B": "double", "w3B": "triple",
               "wHR": "home_run"}
_COUNT_OF = {"wBB": "BB", "wHBP": "HBP", "w1B": "1B", "w2B": "2B", "w3B": "3B", "wHR": "HR"}
_RE_COLUMNS = ("outs", "bases", "bases_123", "re_mean_runs", "p_runs_ge1", "p_runs_ge2", "count")
_WEIGHT_COLUMNS = (*WOBA_EVENTS, "woba_scale", "league_woba", "league_obp", "runs_per_pa", "out_value", "PA",
                   "runs")
_INTERFERENCE_CODE = 17  # cwevent EVENT_CD 17: catcher's interference (a PA, not an AB)


def _with_league(plays: pl.DataFrame, league: str | None) -> pl.DataFrame:
    if league is not None:
        return plays.with_columns(pl.lit(league, dtype=pl.String).alias("league"))
    return plays


def _require(frame: pl.DataFrame, columns: Sequence[str], what: str, league: str | None = None) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        hint = " (pass league=... to add a league column)" if "league" in missing and league is None else ""
        raise ValueError(f"{what} lack column(s) {', '.join(missing)}{hint}")


def _n(expr: pl.Expr) -> pl.Expr:
    return expr.fill_null(False).cast(pl.Int64).sum()


def _play_rows(plays: pl.DataFrame) -> pl.DataFrame:
    """The rows that are events: all rows of a cwevent table, line_kind "play" rows of a college table."""
    if "line_kind" in plays.columns:
        return plays.filter(pl.col("line_kind") == "play")
    return plays


def _interference(plays: pl.DataFrame) -> pl.Expr:
    """Catcher's interference: its event type, or cwevent's code 17 (for a frame that carries only the code)."""
    interference = pl.col("event_type") == "catcher_interference"
    if "event_code" in plays.columns:
        interference = interference | (pl.col("event_code") == _INTERFERENCE_CODE)
    return interference.fill_null(False)


# ---------------------------------------------------------------------------------------------------------
# 1. Run value of every play.


def run_values(plays: pl.DataFrame, re24: pl.DataFrame, *, league: str | None = None) -> pl.DataFrame:
    """`plays` with re_before, re_after, run_value and complete_half_inning added (same rows, same order)."""
    by = [c for c in re24.columns if c not in _RE_COLUMNS]
    _require(re24, ["outs", "bases", "re_mean_runs"], "re24")
    plays = _with_league(plays, league)
    _require(plays, [*by, "game_id", "inning", "half", "outs_before", "outs_after", "bases_before", "bases_after",
                     "runs_on_play"], "plays", league)
    table = re24.select(*by, pl.col("outs").cast(pl.Int8), "bases", pl.col("re_mean_runs").cast(pl.Float64))
    if table.select(pl.struct(*by, "outs", "bases").is_duplicated().any()).item():
        raise ValueError("re24 has more than one row for a state of a group")
    start = table.rename({"outs": "_ob", "bases": "_bb", "re_mean_runs": "re_before"})
    end = table.rename({"outs": "_oa", "bases": "_ba", "re_mean_runs": "_re_end"})
    half = [*by, "game_id", "inning", "half"]
    out = (
        plays.with_columns(
            pl.col("outs_before").cast(pl.Int8).alias("_ob"), pl.col("bases_before").alias("_bb"),
            pl.col("outs_after").cast(pl.Int8).alias("_oa"), pl.col("bases_after").alias("_ba"),
        )
        .join(start, on=[*by, "_ob", "_bb"], how="left", maintain_order="left")
        .join(end, on=[*by, "_oa", "_ba"], how="left", maintain_order="left")
    )
    re_after = pl.when(pl.col("_oa") == 3).then(pl.lit(0.0)).when(pl.col("_oa").is_between(0, 2)).then("_re_end")
    return out.with_columns(re_after.alias("re_after")).with_columns(
        (pl.col("re_after") - pl.col("re_before") + pl.col("runs_on_play").fill_null(0)).alias("run_value"),
        (pl.col("outs_after").max().over(half) == 3).fill_null(False).alias("complete_half_inning"),
    ).drop("_ob", "_bb", "_oa", "_ba", "_re_end")


# ---------------------------------------------------------------------------------------------------------
# 2. Mean run value per event type, and the out value.


def event_run_values(
    plays_with_rv: pl.DataFrame, by: Sequence[str] = ("league", "season"), *, league: str | None = None
) -> pl.DataFrame:
    """Per `by` group and event_type: events, plate_appearances, run_value (mean), out_value, out_events,
    run_value_above_out; over plays of complete half innings (see the module docstring)."""
    by = list(by)
    plays = _with_league(plays_with_rv, league)
    _require(plays, [*by, "event_type", "is_plate_appearance", "sac", "run_value", "complete_half_inning"],
             "plays", league)
    rows = (_play_rows(plays)
            .filter(pl.col("complete_half_inning") & pl.col("run_value").is_not_null())
            .sort([*by, *(c for c in ("game_id", "seq") if c in plays.columns)], maintain_order=True))
    events = rows.group_by([*by, "event_type"], maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("events"),
        _n(pl.col("is_plate_appearance")).alias("plate_appearances"),
        pl.col("run_value").mean().alias("run_value"),
    )
    outs = rows.filter(pl.col("is_plate_appearance").fill_null(False)
                       & pl.col("event_type").is_in(list(BATTING_OUTS)) & pl.col("sac").is_null())
    out_value = outs.group_by(by, maintain_order=True).agg(
        pl.col("run_value").mean().alias("out_value"), pl.len().cast(pl.Int64).alias("out_events"))
    if by:
        events = events.join(out_value, on=by, how="left", nulls_equal=True)
    else:
        events = events.join(out_value, how="cross")
    return events.with_columns(
        pl.col("out_events").fill_null(0),
        (pl.col("run_value") - pl.col("out_value")).alias("run_value_above_out"),
    ).sort([*by, "event_type"], nulls_last=True).select(
        *by, "event_type", "events", "plate_appearances", "run_value", "out_value", "out_events",
        "run_value_above_out")


# ---------------------------------------------------------------------------------------------------------
# 3. wOBA weights.


def _batting_counts(pa: pl.DataFrame, interference: pl.Expr) -> list[pl.Expr]:
    """Aggregations over plate-appearance rows: the box_batting counts, plus catcher's interference."""
    ev = pl.col("event_type")
    return [
        pl.len().cast(pl.Int64).alias("PA"),
        _n(ev.is_in(list(HITS))).alias("H"),
        _n(ev == "single").alias("1B"),
        _n(ev == "double").alias("2B"),
        _n(ev == "triple").alias("3B"),
        _n(ev == "home_run").alias("HR"),
        _n(ev == "walk").alias("BB"),
        _n(ev == "intentional_walk").alias("IBB"),
        _n(ev == "hit_by_pitch").alias("HBP"),
        _n(ev == "strikeout").alias("K"),
        _n(pl.col("sac") == "SH").alias("SH"),
        _n(pl.col("sac") == "SF").alias("SF"),
        _n(interference).alias("_CI"),
    ]


def _at_bats() -> pl.Expr:
    return (pl.col("PA") - pl.col("BB") - pl.col("IBB") - pl.col("HBP") - pl.col("SH") - pl.col("SF")
            - pl.col("_CI")).alias("AB")


def _woba_denominator() -> pl.Expr:
    return pl.col("AB") + pl.col("BB") + pl.col("SF") + pl.col("HBP")


def _woba_numerator() -> pl.Expr:
    """sum of weight * count; an event that never occurs (count 0) adds 0 even when its weight is null."""
    return pl.sum_horizontal(
        pl.when(pl.col(_COUNT_OF[w]) > 0).then(pl.col(w) * pl.col(_COUNT_OF[w])).otherwise(0.0)
        for w in WOBA_EVENTS)


def woba_weights(
    event_values: pl.DataFrame,
    plays: pl.DataFrame,
    by: Sequence[str] = ("league", "season"),
    *,
    league: str | None = None,
) -> pl.DataFrame:
    """wOBA weights per `by` group, scaled so league wOBA equals league OBP (see the module docstring)."""
    by = list(by)
    plays = _with_league(plays, league)
    _require(event_values, [*by, "event_type", "run_value_above_out", "out_value"], "event_values")
    _require(plays, [*by, "is_plate_appearance", "event_type", "sac", "runs_on_play"], "plays", league)
    pa = plays.filter(pl.col("is_plate_appearance").fill_null(False))
    counts = pa.group_by(by).agg(_batting_counts(pa, _interference(plays))).with_columns(_at_bats())
    runs = plays.group_by(by).agg(pl.col("runs_on_play").fill_null(0).cast(pl.Int64).sum().alias("runs"))
    rel = event_values.group_by(by).agg(
        pl.col("out_value").first(),
        *(pl.col("run_value_above_out").filter(pl.col("event_type") == event).first().alias(f"_raw_{w}")
          for w, event in WOBA_EVENTS.items()),
    )
    join = {"on": by, "how": "left", "nulls_equal": True} if by else {"how": "cross"}
    table = counts.join(runs, **join).join(rel, **join)
    obp = ((pl.col("H") + pl.col("BB") + pl.col("HBP")) / _woba_denominator()).alias("league_obp")
    raw = table.with_columns(obp, *(pl.col(f"_raw_{w}").alias(w) for w in WOBA_EVENTS)).with_columns(
        (pl.col("league_obp") / (_woba_numerator() / _woba_denominator())).alias("woba_scale"))
    scaled = raw.with_columns(pl.col(w) * pl.col("woba_scale") for w in WOBA_EVENTS).with_columns(
        (_woba_numerator() / _woba_denominator()).alias("league_woba"),
        (pl.col("runs") / pl.col("PA")).alias("runs_per_pa"),
    )
    return scaled.sort(by, nulls_last=True).select(*by, *_WEIGHT_COLUMNS)


# ---------------------------------------------------------------------------------------------------------
# 4. Player-season value.


@dataclass
class PlayerSeasonValue:
    hitting: pl.DataFrame
    pitching: pl.DataFrame


_HITTING = ("PA", "AB", "H", "1B", "2B", "3B", "HR", "BB", "IBB", "HBP", "K", "SH", "SF", "wOBA", "wRAA",
            "wRC_plus", "K_pct", "BB_pct")
_PITCHING = ("BF", "outs", "IP", "H", "HR", "BB", "IBB", "HBP", "K", "R", "RA9", "FIP", "fip_constant", "K_pct",
             "BB_pct", "K_BB_pct")


def _fip_parts() -> pl.Expr:
    return 13 * pl.col("HR") + 3 * (pl.col("BB") + pl.col("IBB") + pl.col("HBP")) - 2 * pl.col("K")


def _pitching_counts() -> list[pl.Expr]:
    pa, ev = pl.col("is_plate_appearance").fill_null(False), pl.col("event_type")
    return [
        _n(pa).alias("BF"),
        (pl.col("outs_after").cast(pl.Int64) - pl.col("outs_before").cast(pl.Int64)).fill_null(0).sum()
        .alias("outs"),
        _n(pa & ev.is_in(list(HITS))).alias("H"),
        _n(pa & (ev == "home_run")).alias("HR"),
        _n(pa & (ev == "walk")).alias("BB"),
        _n(pa & (ev == "intentional_walk")).alias("IBB"),
        _n(pa & (ev == "hit_by_pitch")).alias("HBP"),
        _n(pa & (ev == "strikeout")).alias("K"),
        pl.col("runs_on_play").fill_null(0).cast(pl.Int64).sum().alias("R"),
    ]


def player_season_value(
    plays: pl.DataFrame,
    weights: pl.DataFrame,
    conference_strength: pl.DataFrame | None = None,
    teams: pl.DataFrame | None = None,
    *,
    league: str | None = None,
) -> PlayerSeasonValue:
    """Hitters' wOBA / wRAA / wRC+ and pitchers' FIP per player-season (see the module docstring)."""
    keys = [c for c in weights.columns if c not in _WEIGHT_COLUMNS]
    plays = _with_league(plays, league)
    _require(weights, _WEIGHT_COLUMNS, "weights")
    _require(plays, [*keys, "is_plate_appearance", "event_type", "sac", "batting_team", "fielding_team", "batter",
                     "pitcher", "outs_before", "outs_after", "runs_on_play"], "plays", league)
    if weights.select(pl.struct(keys).is_duplicated().any()).item() if keys else weights.height > 1:
        raise ValueError("weights have more than one row for a group")
    join = {"on": keys, "how": "left", "nulls_equal": True} if keys else {"how": "cross"}
    order = [c for c in ("game_id", "seq") if c in plays.columns]
    plays = plays.sort([*keys, *order], maintain_order=True)

    plays = _with_player_keys(plays)

    # hitting
    pa = plays.filter(pl.col("is_plate_appearance").fill_null(False))
    who = [*keys, pl.col("batting_team").alias("team"), pl.col("batter_key").alias("player_key")]
    hitting = (pa.group_by(who, maintain_order=True)
               .agg(_most_written("batter"), *_batting_counts(pa, _interference(plays)))
               .with_columns(_at_bats())
               .join(weights, **join))
    woba = pl.when(_woba_denominator() > 0).then(_woba_numerator() / _woba_denominator())
    hitting = hitting.with_columns(woba.alias("wOBA")).with_columns(
        ((pl.col("wOBA") - pl.col("league_woba")) / pl.col("woba_scale") * pl.col("PA")).alias("wRAA"),
    ).with_columns(
        (100 * (pl.col("wRAA") / pl.col("PA") + pl.col("runs_per_pa")) / pl.col("runs_per_pa")).alias("wRC_plus"),
        (pl.col("K") / pl.col("PA")).alias("K_pct"),
        ((pl.col("BB") + pl.col("IBB")) / pl.col("PA")).alias("BB_pct"),
    ).sort([*keys, "team", "player"], nulls_last=True).select(*keys, "team", "player", "player_key", *_HITTING)

    # pitching
    events = _play_rows(plays)
    totals = _pitching_counts()
    if conference_strength is not None:  # the adjustment's per-game constants also need the number of games
        _require(plays, ["game_id"], "plays", league)
        totals.append((2 * pl.col("game_id").n_unique()).alias("team_games"))
    league_totals = events.group_by(keys).agg(totals) if keys else events.select(totals)
    constant = league_totals.select(
        *keys,
        (27 * pl.col("R") / pl.col("outs") - _fip_parts() / (pl.col("outs") / 3)).alias("fip_constant"))
    by_pitcher = [*keys, pl.col("fielding_team").alias("team"), pl.col("pitcher_key").alias("player_key")]
    pitching = (events.filter(pl.col("pitcher").is_not_null())
                .group_by(by_pitcher, maintain_order=True).agg(_most_written("pitcher"), *_pitching_counts())
                .join(constant, **join))
    ip = pl.col("outs") / 3
    pitching = pitching.with_columns(
        ip.alias("IP"),
        pl.when(pl.col("outs") > 0).then(27 * pl.col("R") / pl.col("outs")).alias("RA9"),
        pl.when(pl.col("outs") > 0).then(_fip_parts() / ip + pl.col("fip_constant")).alias("FIP"),
        pl.when(pl.col("BF") > 0).then(pl.col("K") / pl.col("BF")).alias("K_pct"),
        pl.when(pl.col("BF") > 0).then((pl.col("BB") + pl.col("IBB")) / pl.col("BF")).alias("BB_pct"),
    ).with_columns((pl.col("K_pct") - pl.col("BB_pct")).alias("K_BB_pct")).sort(
        [*keys, "team", "player"], nulls_last=True).select(*keys, "team", "player", "player_key", *_PITCHING)

    if conference_strength is not None:
        hitting, pitching = _conference_adjusted(hitting, pitching, conference_strength, teams, keys,
                                                 league_totals, weights)
    return PlayerSeasonValue(hitting=hitting, pitching=pitching)


def _with_player_keys(plays: pl.DataFrame) -> pl.DataFrame:
    """plays plus batter_key and pitcher_key: in leagues whose play-by-play writes names as free text
    (college), one key per player across the forms scorers write (bsi_pipeline.ncaa.player_names, keyed
    within the batting or fielding team, the games telling brothers apart); elsewhere the id itself."""
    named = pl.col("league").is_in(NAME_KEYED_LEAGUES) if "league" in plays.columns else pl.lit(False)
    games = ["game_id"] if "game_id" in plays.columns else []
    texts = plays.filter(named)
    for role, team in (("batter", "batting_team"), ("pitcher", "fielding_team")):
        keys = player_keys(texts.select(*games, team=team, player=role))
        plays = (with_player_key(plays, player=role, key=f"{role}_key", team=team, keys=keys)
                 .with_columns(pl.when(named).then(f"{role}_key").otherwise(role).alias(f"{role}_key")))
    return plays


def _most_written(role: str) -> pl.Expr:
    """The player's name as most of his plays write it (ties: the first in sort order)."""
    return pl.col(role).drop_nulls().mode().sort().first().alias("player")


def _conference_adjusted(
    hitting: pl.DataFrame, pitching: pl.DataFrame, conference_strength: pl.DataFrame,
    teams: pl.DataFrame | None, keys: list[str], league_totals: pl.DataFrame, weights: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    if teams is None:
        raise ValueError("conference_strength needs teams (season, team_name, conference) to find each "
                         "team's conference")
    if "league" not in keys or "season" not in keys:
        raise ValueError("the conference adjustment needs league and season among the weights' key columns")
    _require(teams, ["season", "team_name", "conference"], "teams")
    _require(conference_strength, ["season", "conference", "scoring_edge_per_game"], "conference_strength")
    team_conf = teams.select(pl.col("season").cast(pl.Int32), pl.col("team_name").alias("team"), "conference")
    if team_conf.select(pl.struct("season", "team").is_duplicated().any()).item():
        raise ValueError("teams list a team more than once in a season")
    strength = conference_strength
    if "league" in strength.columns:
        strength = strength.filter(pl.col("league") == "ncaa")
    strength = strength.select(pl.col("season").cast(pl.Int32), "conference",
                               pl.col("scoring_edge_per_game").cast(pl.Float64))
    if strength.select(pl.struct("season", "conference").is_duplicated().any()).item():
        raise ValueError("conference_strength has more than one ncaa row for a conference and season")
    # plate appearances and outs per team per game, and the weights the credits are expressed in
    constants = league_totals.join(weights, on=keys, how="left", nulls_equal=True).select(
        *keys, "woba_scale", "runs_per_pa", PA_g=pl.col("BF") / pl.col("team_games"),
        outs_g=pl.col("outs") / pl.col("team_games"))

    def attach(frame: pl.DataFrame) -> pl.DataFrame:
        ncaa = pl.col("league") == "ncaa"
        return (frame.with_columns(pl.col("season").cast(pl.Int32).alias("_season"))
                .join(team_conf.rename({"season": "_season"}), on=["_season", "team"], how="left",
                      maintain_order="left")
                .join(strength.rename({"season": "_season"}), on=["_season", "conference"], how="left",
                      maintain_order="left")
                .join(constants, on=keys, how="left", nulls_equal=True, maintain_order="left")
                .with_columns(pl.when(ncaa).then("conference").alias("conference"),
                              pl.when(ncaa).then("scoring_edge_per_game").alias("scoring_edge_per_game"))
                .drop("_season"))

    edge = pl.col("scoring_edge_per_game")
    hitting = attach(hitting).with_columns(
        (pl.col("wOBA") + pl.col("woba_scale") * edge / pl.col("PA_g")).alias("wOBA_conf_adj"),
        (pl.col("wRAA") + pl.col("PA") * edge / pl.col("PA_g")).alias("wRAA_conf_adj"),
        (pl.col("wRC_plus") + 100 * edge / (pl.col("PA_g") * pl.col("runs_per_pa"))).alias("wRC_plus_conf_adj"),
    ).drop(constants.columns[len(keys):])
    pitching = attach(pitching).with_columns(
        (pl.col("FIP") - 27 * edge / pl.col("outs_g")).alias("FIP_conf_adj"),
    ).drop(constants.columns[len(keys):])
    return hitting, pitching


def team_woba_slope(hitting: pl.DataFrame, plays: pl.DataFrame, weights: pl.DataFrame, *,
                    min_games: int = 15) -> pl.DataFrame:
    """Per league and season: teams, the least-squares slope of team wOBA on team runs per plate appearance, and
    woba_scale (the slope the additive conference adjustment assumes). Team wOBA pools its hitters (the
    numerator over the denominator); runs and plate appearances are the team's at bat in `plays`."""
    keys = [c for c in weights.columns if c not in _WEIGHT_COLUMNS]
    _require(plays, [*keys, "game_id", "batting_team", "is_plate_appearance", "runs_on_play"], "plays")
    _require(hitting, [*keys, "team", "wOBA", "AB", "BB", "SF", "HBP"], "hitting")
    denominator = _woba_denominator()
    team_woba = hitting.group_by(*keys, "team").agg(
        woba=(pl.col("wOBA").fill_null(0.0) * denominator).sum() / denominator.sum())
    team_runs = _play_rows(plays).group_by(*keys, pl.col("batting_team").alias("team")).agg(
        rpa=pl.col("runs_on_play").fill_null(0).sum() / _n(pl.col("is_plate_appearance")),
        games=pl.col("game_id").n_unique())
    teams = (team_woba.join(team_runs, on=[*keys, "team"], nulls_equal=True)
             .filter(pl.col("games") >= min_games).sort(*keys, "team"))
    x, y = pl.col("rpa") - pl.col("rpa").mean(), pl.col("woba") - pl.col("woba").mean()
    return (teams.group_by(keys, maintain_order=True)
            .agg(teams=pl.len().cast(pl.Int32), slope=(x * y).sum() / (x * x).sum())
            .join(weights.select(*keys, "woba_scale"), on=keys, how="left", nulls_equal=True))
