"""Batted-ball features and labels (pure functions; vectorised with polars in `batted_ball_features`).

Input: the `batted_balls` frame of `bsi_pipeline.sources.statcast_csv` (season, launch_speed in mph,
launch_angle in degrees, hc_x/hc_y, events, ...). Each rule below takes plain numbers (returning a plain
value; None in, None out) or polars expressions / Series (returning the same kind), so the rule is written
once and tested on exact edge values.

Barrel (`is_barrel`): the Statcast definition, from the MLB.com glossary entry "Barrel"
(https://www.mlb.com/glossary/statcast/barrel), quoted:

    "To be Barreled, a batted ball requires an exit velocity of at least 98 mph. At that speed, balls struck
    with a launch angle between 26-30 degrees always garner Barreled classification. For every mph over 98,
    the range of launch angles expands. For example: A ball traveling 99 mph always earns 'Barreled' status
    when struck between 25-31 degrees. Add one more mph -- to reach 100 -- and the range grows another three
    degrees, to 24-33. Every additional mph over 100 increases the range another two to three degrees until
    an exit velocity of 116 mph is reached. At that threshold, the Barreled designation is assigned to any
    ball with a launch angle between eight and 50 degrees."

  and the intent (same entry): barrels are batted balls "whose comparable hit types (in terms of exit
  velocity and launch angle) have led to a minimum .500 batting average and 1.500 slugging percentage since
  Statcast was implemented Major League wide in 2015". That expected-AVG/SLG requirement is how the window
  was drawn; it is NOT evaluated per ball here: the window encodes it.

  What is implemented, exactly (v = launch_speed, a = launch_angle; all bounds inclusive):

      v >= 98  and  a >= 124 - v  and  a <= 1.5 * v - 117  and  8 <= a <= 50

  i.e. the lower bound drops 1 degree per mph (26 at 98, 25 at 99, 24 at 100, 8 at 116) and the upper
  bound rises 1.5 degrees per mph (30 at 98, 31.5 at 99, 33 at 100, reaching 50 at 111 1/3 mph): the range
  grows 2.5 degrees per mph up to 111 mph (the glossary's "two to three degrees"), then, with the upper
  bound held at 50, 1 degree per mph until the lower bound reaches 8 at 116 mph; from 116 mph on the
  window is 8-50 and stays 8-50. These are Tom Tango's published inequalities (also used by baseballr's
  `code_barrel`), plus the 8-degree floor above 116 mph that the glossary states. They reproduce every
  point the glossary gives (98: 26-30, 99: 25-31, 100: 24-33, 116: 8-50); the one place the text is
  coarser is the upper bound at 99 mph (31.5 here, "31" in the text): Statcast reports launch angles in
  whole degrees, so no real ball is affected. Note that it is the lower bound that drops 1 degree per mph
  and the upper bound that rises 1.5: the "two to three degrees" is the growth of the whole range. A
  straight line from 24-33 at 100 mph to 8-50 at 116 mph (upper bound +1.06 per mph) would be another
  reading of the text; Savant's own codes rule it out (e.g. 103.6 mph at 39 degrees and 105.7 mph at 42
  degrees are Savant barrels, inside 1.5 * v - 117 but above the straight line).

  `savant_rounding=True` first rounds the exit velocity to the nearest whole mph (half up). Savant's own
  code (`launch_speed_angle == 6` in its CSV exports) behaves that way: on the 5,003 balls in play of
  ../shared/data/statcast_pitches with that column, the rule on the rounded speed agrees with Savant on every
  ball except 19 shown at exactly x.5 mph (the export rounds the speed to 0.1 mph, so for those the true
  speed may have rounded down), while the rule on the speed as given disagrees on 98 (e.g. 97.7 mph at 28
  degrees is a Savant barrel).
  The default is the glossary's "at least 98 mph" on the value given.

Other features:
- `is_hard_hit`: launch_speed >= 95 mph (Statcast "Hard Hit").
- `spray_angle(hc_x, hc_y)`: degrees from the line home plate - second base, computed as
  atan((hc_x - 125.42) / (198.27 - hc_y)) (home plate sits near (125.42, 198.27) in Savant's hit
  coordinates, y grows toward home plate). 0 = straight away center field, negative = toward the
  third-base / LEFT-field side, positive = toward the first-base / RIGHT-field side; +-45 are the foul
  lines. A pulled ball is negative for a right-handed batter and positive for a left-handed batter. Computed
  with atan2, which equals the atan formula for every ball in front of home plate and gives |angle| > 90 for
  a ball recorded behind it; null when a coordinate is missing. (Unlike baseballr's `spray_angle` there is
  no 0.75 factor: these are plain geometric degrees on Savant's coordinate image.)
- `launch_angle_bucket`: the MLB glossary's launch-angle guideline, named like Savant's bb_type values:
  "ground_ball" a < 10, "line_drive" 10 <= a <= 25, "fly_ball" 25 < a <= 50, "popup" a > 50 (the glossary
  says "Ground ball: less than 10 degrees, Line drive: 10-25 degrees, Fly ball: 25-50 degrees, Pop up:
  greater than 50 degrees"; the shared edges 25 and 50 go to the lower bucket, consistent with "less than"
  and "greater than" at the ends).
- labels from `events`: `is_hit` (single, double, triple, home_run), `is_extra_base_hit` (double, triple,
  home_run), `is_home_run`. A reached-on-error (`field_error`) and a fielder's choice are not hits.
- `woba_value_fg`: the event's wOBA credit with the season's FanGraphs Guts weights (wBB walk, wHBP
  hit_by_pitch, w1B single, w2B double, w3B triple, wHR home_run; every other plate-appearance result,
  outs, errors and fielder's choices included, is 0). Null when the event is not in the wOBA denominator
  (sac_bunt, sac_bunt_double_play, intent_walk, catcher_interf: FanGraphs' denominator is
  AB + BB - IBB + SF + HBP) or when the weights table has no row for the season, so the mean of the
  non-null values over a set of plate appearances is their wOBA. It is a separate column from Savant's
  `woba_value`, which uses Savant's rounded weights and credits field_error (and, in recent seasons,
  fielders_choice) at the single's weight.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

WOBA_WEIGHTS_FILE = Path(__file__).resolve().parent.parent / "data" / "reference" / "fangraphs_guts_woba_weights.csv"
WOBA_WEIGHT_COLUMNS = ("wBB", "wHBP", "w1B", "w2B", "w3B", "wHR")
WOBA_WEIGHTS_SCHEMA = {"season": pl.Int32, **{c: pl.Float64 for c in WOBA_WEIGHT_COLUMNS}}

BARREL_MIN_SPEED = 98.0          # mph
BARREL_FULL_SPEED = 116.0        # mph: from here on the window is 8-50 degrees
BARREL_MIN_ANGLE, BARREL_MAX_ANGLE = 8.0, 50.0
HARD_HIT_SPEED = 95.0            # mph
HOME_PLATE_X, HOME_PLATE_Y = 125.42, 198.27

HITS = ("single", "double", "triple", "home_run")
EXTRA_BASE_HITS = ("double", "triple", "home_run")
EVENT_WEIGHT = {"walk": "wBB", "hit_by_pitch": "wHBP", "single": "w1B", "double": "w2B", "triple": "w3B",
                "home_run": "wHR"}
NOT_IN_WOBA = ("sac_bunt", "sac_bunt_double_play", "intent_walk", "catcher_interf")

FEATURE_COLUMNS = {
    "is_barrel": pl.Boolean, "is_hard_hit": pl.Boolean, "spray_angle": pl.Float64,
    "launch_angle_bucket": pl.String, "is_hit": pl.Boolean, "is_extra_base_hit": pl.Boolean,
    "is_home_run": pl.Boolean, "woba_value_fg": pl.Float64,
}


def _vector(*values) -> bool:
    return any(isinstance(v, (pl.Expr, pl.Series)) for v in values)


def _scalar(expr: pl.Expr):
    """Evaluate an expression built from literals (one source of truth for scalar and vector use)."""
    return pl.select(expr.alias("x")).item()


def _as_expr(value) -> pl.Expr:
    if isinstance(value, pl.Expr):
        return value
    if isinstance(value, pl.Series):
        return pl.lit(value)
    return pl.lit(value, dtype=pl.Float64)


def _vectorised(name: str, rule, *values):
    """rule(*exprs) on expressions (-> expression), Series (-> Series `name`) or plain numbers (-> plain value)."""
    if any(isinstance(v, pl.Expr) for v in values):
        return rule(*(_as_expr(v) for v in values))
    if any(isinstance(v, pl.Series) for v in values):
        return pl.select(rule(*(_as_expr(v) for v in values)).alias(name)).to_series()
    return _scalar(rule(*(_as_expr(v) for v in values)))


# --------------------------------------------------------------------------------------------- barrel

def barrel_angle_window(launch_speed: float, *, savant_rounding: bool = False) -> tuple[float, float] | None:
    """The (lowest, highest) launch angle that makes a barrel at this exit velocity; None below 98 mph."""
    if launch_speed is None:
        return None
    v = math.floor(launch_speed + 0.5) if savant_rounding else launch_speed
    if v < BARREL_MIN_SPEED:
        return None
    return max(BARREL_MIN_ANGLE, 124.0 - v), min(BARREL_MAX_ANGLE, 1.5 * v - 117.0)


def is_barrel(launch_speed, launch_angle, *, savant_rounding: bool = False):
    """Statcast barrel (see the module docstring for the definition and its source)."""
    if not _vector(launch_speed, launch_angle):
        if launch_speed is None or launch_angle is None:
            return None
        window = barrel_angle_window(launch_speed, savant_rounding=savant_rounding)
        return window is not None and window[0] <= launch_angle <= window[1]
    return _vectorised("is_barrel", lambda v, a: _barrel_expr(v, a, savant_rounding), launch_speed, launch_angle)


def _barrel_expr(v: pl.Expr, a: pl.Expr, savant_rounding: bool) -> pl.Expr:
    v = (v + 0.5).floor() if savant_rounding else v
    return ((v >= BARREL_MIN_SPEED) & (a >= 124.0 - v) & (a <= 1.5 * v - 117.0)
            & (a >= BARREL_MIN_ANGLE) & (a <= BARREL_MAX_ANGLE))


# ---------------------------------------------------------------------------------------------- others

def is_hard_hit(launch_speed):
    """Exit velocity of 95 mph or more."""
    if not _vector(launch_speed):
        return None if launch_speed is None else launch_speed >= HARD_HIT_SPEED
    return _vectorised("is_hard_hit", lambda v: v >= HARD_HIT_SPEED, launch_speed)


hard_hit = is_hard_hit


def _spray_expr(x: pl.Expr, y: pl.Expr) -> pl.Expr:
    return pl.arctan2(x - HOME_PLATE_X, HOME_PLATE_Y - y).degrees()


def spray_angle(hc_x, hc_y):
    """Degrees: 0 center field, negative toward left field, positive toward right field (see module doc)."""
    if not _vector(hc_x, hc_y):
        if hc_x is None or hc_y is None:
            return None
        return math.degrees(math.atan2(hc_x - HOME_PLATE_X, HOME_PLATE_Y - hc_y))
    return _vectorised("spray_angle", _spray_expr, hc_x, hc_y)


def _bucket_expr(a: pl.Expr) -> pl.Expr:
    return (pl.when(a < 10).then(pl.lit("ground_ball"))
            .when(a <= 25).then(pl.lit("line_drive"))
            .when(a <= 50).then(pl.lit("fly_ball"))
            .when(a > 50).then(pl.lit("popup")))


def launch_angle_bucket(launch_angle):
    """ground_ball (< 10), line_drive (10-25), fly_ball (over 25 to 50), popup (> 50); null for null."""
    return _vectorised("launch_angle_bucket", _bucket_expr, launch_angle)


def _label(name: str, events, members: tuple[str, ...]):
    if isinstance(events, pl.Expr):
        return events.is_in(list(members))
    if isinstance(events, pl.Series):
        return events.is_in(list(members)).alias(name)
    return None if events is None else events in members


def is_hit(events):
    """single, double, triple, home_run (events: a string, a Series or an expression; null stays null)."""
    return _label("is_hit", events, HITS)


def is_extra_base_hit(events):
    """double, triple, home_run."""
    return _label("is_extra_base_hit", events, EXTRA_BASE_HITS)


def is_home_run(events):
    return _label("is_home_run", events, ("home_run",))


# ------------------------------------------------------------------------------------------------ wOBA

def load_woba_weights(path: str | Path | None = None) -> pl.DataFrame:
    """FanGraphs Guts wOBA weights (Season, wBB, wHBP, w1B, w2B, w3B, wHR, ...) as WOBA_WEIGHTS_SCHEMA."""
    path = Path(path) if path is not None else WOBA_WEIGHTS_FILE
    return woba_weights_frame(pl.read_csv(path, infer_schema=False, glob=False))


def woba_weights_frame(table: pl.DataFrame) -> pl.DataFrame:
    """The season and the six weights from a FanGraphs Guts table (`Season` or `season`); one row a season.
    A table with a `league` column (the pipeline's derived woba_weights) must hold MLB rows only: the
    lookup goes by season alone, so a college season would otherwise price MLB events."""
    cols = {c.lower(): c for c in table.columns}
    if "league" in cols:
        leagues = sorted(set(table[cols["league"]].cast(pl.String).to_list()) - {"mlb"}, key=str)
        if leagues:
            raise ValueError(f"wOBA weights table has rows for league(s) {leagues}; MLB events need MLB "
                             "weights (filter the table to league 'mlb' or use the FanGraphs Guts table)")
    season = cols.get("season")
    missing = [c for c in WOBA_WEIGHT_COLUMNS if c.lower() not in cols] + ([] if season else ["Season"])
    if missing:
        raise ValueError(f"wOBA weights table lacks column(s) {', '.join(missing)} (has {', '.join(table.columns)})")
    out = table.select(pl.col(season).cast(pl.Int32).alias("season"),
                       *(pl.col(cols[c.lower()]).cast(pl.Float64).alias(c) for c in WOBA_WEIGHT_COLUMNS))
    dup = out.filter(pl.col("season").is_duplicated())["season"].unique().sort().to_list()
    if dup:
        raise ValueError(f"wOBA weights table has more than one row for season(s) {dup}")
    return out


def _woba_expr(events: pl.Expr) -> pl.Expr:
    """Needs the six weight columns joined beside the events."""
    expr = pl.when(events.is_null() | events.is_in(list(NOT_IN_WOBA))).then(pl.lit(None, dtype=pl.Float64))
    for event, weight in EVENT_WEIGHT.items():
        expr = expr.when(events == event).then(pl.col(weight))
    # any other result counts 0, but only for a season with weights
    return expr.when(pl.col("wHR").is_not_null()).then(pl.lit(0.0)).otherwise(pl.lit(None, dtype=pl.Float64))


def woba_value(events: str | None, season: int, woba_weights: pl.DataFrame) -> float | None:
    """One event's FanGraphs wOBA credit in a season (None: not a wOBA event, or no weights that season)."""
    frame = pl.DataFrame({"events": [events], "season": [season]}, schema={"events": pl.String, "season": pl.Int32})
    return _with_woba(frame, woba_weights)["woba_value_fg"].item()


def _with_woba(frame: pl.DataFrame, woba_weights: pl.DataFrame) -> pl.DataFrame:
    weights = woba_weights_frame(woba_weights)
    weights = weights.with_columns(pl.col("season").cast(frame.schema["season"]))
    joined = frame.with_row_index("__row").join(weights, on="season", how="left").sort("__row")
    return joined.with_columns(_woba_expr(pl.col("events")).alias("woba_value_fg")).drop(
        "__row", *WOBA_WEIGHT_COLUMNS)


# ----------------------------------------------------------------------------------------------- frame

def batted_ball_features(batted_balls: pl.DataFrame, woba_weights: pl.DataFrame) -> pl.DataFrame:
    """`batted_balls` with FEATURE_COLUMNS added (row order kept). Needs season, launch_speed, launch_angle,
    events; hc_x/hc_y may be absent (spray_angle is then null)."""
    needed = ("season", "launch_speed", "launch_angle", "events")
    missing = [c for c in needed if c not in batted_balls.columns]
    if missing:
        raise ValueError(f"batted_balls lacks column(s) {', '.join(missing)}")
    clash = [c for c in FEATURE_COLUMNS if c in batted_balls.columns]
    if clash:
        raise ValueError(f"batted_balls already has feature column(s) {', '.join(clash)}")
    v, a, e = pl.col("launch_speed"), pl.col("launch_angle"), pl.col("events")
    has_hc = "hc_x" in batted_balls.columns and "hc_y" in batted_balls.columns
    out = batted_balls.with_columns(
        _barrel_expr(v, a, savant_rounding=False).alias("is_barrel"),
        (v >= HARD_HIT_SPEED).alias("is_hard_hit"),
        (_spray_expr(pl.col("hc_x"), pl.col("hc_y")) if has_hc else pl.lit(None, dtype=pl.Float64))
        .alias("spray_angle"),
        _bucket_expr(a).alias("launch_angle_bucket"),
        e.is_in(list(HITS)).alias("is_hit"),
        e.is_in(list(EXTRA_BASE_HITS)).alias("is_extra_base_hit"),
        (e == "home_run").alias("is_home_run"),
    )
    out = _with_woba(out, woba_weights)
    return out.cast({c: t for c, t in FEATURE_COLUMNS.items()})
