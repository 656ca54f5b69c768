"""Model artifacts: what a fitted model is exported to, so it can be scored without the trainer.

Formats (``artifact.json``, schema_version 1, in the model's own folder):

* ``linear_json``: a StandardScaler + linear-model pipeline as plain numbers (per feature mean,
  std, coefficient; intercept). Scoring it needs numpy only; it is the model's full definition.
* ``onnx``: an xgboost / lightgbm model as ``model.onnx`` (conventions in onnx_graphs: input
  ``features`` double [N, F], outputs ``prediction`` and ``margin`` double [N]), plus the native
  model file (xgboost JSON / lightgbm text) that explanations (SHAP contributions) come from.
* ``ensemble_onnx``: members combined by weighted mean or stacking as ONE ``model.onnx`` built
  from the member graphs; each member is also described in the JSON (linear members in full,
  tree members by their native file) so that the ensemble can be explained.

The artifact stores the calibrator dict (calibration.py); calibrated = calibrator(raw prediction).
File names inside an artifact are relative to its folder. ``artifact.json`` is written last and
atomically, so a folder with one is complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from bsi_pipeline.models import onnx_graphs
from bsi_pipeline.models.calibration import CALIBRATION_METHODS, apply_calibration, logit

SCHEMA_VERSION = 1
ARTIFACT_FILE = "artifact.json"
FORMATS = ("linear_json", "onnx", "ensemble_onnx")
# count: a regression of a mean count (counts.py adds its dispersion to the artifact); same models
TASKS = {"binary": "logit", "regression": "identity", "count": "identity"}
COMBINERS = ("weighted_mean", "stacking")
REPO = Path(__file__).resolve().parents[2]


class ArtifactError(ValueError):
    """An artifact that cannot be exported or read: the message says what is wrong."""


# ---------------------------------------------------------------------------------------------
# provenance and JSON


def git_hash() -> str:
    """The code version a model was trained with: $BSI_GIT_HASH, else the repo's HEAD, else 'unknown'."""
    env = os.environ.get("BSI_GIT_HASH", "").strip()
    if env:
        return env
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                             timeout=10, check=True)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _jsonable(value):
    """numpy scalars/arrays to Python; non-finite floats to None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, str):
        return value
    return str(value)


def atomic_write(path: Path, data: bytes) -> None:
    """Temp file in the same folder, fsync, rename: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_artifact(directory, artifact: dict) -> Path:
    """Write ``artifact.json`` atomically into ``directory``; returns its path."""
    path = Path(directory) / ARTIFACT_FILE
    text = json.dumps(_jsonable(artifact), indent=2, allow_nan=False) + "\n"
    atomic_write(path, text.encode())
    return path


def read_artifact(path) -> dict:
    """The artifact dict from ``artifact.json`` (or the folder holding it), checked for schema and format."""
    path = Path(path)
    if path.is_dir():
        path = path / ARTIFACT_FILE
    try:
        artifact = json.loads(path.read_text())
    except FileNotFoundError:
        raise ArtifactError(f"no artifact at {path}") from None
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"artifact {path} is not valid JSON: {exc}") from None
    if artifact.get("schema_version") != SCHEMA_VERSION:
        raise ArtifactError(f"artifact {path}: schema_version {artifact.get('schema_version')!r}, "
                            f"this code reads {SCHEMA_VERSION}")
    if artifact.get("format") not in FORMATS:
        raise ArtifactError(f"artifact {path}: unknown format {artifact.get('format')!r}; expected one of {FORMATS}")
    return artifact


# ---------------------------------------------------------------------------------------------
# shared metadata


def _assemble(header: dict, body: dict) -> dict:
    """Header and format body in one readable order: what the model is, then its provenance."""
    head = ("schema_version", "format", "model_key", "model_id", "task", "link", "model_type")
    merged = {**header, **body}
    return {**{k: merged[k] for k in head}, **{k: v for k, v in merged.items() if k not in head}}


