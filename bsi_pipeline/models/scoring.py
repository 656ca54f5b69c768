"""Scoring and explaining exported models, from the artifact alone (no trainer, no sklearn).

``load_scorer(path)`` reads an artifact (artifact.py) and returns a Scorer:

* ``linear_json``: pure numpy. ``predict`` folds the scaler into the weights (X @ coef/std + offset);
  ``explain`` gives coefficient * standardized value per feature, on the link scale (logit for
  binary, the value for regression): they sum with the intercept to the raw link value exactly.
* ``onnx`` (xgboost / lightgbm): onnxruntime for predictions; explanations are the native library's
  SHAP contributions (xgboost pred_contribs, lightgbm pred_contrib) from the native file, on the
  margin scale; base (the bias term) + contributions = margin, to float32 rounding.
* ``ensemble_onnx``: onnxruntime on the combined graph; explanations combine the members'
  contributions with the ensemble's weights (stacking: the stacker's coefficients). That is exact
  for stacking (binary stacking works on member logits = margins, until a margin is clipped at
  calibration.logit's +-27.6) and for a weighted mean of regression values; for a weighted mean of
  probabilities it is an approximation (the mean of logits is not the logit of the mean):
  ``Explanation.exact`` is False there and base + contributions != margin.

Predictions: ``predict_raw`` is the model's own probability (binary) or value; ``predict`` applies
the artifact's calibrator to it. Inputs are checked: FeatureError names the missing, unknown, NaN,
infinite or non-numeric feature, UnknownModelError lists the known model keys.
"""

from __future__ import annotations

import abc

import difflib
import json
import numbers
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Mapping

import numpy as np

from bsi_pipeline.models import onnx_graphs
from bsi_pipeline.models.artifact import (ARTIFACT_FILE, ArtifactError, atomic_write, folded_weights,
                                          linear_arrays, read_artifact, sha256)
from bsi_pipeline.models.calibration import apply_calibration

CURRENT_FILE = "current"


class FeatureError(ValueError):
    """Bad scoring input; ``problems`` lists each one (missing, unknown, NaN, non-numeric ...)."""

    def __init__(self, problems: list[str] | str, model: str | None = None):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        where = f" for model {model!r}" if model else ""
        super().__init__(f"bad features{where}: " + "; ".join(self.problems))


class UnknownModelError(LookupError):
    """A model key with no current model; the message lists the keys there are."""

    def __init__(self, model_key: str, known: list[str], models_dir: Path):
        self.model_key, self.known = model_key, known
        hint = difflib.get_close_matches(str(model_key), known, n=1)
        text = f"unknown model key {model_key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
        if _safe_name(model_key) and (Path(models_dir) / str(model_key)).is_dir():
            text = (f"model key {model_key!r} has no current model: it was trained, but no version has passed "
                    "acceptance (see eval_snapshots and model_cards for why)")
        text += f"; known keys: {', '.join(known)}" if known else f"; no models under {models_dir}"
        super().__init__(text)

    def __str__(self) -> str:  # LookupError would repr() the message
        return self.args[0]


@dataclass
class Explanation:
    """One scored row: calibrated value, raw value, and the top signed contributions (link scale)."""

    value: float  # calibrated probability (binary) or value (regression)
    raw_value: float  # the model's own probability or value, before calibration
    contributions: list[tuple[str, float]]  # (feature, contribution), by |contribution| descending
    link: str  # scale of margin / base / contributions: "logit" or "identity"
    margin: float = 0.0  # raw_value on the link scale
    base: float = 0.0  # intercept / SHAP bias: base + all contributions = margin when exact
    exact: bool = True  # False for a weighted mean of probabilities (see module docstring)


# ---------------------------------------------------------------------------------------------
# input validation


def _number(name: str, value, problems: list[str]) -> float:
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, str):
        problems.append(f"feature {name!r} must be a number, got the string {value!r}")
        return 0.0
    if value is None:
        problems.append(f"feature {name!r} is null (no value)")
        return 0.0
    if not isinstance(value, (numbers.Real, Decimal)):
        problems.append(f"feature {name!r} must be a number, got {type(value).__name__} {value!r}")
        return 0.0
    number = float(value)
    if number != number:
        problems.append(f"feature {name!r} is NaN")
    elif number in (float("inf"), float("-inf")):
        problems.append(f"feature {name!r} is infinite ({number})")
    return number


