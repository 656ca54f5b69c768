"""Evaluation of a trained model on its test slice: metric dicts, a lift table, pictures and
the Markdown model card.

Probability scores (Brier, log loss, ECE, calibration slope) come from bsi_pipeline.metrics
and follow its conventions (p = P(y = 1), y in {0, 1}, strict validation, ``p >= threshold``
predicts 1). Everything returned is plain Python / polars / PNG bytes, so the asset layer
can put it straight into Dagster metadata or the JSON artifact. Pure: no Dagster.
"""

from __future__ import annotations

import json
import math
from typing import Sequence

import numpy as np
import polars as pl

from bsi_pipeline.markdown import markdown_table
from bsi_pipeline.metrics import (
    _as_1d,
    _validate,
    accuracy,
    brier,
    calibration_slope_intercept,
    ece,
    figure_png,
    new_figure,
    log_loss,
    mce,
)

__all__ = [
    "classification_report",
    "feature_importance_png",
    "lift_table",
    "model_card_markdown",
    "regression_report",
    "scatter_png",
]

MAX_IMPORTANCE_BARS = 20
HEXBIN_MIN_POINTS = 2000  # above this a scatter is an ink blot; bin it instead


# --------------------------------------------------------------------------------------
# classification


def _ranking_curve(p: np.ndarray, y: np.ndarray):
    """Distinct thresholds (descending) with cumulative true/false positives when every row
    with p >= threshold is predicted 1. Tied p move together, as in sklearn's curves."""
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    tp = np.cumsum(ys)
    fp = np.cumsum(1.0 - ys)
    last = np.r_[np.flatnonzero(np.diff(ps) != 0.0), ps.shape[0] - 1]  # last row of each tie run
    return ps[last], tp[last], fp[last]


def _confusion(p: np.ndarray, y: np.ndarray, threshold: float) -> tuple[int, int, int, int]:
    pred = p >= threshold
    pos = y == 1.0
    return (int(np.sum(~pred & ~pos)), int(np.sum(pred & ~pos)),
            int(np.sum(~pred & pos)), int(np.sum(pred & pos)))


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den > 0 else None


def classification_report(p, y, threshold: float = 0.5) -> dict:
    """Headline test metrics of a probability forecast, as plain floats/ints (None when a
    metric is undefined on these rows, e.g. AUC with one class).

    Keys: n, base_rate, auc, pr_auc (average precision, sklearn's step definition), brier,
    log_loss, accuracy, threshold, precision, recall, f1, tn, fp, fn, tp (at ``threshold``,
    p >= threshold predicts 1), f1_best and f1_best_threshold (the best F1 over all
    thresholds and the threshold reaching it: with rare positives a 0.5 cut can predict
    no positives at all; it is tuned on these same rows, so optimistic), ece, mce,
    calibration_slope, calibration_intercept."""
    p_arr, y_arr = _validate(p, y)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1]; got {threshold!r}")
    n = p_arr.shape[0]
    n_pos = float(y_arr.sum())
    n_neg = n - n_pos
    thr, tp_c, fp_c = _ranking_curve(p_arr, y_arr)

    auc = pr_auc = f1_best = f1_best_threshold = None
    if n_pos > 0 and n_neg > 0:
        tpr = np.r_[0.0, tp_c / n_pos]
        fpr = np.r_[0.0, fp_c / n_neg]
        auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))  # trapezoid: ties count 1/2
    if n_pos > 0:
        precision_c = tp_c / (tp_c + fp_c)
        pr_auc = float(np.sum(np.diff(np.r_[0.0, tp_c]) / n_pos * precision_c))
        f1_c = 2.0 * tp_c / (tp_c + fp_c + n_pos)
        best = int(np.argmax(f1_c))
        f1_best, f1_best_threshold = float(f1_c[best]), float(thr[best])

    tn, fp, fn, tp = _confusion(p_arr, y_arr, threshold)
    try:
        cal = calibration_slope_intercept(p_arr, y_arr)
        slope, intercept = cal.slope, cal.intercept
    except ValueError:  # one class, constant p, separation: no finite fit
        slope = intercept = None
    return {
        "n": int(n),
        "base_rate": float(n_pos / n),
        "auc": auc,
        "pr_auc": pr_auc,
        "brier": brier(p_arr, y_arr),
        "log_loss": log_loss(p_arr, y_arr),
        "accuracy": accuracy(p_arr, y_arr, threshold),
        "threshold": float(threshold),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
        "f1_best": f1_best,
        "f1_best_threshold": f1_best_threshold,
        "ece": ece(p_arr, y_arr),
        "mce": mce(p_arr, y_arr),
        "calibration_slope": None if slope is None else float(slope),
        "calibration_intercept": None if intercept is None else float(intercept),
    }


