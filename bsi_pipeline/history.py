"""History tables that re-runs cannot duplicate: the rows of one input replace that input's earlier rows.

eval_snapshots keeps every model version's evaluation, drift_history every drift report; re-running on
the same inputs gives the same key, so it replaces its own rows (idempotent) while new inputs extend the
history.
"""

from __future__ import annotations

import polars as pl


def replace_by_key(previous: pl.DataFrame | None, current: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The rows of `previous` whose key (`keys` columns, nulls equal) is not in `current`, then `current`.

    With nothing previous, `current`; with an empty `current`, `previous` unchanged (nothing replaces it).
    Columns are in `current`'s order, then any only the earlier rows have: a column added to the table
    later (null on older rows) does not end up last."""
    if previous is None or previous.height == 0 or previous.width == 0:
        return current
    if current.height == 0:
        return previous
    missing = [k for k in keys if k not in previous.columns or k not in current.columns]
    if missing:
        raise ValueError(f"history key column(s) {missing} missing: previous has {previous.columns}, "
                         f"current has {current.columns}")
    present = current.select(keys).unique()
    kept = previous.join(present, on=keys, how="anti", nulls_equal=True)
    merged = pl.concat([kept, current], how="diagonal_relaxed")
    return merged.select(current.columns + [c for c in merged.columns if c not in current.columns])