def _header(fmt: str, *, model_key, model_id, task, features, calibrator, metrics, train_window,
            extra, model_type: str) -> dict:
    if task not in TASKS:
        raise ArtifactError(f"task {task!r}: expected one of {tuple(TASKS)}")
    names = [str(f) for f in features]
    if len(set(names)) != len(names) or not names:
        raise ArtifactError(f"features must be distinct and non-empty: {names}")
    calibrator = dict(calibrator or {"method": "identity"})
    if calibrator.get("method") not in CALIBRATION_METHODS:
        raise ArtifactError(f"calibrator method {calibrator.get('method')!r}: expected one of {CALIBRATION_METHODS}")
    if task != "binary" and calibrator["method"] != "identity":
        raise ArtifactError(f"a {task} model's calibrator must be identity (or absent)")
    apply_calibration(calibrator, np.array([0.25, 0.75]))  # fails now, not at scoring time
    return {
        "names": names,  # popped by the exporters: each format writes its own feature entries
        "schema_version": SCHEMA_VERSION,
        "format": fmt,
        "model_key": str(model_key),
        "model_id": str(model_id),
        "task": task,
        "link": TASKS[task],
        "model_type": model_type,
        "calibrator": calibrator,
        "metrics": metrics or {},
        "train_window": train_window,
        "git_hash": git_hash(),
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "extra": extra or {},
    }


# ---------------------------------------------------------------------------------------------
# linear


_LINEAR_TYPES = {"LogisticRegression": ("binary", "logistic_regression"), "Ridge": ("regression", "ridge"),
                 "Lasso": ("regression", "lasso"), "ElasticNet": ("regression", "elastic_net"),
                 "LinearRegression": ("regression", "linear_regression")}


def linear_spec(pipeline, task: str, features: list[str]) -> dict:
    """A [StandardScaler +] linear model as numbers: model_type, link, features (name, mean, std, coefficient), intercept."""
    steps = [step for _, step in getattr(pipeline, "steps", [(None, pipeline)])]
    est = steps[-1]
    name = type(est).__name__
    if name not in _LINEAR_TYPES:
        raise ArtifactError(f"{name} is not a supported linear model ({sorted(_LINEAR_TYPES)})")
    est_task, model_type = _LINEAR_TYPES[name]
    if est_task != _model_task(task):
        raise ArtifactError(f"{name} is a {est_task} model, the artifact's task is {task!r}")
    n = len(features)
    mean, std = np.zeros(n), np.ones(n)
    if len(steps) > 2 or any(type(step).__name__ != "StandardScaler" for step in steps[:-1]):
        raise ArtifactError(f"pipeline {[type(s).__name__ for s in steps]} is not supported "
                            "(StandardScaler then the linear model)")
    for scaler in steps[:-1]:  # z = (x - mean_) / scale_, each only when switched on
        if scaler.with_mean:
            mean = np.asarray(scaler.mean_, dtype=np.float64)
        if scaler.with_std:
            std = np.asarray(scaler.scale_, dtype=np.float64)
    coef = np.asarray(est.coef_, dtype=np.float64)
    intercept = np.ravel(np.asarray(est.intercept_, dtype=np.float64))
    if coef.ndim == 2:
        if coef.shape[0] != 1:
            raise ArtifactError(f"{name} has {coef.shape[0]} outputs; one (binary / single target) is supported")
        coef = coef[0]
    if intercept.size != 1:
        raise ArtifactError(f"{name} has {intercept.size} intercepts; one is supported")
    if task == "binary" and len(getattr(est, "classes_", [])) != 2:
        raise ArtifactError(f"{name} must be a binary classifier")
    if coef.shape[0] != n:
        raise ArtifactError(f"the model has {coef.shape[0]} coefficients for {n} features {features}")
    seen = getattr(pipeline, "feature_names_in_", None)
    if seen is not None and [str(s) for s in seen] != list(features):
        raise ArtifactError(f"the model was fitted on columns {list(seen)}, not {list(features)}")
    if not (np.isfinite(coef).all() and np.isfinite(intercept).all() and np.isfinite(mean).all()
            and np.isfinite(std).all() and (std > 0).all()):
        raise ArtifactError(f"{name}: non-finite coefficients or scaler values")
    return {
        "model_type": model_type,
        "link": TASKS[task],
        "features": [{"name": f, "mean": float(m), "std": float(s), "coefficient": float(c)}
                     for f, m, s, c in zip(features, mean, std, coef)],
        "intercept": float(intercept[0]),
        "estimator": {"class": name, "params": _jsonable({k: v for k, v in est.get_params().items()
                                                          if isinstance(v, (str, int, float, bool, type(None)))})},
    }