def lift_table(p, y, n_bins: int = 10) -> pl.DataFrame:
    """Rows ranked by p (highest first, ties in input order) cut into ``n_bins`` groups of
    near-equal size (sizes differ by at most one), one row per group.

    Columns: decile (1 = highest p), n, min_p, max_p, mean_p, positives, positive_rate,
    lift (positive_rate / overall base rate), cumulative_capture (share of all positives in
    this and the higher groups; 1.0 at the last). Shows whether the top of the ranking is
    where the positives are, which AUC alone does not."""
    p_arr, y_arr = _validate(p, y)
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got {n_bins!r}")
    n = p_arr.shape[0]
    if n < n_bins:
        raise ValueError(f"lift_table needs at least n_bins={n_bins} rows; got {n}")
    total_pos = float(y_arr.sum())
    if total_pos == 0:
        raise ValueError("lift_table needs at least one positive in y (lift is relative to the base rate)")
    base = total_pos / n
    order = np.argsort(-p_arr, kind="stable")
    rows, captured = [], 0.0
    for k, idx in enumerate(np.array_split(order, int(n_bins)), start=1):
        ps, ys = p_arr[idx], y_arr[idx]
        pos = float(ys.sum())
        captured += pos
        rate = pos / idx.shape[0]
        rows.append({
            "decile": k,
            "n": int(idx.shape[0]),
            "min_p": float(ps.min()),
            "max_p": float(ps.max()),
            "mean_p": float(ps.mean()),
            "positives": int(pos),
            "positive_rate": rate,
            "lift": rate / base,
            "cumulative_capture": captured / total_pos,
        })
    schema = {"decile": pl.Int64, "n": pl.Int64, "min_p": pl.Float64, "max_p": pl.Float64,
              "mean_p": pl.Float64, "positives": pl.Int64, "positive_rate": pl.Float64,
              "lift": pl.Float64, "cumulative_capture": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row")


# --------------------------------------------------------------------------------------
# regression


def _validate_regression(pred, y, pred_name: str = "pred", y_name: str = "y"):
    a = _as_1d(pred, pred_name)
    b = _as_1d(y, y_name)
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{pred_name} and {y_name} have different lengths ({a.shape[0]} vs {b.shape[0]})")
    if a.shape[0] == 0:
        raise ValueError(f"empty input: {pred_name} and {y_name} have no rows")
    for name, arr in ((pred_name, a), (y_name, b)):
        bad = ~np.isfinite(arr)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{name} contains {int(bad.sum())} NaN/null/infinite value(s) (first at index {first})"
            )
    return a, b


def regression_report(pred, y) -> dict:
    """Test metrics of a numeric prediction, as plain floats: n, rmse, mae, r2 (1 - SSE/SST
    against the mean of y, so it can be negative; None when y is constant), corr (Pearson;
    None when either side is constant), mean_pred, mean_y, bias (mean of pred - y: positive
    means the model predicts too high)."""
    a, b = _validate_regression(pred, y)
    err = a - b
    sst = float(np.sum((b - b.mean()) ** 2))
    sd_a, sd_b = float(a.std()), float(b.std())
    corr = None
    if sd_a > 0 and sd_b > 0:
        corr = float(np.clip(np.mean((a - a.mean()) * (b - b.mean())) / (sd_a * sd_b), -1.0, 1.0))
    return {
        "n": int(a.shape[0]),
        "rmse": float(np.sqrt(np.mean(err ** 2))),
        "mae": float(np.mean(np.abs(err))),
        "r2": float(1.0 - np.sum(err ** 2) / sst) if sst > 0 else None,
        "corr": corr,
        "mean_pred": float(a.mean()),
        "mean_y": float(b.mean()),
        "bias": float(err.mean()),
    }


# --------------------------------------------------------------------------------------
# pictures (bare Figure + Agg canvas, no pyplot: safe in threads, no display needed)


