"""Scoring from artifacts: explanations that add up, clear errors for bad input, model keys on disk."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from bsi_pipeline.models import artifact as art
from bsi_pipeline.models.calibration import logit
from bsi_pipeline.models.scoring import (ArtifactError, Explanation, FeatureError, LinearScorer, UnknownModelError,
                                         format_explanation, known_model_keys, load_model, load_scorer, predict_text,
                                         resolve_artifact, set_current, validate_matrix, validate_values)
from bsi_pipeline_tests.model_helpers import (FEATURES, LOGISTIC, PLATT, REGRESSION, game_data, linear_pipeline,
                                              metadata, tree_models)

X, WIN, MARGIN = game_data()
X_NEW, _, _ = game_data(seed=8, n=200)


def row(i: int = 0, source: np.ndarray = X_NEW) -> dict:
    return dict(zip(FEATURES, source[i].tolist()))


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    """A models folder: logistic (Platt), ridge, xgb/lgb binary and regression, two ensembles."""
    root = tmp_path_factory.mktemp("models")
    model_id = metadata()["model_id"]

    def save(key: str, artifact: dict, directory):
        art.write_artifact(directory, artifact)
        set_current(root, key, artifact["model_id"])

    logistic = linear_pipeline(LOGISTIC["l2"]()).fit(X, WIN)
    save("home_win_logistic", art.export_linear(logistic, **metadata(model_key="home_win_logistic", calibrator=PLATT)),
         root / "home_win_logistic" / model_id)
    ridge = linear_pipeline(REGRESSION["ridge"]()).fit(X, MARGIN)
    save("run_margin_ridge", art.export_linear(ridge, **metadata(model_key="run_margin_ridge", task="regression")),
         root / "run_margin_ridge" / model_id)
    fitted = {}
    for kind in ("xgb_binary", "xgb_regression", "lgb_binary", "lgb_regression"):
        task = "binary" if kind.endswith("binary") else "regression"
        model = fitted[kind] = tree_models(kind).fit(X, WIN if task == "binary" else MARGIN)
        directory = root / kind / model_id
        save(kind, art.export_tree(model, **metadata(model_key=kind, task=task), directory=directory), directory)
    for key, task, combiner, how in [
        ("ens_stack_binary", "binary", "stacking", {"coefficients": [0.6, 0.5, 0.3], "intercept": 0.05}),
        ("ens_mean_binary", "binary", "weighted_mean", [0.5, 0.25, 0.25]),
        ("ens_mean_regression", "regression", "weighted_mean", [0.4, 0.3, 0.3]),
        ("ens_stack_regression", "regression", "stacking", {"coefficients": [0.5, 0.3, 0.3], "intercept": -0.1}),
    ]:
        kind = "binary" if task == "binary" else "regression"
        first = logistic if task == "binary" else ridge
        directory = root / key / model_id
        artifact = art.export_ensemble([first, fitted[f"xgb_{kind}"], fitted[f"lgb_{kind}"]], combiner, how,
                                       **metadata(model_key=key, task=task), directory=directory)
        save(key, artifact, directory)
    return root


# --- explanations ---------------------------------------------------------------------------------


def test_linear_contributions_sum_to_the_margin(models_dir):
    scorer = load_model(models_dir, "home_win_logistic")
    assert isinstance(scorer, LinearScorer)
    for i in range(20):
        explanation = scorer.explain(row(i), top=None)
        total = explanation.base + sum(c for _, c in explanation.contributions)
        assert total == pytest.approx(explanation.margin, abs=1e-12)
        assert explanation.margin == pytest.approx(scorer.predict_margin(X_NEW[i:i + 1])[0], abs=1e-12)
        assert explanation.raw_value == pytest.approx(scorer.predict_raw(X_NEW[i:i + 1])[0], abs=1e-15)
        assert explanation.value == pytest.approx(scorer.predict(X_NEW[i:i + 1])[0], abs=1e-15)
        assert explanation.value != explanation.raw_value  # Platt applied
        assert explanation.link == "logit" and explanation.exact
    artifact = scorer.artifact
    first = artifact["features"][0]
    explanation = scorer.explain(row(0), top=None)
    expected = first["coefficient"] * (X_NEW[0, 0] - first["mean"]) / first["std"]
    assert dict(explanation.contributions)["elo_diff"] == pytest.approx(expected, rel=1e-15)


def test_top_five_sorted_by_magnitude(models_dir):
    explanation = load_model(models_dir, "run_margin_ridge").explain(row(3))
    assert len(explanation.contributions) == 5
    sizes = [abs(c) for _, c in explanation.contributions]
    assert sizes == sorted(sizes, reverse=True)
    assert explanation.link == "identity" and explanation.value == explanation.raw_value == explanation.margin


@pytest.mark.parametrize("key", ["xgb_binary", "xgb_regression", "lgb_binary", "lgb_regression"])
def test_tree_contributions_sum_to_the_margin(models_dir, key):
    scorer = load_model(models_dir, key)
    for i in range(10):
        explanation = scorer.explain(row(i), top=None)
        assert len(explanation.contributions) == len(FEATURES)
        total = explanation.base + sum(c for _, c in explanation.contributions)
        assert total == pytest.approx(explanation.margin, abs=1e-4)
        assert explanation.value == pytest.approx(scorer.predict(X_NEW[i:i + 1])[0], abs=1e-12)
    if key.endswith("binary"):
        assert explanation.margin == pytest.approx(float(logit(np.array([explanation.raw_value]))[0]), abs=1e-9)


@pytest.mark.parametrize("key", ["ens_stack_binary", "ens_mean_regression", "ens_stack_regression"])
def test_ensemble_contributions_exact_where_linear_in_the_margins(models_dir, key):
    scorer = load_model(models_dir, key)
    for i in range(10):
        explanation = scorer.explain(row(i), top=None)
        assert explanation.exact
        total = explanation.base + sum(c for _, c in explanation.contributions)
        assert total == pytest.approx(explanation.margin, abs=1e-4)


def test_weighted_mean_of_probabilities_is_flagged_approximate(models_dir):
    scorer = load_model(models_dir, "ens_mean_binary")
    explanation = scorer.explain(row(0), top=None)
    assert not explanation.exact
    total = explanation.base + sum(c for _, c in explanation.contributions)
    assert abs(total - explanation.margin) < 0.1  # close, not equal
    assert explanation.value == pytest.approx(scorer.predict(X_NEW[:1])[0], abs=1e-12)


def test_the_printed_explanation_says_when_it_is_approximate():
    """`bsi predict` prints ", approximate" for a weighted mean of probabilities (Explanation.exact False: base +
    contributions != margin); test_weighted_mean_of_probabilities_is_flagged_approximate checks the flag, not what
    the user reads."""
    scorer = SimpleNamespace(task="binary", model_key="k", model_id="k-1", calibrator={"method": "identity"})
    approx = format_explanation(scorer, Explanation(0.6, 0.6, [("a", 0.3)], "logit", 0.405, 0.1, exact=False))
    assert approx.splitlines()[2] == "top contributions (logit scale, approximate; base +0.1000):"
    exact = format_explanation(scorer, Explanation(0.6, 0.6, [("a", 0.3)], "logit", 0.405, 0.105, exact=True))
    assert exact.splitlines()[2] == "top contributions (logit scale; base +0.1050):"


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["home_win_logistic", "xgb_binary", "ens_stack_binary"])
def test_bad_values_name_the_problem(models_dir, key):
    scorer = load_model(models_dir, key)
    good = row(0)
    with pytest.raises(FeatureError, match=r"missing feature\(s\): starter_era_diff"):
        scorer.explain({k: v for k, v in good.items() if k != "starter_era_diff"})
    with pytest.raises(FeatureError, match="feature 'elo_diff' is NaN"):
        scorer.explain({**good, "elo_diff": float("nan")})
    with pytest.raises(FeatureError, match=r"feature 'temperature_f' is infinite \(inf\)"):
        scorer.explain({**good, "temperature_f": float("inf")})
    with pytest.raises(FeatureError, match="feature 'home' must be a number, got the string 'yes'"):
        scorer.explain({**good, "home": "yes"})
    with pytest.raises(FeatureError, match="feature 'home' is null"):
        scorer.explain({**good, "home": None})
    with pytest.raises(FeatureError, match="unknown feature 'elo_dif' \\(did you mean 'elo_diff'\\?\\)"):
        scorer.explain({**{k: v for k, v in good.items() if k != "elo_diff"}, "elo_dif": 10.0})
    with pytest.raises(FeatureError, match="unknown feature 'wind_mph'"):
        scorer.explain({**good, "wind_mph": 8.0})
    with pytest.raises(FeatureError) as info:  # every problem at once
        scorer.explain({**good, "elo_diff": "12a", "home": float("nan"), "extra": 1})
    assert len(info.value.problems) == 3 and key in str(info.value)


def test_bools_are_zero_and_one(models_dir):
    scorer = load_model(models_dir, "home_win_logistic")
    as_bool = scorer.explain({**row(0), "home": True}, top=None)
    as_one = scorer.explain({**row(0), "home": 1}, top=None)
    assert as_bool == as_one
    assert validate_values({"a": False, "b": np.int64(3)}, ["a", "b"]).tolist() == [0.0, 3.0]


@pytest.mark.parametrize("key", ["home_win_logistic", "lgb_regression", "ens_mean_binary"])
def test_bad_matrices_name_the_column(models_dir, key):
    scorer = load_model(models_dir, key)
    with pytest.raises(FeatureError, match="X has 5 columns; the model takes 6: elo_diff, rest_days_diff"):
        scorer.predict(X_NEW[:, :5])
    with pytest.raises(FeatureError, match=r"X must be 2-D .* got shape \(6,\)"):
        scorer.predict(X_NEW[0])
    bad = X_NEW.copy()
    bad[7, 3] = np.nan
    bad[9, 3] = np.nan
    bad[4, 5] = -np.inf
    with pytest.raises(FeatureError) as info:
        scorer.predict(bad)
    assert info.value.problems == ["column 'starter_era_diff' has 2 NaN/infinite value(s) (first: NaN at row 7)",
                                   "column 'temperature_f' has 1 NaN/infinite value(s) (first: infinite at row 4)"]
    text = X_NEW[:3].astype(object)
    text[1, 2] = "home"
    with pytest.raises(FeatureError, match="column 'home' row 1: feature 'home' must be a number, got the string 'home'"):
        scorer.predict(text)


@pytest.mark.parametrize("order", ["C", "F"])
def test_nan_in_a_zero_weight_column_is_still_caught(tmp_path, order):
    from sklearn.linear_model import Lasso

    pipe = linear_pipeline(Lasso(alpha=0.3)).fit(X, MARGIN)
    artifact = art.export_linear(pipe, **metadata(task="regression"))
    dropped = [f["name"] for f in artifact["features"] if f["coefficient"] == 0.0]
    assert dropped, "the lasso should drop a feature here"
    scorer = load_scorer(art.write_artifact(tmp_path, artifact))
    bad = np.array(X_NEW, order=order)
    bad[5, FEATURES.index(dropped[0])] = np.nan
    with pytest.raises(FeatureError, match=f"column '{dropped[0]}' has 1 NaN"):
        scorer.predict(bad)


def test_large_offsets_keep_full_precision(tmp_path):
    """A feature like a Unix timestamp: mean/std ~ 1e8; scoring centres before the dot product."""
    from sklearn.linear_model import LinearRegression

    shifted = X.copy()
    shifted[:, 5] = 1.7e9 + X[:, 5]
    pipe = linear_pipeline(LinearRegression()).fit(shifted, MARGIN)
    scorer = load_scorer(art.write_artifact(tmp_path, art.export_linear(pipe, **metadata(task="regression"))))
    new = X_NEW.copy()
    new[:, 5] = 1.7e9 + X_NEW[:, 5]
    assert np.max(np.abs(scorer.predict(new) - pipe.predict(new))) < 1e-9


def test_dataframes_are_put_in_feature_order(models_dir):
    scorer = load_model(models_dir, "home_win_logistic")
    frame = pl.DataFrame(dict(zip(FEATURES, X_NEW.T))).select(list(reversed(FEATURES)))
    assert np.max(np.abs(scorer.predict(frame) - scorer.predict(X_NEW))) < 1e-15
    with pytest.raises(FeatureError, match=r"missing column\(s\): elo_diff; unknown column\(s\): elo"):
        scorer.predict(frame.rename({"elo_diff": "elo"}))


def test_hand_written_json_scores_and_overflow_is_not_blamed_on_a_column(tmp_path):
    artifact = {"schema_version": 1, "format": "linear_json", "model_key": "toy", "model_id": "1",
                "task": "regression", "link": "identity",
                "features": [{"name": "a", "mean": 1.0, "std": 2.0, "coefficient": 3.0},
                             {"name": "b", "mean": 0.0, "std": 1.0, "coefficient": 1.0}],
                "intercept": 0.5, "calibrator": {"method": "identity"}}
    scorer = load_scorer(art.write_artifact(tmp_path, artifact))
    assert scorer.predict(np.array([[3.0, 2.0]])).tolist() == [0.5 + 3.0 * (3.0 - 1.0) / 2.0 + 2.0]
    with pytest.raises(FeatureError, match="overflows"):
        scorer.predict(np.array([[1.0, 1e308], [1e308, 1e308]]))


def test_validate_matrix_accepts_ints_and_bools():
    out = validate_matrix(np.array([[1, 0], [2, 1]], dtype=np.int64), ["a", "b"])
    assert out.dtype == np.float64
    assert validate_matrix(np.array([[True, False]]), ["a", "b"]).tolist() == [[1.0, 0.0]]


# --- model keys --------------------------------------------------------------------------------------


def test_unknown_model_key_lists_the_known_ones(models_dir):
    with pytest.raises(UnknownModelError, match="unknown model key 'home_win_logistc' \\(did you mean "
                                                "'home_win_logistic'\\?\\); known keys: ens_mean_binary"):
        resolve_artifact(models_dir, "home_win_logistc")
    with pytest.raises(UnknownModelError, match="unknown model key '../etc'"):
        resolve_artifact(models_dir, "../etc")
    assert "home_win_logistic" in known_model_keys(models_dir)


def test_current_pointer(tmp_path):
    pipe = linear_pipeline(LOGISTIC["l2"]()).fit(X, WIN)
    for model_id in ("a1", "b2"):
        art.write_artifact(tmp_path / "k" / model_id, art.export_linear(pipe, **metadata(model_key="k", model_id=model_id)))
    with pytest.raises(UnknownModelError, match="no models under"):
        resolve_artifact(tmp_path / "nowhere", "k")
    set_current(tmp_path, "k", "a1")
    assert resolve_artifact(tmp_path, "k") == tmp_path / "k" / "a1" / "artifact.json"
    set_current(tmp_path, "k", "b2")
    assert load_model(tmp_path, "k").model_id == "b2"
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["a1", "b2", "current"]  # no temp files
    with pytest.raises(ArtifactError, match="no artifact"):
        set_current(tmp_path, "k", "c3")
    (tmp_path / "k" / "current").write_text("gone\n")
    with pytest.raises(ArtifactError, match="names 'gone', which has no artifact.json"):
        resolve_artifact(tmp_path, "k")


def test_tampered_onnx_is_refused(models_dir, tmp_path):
    import shutil

    shutil.copytree(models_dir / "xgb_binary" / metadata()["model_id"], tmp_path / "m1")
    with open(tmp_path / "m1" / "model.onnx", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ArtifactError, match="does not match the sha256"):
        load_scorer(tmp_path / "m1")


# --- what `bsi predict` prints -------------------------------------------------------------------------


def test_predict_text(models_dir):
    import json

    text = predict_text(models_dir, "home_win_logistic", json.dumps(row(0)))
    lines = text.splitlines()
    assert lines[0] == "model       home_win_logistic (20260101T000000Z-test)"
    assert lines[1].startswith("probability ") and "(uncalibrated " in lines[1]
    assert lines[2].startswith("top contributions (logit scale; base ")
    assert len(lines) == 3 + 5 and all(line.strip().split()[-1][0] in "+-" for line in lines[3:])
    value = load_model(models_dir, "home_win_logistic").explain(row(0)).value
    assert float(lines[1].split()[1]) == pytest.approx(value, rel=1e-5)
    assert predict_text(models_dir, "run_margin_ridge", json.dumps(row(0))).splitlines()[1].startswith("value ")
    with pytest.raises(FeatureError, match="not valid JSON"):
        predict_text(models_dir, "home_win_logistic", "{elo_diff: 3}")
    with pytest.raises(FeatureError, match="must be a JSON object"):
        predict_text(models_dir, "home_win_logistic", "[1, 2]")
    with pytest.raises(UnknownModelError):
        predict_text(models_dir, "nope", "{}")
