"""The model factory end to end on the embedded real data (the repository's data/ folder).

One module-scoped run materializes everything upstream of the factory's gathering tables
(model_candidates, calibrators, eval_snapshots, model_cards, feature_importance): the source
ingests, ratings and forecasts that feed the features_* tables, then model_<key> ->
calibrator_<key> -> evaluation_<key> for every spec. Those tables need every key's assets as
inputs, so every key of model_specs.yaml is trained, not only a few. The tests then read the lake
and the model folders of that run, re-train mlb_hr_prob in memory to check the artifacts, drive
`bsi predict`, and check leakage refusal, spec-driven assets, idempotence and the no-Statcast skip.

Tree training runs with BSI_N_JOBS=1: on a loaded 2-core machine, xgboost with 2 OpenMP threads
was measured 20-150x slower than with one (0.13 s -> 20 s for one fit), which made the run take
over four minutes instead of 20-35 s.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal

from bsi_pipeline.cli import main
from bsi_pipeline.config import Settings, load_settings
from bsi_pipeline.definitions import ASSETS, build_resources
from bsi_pipeline.defs.models import SPECS
from bsi_pipeline.features.provenance import LeakageError
from bsi_pipeline.lake import read_table, table_dir
from bsi_pipeline.metrics import ece, log_loss
from bsi_pipeline.models import algorithms
from bsi_pipeline.models.artifact import read_artifact
from bsi_pipeline.models.calibration import CALIBRATION_METHODS, acceptance, fit_calibrator
from bsi_pipeline.models.factory import read_evaluation_files, slices_for
from bsi_pipeline.models.scoring import CURRENT_FILE, load_scorer, set_current
from bsi_pipeline.models.specs import ALGORITHMS, COMBINERS, SPECS_PATH, load_specs
from bsi_pipeline.models.training import matrix, oof_skills, train_spec
from bsi_pipeline_tests.conftest import EMBEDDED_PBP, default_config, write_config

GATHERED = ("model_candidates", "calibrators", "eval_snapshots", "model_cards", "feature_importance")
HR = "mlb_hr_prob"
GIT_HASH = "test-model-factory"  # artifacts and cards record the code version: fixed, so re-runs compare equal
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class Run:
    settings: Settings
    config: Path
    result: dg.ExecuteInProcessResult
    seconds: float

    def table(self, name: str) -> pl.DataFrame:
        return read_table(self.settings.lake, name)

    def selected(self, key: str) -> dict:
        return self.table("model_candidates").filter(pl.col("model_key") == key, pl.col("selected")).row(0, named=True)

    def metadata(self, asset: str) -> dict:
        [mat] = [m for m in self.result.asset_materializations_for_node(asset)
                 if m.asset_key == dg.AssetKey(asset)]
        return {k: v.value for k, v in mat.metadata.items()}


def model_selection() -> dg.AssetSelection:
    return dg.AssetSelection.assets(*GATHERED).upstream()


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    config = default_config(tmp_path_factory.mktemp("factory"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BSI_N_JOBS", "1")
        mp.setenv("BSI_GIT_HASH", GIT_HASH)
        mp.delenv("BSI_MODEL_SPECS", raising=False)
        started = time.perf_counter()
        with dg.instance_for_test() as instance:
            result = dg.materialize(ASSETS, selection=model_selection(), instance=instance,
                                    resources=build_resources(str(config)), raise_on_error=False)
        seconds = time.perf_counter() - started
        print(f"\nmodel factory materialization: {seconds:.1f}s")
        assert result.success, [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        yield Run(load_settings(config), config, result, seconds)


# ----------------------------------------------------------------------------------- 1. tables


def test_every_key_has_all_its_candidates_and_one_selected(factory):
    candidates = factory.table("model_candidates")
    assert set(candidates["model_key"]) == set(SPECS)  # the embedded data trains every key
    for key, spec in SPECS.items():
        rows = candidates.filter(pl.col("model_key") == key)
        assert sorted(rows["algorithm"]) == sorted(spec.algorithms), key
        assert rows["selected"].sum() == 1, key
        assert rows["model_id"].n_unique() == rows.height
        for algorithm, model_id, path in rows.select("algorithm", "model_id", "artifact_path").iter_rows():
            assert model_id.startswith(f"{key}-{algorithm}-")
            assert Path(path).is_file() and read_artifact(path)["model_id"] == model_id
        # the selected candidate has the best validation score (calibrated log loss / RMSE), or is the
        # simplest (linear, trees, combinations) of those within the spec's relative tolerance of it
        chosen = rows.filter(pl.col("selected")).row(0, named=True)
        scores = dict(rows.select("algorithm", "selection_score").rows())
        best = min(scores.values())
        tied = [a for a in ALGORITHMS if a in scores and scores[a] <= best + spec.selection_tolerance * abs(best)]
        assert chosen["algorithm"] == tied[0], (key, scores)
        # the per-key asset is exactly its slice of the gathered table, and its metadata agrees
        assert_frame_equal(factory.table(f"model_{key}"), rows)
        assert factory.metadata(f"model_{key}")["model_id"] == chosen["model_id"]


def test_gathered_tables_describe_the_selected_models(factory):
    calibrators = factory.table("calibrators")
    snapshots = factory.table("eval_snapshots")
    cards = factory.table("model_cards")
    importance = factory.table("feature_importance")
    for name, table in zip(GATHERED, (factory.table("model_candidates"), calibrators, snapshots, cards, importance)):
        assert table.height > 0, name
        assert set(table["model_key"]) == set(SPECS), name
    for key, spec in SPECS.items():
        model_id = factory.selected(key)["model_id"]
        cal = calibrators.filter(pl.col("model_key") == key)
        assert set(cal["model_id"]) == {model_id}
        assert cal["chosen"].sum() == 1
        if spec.task == "binary":
            assert tuple(cal["method"]) == CALIBRATION_METHODS
            chosen = cal.filter(pl.col("chosen")).row(0, named=True)
            fitted = cal.filter(pl.col("method") != "identity", pl.col("cv_log_loss").is_not_null())
            assert chosen["method"] != "identity"
            assert chosen["cv_log_loss"] == fitted["cv_log_loss"].min()
        else:
            assert cal["method"].to_list() == ["identity"]

        snap = snapshots.filter(pl.col("model_key") == key)
        assert set(snap["model_id"]) == {model_id} and snap["accepted"].n_unique() == 1
        slices = slices_for(factory.table(spec.feature_table), spec)
        # the baseline is compared on the test rows that have it (the embedded Statcast export has no xwOBA)
        baseline_rows = slices.test[spec.baseline].is_not_null().sum() if spec.baseline else 0
        by_system = dict(snap.filter(pl.col("metric") == "n").select("system", "value").rows())
        if baseline_rows:
            compared = {f"baseline:{c}" for c in (spec.baseline, *spec.compare_with)}
            assert set(snap["system"]) == {"model", "model_on_baseline_rows", *compared}
            assert {by_system[c] for c in compared} == {by_system["model_on_baseline_rows"]} == {baseline_rows}
        else:
            assert set(snap["system"]) == {"model"}
        assert by_system["model"] == slices.test.height
        test_window = slices.window()["test"]
        assert set(snap["rows"]) == {test_window["rows"]}
        assert set(snap["window_start"]) == {test_window["start"]} and set(snap["window_end"]) == {test_window["end"]}
        accepted = snap["accepted"][0]
        metric = "log_loss" if spec.task == "binary" else "rmse"
        assert snap.filter(pl.col("system") == "model", pl.col("metric") == metric).height == 1

        card = cards.filter(pl.col("model_key") == key)
        assert card.select("model_id", "accepted").rows() == [(model_id, accepted)]
        folder = factory.settings.models_dir / key / model_id
        assert card["markdown"][0] == (folder / "model_card.md").read_text(encoding="utf-8")

        imp = importance.filter(pl.col("model_key") == key)
        assert set(imp["model_id"]) == {model_id}
        assert sorted(imp["feature"]) == sorted(spec.features)

        # the factory never serves: only the registry (model_registry) points `current` at a champion
        current = factory.settings.models_dir / key / CURRENT_FILE
        assert not current.is_file(), key
        assert factory.metadata(f"evaluation_{key}")["accepted"] == accepted


# ----------------------------------------------------------------------------------- 2. parity


def test_retraining_is_deterministic_and_artifacts_score_like_the_trainer(factory):
    spec = SPECS[HR]
    table = factory.table(spec.feature_table)
    result = train_spec(table, spec)
    stored = factory.table("model_candidates").filter(pl.col("model_key") == HR)
    # same data, same seeds: the same candidates, parameters, CV scores and ids as the materialized run
    assert {a: result.model_id(a) for a in result.candidates} == dict(stored.select("algorithm", "model_id").rows())
    assert stored.filter(pl.col("selected"))["algorithm"][0] == result.selected
    frame = result.candidates_frame()
    for column in ("params", "cv_metric", "valid_metrics"):
        assert dict(frame.select("algorithm", column).rows()) == dict(stored.select("algorithm", column).rows())

    X_test, _ = matrix(result.slices.test, spec)
    assert X_test.shape[0] > 10_000
    paths = dict(stored.select("algorithm", "artifact_path").rows())
    for algorithm, candidate in result.candidates.items():
        if algorithm in COMBINERS:
            in_memory = candidate.model.predict_values(X_test)
        else:
            in_memory = algorithms.predict(candidate.model, X_test, spec.task)
        served = load_scorer(paths[algorithm]).predict_raw(X_test)
        tolerance = 1e-9 if algorithm in algorithms.LINEAR else 1e-5
        worst = float(np.max(np.abs(served - in_memory)))
        assert worst <= tolerance, f"{algorithm}: artifact differs from the trained model by {worst:.3g}"
        assert np.std(served) > 0.05  # real probabilities, not a constant


@pytest.mark.parametrize("key", ["mlb_home_win", "ncaa_pitcher_strikeouts"])
def test_ensemble_weights_never_see_the_validation_slice(factory, key):
    """The validation slice chooses between candidates, the ensemble among them, so the ensemble's weights
    must not be fitted on it: with every validation label changed, the weights stay the same (and so do
    the members), while the validation scores move."""
    spec = replace(SPECS[key], algorithms=("ridge", "lightgbm", "ensemble"))
    table = factory.table(spec.feature_table)
    first = train_spec(table, spec)
    valid_rows = first.slices.valid["row_id"]
    y = pl.col(spec.target)
    changed = (1 - y) if spec.task == "binary" else (y + 3) % 7  # flipped outcomes / scrambled counts
    second = train_spec(table.with_columns(pl.when(pl.col("row_id").is_in(valid_rows)).then(changed)
                                           .otherwise(y).alias(spec.target)), spec)
    weights = first.candidates["ensemble"].params["weights"]
    assert second.candidates["ensemble"].params["weights"] == weights
    assert min(weights.values()) < max(weights.values())  # weighted by skill, not an even split
    assert second.candidates["ridge"].valid_metrics != first.candidates["ridge"].valid_metrics


def test_oof_skills_score_only_rows_every_member_held_out():
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    oofs = {"a": np.array([np.nan, 0.9, 0.2, 0.8, 0.7, 0.3]), "b": np.array([0.9, np.nan, 0.6, 0.4, 0.7, 0.2])}
    # rows 2-5 only: a ranks them perfectly (AUC 1), b gets one of the four pairs wrong (AUC 0.75)
    assert oof_skills("binary", oofs, y) == pytest.approx({"a": 0.5, "b": 0.25})
    with pytest.raises(ValueError, match="one class only"):
        oof_skills("binary", oofs, np.array([0.0, 1.0, 0.0, 0.0, 0.0, 0.0]))
    values = np.array([1.0, 2.0, 3.0, 4.0])
    assert oof_skills("count", {"a": values, "b": np.array([1.0, 2.0, 3.0, np.nan])}, values)["a"] == 1.0


# ----------------------------------------------------------------------------------- 3. calibrated artifact


def test_calibrated_artifact_carries_the_chosen_calibrator_and_its_acceptance(factory):
    spec = SPECS[HR]
    chosen = factory.selected(HR)
    folder = factory.settings.models_dir / HR / chosen["model_id"]
    art = read_artifact(folder)
    method = factory.table("calibrators").filter(pl.col("model_key") == HR, pl.col("chosen"))["method"][0]
    assert art["calibrator"]["method"] == method

    slices = slices_for(factory.table(spec.feature_table), spec)
    X_valid, y_valid = matrix(slices.valid, spec)
    raw = load_scorer(chosen["artifact_path"]).predict_raw(X_valid)
    final = load_scorer(folder)
    np.testing.assert_array_equal(final.predict_raw(X_valid), raw)  # same model, only the calibrator added
    refit = fit_calibrator(method, raw, y_valid)
    assert refit.keys() == art["calibrator"].keys()
    for name, value in refit.items():
        assert value == (pytest.approx(art["calibrator"][name], rel=1e-9) if isinstance(value, float)
                         else art["calibrator"][name])
    calibrated = final.predict(X_valid)
    row = factory.table("calibrators").filter(pl.col("model_key") == HR, pl.col("method") == method).row(0, named=True)
    assert log_loss(calibrated, y_valid) == pytest.approx(row["log_loss"], rel=1e-9)

    accepted = acceptance(calibrated, y_valid)
    assert art["metrics"]["calibration"] == {"slice": "valid", "passed": accepted.passed,
                                             "ece": pytest.approx(ece(calibrated, y_valid), rel=1e-9),
                                             "reasons": accepted.reasons}
    assert set(art["metrics"]["valid"]) == {"auc", "log_loss", "brier"}


def test_model_card_and_plots_sit_beside_the_artifact(factory):
    spec = SPECS[HR]
    model_id = factory.selected(HR)["model_id"]
    folder = factory.settings.models_dir / HR / model_id
    card = (folder / "model_card.md").read_text(encoding="utf-8")
    window = slices_for(factory.table(spec.feature_table), spec).window()
    assert f"# Model card: {HR}" in card and model_id in card
    assert "## Data window" in card
    for name, w in window.items():
        assert f"| {name} | {w['start']} | {w['end']} | {w['rows']} |" in card
    features = card.split(f"## Features ({len(spec.features)})", 1)[1].split("\n## ", 1)[0]
    assert all(f"| {name} |" in features for name in spec.features)
    method = read_artifact(folder)["calibrator"]["method"]
    assert f"## Calibration\n\nMethod: **{method}**" in card
    snapshot = factory.table("eval_snapshots").filter(pl.col("model_key") == HR, pl.col("system") == "model")
    test_metrics = card.split("## Test metrics", 1)[1].split("\n## ", 1)[0]
    for metric in ("auc", "brier", "log_loss", "ece"):
        value = snapshot.filter(pl.col("metric") == metric)["value"][0]
        assert f"| {metric} | {value:.4g} |" in test_metrics
    limitations = card.split("## Limitations", 1)[1].split("\n## ", 1)[0]
    assert f"- git_hash: {GIT_HASH}" in card
    assert spec.limitations in limitations
    if not snapshot["accepted"][0]:  # why it is not served is in the card too
        assert "test: " in limitations
    # the factory's reader is how the gathered tables find these files
    read_card, read_importance = read_evaluation_files(factory.settings.models_dir, HR, model_id)
    assert read_card == card
    assert_frame_equal(read_importance, factory.table("feature_importance").filter(pl.col("model_id") == model_id))

    for key, pngs in ((HR, {"reliability", "feature_importance"}),
                      ("mlb_xwoba", {"predicted_vs_actual", "feature_importance"}),
                      ("ncaa_home_win", {"reliability", "feature_importance"})):
        folder = factory.settings.models_dir / key / factory.selected(key)["model_id"]
        assert {p.stem for p in folder.glob("*.png")} == pngs, key  # no baseline plot without baseline values
        for name in pngs:
            data = (folder / f"{name}.png").read_bytes()
            assert data.startswith(PNG_MAGIC) and len(data) > 5_000, (key, name)


def test_the_card_scores_the_best_rating_system_beside_the_baseline(factory):
    """ncaa_home_win's gate is Elo (p_elo), but its card and eval_snapshots also score ridge_stack, the best
    rating system on its own, on the same test rows: what the model adds over it is in plain view."""
    key = "ncaa_home_win"
    spec = SPECS[key]
    assert spec.compare_with == ("p_ridge_stack",)
    test = slices_for(factory.table(spec.feature_table), spec).test
    p, y = test["p_ridge_stack"].to_numpy(), test[spec.target].to_numpy().astype(float)
    snap = factory.table("eval_snapshots").filter(pl.col("model_key") == key, pl.col("system") == "baseline:p_ridge_stack")
    brier = dict(snap.select("metric", "value").rows())["brier"]
    assert brier == pytest.approx(float(np.mean((p - y) ** 2)))
    assert brier != pytest.approx(dict(factory.table("eval_snapshots").filter(
        pl.col("model_key") == key, pl.col("system") == "baseline:p_elo").select("metric", "value").rows())["brier"])
    card = (factory.settings.models_dir / key / factory.selected(key)["model_id"] / "model_card.md").read_text()
    comparison = card.split("## Baseline comparison", 1)[1].split("\n## ", 1)[0]
    assert "| metric | model | p_elo | p_ridge_stack |" in comparison
    assert f"| {brier:.4g} |" in comparison.split("| brier |", 1)[1].split("\n", 1)[0]


# ----------------------------------------------------------------------------------- 4. bsi predict


@pytest.fixture(scope="module")
def served(factory, tmp_path_factory):
    """A config whose `current` mlb_hr_prob is the run's evaluated model: the run's own workspace
    when it was accepted, else a workspace holding a copy of that artifact made current."""
    model_id = factory.selected(HR)["model_id"]
    if (factory.settings.models_dir / HR / CURRENT_FILE).is_file():
        return factory.config, load_scorer(factory.settings.models_dir / HR / model_id)
    folder = tmp_path_factory.mktemp("serve")
    models = folder / "workspace" / "models"
    shutil.copytree(factory.settings.models_dir / HR / model_id, models / HR / model_id)
    set_current(models, HR, model_id)
    config = folder / "bsi.yaml"
    config.write_text(yaml.safe_dump({"workspace": str(folder / "workspace")}))
    assert load_settings(config).models_dir == models
    return config, load_scorer(models / HR / model_id)


def predict(config: Path, key: str, features, capsys) -> tuple[int, dict | None, str]:
    text = features if isinstance(features, str) else json.dumps(features)
    code = main(["predict", key, "--features", text, "--config", str(config)])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def test_keys_without_an_accepted_model_are_refused_by_name(factory, capsys):
    served_keys = sorted(k for k in SPECS if (factory.settings.models_dir / k / CURRENT_FILE).is_file())
    for key in SPECS:
        code, out, err = predict(factory.config, key, {"x": 1.0}, capsys)
        assert code == 2
        if key in served_keys:  # resolved: the features are what is wrong
            assert "unknown feature 'x'" in err
        elif (factory.settings.models_dir / key).is_dir():  # trained, but nothing passed acceptance
            assert f"model key {key!r} has no current model" in err and "acceptance" in err
        else:
            assert f"unknown model key {key!r}" in err
            assert (f"known keys: {', '.join(served_keys)}" if served_keys else "no models under") in err


def test_predict_refuses_a_current_model_the_registry_has_archived(factory, tmp_path, capsys):
    """The registry writes its history before it moves `current`: after an interrupted run `current` can
    still name the archived model. `bsi predict` then names both, as prediction_log does, and serves once
    the registry agrees."""
    from datetime import datetime, timezone

    from bsi_pipeline.lake import write_table
    from bsi_pipeline.registry.decisions import SCHEMA, TABLE

    model_id = factory.selected(HR)["model_id"]
    workspace = tmp_path / "workspace"
    shutil.copytree(factory.settings.models_dir / HR / model_id, workspace / "models" / HR / model_id)
    set_current(workspace / "models", HR, model_id)
    config = tmp_path / "bsi.yaml"
    config.write_text(yaml.safe_dump({"workspace": str(workspace)}))
    row = {"model_key": HR, "event": "decision", "reason": "test", "metrics": "{}", "window_start": None,
           "window_end": None, "registered_at": None}

    def registry(*events):  # (version, model_id, status, day decided)
        return pl.DataFrame([{**row, "version": v, "model_id": m, "status": s,
                              "decided_at": datetime(2026, 1, day, tzinfo=timezone.utc)} for v, m, s, day in events],
                            schema=SCHEMA)

    features = dict.fromkeys(SPECS[HR].features, 1.0)
    write_table(load_settings(config).storage, TABLE, registry(
        (1, model_id, "champion", 1), (2, "newer", "champion", 2), (1, model_id, "archived", 2)))
    code, _, err = predict(config, HR, features, capsys)
    assert code == 2
    assert f"current names {model_id}, but model_registry's champion is 2 (newer)" in err
    write_table(load_settings(config).storage, TABLE, registry((1, model_id, "champion", 1)))
    code, out, err = predict(config, HR, features, capsys)
    assert code == 0, err
    assert out["model_id"] == model_id


def test_predict_prints_the_calibrated_probability_and_five_contributions(served, factory, capsys):
    config, scorer = served
    spec = SPECS[HR]
    test = slices_for(factory.table(spec.feature_table), spec).test
    X, y = matrix(test, spec)
    for i in (int(np.argmax(y)), int(np.argmin(y))):  # a home run and an out
        row = dict(zip(spec.features, map(float, X[i])))
        code, out, err = predict(config, HR, row, capsys)
        assert code == 0, err
        assert out["model_key"] == HR and out["model_id"] == scorer.model_id
        assert 0.0 < out["value"] < 1.0
        assert out["value"] == pytest.approx(float(scorer.predict(X[i:i + 1])[0]), abs=1e-12)
        assert out["raw_value"] == pytest.approx(float(scorer.predict_raw(X[i:i + 1])[0]), abs=1e-12)
        contributions = out["top_contributions"]
        assert len(contributions) == 5
        names = [c["feature"] for c in contributions]
        assert len(set(names)) == 5 and set(names) <= set(spec.features)
        sizes = [abs(c["contribution"]) for c in contributions]
        assert sizes == sorted(sizes, reverse=True) and sizes[0] > 0


def test_a_hard_high_fly_ball_is_likelier_a_home_run_than_a_soft_grounder(served, capsys):
    config, _ = served
    # direction unknown, as in every row of the embedded (short) Savant export
    centre = {"spray_angle": 0.0, "has_spray": 0.0, "pull_angle": 0.0, "has_pull": 0.0}
    _, crushed, _ = predict(config, HR, {"launch_speed": 115.0, "launch_angle": 28.0, **centre}, capsys)
    _, topped, _ = predict(config, HR, {"launch_speed": 70.0, "launch_angle": 5.0, **centre}, capsys)
    assert crushed["value"] > 0.5 and topped["value"] < 0.01
    speed = {name: {c["feature"]: c["contribution"] for c in out["top_contributions"]}.get("launch_speed")
             for name, out in (("crushed", crushed), ("topped", topped))}
    assert speed["crushed"] > 0 > speed["topped"]  # signed: exit velocity pushes each the right way


@pytest.mark.parametrize("change, message", [
    ({"drop": "launch_angle"}, "missing feature(s): launch_angle"),
    ({"launch_speed": float("nan")}, "feature 'launch_speed' is NaN"),
    ({"launch_angle": "high"}, "feature 'launch_angle' must be a number, got the string 'high'"),
    ({"launch_speeed": 100.0}, "unknown feature 'launch_speeed' (did you mean 'launch_speed'?)"),
])
def test_predict_names_the_bad_feature(served, capsys, change, message):
    config, _ = served
    row = {"launch_speed": 100.0, "launch_angle": 25.0, "spray_angle": 0.0, "has_spray": 1.0,
           "pull_angle": 0.0, "has_pull": 1.0}
    row.pop(change.pop("drop", None), None)
    row.update(change)
    text = json.dumps(row)  # NaN is written as the bare literal NaN, which Python's json reads back
    code, _, err = predict(config, HR, text, capsys)
    assert code == 2 and message in err, err


def test_predict_unknown_key_and_bad_json_exit_2(served, capsys):
    config, _ = served
    code, _, err = predict(config, "mlb_hr_prb", {"launch_speed": 100.0}, capsys)
    assert code == 2 and "unknown model key 'mlb_hr_prb' (did you mean 'mlb_hr_prob'?)" in err
    code, _, err = predict(config, HR, "{launch_speed: 100}", capsys)
    assert code == 2 and "--features is not valid JSON" in err
    code, _, err = predict(config, HR, "[100, 25]", capsys)
    assert code == 2 and "must be a JSON object" in err


def test_predict_with_a_broken_artifact_exits_2_with_the_reason(served, tmp_path, capsys):
    _, scorer = served
    models = tmp_path / "workspace" / "models"
    shutil.copytree(scorer.directory, models / HR / scorer.model_id)
    set_current(models, HR, scorer.model_id)
    config = tmp_path / "bsi.yaml"
    config.write_text(yaml.safe_dump({"workspace": str(tmp_path / "workspace")}))
    row = {"launch_speed": 100.0, "launch_angle": 25.0, "spray_angle": 0.0, "has_spray": 0.0,
           "pull_angle": 0.0, "has_pull": 0.0}
    assert predict(config, HR, row, capsys)[0] == 0
    if scorer.artifact["format"] != "linear_json":  # a linear model is the JSON alone
        onnx = models / HR / scorer.model_id / scorer.artifact["onnx"]["file"]
        onnx.write_bytes(onnx.read_bytes() + b"\0")  # tampered with after export
        code, _, err = predict(config, HR, row, capsys)
        assert code == 2 and f"{onnx.name} does not match the sha256" in err
    (models / HR / CURRENT_FILE).write_text("mlb_hr_prob-gone\n")  # points at a model that is not there
    code, _, err = predict(config, HR, row, capsys)
    assert code == 2 and "names 'mlb_hr_prob-gone', which has no artifact.json" in err


# ----------------------------------------------------------------------------------- 5. leakage


@pytest.mark.parametrize("key, column, message", [
    (HR, "woba_value", "woba_value of features_batted_balls are computed from the batted ball itself"),
    ("ncaa_home_win", "home_score", "home_score of features_games are computed from the game itself"),
    (HR, "exit_velo_squared", "exit_velo_squared are not declared for features_batted_balls"),
])
def test_a_spec_using_an_outcome_column_is_refused(factory, tmp_path, key, column, message):
    raw = yaml.safe_load(SPECS_PATH.read_text())
    raw[key]["features"] = [*raw[key]["features"], column]
    path = tmp_path / "specs.yaml"
    path.write_text(yaml.safe_dump(raw))
    spec = load_specs(path)[key]
    table = factory.table(spec.feature_table)
    if column != "exit_velo_squared":
        assert column in table.columns  # the column is there: only its provenance stops it
    with pytest.raises(LeakageError) as refused:
        train_spec(table, spec)
    assert message in str(refused.value)


# ----------------------------------------------------------------------------------- 6. a spec is a model

NEW_KEY = "mlb_hr_prob_ev_la"
ADD_SPEC_SCRIPT = r"""
import json, sys
import dagster as dg
from bsi_pipeline.definitions import ASSETS, build_resources, defs
key, config = sys.argv[1], sys.argv[2]
dg.Definitions.validate_loadable(defs)
graph = defs.resolve_asset_graph()
parents = {name: sorted(k.to_user_string() for k in graph.get(dg.AssetKey(name)).parent_keys)
           for name in ("model_candidates", "calibrators", "eval_snapshots")}
