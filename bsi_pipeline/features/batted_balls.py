"""features_batted_balls: one row per ball in play, inputs measured at contact, labels from the result.

Why these columns: a batted ball's fate is mostly its exit velocity, launch angle and direction, all
known the instant it leaves the bat ("input" provenance); nothing about the play's result may be a
feature. Statcast's hit coordinates are absent from the short Savant export, so the spray angle is
0 with has_spray = 0 there, never null (a model sees which rows carry it).

Columns (provenance in bsi_pipeline/features/provenance.py):
- row_id: `mlb:<game_pk>:<at_bat_number>:<pitch_number>` (the pitch), or `file:<source_file>:<line_no>`
  for exports without pitch ids (the short format); a row with neither is excluded. Duplicates are
  recognised within each kind of id: the first copy is kept, later ones are excluded.
- launch_speed (mph), launch_angle (degrees): rows missing either are excluded.
- spray_angle: degrees, 0 = center, negative = left field, positive = right field, from hc_x/hc_y as in
  bsi_pipeline.batted_ball.spray_angle (atan2 around home plate at (125.42, 198.27)); 0 when unknown.
  has_spray: 1 when known.
- pull_angle: spray angle toward the batter's pull side (left field for a right-handed batter), so pulled
  balls are positive for both hands; 0 with has_pull = 0 when the spray or the batter's side is unknown.
- is_barrel, is_hard_hit: 0/1 (Statcast definitions, bsi_pipeline.batted_ball).
- labels: is_home_run, is_hit (0/1 from `events`), woba_value: Savant's `woba_value` where the export has
  it, else the event's credit with the FanGraphs Guts weights of the season (the latest earlier season's
  weights when the table has none for it yet), 0 for results outside the wOBA denominator as Savant
  records them (sac bunts); a reached-on-error is 0 here but a single in Savant's column. Rows without
  `events` are excluded (no label).
- baseline: estimated_woba_using_speedangle (Savant's xwOBA; null where the export lacks it).
"""

from __future__ import annotations

import polars as pl

from bsi_pipeline.batted_ball import (
    EVENT_WEIGHT,
    HITS,
    WOBA_WEIGHT_COLUMNS,
    is_barrel,
    is_hard_hit,
    load_woba_weights,
    spray_angle,
    woba_weights_frame,
)
from bsi_pipeline.features.common import (
    FeatureBuild,
    concat_excluded,
    excluded_rows,
    finalize,
    mark_later_copies,
    optional,
    require,
)

TABLE = "features_batted_balls"
SOURCE_TABLE = "batted_balls"


