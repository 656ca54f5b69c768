"""history.replace_by_key: the rule that keeps eval_snapshots and drift_history free of duplicates."""

import datetime as dt

import polars as pl
import pytest

from bsi_pipeline.history import replace_by_key

KEY = ["model_id", "served_through"]
MAY_1, MAY_8 = dt.date(2022, 5, 1), dt.date(2022, 5, 8)


def report(model_id: str, served_through: dt.date | None, psi: float) -> pl.DataFrame:
    """Two rows of a drift report (PSI of two features) for one model and data horizon."""
    return pl.DataFrame({"model_id": [model_id] * 2, "served_through": [served_through] * 2,
                         "feature": ["launch_speed", "launch_angle"], "value": [psi, psi / 2]})


def test_a_new_horizon_or_model_extends_the_history():
    history = replace_by_key(None, report("hr-a", MAY_1, 0.05), KEY)
    history = replace_by_key(history, report("hr-a", MAY_8, 0.12), KEY)
    history = replace_by_key(history, report("hr-b", MAY_8, 0.02), KEY)
    assert history.group_by(KEY).len().sort(KEY).rows() == [("hr-a", MAY_1, 2), ("hr-a", MAY_8, 2), ("hr-b", MAY_8, 2)]


def test_the_same_model_and_horizon_replaces_its_rows():
    history = pl.concat([report("hr-a", MAY_1, 0.05), report("hr-a", MAY_8, 0.12)])
    again = replace_by_key(history, report("hr-a", MAY_8, 0.30), KEY)
    assert again.height == 4
    assert again.filter(pl.col("served_through") == MAY_8)["value"].to_list() == [0.30, 0.15]
    assert again.filter(pl.col("served_through") == MAY_1).equals(report("hr-a", MAY_1, 0.05))
    assert replace_by_key(again, report("hr-a", MAY_8, 0.30), KEY).equals(again)  # idempotent


def test_null_keys_match_each_other_and_empty_inputs_change_nothing():
    history = replace_by_key(report("hr-a", None, 0.05), report("hr-a", None, 0.09), KEY)
    assert history["value"].to_list() == [0.09, 0.045]
    assert replace_by_key(history, history.clear(), KEY).equals(history)
    assert replace_by_key(pl.DataFrame(), history, KEY).equals(history)


def test_a_history_without_the_key_columns_is_refused():
    with pytest.raises(ValueError, match=r"history key column\(s\) \['served_through'\] missing"):
        replace_by_key(pl.DataFrame({"model_id": ["hr-a"]}), report("hr-a", MAY_1, 0.1), KEY)


def test_a_column_added_later_keeps_the_current_order_and_is_null_on_older_rows():
    """drift_reports gained p_value after reports had been kept: the history must keep the current
    column order (the new column in its place, not last) and show the older rows' p_value as unknown."""
    older = report("hr-a", MAY_1, 0.05).with_columns(retired=pl.lit("x"))
    newer = report("hr-a", MAY_8, 0.12).with_columns(p_value=pl.lit(0.2)).select(
        "model_id", "served_through", "feature", "p_value", "value")
    history = replace_by_key(older, newer, KEY)
    assert history.columns == ["model_id", "served_through", "feature", "p_value", "value", "retired"]
    assert history.filter(pl.col("served_through") == MAY_1)["p_value"].is_null().all()
    assert history.filter(pl.col("served_through") == MAY_8)["retired"].is_null().all()


def test_a_column_that_was_all_null_before_takes_the_current_type():
    """Reports kept before p_value was ever filled have it all null (polars types such a column Null): the next
    report's Float64 p_value still merges, the older rows keeping p_value null."""
    older = report("hr-a", MAY_1, 0.05).with_columns(p_value=pl.lit(None))
    newer = report("hr-a", MAY_8, 0.12).with_columns(p_value=pl.lit(0.2))
    history = replace_by_key(older, newer, KEY)
    assert history.schema["p_value"] == pl.Float64
    assert history.sort("served_through")["p_value"].to_list() == [None, None, 0.2, 0.2]


def test_an_emptied_history_gives_the_current_rows_as_they_are():
    """A history with its columns but no rows has nothing to keep: the result is the current report itself,
    without the history's retired columns."""
    emptied = report("hr-a", MAY_1, 0.05).with_columns(retired=pl.lit("x")).clear()
    assert replace_by_key(emptied, report("hr-a", MAY_8, 0.12), KEY).equals(report("hr-a", MAY_8, 0.12))