with dg.instance_for_test() as instance:
    result = dg.materialize(ASSETS, selection=[f"model_{key}", f"calibrator_{key}", f"evaluation_{key}"],
                            instance=instance, resources=build_resources(config), raise_on_error=False)
print(json.dumps({"assets": sorted(k.to_user_string() for k in graph.get_all_asset_keys()),
                  "parents": parents, "success": result.success}))
"""


def test_adding_a_spec_adds_a_trained_model(factory, tmp_path):
    raw = yaml.safe_load(SPECS_PATH.read_text())
    raw[NEW_KEY] = {**raw[HR], "description": "Home run probability from exit velocity and launch angle only.",
                    "features": ["launch_speed", "launch_angle"], "algorithms": ["ridge", "lightgbm", "ensemble"]}
    specs = tmp_path / "model_specs.yaml"
    specs.write_text(yaml.safe_dump(raw))
    # a workspace holding only the feature table the new spec reads
    config = tmp_path / "bsi.yaml"
    config.write_text(yaml.safe_dump({"workspace": str(tmp_path / "workspace")}))
    lake = load_settings(config).lake
    shutil.copytree(table_dir(factory.settings.lake, "features_batted_balls"), lake / "features_batted_balls")
    env = {**os.environ, "BSI_MODEL_SPECS": str(specs), "BSI_N_JOBS": "1"}
    proc = subprocess.run([sys.executable, "-c", ADD_SPEC_SCRIPT, NEW_KEY, str(config)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {f"model_{NEW_KEY}", f"calibrator_{NEW_KEY}", f"evaluation_{NEW_KEY}"} <= set(out["assets"])
    assert out["parents"]["model_candidates"] == sorted(f"model_{k}" for k in raw)
    assert f"evaluation_{NEW_KEY}" in out["parents"]["eval_snapshots"]
    assert out["success"], proc.stderr[-3000:]
    candidates = read_table(lake, f"model_{NEW_KEY}")
    assert sorted(candidates["algorithm"]) == ["ensemble", "lightgbm", "ridge"]
    model_id = candidates.filter(pl.col("selected"))["model_id"][0]
    art = read_artifact(lake.parent / "models" / NEW_KEY / model_id)
    assert [f["name"] for f in art["features"]] == ["launch_speed", "launch_angle"]
    assert read_table(lake, f"evaluation_{NEW_KEY}")["model_id"].unique().to_list() == [model_id]
    # without the variable, the packaged specs: the key is gone again (and nothing else changed)
    assert NEW_KEY not in load_specs(SPECS_PATH) and set(load_specs(SPECS_PATH)) == set(SPECS)


# ----------------------------------------------------------------------------------- 8. no Statcast


def test_a_config_without_statcast_skips_the_batted_ball_models_with_the_reason(tmp_path):
    config = write_config(tmp_path, EMBEDDED_PBP)  # college play-by-play only
    chain = [f"{stage}_{HR}" for stage in ("model", "calibrator", "evaluation")]
    selection = dg.AssetSelection.assets(*chain).upstream() | dg.AssetSelection.assets("warehouse")
    with dg.instance_for_test() as instance:
        result = dg.materialize(ASSETS, selection=selection, instance=instance,
                                resources=build_resources(str(config)), raise_on_error=False)
    assert result.success
    settings = load_settings(config)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.execute("SELECT count(*) FROM features_batted_balls").fetchall() == [(0,)]
    con.close()
    run = Run(settings, config, result, 0.0)
    assert run.table("features_batted_balls").height == 0
    skipped = run.metadata(f"model_{HR}")["skipped"]
    assert HR in skipped and "features_batted_balls has no rows" in skipped
    assert run.metadata(f"calibrator_{HR}")["skipped"] == f"model_{HR} trained nothing"
    assert run.metadata(f"evaluation_{HR}")["skipped"] == f"calibrator_{HR} calibrated nothing"
    for name in chain:
        assert run.table(name).height == 0
    assert not (settings.models_dir / HR).exists()


# ----------------------------------------------------------------------------------- 7. idempotent


def _artifact_files(models_dir: Path) -> dict[str, object]:
    """Every file under the model folders; artifact.json without its creation time."""
    out = {}
    for path in sorted(models_dir.rglob("*")):
        if path.is_file():
            if path.name == "artifact.json":
                art = json.loads(path.read_text())
                art.pop("created_at", None)
                out[str(path.relative_to(models_dir))] = art
            else:
                out[str(path.relative_to(models_dir))] = path.read_bytes()
    return out


def test_the_training_cache_is_keyed_on_the_training_code(factory, monkeypatch):
    """Cached candidates are reused only for the same spec, data and training code: a change of the
    training (TRAINING_VERSION) must train them again, not serve models the old code produced."""
    from bsi_pipeline.models import factory as factory_module
    spec = SPECS["ncaa_home_win"]
    table = factory.table(spec.feature_table)
    key = factory_module.training_key(table, spec)
    assert (factory.settings.models_dir / spec.key / "trainings" / f"{key}.parquet").exists()
    monkeypatch.setattr(factory_module, "TRAINING_VERSION", factory_module.TRAINING_VERSION + 1)
    assert factory_module.training_key(table, spec) != key


def test_rematerializing_the_models_changes_nothing(factory):
    """Last in the module: it rewrites the run's workspace (with the same content)."""
    names = [*GATHERED] + [f"{stage}_{key}" for key in SPECS for stage in ("model", "calibrator", "evaluation")]
    before = {name: factory.table(name) for name in names}
    files = _artifact_files(factory.settings.models_dir)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BSI_N_JOBS", "1")
        mp.setenv("BSI_GIT_HASH", GIT_HASH)
        with dg.instance_for_test() as instance:
            again = dg.materialize(ASSETS, selection=dg.AssetSelection.groups("models"), instance=instance,
                                   resources=build_resources(str(factory.config)), raise_on_error=False)
    assert again.success
    assert {e.asset_key.to_user_string() for e in again.get_asset_materialization_events()} >= set(names)
    for name in names:
        after = factory.table(name)
        if "markdown" in after.columns:  # say which lines differ
            for new, old in zip(after["markdown"], before[name]["markdown"]):
                assert new.splitlines() == old.splitlines(), name
        assert_frame_equal(after, before[name], check_exact=True)
    after = _artifact_files(factory.settings.models_dir)
    assert after.keys() == files.keys()
    changed = [path for path in files if after[path] != files[path]]
    assert changed == []