def feature_importance_png(
    names: Sequence[str], values, title: str, max_bars: int = MAX_IMPORTANCE_BARS, dpi: int = 80
) -> bytes:
    """Horizontal bars of the ``max_bars`` largest |value|, largest on top, as PNG bytes.

    Signed values (standardized coefficients, mean SHAP) are coloured by sign so direction
    reads at a glance; all non-negative values (gain importances) get one colour. The title
    says when bars were dropped."""
    names = [str(v) for v in names]
    vals = _as_1d(values, "values")
    if len(names) != vals.shape[0]:
        raise ValueError(f"names and values have different lengths ({len(names)} vs {vals.shape[0]})")
    if not names:
        raise ValueError("feature_importance_png needs at least one feature")
    if not np.all(np.isfinite(vals)):
        raise ValueError("values contains NaN/infinite importances")
    if max_bars < 1:
        raise ValueError(f"max_bars must be >= 1; got {max_bars!r}")
    order = np.argsort(-np.abs(vals), kind="stable")[:max_bars]
    shown = [names[i] for i in order][::-1]  # barh draws bottom-up
    v = vals[order][::-1]
    signed = bool((vals < 0).any())
    colors = [("#c0392b" if x < 0 else "#2471a3") if signed else "#2471a3" for x in v]

    fig = new_figure((6.0, 0.8 + 0.28 * len(shown)), dpi)
    ax = fig.add_subplot(1, 1, 1)
    ax.barh(np.arange(len(shown)), v, color=colors)
    ax.set_yticks(np.arange(len(shown)), labels=shown, fontsize=8)
    if signed:
        ax.axvline(0.0, color="0.3", linewidth=0.8)
    suffix = f" (top {len(shown)} of {len(names)})" if len(names) > len(shown) else ""
    ax.set_title(title + suffix, fontsize=10)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(True, axis="x", linewidth=0.4, alpha=0.5)
    return figure_png(fig, dpi, tight=True)


def scatter_png(pred, y, title: str, xlabel: str = "predicted", ylabel: str = "actual",
                dpi: int = 80) -> bytes:
    """Predicted (x) against actual (y) with the y = x line, as PNG bytes; n, RMSE and
    correlation in the corner. Alpha scatter for small samples, hexbin (log counts) once
    there are more than 2,000 points so density stays readable."""
    a, b = _validate_regression(pred, y, "pred", "y")
    fig = new_figure((5.0, 5.0), dpi)
    ax = fig.add_subplot(1, 1, 1)
    if a.shape[0] > HEXBIN_MIN_POINTS:
        hb = ax.hexbin(a, b, gridsize=40, bins="log", mincnt=1, cmap="viridis")
        fig.colorbar(hb, ax=ax, label="count (log)")
    else:
        ax.scatter(a, b, s=10, alpha=max(0.15, min(0.8, 200.0 / a.shape[0])), edgecolors="none")
    lo, hi = float(min(a.min(), b.min())), float(max(a.max(), b.max()))
    pad = 0.02 * (hi - lo) if hi > lo else 0.5
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], linestyle="--", color="0.4", linewidth=1)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    rep = regression_report(a, b)
    corr = "n/a" if rep["corr"] is None else f"{rep['corr']:.3f}"
    ax.text(0.03, 0.97, f"n={rep['n']:,}\nRMSE {rep['rmse']:.4g}\nr {corr}", transform=ax.transAxes,
            va="top", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, linewidth=0.4, alpha=0.5)
    return figure_png(fig, dpi, tight=True)


# --------------------------------------------------------------------------------------
# model card

CARD_KEYS = {
    "model_key", "model_id", "title", "intended_use", "data", "features", "algorithm",
    "hyperparameters", "calibration", "test_metrics", "model_on_baseline_rows", "baselines", "limitations",
    "provenance",
    "figures",
}


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, (dict, list, tuple)):
        text = json.dumps(value, default=str)
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _as_frame(table) -> pl.DataFrame:
    return table if isinstance(table, pl.DataFrame) else pl.DataFrame(list(table))