def linear_arrays(spec: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """mean, std, coefficient arrays and the intercept of a linear spec (artifact or member)."""
    feats = spec["features"]
    return (np.array([f["mean"] for f in feats], dtype=np.float64),
            np.array([f["std"] for f in feats], dtype=np.float64),
            np.array([f["coefficient"] for f in feats], dtype=np.float64),
            float(spec["intercept"]))


def folded_weights(spec: dict) -> tuple[np.ndarray, float]:
    """Weights on raw values and the offset: coef/std and intercept - sum(coef*mean/std)."""
    mean, std, coef, intercept = linear_arrays(spec)
    weights = coef / std
    return weights, intercept - float(np.dot(weights, mean))


def _model_task(task: str) -> str:
    """The kind of fitted model a task takes: a classifier for binary, a regressor otherwise."""
    return "binary" if task == "binary" else "regression"


def _native_prediction(model, task: str, X: np.ndarray) -> np.ndarray:
    if task == "binary":
        return np.asarray(model.predict_proba(X), dtype=np.float64)[:, 1]
    return np.asarray(model.predict(X), dtype=np.float64)


def export_linear(pipeline, *, model_key: str, model_id: str, task: str, features: list[str],
                  calibrator: dict | None, metrics: dict | None, train_window, extra: dict | None = None,
                  check_X: np.ndarray | None = None) -> dict:
    """The ``linear_json`` artifact of a fitted [StandardScaler +] linear pipeline.

    ``check_X``: rows to verify that scoring from the JSON equals the pipeline (1e-9) before returning.
    """
    header = _header("linear_json", model_key=model_key, model_id=model_id, task=task, features=features,
                     calibrator=calibrator, metrics=metrics, train_window=train_window, extra=extra,
                     model_type="")
    spec = linear_spec(pipeline, task, header.pop("names"))
    artifact = _assemble(header, spec)
    if check_X is not None:
        weights, offset = folded_weights(spec)
        margin = np.asarray(check_X, dtype=np.float64) @ weights + offset
        mine = 0.5 * (1.0 + np.tanh(0.5 * margin)) if task == "binary" else margin
        _check(mine, _native_prediction(pipeline, task, check_X), 1e-9, "JSON scoring vs the pipeline")
    return artifact


# ---------------------------------------------------------------------------------------------
# trees and ensembles


def _tree_library(model) -> str:
    module = type(model).__module__
    if module.startswith("xgboost"):
        return "xgboost"
    if module.startswith("lightgbm"):
        return "lightgbm"
    raise ArtifactError(f"{type(model).__name__} is not an xgboost or lightgbm model")


def _xgb_booster(model):
    """The booster predict() uses: trimmed to the best iteration when early stopping set one."""
    booster = model.get_booster()
    best = booster.attr("best_iteration")
    return booster[: int(best) + 1] if best is not None else booster


def _tree_task(model, library: str) -> str:
    is_classifier = "Classifier" in type(model).__name__
    if is_classifier and len(getattr(model, "classes_", [])) != 2:
        raise ArtifactError(f"{type(model).__name__} must be a binary classifier")
    return "binary" if is_classifier else "regression"


def _write_tree_member(model, task: str, n_features: int, directory: Path, stem: str):
    """Native file + TreeSet for one tree model; returns (description, onnx ModelProto)."""
    library = _tree_library(model)
    if _tree_task(model, library) != _model_task(task):
        raise ArtifactError(f"{type(model).__name__} does not fit the task {task!r}")
    if getattr(model, "n_features_in_", n_features) != n_features:
        raise ArtifactError(f"{type(model).__name__} takes {model.n_features_in_} features, not {n_features}")
    if library == "xgboost":
        import xgboost

        booster = _xgb_booster(model)
        trees = onnx_graphs.xgboost_trees(booster)
        native = f"{stem}.xgb.json"
        data = bytes(booster.save_raw("json"))
        version = xgboost.__version__
    else:
        import lightgbm

        booster = model.booster_
        trees = onnx_graphs.lightgbm_trees(booster)
        native = f"{stem}.lgb.txt"
        data = booster.model_to_string().encode()  # best iteration, like predict()
        version = lightgbm.__version__
    if trees.link != TASKS[task]:
        raise ArtifactError(f"{library} objective has link {trees.link!r}; task {task!r} needs {TASKS[task]!r}")
    atomic_write(directory / native, data)
    description = {"kind": "tree", "model_type": library, "link": trees.link,
                   "native": {"library": library, "version": version, "file": native,
                              "sha256": hashlib.sha256(data).hexdigest()}}
    return description, onnx_graphs.tree_model(trees, n_features)


def _write_onnx(directory: Path, model) -> dict:
    data = model.SerializeToString()
    atomic_write(directory / "model.onnx", data)
    return {"file": "model.onnx", "sha256": hashlib.sha256(data).hexdigest(), "input": onnx_graphs.INPUT,
            "outputs": {"prediction": onnx_graphs.PREDICTION, "margin": onnx_graphs.MARGIN},
            "opset": onnx_graphs.OPSET}


def _run_onnx(model, X: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run([onnx_graphs.PREDICTION], {onnx_graphs.INPUT: np.ascontiguousarray(X, dtype=np.float64)})[0]


def _check(mine: np.ndarray, native: np.ndarray, tol: float, what: str) -> None:
    gap = float(np.max(np.abs(mine - native))) if len(native) else 0.0
    if not gap <= tol:
        raise ArtifactError(f"{what}: largest difference {gap:.3g} exceeds {tol:g}")


def export_tree(model, *, model_key: str, model_id: str, task: str, features: list[str],
                calibrator: dict | None, metrics: dict | None, train_window, directory,
                extra: dict | None = None, check_X: np.ndarray | None = None) -> dict:
    """The ``onnx`` artifact of a fitted XGB/LGBM classifier or regressor; writes model.onnx and the native file.

    ``check_X``: rows to verify onnxruntime against the native predictions (1e-5) before returning.
    """
    header = _header("onnx", model_key=model_key, model_id=model_id, task=task, features=features,
                     calibrator=calibrator, metrics=metrics, train_window=train_window, extra=extra,
                     model_type=_tree_library(model))
    directory = Path(directory)
    names = header.pop("names")
    member, graph = _write_tree_member(model, task, len(names), directory, "model")
    if check_X is not None:
        _check(_run_onnx(graph, check_X), _native_prediction(model, task, check_X), 1e-5,
               "onnxruntime vs the native model")
    return _assemble(header, {"features": [{"name": f} for f in names],
                              "onnx": _write_onnx(directory, graph), "native": member["native"]})


def _member_kind(model) -> str:
    if type(model).__module__.startswith(("xgboost", "lightgbm")):
        return "tree"
    return "linear"


def export_ensemble(members: list | dict, combiner: str, weights_or_stacker, *, model_key: str, model_id: str,
                    task: str, features: list[str], calibrator: dict | None, metrics: dict | None,
                    train_window, directory, member_features: list[list[str]] | None = None,
                    extra: dict | None = None, check_X: np.ndarray | None = None) -> dict:
    """The ``ensemble_onnx`` artifact: members combined in ONE model.onnx, each member described in the JSON.

    ``members``: a list, or a dict name -> model (the names go into the JSON). ``weights_or_stacker``:
    for "weighted_mean" the weights (summing to 1), for "stacking" a fitted sklearn linear model
    (coef_, intercept_), a (coefficients, intercept) tuple or {"coefficients": ..., "intercept": b};
    weights / coefficients are a list in member order or a dict keyed like ``members``. Binary
    stacking is sigmoid(intercept + sum coef_i * logit(p_i)); otherwise intercept + sum coef_i * v_i.
    ``member_features``: each member's columns when they differ from ``features`` (default: all).
    ``check_X``: rows to verify the graph against combining the native member predictions (1e-5).
    """
    header = _header("ensemble_onnx", model_key=model_key, model_id=model_id, task=task, features=features,
                     calibrator=calibrator, metrics=metrics, train_window=train_window, extra=extra,
                     model_type="ensemble")
    names = header.pop("names")
    if combiner not in COMBINERS:
        raise ArtifactError(f"combiner {combiner!r}: expected one of {COMBINERS}")
    member_names = [str(k) for k in members] if isinstance(members, dict) else None
    members = list(members.values()) if isinstance(members, dict) else list(members)
    if not members:
        raise ArtifactError("an ensemble needs at least one member")
    member_features = member_features or [names] * len(members)
    if len(member_features) != len(members):
        raise ArtifactError("member_features needs one feature list per member")
    if combiner == "weighted_mean":
        coefficients, intercept = _per_member(weights_or_stacker, member_names, "weights"), 0.0
        if abs(sum(coefficients) - 1.0) > 1e-9 or min(coefficients) < 0:
            raise ArtifactError(f"weighted_mean needs one non-negative weight per member summing to 1: {coefficients}")
    else:
        stacker = weights_or_stacker
        if isinstance(stacker, dict):
            coef, intercept = stacker["coefficients"], stacker["intercept"]
        elif isinstance(stacker, tuple):
            coef, intercept = stacker
        else:
            coef, intercept = np.ravel(stacker.coef_), np.ravel(np.asarray(stacker.intercept_, dtype=np.float64))[0]
        coefficients, intercept = _per_member(coef, member_names, "stacker coefficients"), float(intercept)
    if len(coefficients) != len(members):
        raise ArtifactError(f"{len(coefficients)} weights / coefficients for {len(members)} members")
    if not all(math.isfinite(c) for c in [*coefficients, intercept]):
        raise ArtifactError("non-finite ensemble weights")

    directory = Path(directory)
    described, graphs, columns = [], [], []
    for i, (model, cols) in enumerate(zip(members, member_features)):
        cols = [str(c) for c in cols]
        unknown = [c for c in cols if c not in names]
        if unknown:
            raise ArtifactError(f"member {i} uses features {unknown} that the ensemble does not list")
        if _member_kind(model) == "tree":
            description, graph = _write_tree_member(model, task, len(cols), directory, f"member_{i}")
        else:
            description = {"kind": "linear", **linear_spec(model, task, cols)}
            graph = onnx_graphs.linear_model(*folded_weights(description), description["link"])
        described.append({"index": i, "name": member_names[i] if member_names else f"member_{i}", **description,
                          "features": description.get("features") or [{"name": c} for c in cols]})
        graphs.append(graph)
        columns.append(None if cols == names else [names.index(c) for c in cols])
    graph = onnx_graphs.ensemble_model(graphs, columns, len(names), combiner, TASKS[task], coefficients, intercept)
    if check_X is not None:
        check_X = np.asarray(check_X, dtype=np.float64)
        preds = [_native_prediction(m, task, check_X[:, [names.index(c) for c in cols]])
                 for m, cols in zip(members, member_features)]
        _check(_run_onnx(graph, check_X), combine_native(preds, combiner, task, coefficients, intercept), 1e-5,
               "ensemble graph vs the combined native members")
    combination = ({"weights": coefficients} if combiner == "weighted_mean"
                   else {"stacker": {"intercept": intercept, "coefficients": coefficients,
                                     "on": "logit" if task == "binary" else "value"}})
    return _assemble(header, {"features": [{"name": f} for f in names], "combiner": combiner, **combination,
                              "members": described, "onnx": _write_onnx(directory, graph)})


def _per_member(values, member_names: list[str] | None, what: str) -> list[float]:
    """Weights as a list (member order) or a dict keyed by the members' names."""
    if isinstance(values, dict):
        if member_names is None or set(map(str, values)) != set(member_names):
            raise ArtifactError(f"{what} keyed {sorted(map(str, values))} do not match the members {member_names}")
        values = {str(k): v for k, v in values.items()}
        return [float(values[name]) for name in member_names]
    return [float(v) for v in np.ravel(np.asarray(values, dtype=np.float64))]


def combine_native(predictions: list[np.ndarray], combiner: str, task: str, coefficients, intercept=0.0) -> np.ndarray:
    """The ensemble's raw prediction from its members' raw predictions, in numpy (the definition the graph follows)."""
    stack = np.column_stack([np.asarray(p, dtype=np.float64) for p in predictions])
    coefficients = np.asarray(coefficients, dtype=np.float64)
    if combiner == "weighted_mean":
        return stack @ coefficients
    if task == "binary":
        return 0.5 * (1.0 + np.tanh(0.5 * (intercept + logit(stack) @ coefficients)))
    return intercept + stack @ coefficients
