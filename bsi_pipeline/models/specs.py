"""Model specs as data: one entry per model key in model_specs.yaml (or a file named by $BSI_MODEL_SPECS).

A spec says what to predict, from which features, with which algorithms and which time-based split.
The Dagster layer builds one train -> calibrate -> evaluate chain per spec, so adding a model is
adding a spec.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SPECS_PATH = Path(__file__).with_name("model_specs.yaml")
TASKS = ("binary", "regression", "count")
BASE_ALGORITHMS = ("ridge", "lasso", "elastic_net", "xgboost", "lightgbm")
COMBINERS = ("ensemble", "stacking")
ALGORITHMS = BASE_ALGORITHMS + COMBINERS
CLASS_WEIGHT_AUTO_BELOW = 0.10   # `class_weight: auto` balances classes when the positive rate is below this


class SpecError(ValueError):
    """A model spec that cannot be used, naming the key and the problem."""


@dataclass(frozen=True)
class SplitSpec:
    test_last_seasons: int = 1
    valid_fraction: float = 0.2


@dataclass(frozen=True)
class ModelSpec:
    key: str
    description: str
    sport: str
    league: str
    task: str
    feature_table: str
    target: str
    features: tuple[str, ...]
    algorithms: tuple[str, ...]
    split: SplitSpec = SplitSpec()
    min_rows: dict = field(default_factory=lambda: {"train": 100, "valid": 50, "test": 50})
    filter: dict = field(default_factory=dict)
    class_weight: str = "none"
    baseline: str | None = None
    must_beat_baseline: bool = False
    # more columns scored beside the baseline on the same test rows (model card, eval_snapshots, reliability
    # plot), e.g. the league's best rating system: reported, never a gate
    compare_with: tuple[str, ...] = ()
    line_column: str | None = None
    selection_tolerance: float = 0.001
    intended_use: str = ""
    limitations: str = ""
    # feature -> why its PSI cannot be judged against the training rows. The drift report still computes
    # the PSI, gives the row status "exempt" with this reason, and no retrain is asked for it. A monitoring
    # setting, not part of the model: left out of as_dict, so declaring one changes no model id.
    psi_exempt: dict = field(default_factory=dict)

    @property
    def is_classifier(self) -> bool:
        return self.task == "binary"

    def as_dict(self) -> dict:
        """Plain dict for hashing, artifacts and model cards."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "psi_exempt"}
        out["features"] = list(self.features)
        out["algorithms"] = list(self.algorithms)
        if self.compare_with:  # absent when empty: a spec without it keeps the model ids it had
            out["compare_with"] = list(self.compare_with)
        else:
            del out["compare_with"]
        out["split"] = {"test_last_seasons": self.split.test_last_seasons,
                        "valid_fraction": self.split.valid_fraction}
        return out


def _parse(key: str, raw: dict) -> ModelSpec:
    if not isinstance(raw, dict):
        raise SpecError(f"model spec {key!r}: expected a mapping, got {type(raw).__name__}")
    required = ("sport", "league", "task", "feature_table", "target", "features", "algorithms")
    missing = [name for name in required if name not in raw]
    if missing:
        raise SpecError(f"model spec {key!r}: missing {', '.join(missing)}")
    unknown = set(raw) - set(ModelSpec.__dataclass_fields__)
    if unknown:
        raise SpecError(f"model spec {key!r}: unknown field(s) {', '.join(sorted(unknown))}")
    if raw["task"] not in TASKS:
        raise SpecError(f"model spec {key!r}: task {raw['task']!r} is not one of {TASKS}")
    bad = [a for a in raw["algorithms"] if a not in ALGORITHMS]
    if bad:
        raise SpecError(f"model spec {key!r}: unknown algorithm(s) {bad}; known: {ALGORITHMS}")
    if not any(a in BASE_ALGORITHMS for a in raw["algorithms"]):
        raise SpecError(f"model spec {key!r}: needs at least one of {BASE_ALGORITHMS}")
    if not raw["features"]:
        raise SpecError(f"model spec {key!r}: features is empty")
    if raw["target"] in raw["features"]:
        raise SpecError(f"model spec {key!r}: the target {raw['target']!r} is also a feature")
    split = SplitSpec(**(raw.get("split") or {}))
    if not 0.0 < split.valid_fraction < 1.0 or split.test_last_seasons < 1:
        raise SpecError(f"model spec {key!r}: split needs 0 < valid_fraction < 1 and test_last_seasons >= 1")
    if raw.get("class_weight", "none") not in ("none", "auto", "balanced"):
        raise SpecError(f"model spec {key!r}: class_weight must be none, auto or balanced")
    if raw["task"] == "count" and not raw.get("line_column"):
        raise SpecError(f"model spec {key!r}: task count needs line_column (its P(over the line) is evaluated)")
    compare_with = raw.get("compare_with") or []
    if compare_with and not raw.get("baseline"):
        raise SpecError(f"model spec {key!r}: compare_with needs a baseline (they are scored on its test rows)")
    if not isinstance(compare_with, list) or not all(isinstance(c, str) for c in compare_with):
        raise SpecError(f"model spec {key!r}: compare_with must be a list of column names")
    psi_exempt = raw.get("psi_exempt") or {}
    if not isinstance(psi_exempt, dict) or not all(isinstance(v, str) and v.strip() for v in psi_exempt.values()):
        raise SpecError(f"model spec {key!r}: psi_exempt must map each feature to the reason its PSI is not judged")
    strays = [f for f in psi_exempt if f not in raw["features"]]
    if strays:
        raise SpecError(f"model spec {key!r}: psi_exempt names {strays}, not among its features")
    values = dict(raw, key=key, psi_exempt=dict(psi_exempt), split=split, features=tuple(raw["features"]),
                  compare_with=tuple(compare_with),
                  algorithms=tuple(raw["algorithms"]), description=raw.get("description", key))
    return ModelSpec(**values)


def load_specs(path: str | os.PathLike | None = None) -> dict[str, ModelSpec]:
    """Every spec in the file (default: $BSI_MODEL_SPECS, else the packaged model_specs.yaml)."""
    path = Path(path or os.environ.get("BSI_MODEL_SPECS") or SPECS_PATH)
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    return {key: _parse(key, value) for key, value in raw.items()}
