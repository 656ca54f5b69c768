"""Export: the JSON artifact of linear models, ONNX of trees and ensembles, and their parity with the fitted models."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import polars as pl
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from bsi_pipeline.models import artifact as art
from bsi_pipeline.models.calibration import logit
from bsi_pipeline.models.scoring import load_scorer
from bsi_pipeline_tests.model_helpers import (FEATURES, LOGISTIC, PLATT, REGRESSION, game_data, linear_pipeline,
                                              metadata, tree_models)

X, WIN, MARGIN = game_data()
X_NEW, _, _ = game_data(seed=8, n=1000)  # rows the models never saw


@pytest.fixture(scope="module")
def trees():
    return {kind: tree_models(kind).fit(X, WIN if kind.endswith("binary") else MARGIN)
            for kind in ("xgb_binary", "xgb_regression", "lgb_binary", "lgb_regression")}


def native(model, X_):
    return model.predict_proba(X_)[:, 1] if hasattr(model, "predict_proba") else model.predict(X_)


def onnx_outputs(directory: Path, X_: np.ndarray):
    session = ort.InferenceSession(str(directory / "model.onnx"), providers=["CPUExecutionProvider"])
    return session.run(None, {"features": X_})


# --- linear: the JSON alone -------------------------------------------------------------------


@pytest.mark.parametrize("penalty", sorted(LOGISTIC))
@pytest.mark.parametrize("calibrator", [None, PLATT, {"method": "temperature", "t": 1.3}], ids=["identity", "platt", "temperature"])
def test_logistic_json_scoring_equals_pipeline(tmp_path, penalty, calibrator):
    pipe = linear_pipeline(LOGISTIC[penalty]()).fit(X, WIN)
    artifact = art.export_linear(pipe, **metadata(calibrator=calibrator), check_X=X)
    scorer = load_scorer(art.write_artifact(tmp_path, artifact))
    expected_raw = pipe.predict_proba(X_NEW)[:, 1]
    assert np.max(np.abs(scorer.predict_raw(X_NEW) - expected_raw)) < 1e-9
    # each calibrator's formula written out, not apply_calibration (which the scorer itself calls)
    z = logit(expected_raw)
    expected = {None: expected_raw, "platt": 1 / (1 + np.exp(-(PLATT["a"] * z + PLATT["b"]))),
                "temperature": 1 / (1 + np.exp(-z / 1.3))}[calibrator and calibrator["method"]]
    assert np.max(np.abs(scorer.predict(X_NEW) - expected)) < 1e-9
    if penalty == "l1":
        assert any(f["coefficient"] == 0.0 for f in artifact["features"])  # l1 zeroes something here


def test_isotonic_calibrator_carried(tmp_path):
    pipe = linear_pipeline(LOGISTIC["l2"]()).fit(X, WIN)
    calibrator = {"method": "isotonic", "x": [0.0, 0.3, 0.5, 0.8, 1.0], "y": [0.02, 0.25, 0.5, 0.85, 0.97]}
    scorer = load_scorer(art.write_artifact(tmp_path, art.export_linear(pipe, **metadata(calibrator=calibrator))))
    expected = np.interp(pipe.predict_proba(X_NEW)[:, 1], calibrator["x"], calibrator["y"])
    assert np.max(np.abs(scorer.predict(X_NEW) - expected)) < 1e-9


@pytest.mark.parametrize("name", sorted(REGRESSION))
def test_regression_json_scoring_equals_pipeline(tmp_path, name):
    pipe = linear_pipeline(REGRESSION[name]()).fit(X, MARGIN)
    artifact = art.export_linear(pipe, **metadata(task="regression", calibrator={"method": "identity"}), check_X=X)
    assert artifact["link"] == "identity" and artifact["model_type"] == name
    scorer = load_scorer(art.write_artifact(tmp_path, artifact))
    assert np.max(np.abs(scorer.predict(X_NEW) - pipe.predict(X_NEW))) < 1e-9


def test_linear_artifact_layout_and_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("BSI_GIT_HASH", "abc123")
    pipe = linear_pipeline(LOGISTIC["l2"]()).fit(X, WIN)
    artifact = art.export_linear(pipe, **metadata(calibrator=PLATT, metrics={"brier": 0.23, "auc": float("nan")}),
                                 extra={"seasons": [2019, 2020]})
    assert list(artifact)[:7] == ["schema_version", "format", "model_key", "model_id", "task", "link", "model_type"]
    assert artifact["schema_version"] == 1 and artifact["format"] == "linear_json" and artifact["link"] == "logit"
    assert artifact["git_hash"] == "abc123" and artifact["created_at"].endswith("Z")
    assert [f["name"] for f in artifact["features"]] == FEATURES
    scaler, model = pipe.named_steps["scale"], pipe.named_steps["model"]
    assert [f["mean"] for f in artifact["features"]] == pytest.approx(scaler.mean_, rel=0, abs=0)
    assert [f["std"] for f in artifact["features"]] == pytest.approx(scaler.scale_, rel=0, abs=0)
    assert [f["coefficient"] for f in artifact["features"]] == pytest.approx(model.coef_[0], rel=0, abs=0)
    assert artifact["intercept"] == model.intercept_[0]
    for key in ("calibrator", "metrics", "train_window", "extra"):
        assert key in artifact
    path = art.write_artifact(tmp_path, artifact)
    back = art.read_artifact(path)
    assert back["metrics"]["auc"] is None  # JSON has no NaN
    assert {k: v for k, v in back.items() if k != "metrics"} == {k: v for k, v in artifact.items() if k != "metrics"}
    assert art.read_artifact(tmp_path) == back  # the folder works too


@pytest.mark.parametrize("switch,entry,neutral", [("with_mean", "mean", 0.0), ("with_std", "std", 1.0)])
def test_scaler_switches_respected(tmp_path, switch, entry, neutral):
    """A scaler with centring or scaling switched off exports the neutral value (mean 0, std 1) for it."""
    pipe = Pipeline([("scale", StandardScaler(**{switch: False})), ("model", REGRESSION["ridge"]())]).fit(X, MARGIN)
    artifact = art.export_linear(pipe, **metadata(task="regression"), check_X=X)
    assert all(f[entry] == neutral for f in artifact["features"])
    scorer = load_scorer(art.write_artifact(tmp_path, artifact))
    assert np.max(np.abs(scorer.predict(X_NEW) - pipe.predict(X_NEW))) < 1e-9


def test_export_rejects_mismatches():
    pipe = linear_pipeline(LOGISTIC["l2"]()).fit(X, WIN)
    with pytest.raises(art.ArtifactError, match="binary model"):
        art.export_linear(pipe, **metadata(task="regression"))
    with pytest.raises(art.ArtifactError, match="6 coefficients for 5 features"):
        art.export_linear(pipe, **metadata(features=FEATURES[:5]))
    with pytest.raises(art.ArtifactError, match="calibrator method"):
        art.export_linear(pipe, **metadata(calibrator={"method": "beta"}))
    reg = linear_pipeline(REGRESSION["ridge"]()).fit(X, MARGIN)
    with pytest.raises(art.ArtifactError, match="regression model's calibrator must be identity"):
        art.export_linear(reg, **metadata(task="regression", calibrator=PLATT))


def test_export_refuses_two_scalers_in_a_row():
    """The JSON holds one mean and std per feature: a pipeline scaling twice cannot be written so and is refused,
    rather than exported with the last scaler's numbers alone."""
    pipe = Pipeline([("a", StandardScaler()), ("b", StandardScaler()), ("model", LOGISTIC["l2"]())]).fit(X, WIN)
    with pytest.raises(art.ArtifactError, match="is not supported"):
        art.export_linear(pipe, **metadata())


