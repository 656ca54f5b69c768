"""Benchmark: scoring exported models, batch and single row with explanation.

    python bench/bench_scoring.py

Fits small models on synthetic game data (fixed seed), exports them with bsi_pipeline.models.artifact
into a temporary folder and times scoring through bsi_pipeline.models.scoring:

* batch scoring from the JSON artifact of a 10-feature logistic model (Platt calibrator) over
  2,000,000 rows, in rows/s, best of several runs (includes input checks and calibration);
* one prediction with its explanation (dict in, validated, top five contributions out), p50 and
  p99 latency over 20,000 calls, in process;
* onnxruntime batch scoring of an xgboost classifier (200 trees, depth 6), in rows/s;
* for reference, single-row explanation latency of that xgboost model (onnxruntime on one thread
  plus xgboost's exact TreeSHAP, which dominates: its cost grows with trees x leaves x depth^2).

Uses the machine's cores as numpy and onnxruntime do by default.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bsi_pipeline.models.artifact import export_linear, export_tree, write_artifact  # noqa: E402
from bsi_pipeline.models.scoring import load_scorer  # noqa: E402

N_FEATURES = 10
BATCH_ROWS = 2_000_000
SINGLE_CALLS = 20_000
ONNX_ROWS = 200_000


def data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES)) * np.linspace(1, 50, N_FEATURES) + np.linspace(0, 100, N_FEATURES)
    z = ((X - np.linspace(0, 100, N_FEATURES)) / np.linspace(1, 50, N_FEATURES)) @ rng.normal(0, 0.4, N_FEATURES)
    return X, (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)


def best_rate(fn, rows: int, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return rows / min(times), min(times)


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    import xgboost as xgb

    print(f"cores available: {len(os.sched_getaffinity(0))}")
    features = [f"f{i}" for i in range(N_FEATURES)]
    X_train, y_train = data(20_000, 1)
    meta = dict(model_key="bench", model_id="1", task="binary", features=features,
                metrics={}, train_window={"start": "2020-01-01", "end": "2021-01-01"})
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pipe = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(max_iter=1000))]).fit(X_train, y_train)
        write_artifact(tmp / "linear", export_linear(pipe, calibrator={"method": "platt", "a": 1.1, "b": -0.05}, **meta))
        linear = load_scorer(tmp / "linear" / "artifact.json")

        X, _ = data(BATCH_ROWS, 2)
        linear.predict(X[:1000])
        rate, seconds = best_rate(lambda: linear.predict(X), BATCH_ROWS, 7)
        print(f"JSON artifact batch, {N_FEATURES}-feature logistic, {BATCH_ROWS:,} rows: "
              f"{rate:,.0f} rows/s ({seconds * 1e3:.1f} ms, best of 7)")

        rows = [dict(zip(features, r)) for r in X[:SINGLE_CALLS].tolist()]
        for values in rows[:1000]:
            linear.explain(values)
        latencies = np.empty(SINGLE_CALLS)
        for i, values in enumerate(rows):
            started = time.perf_counter()
            linear.explain(values, top=5)
            latencies[i] = time.perf_counter() - started
        p50, p99 = np.percentile(latencies, [50, 99]) * 1e6
        print(f"single prediction + explanation (linear JSON), {SINGLE_CALLS:,} calls: "
              f"p50 {p50:.1f} us, p99 {p99:.1f} us")

        model = xgb.XGBClassifier(n_estimators=200, max_depth=6, learning_rate=0.1).fit(X_train, y_train)
        write_artifact(tmp / "xgb", export_tree(model, calibrator=None, directory=tmp / "xgb", **meta))
        trees = load_scorer(tmp / "xgb" / "artifact.json")
        X_onnx = X[:ONNX_ROWS]
        trees.predict(X_onnx[:1000])
        rate, seconds = best_rate(lambda: trees.predict(X_onnx), ONNX_ROWS, 5)
        print(f"ONNX batch, xgboost 200 trees depth 6, {ONNX_ROWS:,} rows: "
              f"{rate:,.0f} rows/s ({seconds * 1e3:.1f} ms, best of 5)")
        native = best_rate(lambda: model.predict_proba(X_onnx), ONNX_ROWS, 3)[0]
        print(f"  (native xgboost predict_proba on the same rows: {native:,.0f} rows/s)")

        trees = load_scorer(tmp / "xgb" / "artifact.json", threads=1)  # one row: no thread pool to wake
        n = 2_000
        for values in rows[:100]:
            trees.explain(values)
        latencies = np.empty(n)
        for i, values in enumerate(rows[:n]):
            started = time.perf_counter()
            trees.explain(values, top=5)
            latencies[i] = time.perf_counter() - started
        p50, p99 = np.percentile(latencies, [50, 99]) * 1e6
        print(f"single prediction + explanation (xgboost: ONNX + native SHAP), {n:,} calls: "
              f"p50 {p50:.1f} us, p99 {p99:.1f} us")


if __name__ == "__main__":
    main()
