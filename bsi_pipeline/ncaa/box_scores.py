"""Box scores derived from parsed plays: per batter and per pitcher per game.

Batting counts come from plate appearances (event_type), runs from who crossed the plate
(plays.runners_scored), steals from runner movements (play_runners). AB excludes walks, hit-by-pitches,
sacrifices and catcher's interference, as in official scoring. Pitching lines exist only where the
pitcher is known from the text; a pitcher is charged with every run scored while he was in (inherited
runners are not re-assigned, which official earned-run accounting would do).
"""

from __future__ import annotations

import polars as pl

_PA = pl.col("is_plate_appearance")
_EV = pl.col("event_type")
_NO_PITCH_AFTER_SEQUENCE = ("strikeout", "walk", "intentional_walk")


def _n(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Int16).sum()


def box_batting(plays: pl.DataFrame, play_runners: pl.DataFrame) -> pl.DataFrame:
    keys = ["game_id", "season", "team", "player"]
    pa = plays.filter(_PA).rename({"batting_team": "team", "batter": "player"})
    batting = pa.group_by(keys).agg(
        PA=pl.len().cast(pl.Int16),
        H=_n(_EV.is_in(["single", "double", "triple", "home_run"])),
        **{"2B": _n(_EV == "double"), "3B": _n(_EV == "triple")},
        HR=_n(_EV == "home_run"),
        RBI=pl.col("rbi").sum().cast(pl.Int16),
        BB=_n(_EV == "walk"),
        IBB=_n(_EV == "intentional_walk"),
        HBP=_n(_EV == "hit_by_pitch"),
        K=_n(_EV == "strikeout"),
        SH=_n(pl.col("sac") == "SH"),
        SF=_n(pl.col("sac") == "SF"),
        CI=_n(_EV == "catcher_interference"),
        first_seq=pl.col("seq").min(),
    )
    # Runs come from the same list that makes runs_on_play, so team runs always equal parsed runs.
    scored = (plays.filter(pl.col("runners_scored").is_not_null())
              .select("game_id", "season", pl.col("batting_team").alias("team"),
                      pl.col("runners_scored").str.split("; ").alias("player"))
              .explode("player").group_by(keys).agg(R=pl.len().cast(pl.Int16)))
    running = play_runners.rename({"runner": "player"}).group_by(keys).agg(
        SB=_n(pl.col("stolen_base")),
        CS=_n(pl.col("caught_stealing")),
    )
    box = (batting.join(scored, on=keys, how="full", coalesce=True)
           .join(running, on=keys, how="full", coalesce=True)).with_columns(
        pl.col(c).fill_null(0) for c in ("PA", "H", "2B", "3B", "HR", "RBI", "BB", "IBB", "HBP", "K", "SH", "SF",
                                         "CI", "R", "SB", "CS")
    )
    box = box.with_columns(AB=(pl.col("PA") - pl.col("BB") - pl.col("IBB") - pl.col("HBP") - pl.col("SH")
                               - pl.col("SF") - pl.col("CI")).cast(pl.Int16))
    columns = keys + ["PA", "AB", "H", "2B", "3B", "HR", "R", "RBI", "BB", "IBB", "HBP", "K", "SB", "CS", "SH", "SF"]
    return box.sort("game_id", "team", "first_seq", "player", nulls_last=True).select(columns)


def box_pitching(plays: pl.DataFrame) -> pl.DataFrame:
    keys = ["game_id", "season", "team", "player"]
    known = plays.filter(pl.col("pitcher").is_not_null() & (pl.col("line_kind") == "play"))
    known = known.rename({"fielding_team": "team", "pitcher": "player"})
    pitches_on_pa = pl.col("pitch_sequence").str.len_chars() + pl.when(
        _EV.is_in(_NO_PITCH_AFTER_SEQUENCE)).then(0).otherwise(1)
    has_count = _PA & pl.col("pitch_sequence").is_not_null()
    box = known.group_by(keys).agg(
        BF=_n(_PA),
        outs_recorded=(pl.col("outs_after") - pl.col("outs_before")).cast(pl.Int16).sum(),
        H=_n(_PA & _EV.is_in(["single", "double", "triple", "home_run"])),
        R=pl.col("runs_on_play").cast(pl.Int16).sum(),
        BB=_n(_PA & _EV.is_in(["walk", "intentional_walk"])),
        HBP=_n(_PA & (_EV == "hit_by_pitch")),
        K=_n(_PA & (_EV == "strikeout")),
        HR=_n(_PA & (_EV == "home_run")),
        pa_with_pitch_count=_n(has_count),
        pitches=pl.when(has_count).then(pitches_on_pa).sum().cast(pl.Int32),
        first_seq=pl.col("seq").min(),
    )
    box = box.with_columns(
        pitches=pl.when(pl.col("pa_with_pitch_count") > 0).then(pl.col("pitches")),
        IP=(pl.col("outs_recorded") // 3).cast(pl.Float32) + (pl.col("outs_recorded") % 3).cast(pl.Float32) / 10,
    )
    columns = keys + ["BF", "outs_recorded", "IP", "H", "R", "BB", "HBP", "K", "HR", "pitches", "pa_with_pitch_count"]
    return box.sort("game_id", "team", "first_seq").select(columns)


def first_pitchers(plays: pl.DataFrame) -> pl.DataFrame:
    """Every (game, fielding team) of plays with the pitcher of its first play line: the starter (null if
    that line names nobody; any_known says whether the text ever names the team's pitcher)."""
    lines = plays.select(pl.col("game_id").cast(pl.String), "seq", pl.col("fielding_team").alias("team"),
                         "line_kind", "pitcher").filter(pl.col("game_id").is_not_null() & pl.col("team").is_not_null())
    pairs = lines.select("game_id", "team").unique()
    firsts = (lines.filter(pl.col("line_kind") == "play").sort("game_id", "seq")
              .group_by("game_id", "team", maintain_order=True)
              .agg(starter=pl.col("pitcher").first(), any_known=pl.col("pitcher").is_not_null().any(),
                   has_play=pl.lit(True)))
    return pairs.join(firsts, on=["game_id", "team"], how="left").with_columns(
        pl.col("any_known").fill_null(False)).sort("game_id", "team")


def starter_lines(plays: pl.DataFrame, box_pitching: pl.DataFrame) -> pl.DataFrame:
    """game_id, team, starter and his pitching line that game (BF, K, BB, HBP), for every side whose
    starter is named; pitchers are only unique within a team, so the line is matched on (game, team, name)."""
    box = box_pitching.select(pl.col("game_id").cast(pl.String), "team", pl.col("player").alias("starter"),
                              "BF", "K", "BB", "HBP").unique(["game_id", "team", "starter"], keep="first")
    return (first_pitchers(plays).filter(pl.col("starter").is_not_null())
            .join(box, on=["game_id", "team", "starter"], how="inner")
            .select("game_id", "team", "starter", "BF", "K", "BB", "HBP"))