def validate_values(values: Mapping[str, object], features: list[str], model: str | None = None) -> np.ndarray:
    """One row as float64 in feature order, or FeatureError naming every problem (bools count 0/1)."""
    if not isinstance(values, Mapping):
        raise FeatureError(f"features must be a mapping of name to number, got {type(values).__name__}", model)
    problems: list[str] = []
    missing = [f for f in features if f not in values]
    if missing:
        problems.append(f"missing feature(s): {', '.join(missing)}")
    if len(values) != len(features) - len(missing):
        known = set(features)
        for name in values:
            if name not in known:
                hint = difflib.get_close_matches(str(name), features, n=1)
                problems.append(f"unknown feature {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
    row = np.zeros(len(features))
    for i, name in enumerate(features):
        if name in values:
            row[i] = _number(name, values[name], problems)
    if problems:
        raise FeatureError(problems, model)
    return row


def _frame_in_order(X, features: list[str], model: str | None):
    """A DataFrame (polars / pandas) with the features' names, put in feature order."""
    columns = [str(c) for c in X.columns]
    if columns == features:
        return X
    missing = [f for f in features if f not in columns]
    unknown = [c for c in columns if c not in features]
    if missing or unknown:
        problems = [f"missing column(s): {', '.join(missing)}"] if missing else []
        problems += [f"unknown column(s): {', '.join(unknown)}"] if unknown else []
        raise FeatureError(problems, model)
    return X[features]


def validate_matrix(X, features: list[str], model: str | None = None, check_finite: bool = True) -> np.ndarray:
    """A 2-D float64 array in feature order, or FeatureError naming the column at fault."""
    if hasattr(X, "columns") and not isinstance(X, np.ndarray):
        X = _frame_in_order(X, features, model)
    source = np.asarray(X)
    if source.ndim != 2:
        raise FeatureError(f"X must be 2-D (rows x {len(features)} features), got shape {source.shape}", model)
    if source.shape[1] != len(features):
        raise FeatureError(f"X has {source.shape[1]} columns; the model takes {len(features)}: "
                           f"{', '.join(features)}", model)
    if source.dtype.kind not in "biuf":
        for j, name in enumerate(features):
            problems: list[str] = []
            for i, value in enumerate(source[:, j]):
                _number(name, value, problems)
                if problems:
                    raise FeatureError(f"column {name!r} row {i}: {problems[0]}", model)
    arr = np.asarray(source, dtype=np.float64)
    if check_finite and not np.isfinite(arr).all():
        _raise_nonfinite(arr, features, model)
    return arr


def _raise_nonfinite(arr: np.ndarray, features: list[str], model: str | None) -> None:
    bad = ~np.isfinite(arr)
    problems = []
    for j in np.flatnonzero(bad.any(axis=0)):
        rows = np.flatnonzero(bad[:, j])
        kind = "NaN" if np.isnan(arr[rows[0], j]) else "infinite"
        problems.append(f"column {features[j]!r} has {len(rows)} NaN/infinite value(s) "
                        f"(first: {kind} at row {rows[0]})")
    if problems:
        raise FeatureError(problems, model)


def _top(names: list[str], contributions: np.ndarray, top: int | None) -> list[tuple[str, float]]:
    order = np.argsort(-np.abs(contributions), kind="stable")
    if top is not None:
        order = order[:top]
    return [(names[i], float(contributions[i])) for i in order]


# ---------------------------------------------------------------------------------------------
# scorers


class Scorer(abc.ABC):
    """Common surface: features, predict, predict_raw, predict_margin, explain.
    LinearScorer (JSON) and OnnxScorer (trees, ensembles) implement the abstract methods."""

    def __init__(self, artifact: dict, directory: Path):
        self.artifact = artifact
        self.directory = directory
        self.features: list[str] = [f["name"] for f in artifact["features"]]
        self.model_key: str = artifact["model_key"]
        self.model_id: str = artifact["model_id"]
        self.task: str = artifact["task"]
        self.link: str = artifact["link"]
        self.calibrator: dict = artifact.get("calibrator") or {"method": "identity"}

    def _matrix(self, X, check_finite: bool = True) -> np.ndarray:
        return validate_matrix(X, self.features, self.model_key, check_finite)

    @abc.abstractmethod
    def predict_raw(self, X) -> np.ndarray:
        """Uncalibrated P(y=1) or value per row."""

    @abc.abstractmethod
    def predict_margin(self, X) -> np.ndarray:
        """The same on the link scale (log-odds for binary models)."""

    def predict(self, X) -> np.ndarray:
        """Calibrated probabilities (binary) or values (regression), one per row of X."""
        return apply_calibration(self.calibrator, self.predict_raw(X))

    @abc.abstractmethod
    def explain(self, values: Mapping[str, object], top: int | None = 5) -> Explanation:
        """One row's calibrated value and its top signed contributions."""

    def _explanation(self, raw: float, margin: float, base: float, contributions: np.ndarray,
                     names: list[str], top: int | None, exact: bool = True) -> Explanation:
        value = float(apply_calibration(self.calibrator, np.array([raw]))[0])
        return Explanation(value, float(raw), _top(names, contributions, top), self.link, float(margin),
                           float(base), exact)


class LinearScorer(Scorer):
    """linear_json: numpy only, the JSON is the whole model."""

    def __init__(self, artifact: dict, directory: Path):
        super().__init__(artifact, directory)
        self._mean, self._std, self._coef, self._intercept = linear_arrays(artifact)
        self._weights, self._offset = folded_weights(artifact)
        # Folding the scaler into the weights loses ~|mean/std| * 1e-16: centre first when that is large.
        self._centre = bool(np.max(np.abs(self._mean / self._std)) > 1e4)
        # BLAS may skip a zero weight's column, so a NaN there would not reach the margin: check those.
        self._zero_columns = np.flatnonzero(self._weights == 0.0)

    def predict_margin(self, X) -> np.ndarray:
        arr = self._matrix(X, check_finite=False)
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite results are caught below
            if self._centre:
                margin = (arr - self._mean) @ self._weights
                margin += self._intercept
            else:
                margin = arr @ self._weights
                margin += self._offset
        # A NaN/inf in X makes the margin non-finite: scan X (to name the column) only then.
        if not np.isfinite(margin).all() or (len(self._zero_columns)
                                             and not np.isfinite(arr[:, self._zero_columns]).all()):
            _raise_nonfinite(arr, self.features, self.model_key)
            raise FeatureError("values so large that the linear score overflows", self.model_key)
        return margin

    def predict_raw(self, X) -> np.ndarray:
        margin = self.predict_margin(X)
        if self.link == "logit":  # calibration.sigmoid, in place: 0.5 * (1 + tanh(z / 2))
            margin *= 0.5
            np.tanh(margin, out=margin)
            margin += 1.0
            margin *= 0.5
        return margin

    def explain(self, values: Mapping[str, object], top: int | None = 5) -> Explanation:
        x = validate_values(values, self.features, self.model_key)
        contributions = self._coef * ((x - self._mean) / self._std)
        margin = self._intercept + float(contributions.sum())
        raw = 0.5 * (1.0 + np.tanh(0.5 * margin)) if self.link == "logit" else margin
        return self._explanation(raw, margin, self._intercept, contributions, self.features, top)


class _LinearTerms:
    """A linear member's contributions: coefficient * standardized value."""

    def __init__(self, spec: dict):
        self.mean, self.std, self.coef, self.intercept = linear_arrays(spec)

    def contributions(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        return self.intercept, self.coef * ((x - self.mean) / self.std)


class _TreeTerms:
    """A tree model's SHAP contributions from its native file (loaded on first use, one thread)."""

    def __init__(self, native: dict, directory: Path):
        self.library = native["library"]
        self.path = directory / native["file"]
        self._booster = None

    def _load(self):
        if self.library == "xgboost":
            import xgboost

            booster = xgboost.Booster(model_file=str(self.path))
            booster.set_param({"nthread": 1})
        else:
            import lightgbm

            booster = lightgbm.Booster(model_file=str(self.path))
        self._booster = booster
        return booster

    def contributions(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        booster = self._booster or self._load()
        row = x.reshape(1, -1)
        if self.library == "xgboost":
            import xgboost

            out = booster.predict(xgboost.DMatrix(row, nthread=1), pred_contribs=True)[0]
        else:
            out = booster.predict(row, pred_contrib=True, num_threads=1)[0]
        out = np.asarray(out, dtype=np.float64)
        return float(out[-1]), out[:-1]


class OnnxScorer(Scorer):
    """onnx (tree) and ensemble_onnx: onnxruntime predictions, explanations from native models."""

    def __init__(self, artifact: dict, directory: Path, threads: int | None = None):
        super().__init__(artifact, directory)
        import onnxruntime as ort

        spec = artifact["onnx"]
        path = directory / spec["file"]
        if not path.is_file():
            raise ArtifactError(f"artifact {directory}: missing {spec['file']}")
        if spec.get("sha256") and sha256(path) != spec["sha256"]:
            raise ArtifactError(f"artifact {directory}: {spec['file']} does not match the sha256 in {ARTIFACT_FILE}")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = spec.get("input", onnx_graphs.INPUT)
        self._outputs = spec.get("outputs", {"prediction": onnx_graphs.PREDICTION, "margin": onnx_graphs.MARGIN})
        if artifact["format"] == "onnx":
            self._members = [(None, 1.0, _TreeTerms(artifact["native"], directory))]
            self._intercept, self._exact = 0.0, True
        else:
            index = {name: i for i, name in enumerate(self.features)}
            combiner = artifact["combiner"]
            if combiner == "weighted_mean":
                coefficients, self._intercept = artifact["weights"], 0.0
            else:
                coefficients, self._intercept = artifact["stacker"]["coefficients"], artifact["stacker"]["intercept"]
            self._members = []
            for member, coefficient in zip(artifact["members"], coefficients):
                cols = np.array([index[f["name"]] for f in member["features"]], dtype=np.int64)
                terms = _LinearTerms(member) if member["kind"] == "linear" else _TreeTerms(member["native"], directory)
                self._members.append((cols, float(coefficient), terms))
            self._exact = not (combiner == "weighted_mean" and self.link == "logit")

    def _run(self, name: str, arr: np.ndarray) -> np.ndarray:
        return self._session.run([self._outputs[name]], {self._input: np.ascontiguousarray(arr)})[0]

    def predict_raw(self, X) -> np.ndarray:
        return self._run("prediction", self._matrix(X))

    def predict_margin(self, X) -> np.ndarray:
        return self._run("margin", self._matrix(X))

    def explain(self, values: Mapping[str, object], top: int | None = 5) -> Explanation:
        x = validate_values(values, self.features, self.model_key)
        raw, margin = self._session.run([self._outputs["prediction"], self._outputs["margin"]],
                                        {self._input: x.reshape(1, -1)})
        contributions = np.zeros(len(self.features))
        base = self._intercept
        exact = self._exact
        for cols, coefficient, terms in self._members:
            member_base, member_contrib = terms.contributions(x if cols is None else x[cols])
            base += coefficient * member_base
            if cols is None:
                contributions += coefficient * member_contrib
            else:
                np.add.at(contributions, cols, coefficient * member_contrib)
            if exact and self.artifact.get("combiner") == "stacking" and self.link == "logit":
                exact = bool(abs(member_base + member_contrib.sum()) <= onnx_graphs.LOGIT_MAX)
        return self._explanation(float(raw[0]), float(margin[0]), base, contributions, self.features, top, exact)


def load_scorer(artifact_path, *, threads: int | None = None) -> Scorer:
    """The Scorer for an artifact.json (or its folder), by its format. ``threads``: onnxruntime's intra-op threads."""
    path = Path(artifact_path)
    directory = path if path.is_dir() else path.parent
    artifact = read_artifact(path)
    if artifact["format"] == "linear_json":
        return LinearScorer(artifact, directory)
    return OnnxScorer(artifact, directory, threads)


# ---------------------------------------------------------------------------------------------
# model registry on disk: <models_dir>/<model_key>/current holds the model_id


def _safe_name(name: str) -> bool:
    return bool(name) and isinstance(name, str) and "/" not in name and "\\" not in name and not name.startswith(".")


def known_model_keys(models_dir) -> list[str]:
    """Keys with a current model."""
    root = Path(models_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / CURRENT_FILE).is_file())


def resolve_artifact(models_dir, model_key: str) -> Path:
    """Path of the current artifact.json of ``model_key``; UnknownModelError lists the known keys."""
    root = Path(models_dir)
    current = root / str(model_key) / CURRENT_FILE
    if not _safe_name(model_key) or not current.is_file():
        raise UnknownModelError(model_key, known_model_keys(root), root)
    model_id = current.read_text().strip()
    path = root / model_key / model_id / ARTIFACT_FILE
    if not _safe_name(model_id) or not path.is_file():
        raise ArtifactError(f"model {model_key!r}: {current} names {model_id!r}, which has no {ARTIFACT_FILE}")
    return path


def set_current(models_dir, model_key: str, model_id: str) -> Path:
    """Make ``model_id`` the current model of ``model_key`` (atomic); its artifact must exist."""
    if not (_safe_name(model_key) and _safe_name(model_id)):
        raise ValueError(f"model key {model_key!r} and id {model_id!r} must be plain names")
    folder = Path(models_dir) / model_key
    if not (folder / model_id / ARTIFACT_FILE).is_file():
        raise ArtifactError(f"no artifact at {folder / model_id / ARTIFACT_FILE}")
    atomic_write(folder / CURRENT_FILE, f"{model_id}\n".encode())
    return folder / CURRENT_FILE


def load_model(models_dir, model_key: str, *, threads: int | None = None) -> Scorer:
    """The Scorer of a model key's current model."""
    return load_scorer(resolve_artifact(models_dir, model_key), threads=threads)


# ---------------------------------------------------------------------------------------------
# what `bsi predict MODEL_KEY --features JSON` prints


def parse_features_json(text: str) -> dict:
    """--features as a JSON object, or FeatureError saying why not."""
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeatureError(f"--features is not valid JSON: {exc}") from None
    if not isinstance(values, dict):
        raise FeatureError(f"--features must be a JSON object of name: number, got {type(values).__name__}")
    return values


def format_explanation(scorer: Scorer, explanation: Explanation) -> str:
    """The calibrated probability (or value) and the top contributions, signed, as text."""
    what = "probability" if scorer.task == "binary" else "value"
    lines = [f"model       {scorer.model_key} ({scorer.model_id})",
             f"{what:<11} {explanation.value:.6g}" + (
                 f"  (uncalibrated {explanation.raw_value:.6g})" if scorer.calibrator.get("method") != "identity" else "")]
    scale = "logit" if explanation.link == "logit" else "value"
    note = "" if explanation.exact else ", approximate"
    lines.append(f"top contributions ({scale} scale{note}; base {explanation.base:+.4f}):")
    width = max((len(name) for name, _ in explanation.contributions), default=0)
    lines += [f"  {name:<{width}}  {value:+.4f}" for name, value in explanation.contributions]
    return "\n".join(lines)


def predict_text(models_dir, model_key: str, features_json: str, top: int = 5) -> str:
    """Score one row of a model key from JSON text and format it; raises FeatureError / UnknownModelError."""
    scorer = load_model(models_dir, model_key, threads=1)
    return format_explanation(scorer, scorer.explain(parse_features_json(features_json), top=top))


__all__ = ["ArtifactError", "Explanation", "FeatureError", "LinearScorer", "OnnxScorer", "Scorer",
           "UnknownModelError", "format_explanation", "known_model_keys", "load_model", "load_scorer",
           "parse_features_json", "predict_text", "resolve_artifact", "set_current", "validate_matrix",
           "validate_values"]
