"""Benchmark: training wall time per model key, and serving latency of each key's trained model.

    python bench/bench_models.py [--config PATH] [--keys k1,k2]

Reads the features_* tables of an already materialized workspace (run `bsi materialize --config
PATH` first), then per model key of model_specs.yaml:

* trains every candidate (tuning by time-series CV, ensemble, stacking, export) into a temporary
  folder with the pipeline's own train_stage, and prints the wall seconds;
* loads the key's trained model as served (the artifact the calibrator asset wrote, whether or not
  it was accepted) and times one prediction with its top-five explanation, p50 / p99 over 2,000
  calls on test rows, and batch scoring of the whole feature table in rows/s.

Prints peak memory (ru_maxrss) at the end.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bsi_pipeline.config import load_settings  # noqa: E402
from bsi_pipeline.lake import read_table_if_written  # noqa: E402
from bsi_pipeline.models.factory import slices_for, train_stage  # noqa: E402
from bsi_pipeline.models.scoring import load_scorer  # noqa: E402
from bsi_pipeline.models.specs import load_specs  # noqa: E402


def served_artifact(settings, lake, key: str) -> Path | None:
    """The calibrated artifact of the key's selected candidate, from the workspace's lake tables."""
    calibration = read_table_if_written(lake, f"calibrator_{key}")
    if calibration is None or calibration.height == 0:
        return None
    return settings.models_dir / key / calibration["model_id"][0] / "artifact.json"


def latency(scorer, rows: list[dict], calls: int = 2000) -> tuple[float, float]:
    times = []
    for i in range(calls):
        started = time.perf_counter()
        scorer.explain(rows[i % len(rows)], top=5)
        times.append(time.perf_counter() - started)
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    parser.add_argument("--keys")
    args = parser.parse_args()
    settings = load_settings(args.config)
    lake = settings.storage
    specs = load_specs()
    keys = args.keys.split(",") if args.keys else list(specs)
    print(f"workspace {settings.workspace}")
    print(f"{'model key':<26} {'rows':>8} {'train s':>8} {'selected':>12} {'p50 ms':>7} {'p99 ms':>7} {'batch rows/s':>13}")
    for key in keys:
        spec = specs[key]
        table = read_table_if_written(lake, spec.feature_table)
        if table is None:
            print(f"{key:<26} no {spec.feature_table} in this workspace: run bsi materialize first")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            candidates = train_stage(table, spec, Path(tmp))
            seconds = time.perf_counter() - started
        selected = candidates.filter(candidates["selected"])["algorithm"][0]
        path = served_artifact(settings, lake, key)
        p50 = p99 = rate = float("nan")
        if path and path.exists():
            scorer = load_scorer(path)
            test = slices_for(table, spec).test
            rows = test.select(spec.features).head(500).to_dicts()
            p50, p99 = latency(scorer, rows)
            X = np.ascontiguousarray(table.select(spec.features).to_numpy(), dtype=np.float64)
            started = time.perf_counter()
            scorer.predict(X)
            rate = X.shape[0] / (time.perf_counter() - started)
        print(f"{key:<26} {table.height:>8,} {seconds:>8.1f} {selected:>12} {p50:>7.3f} {p99:>7.3f} {rate:>13,.0f}",
              flush=True)
    print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