def model_card_markdown(card: dict) -> str:
    """A Markdown model card. Only model_key and model_id are required; a missing optional
    key drops its section (or shows "_not recorded_" for the ones a reader expects: intended
    use, data window, limitations, provenance). Unknown keys raise, so a typo cannot silently
    drop a section.

    Keys:

    * model_key (str), model_id (str): title "Model card: <model_key>", id under it.
    * title (str): a one-line description shown under the heading.
    * intended_use (str).
    * data: {"train"|"valid"|"test": {"start", "end", "rows"}} (dates as date or str; any
      other split names are shown too, in the order given).
    * features: list of names, or of dicts {"name", "coefficient" (standardized, linear
      models), "description"}; columns appear only when some feature has them.
    * algorithm (str), hyperparameters (dict name -> value).
    * calibration: {"method": str, "params": dict, "comparison": DataFrame or list of row
      dicts, e.g. choose_calibrator's table}.
    * test_metrics: dict metric -> value (e.g. classification_report / regression_report).
    * baselines: dict baseline name -> metrics dict on the same test rows (e.g. "elo",
      "savant_xwoba"); rendered side by side with model_on_baseline_rows (the model's metrics on
      those rows, which are fewer than the test slice where a baseline has gaps), else test_metrics.
    * limitations: str or list of str (empty/None items skipped).
    * provenance: dict, e.g. {"git_hash", "trained_at", ...}; git_hash and trained_at first.
    * figures: dict caption -> Markdown (e.g. metrics.png_to_markdown output), in order.
    """
    unknown = set(card) - CARD_KEYS
    if unknown:
        raise ValueError(f"unknown model card key(s) {sorted(unknown)}; expected some of {sorted(CARD_KEYS)}")
    for key in ("model_key", "model_id"):
        if not card.get(key):
            raise ValueError(f"model card needs {key!r}")
    out = [f"# Model card: {card['model_key']}", "", f"Model id: `{card['model_id']}`"]
    if card.get("title"):
        out += ["", str(card["title"])]

    def section(name: str, body: str) -> None:
        out.extend(["", f"## {name}", "", body])

    section("Intended use", str(card.get("intended_use") or "_not recorded_"))

    data = card.get("data")
    if data:
        rows = [[split, (w or {}).get("start"), (w or {}).get("end"), (w or {}).get("rows")]
                for split, w in data.items()]
        section("Data window", _table(["split", "start", "end", "rows"], rows))
    else:
        section("Data window", "_not recorded_")

    features = card.get("features")
    if features:
        feats = [f if isinstance(f, dict) else {"name": f} for f in features]
        cols = ["name"] + [c for c in ("coefficient", "description") if any(c in f for f in feats)]
        header = ["feature" if c == "name" else ("standardized coefficient" if c == "coefficient" else c)
                  for c in cols]
        section(f"Features ({len(feats)})", _table(header, [[f.get(c) for c in cols] for f in feats]))

    algorithm, hyper = card.get("algorithm"), card.get("hyperparameters")
    if algorithm or hyper:
        body = [str(algorithm)] if algorithm else []
        if hyper:
            body += ["", _table(["hyper-parameter", "value"], list(hyper.items()))]
        section("Algorithm and hyper-parameters", "\n".join(body).strip())

    calibration = card.get("calibration")
    if calibration:
        body = [f"Method: **{calibration.get('method', 'not recorded')}**"]
        params = {k: v for k, v in (calibration.get("params") or {}).items()
                  if k != "method" and not isinstance(v, (list, tuple))}
        if params:
            body[0] += " (" + ", ".join(f"{k} = {_fmt(v)}" for k, v in params.items()) + ")"
        comparison = calibration.get("comparison")
        if comparison is not None:
            frame = _as_frame(comparison)
            frame = frame.select([c for c in frame.columns if frame[c].null_count() < frame.height])
            body += ["", "Validation slice; cv_* are scored forward in time over cv_rows rows "
                     "(each block calibrated on earlier dates only).", "", markdown_table(frame)]
        section("Calibration", "\n".join(body))

    metrics = card.get("test_metrics") or {}
    if metrics:
        section("Test metrics", _table(["metric", "value"], list(metrics.items())))
    baselines = card.get("baselines") or {}
    if baselines:
        model = card.get("model_on_baseline_rows") or metrics
        keys = [k for k in model if any(k in b for b in baselines.values())]
        for b in baselines.values():
            keys += [k for k in b if k not in keys]
        rows = [[k, model.get(k), *[b.get(k) for b in baselines.values()]] for k in keys]
        section("Baseline comparison", "Same test rows.\n\n" + _table(["metric", "model", *baselines], rows))

    for caption, md in (card.get("figures") or {}).items():
        section(caption, str(md))

    limitations = card.get("limitations")
    if isinstance(limitations, str):
        limitations = [limitations]
    limitations = [str(item) for item in (limitations or []) if item]
    section("Limitations", "\n".join(f"- {item}" for item in limitations) if limitations else "_not recorded_")

    prov = dict(card.get("provenance") or {})
    if prov:
        ordered = [k for k in ("git_hash", "trained_at") if k in prov] + \
                  [k for k in prov if k not in ("git_hash", "trained_at")]
        section("Provenance", "\n".join(f"- {k}: {_fmt(prov[k])}" for k in ordered))
    else:
        section("Provenance", "_not recorded_")
    return "\n".join(out) + "\n"
