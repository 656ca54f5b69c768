"""ONNX graphs for tree and ensemble artifacts, built from the native models' own tree dumps.

Why not onnxmltools: its xgboost/lightgbm converters take float32 input and keep float32
thresholds, leaves and sums, which costs up to ~1e-5 on regression values and moves lightgbm's
double thresholds. The ai.onnx.ml ``TreeEnsemble`` operator (ml opset 5) runs in double, so a graph
built from the dumps reproduces the native model to rounding.

Conventions, for every graph built here (tree, linear member, ensemble):

* one input ``features``: tensor(double) [N, F], columns in the artifact's feature order;
* output ``prediction``: tensor(double) [N]: the raw (uncalibrated) positive-class probability
  for a binary task, the predicted value for a regression. No label output and no ZipMap: a plain
  tensor, one number per row;
* output ``margin``: tensor(double) [N]: the link-scale value (the logit for binary, the value
  itself for regression).

The artifact's calibrator is applied outside the graph, by the scorer. xgboost compares float32
values: its trees get the input cast to float32 and back, as xgboost's DMatrix does; lightgbm
compares doubles and gets the double input unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from bsi_pipeline.models.calibration import LOGIT_EPS, logit

INPUT = "features"
PREDICTION = "prediction"
MARGIN = "margin"
OPSET = {"": 17, "ai.onnx.ml": 5}
IR_VERSION = 10
# calibration.logit clips probabilities to [LOGIT_EPS, 1 - LOGIT_EPS]: stacking clips margins alike.
LOGIT_MAX = float(logit(np.array([1.0 - LOGIT_EPS]))[0])

_BRANCH_LEQ, _BRANCH_LT = 0, 1
_XGB_IDENTITY_OBJECTIVES = {"reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror",
                            "reg:quantileerror"}
_LGB_IDENTITY_OBJECTIVES = {"regression", "regression_l1", "huber", "fair", "quantile", "mape"}


@dataclass
class TreeSet:
    """Trees in TreeEnsemble (ml opset 5) form, plus the constant added to their sum."""

    library: str
    link: str  # "logit" or "identity"
    base_margin: float
    mode: int  # one comparison for the whole model: BRANCH_LT (xgboost) or BRANCH_LEQ (lightgbm)
    float32_input: bool
    roots: list[int] = field(default_factory=list)
    feature: list[int] = field(default_factory=list)
    split: list[float] = field(default_factory=list)
    true_id: list[int] = field(default_factory=list)
    true_leaf: list[int] = field(default_factory=list)
    false_id: list[int] = field(default_factory=list)
    false_leaf: list[int] = field(default_factory=list)
    missing_true: list[int] = field(default_factory=list)
    leaves: list[float] = field(default_factory=list)

    def add_node(self, feature: int, split: float, missing_true: bool) -> int:
        self.feature.append(feature)
        self.split.append(split)
        self.missing_true.append(int(missing_true))
        for column in (self.true_id, self.true_leaf, self.false_id, self.false_leaf):
            column.append(0)
        return len(self.feature) - 1

    def link_child(self, node: int, side: str, child: int, is_leaf: bool) -> None:
        getattr(self, f"{side}_id")[node] = child
        getattr(self, f"{side}_leaf")[node] = int(is_leaf)

    def add_leaf(self, value: float) -> int:
        self.leaves.append(value)
        return len(self.leaves) - 1

    def add_single_leaf_tree(self, value: float) -> None:
        """A tree that is one leaf: one node whose both branches reach it (as the spec says)."""
        node = self.add_node(0, 0.0, False)
        leaf = self.add_leaf(value)
        self.link_child(node, "true", leaf, True)
        self.link_child(node, "false", leaf, True)
        self.roots.append(node)


def _f32(value) -> float:
    """The float32 value xgboost holds, as a double (the JSON carries its shortest decimal)."""
    return float(np.float32(value))


def xgboost_trees(booster) -> TreeSet:
    """Trees of an xgboost Booster (gbtree, one target, numeric splits) from its JSON model."""
    raw = json.loads(bytes(booster.save_raw("json")))
    learner = raw["learner"]
    objective = learner["objective"]["name"]
    booster_kind = learner["gradient_booster"]["name"]
    if booster_kind != "gbtree":
        raise ValueError(f"xgboost booster {booster_kind!r} is not supported for ONNX export (gbtree only)")
    params = learner["learner_model_param"]
    if int(params.get("num_class", "0")) > 1 or int(params.get("num_target", "1")) != 1:
        raise ValueError("xgboost multi-class / multi-target models are not supported")
    base = str(params["base_score"]).strip("[]")
    if "," in base:
        raise ValueError(f"xgboost base_score {params['base_score']!r} is a vector; one target only")
    base_score = _f32(float(base))
    if objective == "binary:logistic":
        link, base_margin = "logit", float(logit(np.array([base_score]))[0])
    elif objective in _XGB_IDENTITY_OBJECTIVES:
        link, base_margin = "identity", base_score
    else:
        raise ValueError(f"xgboost objective {objective!r} is not supported "
                         f"(binary:logistic or one of {sorted(_XGB_IDENTITY_OBJECTIVES)})")
    trees = TreeSet("xgboost", link, base_margin, _BRANCH_LT, float32_input=True)
    for tree in learner["gradient_booster"]["model"]["trees"]:
        left, right = tree["left_children"], tree["right_children"]
        if any(tree.get("split_type", [])):
            raise ValueError("xgboost categorical splits are not supported")
        cond, index, default_left = tree["split_conditions"], tree["split_indices"], tree["default_left"]
        if left[0] == -1:
            trees.add_single_leaf_tree(_f32(cond[0]))
            continue

        def build(i: int) -> tuple[int, bool]:
            if left[i] == -1:
                return trees.add_leaf(_f32(cond[i])), True
            node = trees.add_node(int(index[i]), _f32(cond[i]), bool(default_left[i]))
            trees.link_child(node, "true", *build(left[i]))  # x < cond goes left
            trees.link_child(node, "false", *build(right[i]))
            return node, False

        trees.roots.append(build(0)[0])
    return trees


def lightgbm_trees(booster) -> TreeSet:
    """Trees of a lightgbm Booster (one output, numeric splits) from dump_model (best iteration)."""
    dump = booster.dump_model()
    objective = str(dump.get("objective", "")).split()
    name = objective[0] if objective else ""
    if dump.get("num_tree_per_iteration", 1) != 1 or dump.get("num_class", 1) != 1:
        raise ValueError("lightgbm multi-class models are not supported")
    if dump.get("average_output"):
        raise ValueError("lightgbm random-forest mode (average_output) is not supported")
    if name == "binary":
        if "sigmoid:1" not in objective:
            raise ValueError(f"lightgbm objective {dump['objective']!r}: only sigmoid:1 is supported")
        link = "logit"
    elif name in _LGB_IDENTITY_OBJECTIVES:
        link = "identity"
    else:
        raise ValueError(f"lightgbm objective {name!r} is not supported "
                         f"(binary or one of {sorted(_LGB_IDENTITY_OBJECTIVES)})")
    trees = TreeSet("lightgbm", link, 0.0, _BRANCH_LEQ, float32_input=False)

    def build(n: dict) -> tuple[int, bool]:
        if "leaf_value" in n:
            if "leaf_coeff" in n:
                raise ValueError("lightgbm linear trees are not supported")
            return trees.add_leaf(float(n["leaf_value"])), True
        if n["decision_type"] != "<=":
            raise ValueError("lightgbm categorical splits are not supported")
        threshold = float(n["threshold"])
        missing = n.get("missing_type", "None")
        zero_left = 0.0 <= threshold
        if missing == "NaN":
            missing_left = bool(n["default_left"])
        elif missing == "Zero" and bool(n["default_left"]) != zero_left:
            raise ValueError("lightgbm zero-as-missing splits are not supported")
        else:  # None: NaN is read as 0; Zero with default matching where 0 goes anyway
            missing_left = zero_left
        node = trees.add_node(int(n["split_feature"]), threshold, missing_left)
        trees.link_child(node, "true", *build(n["left_child"]))  # x <= threshold goes left
        trees.link_child(node, "false", *build(n["right_child"]))
        return node, False

    for info in dump["tree_info"]:
        root = info["tree_structure"]
        if "leaf_value" in root:
            trees.add_single_leaf_tree(float(root["leaf_value"]))
        else:
            trees.roots.append(build(root)[0])
    return trees


def _const(name: str, values) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(values, dtype=np.float64), name)


def _finish(nodes: list, initializers: list, n_features: int, name: str) -> onnx.ModelProto:
    vector = [helper.make_tensor_value_info(out, TensorProto.DOUBLE, ["N"]) for out in (PREDICTION, MARGIN)]
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info(INPUT, TensorProto.DOUBLE, ["N", n_features])],
        vector, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in OPSET.items()],
                              producer_name="bsi_pipeline", ir_version=IR_VERSION)
    onnx.checker.check_model(model, full_check=True)
    return model


def _link_outputs(link: str, margin_name: str, nodes: list) -> None:
    """`margin` and `prediction` from a link-scale tensor: Sigmoid for logit, copy for identity."""
    nodes.append(helper.make_node("Identity", [margin_name], [MARGIN]))
    nodes.append(helper.make_node("Sigmoid" if link == "logit" else "Identity", [margin_name], [PREDICTION]))


def tree_model(trees: TreeSet, n_features: int) -> onnx.ModelProto:
    """One TreeEnsemble (double) plus the base margin; Sigmoid for binary."""
    nodes = []
    source = INPUT
    if trees.float32_input:
        nodes += [helper.make_node("Cast", [INPUT], ["x_f32"], to=TensorProto.FLOAT),
                  helper.make_node("Cast", ["x_f32"], ["x_as_f32"], to=TensorProto.DOUBLE)]
        source = "x_as_f32"
    nodes.append(helper.make_node(
        "TreeEnsemble", [source], ["tree_sum"], domain="ai.onnx.ml",
        aggregate_function=1, post_transform=0, n_targets=1,
        tree_roots=trees.roots,
        nodes_featureids=trees.feature,
        nodes_splits=numpy_helper.from_array(np.asarray(trees.split, dtype=np.float64)),
        nodes_modes=numpy_helper.from_array(np.full(len(trees.feature), trees.mode, dtype=np.uint8)),
        nodes_truenodeids=trees.true_id, nodes_trueleafs=trees.true_leaf,
        nodes_falsenodeids=trees.false_id, nodes_falseleafs=trees.false_leaf,
        nodes_missing_value_tracks_true=trees.missing_true,
        leaf_targetids=[0] * len(trees.leaves),
        leaf_weights=numpy_helper.from_array(np.asarray(trees.leaves, dtype=np.float64))))
    inits = [_const("base_margin", [trees.base_margin]),
             numpy_helper.from_array(np.array([-1], dtype=np.int64), "flat_shape")]
    nodes += [helper.make_node("Reshape", ["tree_sum", "flat_shape"], ["tree_sum_flat"]),
              helper.make_node("Add", ["tree_sum_flat", "base_margin"], ["link_value"])]
    _link_outputs(trees.link, "link_value", nodes)
    return _finish(nodes, inits, n_features, f"{trees.library}_trees")


def linear_model(weights: np.ndarray, offset: float, link: str) -> onnx.ModelProto:
    """X @ weights + offset (standardisation folded in), Sigmoid for logit."""
    nodes = [helper.make_node("MatMul", [INPUT, "weights"], ["xw"]),
             helper.make_node("Add", ["xw", "offset"], ["link_value"])]
    _link_outputs(link, "link_value", nodes)
    inits = [_const("weights", np.asarray(weights, dtype=np.float64)), _const("offset", [offset])]
    return _finish(nodes, inits, len(weights), "linear")


def ensemble_model(members: list[onnx.ModelProto], columns: list[list[int] | None], n_features: int,
                   combiner: str, link: str, coefficients: list[float], intercept: float = 0.0) -> onnx.ModelProto:
    """One graph: each member graph under a prefix ``m{i}_`` fed its feature columns, then combined.

    weighted_mean: prediction = sum w_i * prediction_i; margin = logit(prediction) (clipped as
    calibration.logit) for binary. stacking: margin = intercept + sum c_i * clip(margin_i) for binary
    (member logits, clipped to calibration.logit's range), intercept + sum c_i * prediction_i for
    regression; prediction = Sigmoid(margin) for binary.
    """
    nodes, inits, terms = [], [], []
    for i, (member, cols) in enumerate(zip(members, columns)):
        prefix = f"m{i}_"
        member = onnx.compose.add_prefix(member, prefix)
        if cols is None:
            nodes.append(helper.make_node("Identity", [INPUT], [prefix + INPUT]))
        else:
            inits.append(numpy_helper.from_array(np.asarray(cols, dtype=np.int64), f"{prefix}columns"))
            nodes.append(helper.make_node("Gather", [INPUT, f"{prefix}columns"], [prefix + INPUT], axis=1))
        nodes.extend(member.graph.node)
        inits.extend(member.graph.initializer)
        inits.append(_const(f"{prefix}coefficient", [coefficients[i]]))
        if combiner == "stacking" and link == "logit":
            inits += [_const(f"{prefix}lo", -LOGIT_MAX), _const(f"{prefix}hi", LOGIT_MAX)]
            nodes.append(helper.make_node("Clip", [prefix + MARGIN, f"{prefix}lo", f"{prefix}hi"],
                                          [f"{prefix}logit"]))
            source = f"{prefix}logit"
        else:
            source = prefix + PREDICTION
        nodes.append(helper.make_node("Mul", [source, f"{prefix}coefficient"], [f"{prefix}term"]))
        terms.append(f"{prefix}term")
    nodes.append(helper.make_node("Sum", terms, ["combined"]))
    if combiner == "weighted_mean":
        nodes.append(helper.make_node("Identity", ["combined"], [PREDICTION]))
        if link == "logit":
            inits += [_const("p_lo", LOGIT_EPS), _const("p_hi", 1.0 - LOGIT_EPS), _const("one", 1.0)]
            nodes += [helper.make_node("Clip", ["combined", "p_lo", "p_hi"], ["p_clipped"]),
                      helper.make_node("Log", ["p_clipped"], ["log_p"]),
                      helper.make_node("Sub", ["one", "p_clipped"], ["q"]),
                      helper.make_node("Log", ["q"], ["log_q"]),
                      helper.make_node("Sub", ["log_p", "log_q"], [MARGIN])]
        else:
            nodes.append(helper.make_node("Identity", ["combined"], [MARGIN]))
    elif combiner == "stacking":
        inits.append(_const("stack_intercept", [intercept]))
        nodes.append(helper.make_node("Add", ["combined", "stack_intercept"], ["link_value"]))
        _link_outputs(link, "link_value", nodes)
    else:
        raise ValueError(f"unknown combiner {combiner!r}")
    return _finish(nodes, inits, n_features, f"ensemble_{combiner}")

