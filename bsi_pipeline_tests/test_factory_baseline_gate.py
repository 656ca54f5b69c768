"""The evaluation stage's baseline gate on a batted-ball regression shaped like mlb_xwoba: the reason it gives
when the model loses, the model card comparing the model and the baseline on the same rows, and a baseline
with no value on the test slice failing the gate instead of skipping it."""

import dataclasses
import datetime as dt

import numpy as np
import polars as pl

from bsi_pipeline.models import factory
from bsi_pipeline.models.specs import load_specs

BASELINE = "estimated_woba_using_speedangle"


def batted_balls(baseline_present) -> pl.DataFrame:
    """1,500 balls a season in 2021-2022; wOBA rises with exit velocity and launch angle, plus noise. The
    baseline knows the noise (it is the better estimate) and exists where baseline_present(season, i)."""
    rng = np.random.default_rng(0)
    rows = []
    for season in (2021, 2022):
        for i in range(1500):
            speed, angle, spray = rng.uniform(60, 110), rng.uniform(-30, 60), rng.uniform(-45, 45)
            woba = max(0.0, 0.01 * (speed - 60) + 0.004 * angle + rng.normal(0, 0.3))
            estimate = woba + rng.normal(0, 0.05)
            rows.append({"row_id": f"{season}-{i:05d}", "league": "mlb", "season": season,
                         "date": dt.date(season, 4, 1) + dt.timedelta(days=i // 10), "launch_speed": speed,
                         "launch_angle": angle, "spray_angle": spray, "has_spray": 1.0, "woba_value": woba,
                         BASELINE: estimate if baseline_present(season, i) else None})
    return pl.DataFrame(rows, infer_schema_length=None)


def evaluate(table: pl.DataFrame, models_dir):
    spec = dataclasses.replace(load_specs()["mlb_xwoba"], algorithms=("ridge",), must_beat_baseline=True,
                               min_rows={"train": 100, "valid": 50, "test": 50})
    candidates = factory.train_stage(table, spec, models_dir)
    calibrated = factory.calibrate_stage(table, spec, candidates, models_dir)
    return factory.evaluate_stage(table, spec, calibrated.comparison, models_dir)


def test_a_model_beaten_by_its_baseline_says_so_and_the_card_compares_the_same_rows(tmp_path):
    outcome = evaluate(batted_balls(lambda season, i: i >= 750), tmp_path)
    assert not outcome.accepted and outcome.beat_baseline is False
    assert outcome.reasons == [f"does not beat the baseline {BASELINE} on the same 750 test rows (RMSE)"]
    snapshot = outcome.snapshot.filter(pl.col("metric") == "rmse")
    on_rows = snapshot.filter(pl.col("system") == "model_on_baseline_rows")["value"][0]
    everywhere = snapshot.filter(pl.col("system") == "model")["value"][0]
    assert on_rows != everywhere
    comparison = outcome.card[outcome.card.index("## Baseline comparison"):outcome.card.index("## Limitations")]
    assert "| n | 750 | 750 |" in comparison  # the model's column counts the same 750 rows, not all 1,500
    assert f"| rmse | {on_rows:.4g} |" in comparison
    assert outcome.reasons[0] in outcome.card


def test_a_baseline_missing_on_every_test_row_fails_the_gate(tmp_path):
    outcome = evaluate(batted_balls(lambda season, i: season < 2022), tmp_path)
    assert not outcome.accepted and outcome.beat_baseline is None
    assert outcome.reasons == [
        f"the baseline {BASELINE} (with no other column) has no value on any of the 1500 test rows: the model "
        "cannot be shown to beat it"]


def test_a_binary_model_must_beat_its_baseline_on_brier_and_log_loss():
    """Better Brier but worse log loss is not beating the baseline: both must be lower."""
    comparison = {"model": {"brier": 0.200, "log_loss": 0.700}, "baseline": {"brier": 0.210, "log_loss": 0.650}}
    assert factory._beats("binary", comparison) is False
    comparison["model"]["log_loss"] = 0.640
    assert factory._beats("binary", comparison) is True