def test_estimator_params_keep_their_types():
    """The artifact records the estimator's settings as they were set: fit_intercept is JSON true, not 1."""
    params = art.export_linear(linear_pipeline(LOGISTIC["l2"]()).fit(X, WIN), **metadata())["estimator"]["params"]
    assert params["fit_intercept"] is True and params["C"] == 0.5 and params["max_iter"] == 1000


def test_export_refuses_feature_names_the_scorer_could_confuse():
    """Scoring looks features up by name: a name listed twice, or names in another order than the columns the
    model was fitted on, would feed a coefficient the wrong column."""
    pipe = linear_pipeline(LOGISTIC["l2"]()).fit(X, WIN)
    with pytest.raises(art.ArtifactError, match="distinct"):
        art.export_linear(pipe, **metadata(features=[*FEATURES[:5], FEATURES[0]]))
    named = linear_pipeline(LOGISTIC["l2"]()).fit(pl.DataFrame(X, schema=FEATURES), WIN)
    with pytest.raises(art.ArtifactError, match="fitted on columns"):
        art.export_linear(named, **metadata(features=FEATURES[::-1]))
    assert [f["name"] for f in art.export_linear(named, **metadata())["features"]] == FEATURES


# --- writing and reading ----------------------------------------------------------------------


def test_atomic_write_leaves_no_temp_files(tmp_path, monkeypatch):
    pipe = linear_pipeline(LOGISTIC["l2"]()).fit(X, WIN)
    artifact = art.export_linear(pipe, **metadata())
    art.write_artifact(tmp_path, artifact)
    art.write_artifact(tmp_path, {**artifact, "model_id": "second"})  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifact.json"]
    assert art.read_artifact(tmp_path)["model_id"] == "second"

    def fail(*_):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        art.write_artifact(tmp_path, {**artifact, "model_id": "third"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifact.json"]  # temp file removed
    assert art.read_artifact(tmp_path)["model_id"] == "second"  # old artifact intact


def test_read_artifact_errors(tmp_path):
    with pytest.raises(art.ArtifactError, match="no artifact"):
        art.read_artifact(tmp_path)
    (tmp_path / "artifact.json").write_text("{not json")
    with pytest.raises(art.ArtifactError, match="not valid JSON"):
        art.read_artifact(tmp_path)
    (tmp_path / "artifact.json").write_text(json.dumps({"schema_version": 2, "format": "linear_json"}))
    with pytest.raises(art.ArtifactError, match="schema_version 2"):
        art.read_artifact(tmp_path)
    (tmp_path / "artifact.json").write_text(json.dumps({"schema_version": 1, "format": "pickle"}))
    with pytest.raises(art.ArtifactError, match="unknown format 'pickle'"):
        art.read_artifact(tmp_path)


def test_git_hash_sources(monkeypatch, tmp_path):
    monkeypatch.setenv("BSI_GIT_HASH", "from-env")
    assert art.git_hash() == "from-env"
    monkeypatch.delenv("BSI_GIT_HASH")
    head = art.git_hash()
    assert head == "unknown" or len(head) == 40
    monkeypatch.setattr(art, "REPO", tmp_path)  # not a repository
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert art.git_hash() == "unknown"


# --- trees: onnxruntime against the native model ------------------------------------------------


@pytest.mark.parametrize("kind", ["xgb_binary", "xgb_regression", "lgb_binary", "lgb_regression"])
def test_tree_onnx_equals_native(tmp_path, trees, kind):
    model = trees[kind]
    task = "binary" if kind.endswith("binary") else "regression"
    artifact = art.export_tree(model, **metadata(task=task, model_key=kind), directory=tmp_path, check_X=X)
    art.write_artifact(tmp_path, artifact)
    native_file = "model.xgb.json" if kind.startswith("xgb") else "model.lgb.txt"
    assert artifact["format"] == "onnx" and artifact["onnx"]["file"] == "model.onnx"
    assert artifact["native"]["file"] == native_file
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["artifact.json", "model.onnx", native_file])
    assert artifact["onnx"]["sha256"] == art.sha256(tmp_path / "model.onnx")
    prediction, margin = onnx_outputs(tmp_path, X_NEW)
    assert prediction.dtype == np.float64 and prediction.shape == (len(X_NEW),)
    assert np.max(np.abs(prediction - native(model, X_NEW))) < 1e-5
    booster_margin = (model.predict(X_NEW, output_margin=True) if kind.startswith("xgb")
                      else model.predict(X_NEW, raw_score=True))
    assert np.max(np.abs(margin - booster_margin)) < 1e-5
    scorer = load_scorer(tmp_path / "artifact.json")
    assert np.max(np.abs(scorer.predict(X_NEW) - native(model, X_NEW))) < 1e-5


def test_xgboost_graph_is_the_exact_double_sum(trees, tmp_path):
    """The graph is exact; the 1e-5 tolerance is xgboost's own float32 summation."""
    import xgboost as xgb

    model = trees["xgb_regression"]
    art.export_tree(model, **metadata(task="regression"), directory=tmp_path)
    _, margin = onnx_outputs(tmp_path, X_NEW)
    dump = json.loads(bytes(model.get_booster().save_raw("json")))["learner"]
    leaves = model.get_booster().predict(xgb.DMatrix(X_NEW), pred_leaf=True).astype(int)
    values = [np.asarray(t["split_conditions"], dtype=np.float32).astype(np.float64)
              for t in dump["gradient_booster"]["model"]["trees"]]
    base = float(np.float32(float(dump["learner_model_param"]["base_score"].strip("[]"))))
    exact = base + np.array([sum(values[k][leaf] for k, leaf in enumerate(row)) for row in leaves])
    assert np.max(np.abs(margin - exact)) < 1e-12


def test_xgboost_early_stopping_exports_the_best_iteration(tmp_path):
    import xgboost as xgb

    model = xgb.XGBClassifier(n_estimators=200, max_depth=4, learning_rate=0.3, early_stopping_rounds=5, n_jobs=1)
    model.fit(X[:2000], WIN[:2000], eval_set=[(X[2000:], WIN[2000:])], verbose=False)
    assert model.best_iteration < 199
    art.export_tree(model, **metadata(), directory=tmp_path, check_X=X_NEW)
    prediction, _ = onnx_outputs(tmp_path, X_NEW)
    assert np.max(np.abs(prediction - model.predict_proba(X_NEW)[:, 1])) < 1e-5


def test_stump_trees(tmp_path):
    """Trees that are one leaf (no split worth making) export as one node with both branches on the leaf."""
    import lightgbm as lgb
    import xgboost as xgb

    for i, model in enumerate([xgb.XGBRegressor(n_estimators=5, gamma=1e9, n_jobs=1),
                               lgb.LGBMRegressor(n_estimators=5, min_child_samples=10_000, verbose=-1, n_jobs=1)]):
        model.fit(X, MARGIN)
        art.export_tree(model, **metadata(task="regression"), directory=tmp_path / str(i), check_X=X_NEW)


def test_tree_export_rejects_task_mismatch(trees, tmp_path):
    with pytest.raises(art.ArtifactError, match="task 'regression'"):
        art.export_tree(trees["xgb_binary"], **metadata(task="regression"), directory=tmp_path)


def test_onnx_conventions(trees, tmp_path):
    art.export_tree(trees["lgb_binary"], **metadata(), directory=tmp_path)
    model = onnx.load(tmp_path / "model.onnx")
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["features"]
    assert [o.name for o in model.graph.output] == ["prediction", "margin"]
    assert all(o.type.tensor_type.elem_type == onnx.TensorProto.DOUBLE for o in model.graph.output)
    assert not any(n.op_type == "ZipMap" for n in model.graph.node)


# --- ensembles: one graph against combining the native members -----------------------------------


def _members(task: str):
    y = WIN if task == "binary" else MARGIN
    linear = linear_pipeline(LOGISTIC["l2"]() if task == "binary" else REGRESSION["ridge"]()).fit(X, y)
    kind = "binary" if task == "binary" else "regression"
    xgb_model = tree_models(f"xgb_{kind}").fit(X, y)
    lgb_model = tree_models(f"lgb_{kind}").fit(X[:, :4], y)  # a member on a subset of the columns
    return [linear, xgb_model, lgb_model], [FEATURES, FEATURES, FEATURES[:4]]


@pytest.mark.parametrize("task", ["binary", "regression"])
@pytest.mark.parametrize("combiner", ["weighted_mean", "stacking"])
def test_ensemble_onnx_equals_combined_native(tmp_path, task, combiner):
    members, member_features = _members(task)
    if combiner == "weighted_mean":
        how = [0.5, 0.3, 0.2]
    else:
        from sklearn.linear_model import LinearRegression, LogisticRegression

        preds = np.column_stack([native(m, X[:, [FEATURES.index(c) for c in cols]])
                                 for m, cols in zip(members, member_features)])
        how = (LogisticRegression().fit(logit(preds), WIN) if task == "binary"
               else LinearRegression().fit(preds, MARGIN))
    artifact = art.export_ensemble(members, combiner, how, **metadata(task=task), directory=tmp_path,
                                   member_features=member_features, check_X=X)
    art.write_artifact(tmp_path, artifact)
    assert artifact["format"] == "ensemble_onnx" and artifact["combiner"] == combiner
    assert [m["kind"] for m in artifact["members"]] == ["linear", "tree", "tree"]
    assert artifact["members"][0]["features"][0].keys() == {"name", "mean", "std", "coefficient"}
    assert [f["name"] for f in artifact["members"][2]["features"]] == FEATURES[:4]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["artifact.json", "model.onnx", "member_1.xgb.json", "member_2.lgb.txt"])

    member_preds = [native(m, X_NEW[:, [FEATURES.index(c) for c in cols]]) for m, cols in zip(members, member_features)]
    if combiner == "weighted_mean":
        coefficients, intercept = how, 0.0
    else:
        coefficients, intercept = np.ravel(how.coef_), float(np.ravel(how.intercept_)[0])
    expected = art.combine_native(member_preds, combiner, task, coefficients, intercept)
    prediction, _ = onnx_outputs(tmp_path, X_NEW)
    assert np.max(np.abs(prediction - expected)) < 1e-5
    assert np.max(np.abs(load_scorer(tmp_path).predict(X_NEW) - expected)) < 1e-5