def build_batted_ball_features(batted_balls: pl.DataFrame, woba_weights: pl.DataFrame | None = None) -> FeatureBuild:
    """features_batted_balls from the `batted_balls` table (or `statcast_batted_balls`: same columns)."""
    require(batted_balls, "batted_balls", ("launch_speed", "launch_angle", "events"))
    if "game_date" not in batted_balls.columns:
        raise ValueError("batted_balls lacks column game_date")
    weights = woba_weights_frame(woba_weights if woba_weights is not None else load_woba_weights())
    b = batted_balls
    frame = b.with_row_index("_row").select(
        "_row",
        optional(b, "game_pk", pl.Int64), optional(b, "at_bat_number", pl.Int64),
        optional(b, "pitch_number", pl.Int64), optional(b, "source_file", pl.String),
        optional(b, "line_no", pl.Int64), optional(b, "season", pl.Int32),
        pl.col("game_date").cast(pl.Date).alias("date"),
        pl.col("launch_speed").cast(pl.Float64), pl.col("launch_angle").cast(pl.Float64),
        optional(b, "hc_x", pl.Float64), optional(b, "hc_y", pl.Float64),
        optional(b, "spray_angle", pl.Float64).alias("_spray_given"),
        optional(b, "stand", pl.String), pl.col("events").cast(pl.String),
        optional(b, "woba_value", pl.Float64).alias("_savant_woba"),
        optional(b, "estimated_woba_using_speedangle", pl.Float64),
    )
    pitch_id = pl.format("mlb:{}:{}:{}", "game_pk", "at_bat_number", "pitch_number")
    file_id = pl.format("file:{}:{}", "source_file", "line_no")
    has_pitch = pl.all_horizontal(pl.col(c).is_not_null() for c in ("game_pk", "at_bat_number", "pitch_number"))
    has_file = pl.col("source_file").is_not_null() & pl.col("line_no").is_not_null()
    frame = frame.with_columns(
        row_id=pl.when(has_pitch).then(pitch_id).when(has_file).then(file_id)
        .otherwise(pl.format("row:{}", "_row")),
        season=pl.coalesce("season", pl.col("date").dt.year().cast(pl.Int32)),
    )
    frame = _with_woba(frame, weights)
    reason = (
        pl.when(~has_pitch & ~has_file).then(pl.lit("no identity: neither game_pk/at_bat_number/pitch_number "
                                                    "nor source_file/line_no"))
        .when(pl.col("date").is_null()).then(pl.lit("no game_date"))
        .when(pl.col("launch_speed").is_null() | pl.col("launch_angle").is_null())
        .then(pl.lit("missing launch_speed or launch_angle"))
        .when(pl.col("events").is_null()).then(pl.lit("no events: the labels are unknown"))
        .when(pl.col("woba_value").is_null()).then(pl.lit("no woba_value and no wOBA weights for the season"))
    )
    frame = mark_later_copies(frame.with_columns(reason=reason), "row_id")

    kept = frame.filter(pl.col("reason").is_null())
    spray = pl.coalesce(spray_angle(pl.col("hc_x"), pl.col("hc_y")), pl.col("_spray_given"))
    pull_sign = pl.when(pl.col("stand") == "R").then(-1.0).when(pl.col("stand") == "L").then(1.0)
    v, a = pl.col("launch_speed"), pl.col("launch_angle")
    kept = kept.with_columns(_spray=spray).with_columns(
        league=pl.lit("mlb"),
        spray_angle=pl.col("_spray").fill_null(0.0),
        has_spray=pl.col("_spray").is_not_null(),
        pull_angle=(pl.col("_spray") * pull_sign).fill_null(0.0),
        has_pull=(pl.col("_spray") * pull_sign).is_not_null(),
        is_barrel=is_barrel(v, a),
        is_hard_hit=is_hard_hit(v),
        is_home_run=pl.col("events") == "home_run",
        is_hit=pl.col("events").is_in(list(HITS)),
    )
    excluded = concat_excluded([excluded_rows(frame, SOURCE_TABLE)])
    return FeatureBuild(finalize(TABLE, kept), excluded)


def _with_woba(frame: pl.DataFrame, weights: pl.DataFrame) -> pl.DataFrame:
    """woba_value: Savant's where given, else the event's FanGraphs credit (latest weights at or before the
    season; 0 for results outside the wOBA denominator, as Savant records them)."""
    w = weights.sort("season").rename({"season": "_wseason"}).with_columns(pl.col("_wseason").cast(pl.Int32))
    joined = (frame.with_columns(_s=pl.col("season").fill_null(-1)).sort("_s")
              .join_asof(w, left_on="_s", right_on="_wseason", strategy="backward").sort("_row"))
    credit = pl.when(pl.col("wHR").is_null()).then(pl.lit(None, dtype=pl.Float64))
    for event, weight in EVENT_WEIGHT.items():
        credit = credit.when(pl.col("events") == event).then(pl.col(weight))
    credit = credit.otherwise(0.0)
    return joined.with_columns(woba_value=pl.coalesce("_savant_woba", credit)).drop(
        "_s", "_wseason", *WOBA_WEIGHT_COLUMNS)
