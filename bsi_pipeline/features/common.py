"""What every feature builder returns, and the checks every features table passes before it leaves.

A builder never drops an input row silently: each one becomes a feature row or an `excluded` row
with the reason, so rows in = rows kept + rows excluded can be tested. Features are Float64 and never
null (a model cannot train on a hole; neutral defaults plus explicit count columns let it tell a
filled value from a measured one), and the row order is fixed (date, row_id) so two builds of the
same inputs are identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from bsi_pipeline.features.provenance import BASELINE, INPUT, KEY, OUTCOME, PRE_GAME, PROVENANCE

EXCLUDED_SCHEMA = {"table": pl.String, "row_id": pl.String, "reason": pl.String}
KEY_TYPES = {"row_id": pl.String, "league": pl.String, "season": pl.Int32, "date": pl.Date}


@dataclass(frozen=True)
class FeatureBuild:
    """One features table and every input row that could not become one of its rows (with the reason)."""

    features: pl.DataFrame
    excluded: pl.DataFrame


def excluded_rows(frame: pl.DataFrame, table: str, row_id: str = "row_id", reason: str = "reason") -> pl.DataFrame:
    """The (table, row_id, reason) frame of the rows of `frame` that carry a reason."""
    return (frame.filter(pl.col(reason).is_not_null())
            .select(pl.lit(table).alias("table"), pl.col(row_id).cast(pl.String).alias("row_id"),
                    pl.col(reason).cast(pl.String).alias("reason"))
            .cast(EXCLUDED_SCHEMA))


def mark_later_copies(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """Among rows otherwise usable (reason null), the first copy of ``key`` (by ``_row``, the input order)
    is kept and later copies get the reason "duplicate <key> (first copy kept)". An unusable first copy
    (no score, no date) does not shadow a later usable one."""
    usable = frame.filter(pl.col("reason").is_null())
    later = usable.filter(pl.col("_row") != pl.col("_row").min().over(key)).get_column("_row")
    return frame.with_columns(reason=pl.when(pl.col("_row").is_in(later.implode()))
                              .then(pl.lit(f"duplicate {key} (first copy kept)")).otherwise(pl.col("reason")))


def concat_excluded(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """All exclusions, in a deterministic order (table, row_id)."""
    parts = [p for p in parts if p.height]
    if not parts:
        return pl.DataFrame(schema=EXCLUDED_SCHEMA)
    return pl.concat(parts).sort("table", "row_id", "reason")


def finalize(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The declared columns of `table` in declared order, typed, checked and sorted by (date, row_id).

    Raises ValueError if a feature is null or NaN or a row_id repeats: that is a builder bug, not a data
    problem (data problems become excluded rows before this point)."""
    declared = PROVENANCE[table]
    missing = [c for c in declared if c not in frame.columns]
    if missing:
        raise ValueError(f"{table}: the builder did not produce declared column(s) {', '.join(missing)}")
    casts = {c: KEY_TYPES[c] for c in declared if c in KEY_TYPES}
    casts.update({c: pl.Float64 for c, kind in declared.items() if kind in (PRE_GAME, INPUT, OUTCOME, BASELINE)})
    out = frame.select(list(declared)).cast(casts).sort("date", "row_id")
    features = [c for c, kind in declared.items() if kind in (PRE_GAME, INPUT)]
    holes = {c: n for c in features if (n := out[c].null_count() + int(out[c].is_nan().sum()))}
    if holes:
        raise ValueError(f"{table}: feature(s) with null/NaN values: {holes}")
    keys = [c for c, kind in declared.items() if kind == KEY and c in KEY_TYPES]
    key_holes = [c for c in keys if out[c].null_count()]
    if key_holes:
        raise ValueError(f"{table}: key column(s) with nulls: {', '.join(key_holes)}")
    if out["row_id"].n_unique() != out.height:
        raise ValueError(f"{table}: duplicated row_id")
    return out


def logit(p: pl.Expr, eps: float = 1e-6) -> pl.Expr:
    """Natural-log odds of a probability, clipped away from 0 and 1."""
    q = p.clip(eps, 1.0 - eps)
    return (q / (1.0 - q)).log()


def sigmoid(x: pl.Expr) -> pl.Expr:
    return 1.0 / (1.0 + (-x).exp())


def optional(frame: pl.DataFrame, name: str, dtype) -> pl.Expr:
    """The column when the frame has it, else a typed null (hand-made or short-format inputs)."""
    return pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype).alias(name)


def require(frame: pl.DataFrame, what: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {', '.join(missing)} (has {', '.join(frame.columns)})")