def test_ensemble_members_and_weights_by_name(tmp_path):
    """The trainer's form: members keyed by algorithm, stacking as (coefficients by name, intercept)."""
    members, _ = _members("binary")
    named = {"logistic": members[0], "xgboost": members[1]}
    stacker = ({"xgboost": 0.7, "logistic": 0.4}, -0.05)
    artifact = art.export_ensemble(named, "stacking", stacker, **metadata(), directory=tmp_path, check_X=X)
    assert [m["name"] for m in artifact["members"]] == ["logistic", "xgboost"]
    assert artifact["stacker"] == {"intercept": -0.05, "coefficients": [0.4, 0.7], "on": "logit"}
    with pytest.raises(art.ArtifactError, match="do not match the members"):
        art.export_ensemble(named, "weighted_mean", {"logistic": 0.5, "lgbm": 0.5}, **metadata(), directory=tmp_path)


def test_count_task_is_a_regression_of_the_mean(tmp_path):
    counts = np.random.default_rng(3).poisson(np.exp(0.5 + X[:, 4] / 3))
    pipe = linear_pipeline(REGRESSION["ridge"]()).fit(X, counts)
    artifact = art.export_linear(pipe, **metadata(task="count"), check_X=X)
    assert artifact["task"] == "count" and artifact["link"] == "identity"
    model = tree_models("lgb_regression").fit(X, counts)
    artifact = art.export_tree(model, **metadata(task="count"), directory=tmp_path, check_X=X)
    art.write_artifact(tmp_path, artifact)
    assert np.max(np.abs(load_scorer(tmp_path).predict(X_NEW) - model.predict(X_NEW))) < 1e-5
    with pytest.raises(art.ArtifactError, match="count model's calibrator must be identity"):
        art.export_linear(pipe, **metadata(task="count", calibrator=PLATT))


def test_ensemble_rejects_bad_weights(tmp_path):
    members, _ = _members("regression")
    with pytest.raises(art.ArtifactError, match="summing to 1"):
        art.export_ensemble(members, "weighted_mean", [0.5, 0.3, 0.3], **metadata(task="regression"), directory=tmp_path)
    with pytest.raises(art.ArtifactError, match="combiner 'vote'"):
        art.export_ensemble(members, "vote", [0.5, 0.3, 0.2], **metadata(task="regression"), directory=tmp_path)
