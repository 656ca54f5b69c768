"""Pictures for the monitoring assets' metadata: PSI by feature of each champion (drift_reports) and the
served forecasts' quality over time (model_health).

Why pictures: the drift table says which feature is critical; a bar per feature beside the 0.1 and 0.2
lines shows by how much, and whether the rest are close behind. A daily Brier is a column of numbers that
jumps with every small slate; drawn per system, with the pooled score of the trailing concept window
(the window the drift check judges), it shows whether the model drifts away from Elo or both move together.

Each picture has a ``draw_*`` function returning the matplotlib Figure (None when there is nothing to draw)
and a ``*_png`` wrapper saving it with metrics.figure_png. Bare Figures on the Agg canvas, no pyplot (safe
in threads, nothing to close); no Dagster.
"""

from __future__ import annotations

import polars as pl

from bsi_pipeline.metrics import figure_png, new_figure
from bsi_pipeline.monitoring import drift

__all__ = ["BRIER_TASKS", "POOL_DAYS", "PSI_AXIS_MAX", "STATUS_COLOURS", "draw_health", "draw_psi", "health_png",
           "health_series", "psi_png", "psi_rows"]

# "exempt": a feature whose PSI the model spec declares unjudgeable (spec.psi_exempt), drawn but grey
STATUS_COLOURS = {"ok": "tab:green", "warning": "tab:orange", "critical": "tab:red", "exempt": "0.6"}
PSI_AXIS_MAX = 1.0   # a PSI bar is cut here (a PSI of 1 is already five times the critical line)
# The trailing window a health line pools its days over: the concept check's, so the line's last point
# is the Brier the drift report judges.
POOL_DAYS = drift.CONCEPT_WINDOW_DAYS
# Tasks whose health is drawn as Brier; the others (regression, count) as RMSE.
BRIER_TASKS = ("binary",)


def _png(fig, dpi: int) -> bytes | None:
    # the draw_* functions lay their figure out (tight_layout): no second, cropping pass (a third of the time)
    return None if fig is None else figure_png(fig, dpi)


# ----------------------------------------------------------------------------------------- drift


def psi_rows(report: pl.DataFrame) -> pl.DataFrame:
    """The report's PSI values: model_key, model_version, feature, value, status, in report order."""
    return (report.filter((pl.col("check") == "psi") & pl.col("feature").is_not_null() & pl.col("value").is_not_null())
            .select("model_key", "model_version", "feature", "value", "status"))


def _psi_note(report: pl.DataFrame, key: str) -> str:
    """Why a key has no PSI value: the reason of its skipped psi row when the report carries one."""
    rows = report.filter((pl.col("model_key") == key) & (pl.col("check") == "psi"))
    if rows.height and "reference" in rows.columns and rows["reference"][0]:
        return f"PSI not computed: {rows['reference'][0]}"
    return "PSI not computed"


def draw_psi(report: pl.DataFrame, dpi: int = 80):
    """One panel per model key of a drift report (drift.REPORT_SCHEMA, or serving.DRIFT_SCHEMA): a horizontal
    bar per feature, its length the PSI of the served rows against the training rows, coloured by status
    (an exempt feature grey, "(exempt)" after its name)
    and labelled with its value, with dashed lines at drift.PSI_WARNING and PSI_CRITICAL. Each panel's axis
    ends at 1.25 times its largest PSI, at most PSI_AXIS_MAX: a bar past that is cut there (hatched; its
    label keeps the value), so one PSI of 12 does not flatten the others to nothing. A key without PSI values
    (a feed broken for every row) gets a panel saying why. None for an empty report."""
    keys = sorted(report["model_key"].unique()) if report.height else []
    if not keys:
        return None
    values = psi_rows(report)
    sizes = [max(values.filter(pl.col("model_key") == key).height, 1) for key in keys]
    fig = new_figure((6.5, sum(0.7 + 0.25 * n for n in sizes)), dpi)
    axes = fig.subplots(len(keys), 1, squeeze=False, gridspec_kw={"height_ratios": [n + 2 for n in sizes]})[:, 0]
    for ax, key in zip(axes, keys):
        rows = values.filter(pl.col("model_key") == key)
        versions = ", ".join(sorted(report.filter(pl.col("model_key") == key)["model_version"].unique()))
        ax.set_title(f"{key} v{versions}: PSI by feature, served vs training rows", fontsize=9)
        if rows.height == 0:
            ax.text(0.5, 0.5, _psi_note(report, key), ha="center", va="center", fontsize=8, transform=ax.transAxes)
            ax.set_axis_off()
            continue
        psi = rows["value"].to_list()
        end = min(max(drift.PSI_CRITICAL, *psi) * 1.25, PSI_AXIS_MAX)
        bars = ax.barh(range(rows.height), [min(v, end) for v in psi], height=0.7,
                       color=[STATUS_COLOURS.get(s, "0.6") for s in rows["status"]])
        for bar, value in zip(bars, psi):
            if value > end:
                bar.set_hatch("///")
        ax.bar_label(bars, labels=[f"{v:.3f}" for v in psi], fontsize=6, padding=2)
        ax.set_yticks(range(rows.height), [f"{f} (exempt)" if st == "exempt" else f
                                           for f, st in zip(rows["feature"], rows["status"])], fontsize=7)
        ax.invert_yaxis()
        ax.axvline(drift.PSI_WARNING, color=STATUS_COLOURS["warning"], linestyle="--", linewidth=1,
                   label=f"warning {drift.PSI_WARNING:g}")
        ax.axvline(drift.PSI_CRITICAL, color=STATUS_COLOURS["critical"], linestyle="--", linewidth=1,
                   label=f"critical {drift.PSI_CRITICAL:g}")
        ax.set_xlim(0, end)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(True, axis="x", linewidth=0.4, alpha=0.5)
        ax.legend(loc="best", fontsize=6, frameon=False)
    axes[-1].set_xlabel("PSI (10 training-quantile bins)", fontsize=8)
    fig.tight_layout()
    return fig


def psi_png(report: pl.DataFrame, dpi: int = 80) -> bytes | None:
    """:func:`draw_psi` as PNG bytes; None for an empty report."""
    return _png(draw_psi(report, dpi), dpi)


# ----------------------------------------------------------------------------------------- health


def health_series(health: pl.DataFrame, pool_days: int = POOL_DAYS) -> pl.DataFrame:
    """What :func:`draw_health` draws, from serving.model_health rows: per model_key, system, model_version and
    date, the metric ("brier" for BRIER_TASKS, else "rmse"), n, the day's value and ``pooled``, the metric
    over every scored row of the trailing ``pool_days`` (D - pool_days < date <= D, drift.latest_window's
    window): the mean squared error of the days weighted by n (Brier is one; RMSE is its root)."""
    schema = {"model_key": pl.String, "system": pl.String, "model_version": pl.String, "metric": pl.String,
              "date": pl.Date, "n": pl.Int64, "value": pl.Float64, "pooled": pl.Float64}
    if health.height == 0:
        return pl.DataFrame(schema=schema)
    by = ["model_key", "system", "model_version"]
    brier = pl.col("metric") == "brier"
    frame = (health.with_columns(metric=pl.when(pl.col("task").is_in(BRIER_TASKS)).then(pl.lit("brier"))
                                 .otherwise(pl.lit("rmse")))
             .with_columns(value=pl.when(brier).then(pl.col("brier")).otherwise(pl.col("rmse")))
             .filter(pl.col("value").is_not_null() & pl.col("date").is_not_null())
             .with_columns(_se=pl.col("n") * pl.when(brier).then(pl.col("value")).otherwise(pl.col("value") ** 2))
             .sort(*by, "date"))
    pooled = (frame.rolling(index_column="date", period=f"{pool_days}d", group_by=by)
              .agg(_se=pl.col("_se").sum(), _n=pl.col("n").sum()))
    return (frame.drop("_se").join(pooled, on=[*by, "date"], how="left", maintain_order="left")
            .with_columns(pooled=pl.when(brier).then(pl.col("_se") / pl.col("_n"))
                          .otherwise((pl.col("_se") / pl.col("_n")).sqrt()))
            .select(list(schema)).cast(schema))


def _series_label(system: str, version: str, versions_of_system: int) -> str:
    return system if versions_of_system == 1 else f"{system} v{version}"


def draw_health(health: pl.DataFrame, dpi: int = 80, pool_days: int = POOL_DAYS):
    """One panel per model key of serving.model_health: per system (and model version, when a system served
    several), the day's Brier (binary keys) or RMSE (regression and count keys) as dots and the pooled value
    of the trailing ``pool_days`` as a line (:func:`health_series`). None when there is no scored row."""
    series = health_series(health, pool_days)
    if series.height == 0:
        return None
    keys = sorted(series["model_key"].unique())
    fig = new_figure((7.0, 2.4 * len(keys) + 0.4), dpi)
    axes = fig.subplots(len(keys), 1, squeeze=False)[:, 0]
    for ax, key in zip(axes, keys):
        rows = series.filter(pl.col("model_key") == key)
        metric = rows["metric"][0]
        versions = dict(rows.group_by("system").agg(pl.col("model_version").n_unique()).rows())
        for (system, version), line in rows.partition_by("system", "model_version", as_dict=True,
                                                          maintain_order=True).items():
            label = _series_label(system, version, versions[system])
            (drawn,) = ax.plot(line["date"].to_list(), line["pooled"].to_list(), linewidth=1.3,
                               label=f"{label} (n={line['n'].sum():,})")
            ax.scatter(line["date"].to_list(), line["value"].to_list(), s=6, alpha=0.3, color=drawn.get_color(),
                       linewidths=0)
        ax.set_title(f"{key}: {metric.upper() if metric == 'rmse' else 'Brier'} by day (dots), "
                     f"pooled over the trailing {pool_days} days (lines)", fontsize=9)
        ax.set_ylabel(metric, fontsize=8)
        ax.grid(True, linewidth=0.4, alpha=0.5)
        ax.legend(loc="upper right", fontsize=6, frameon=False)
        ax.tick_params(labelsize=7)
        ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    return fig


def health_png(health: pl.DataFrame, dpi: int = 80, pool_days: int = POOL_DAYS) -> bytes | None:
    """:func:`draw_health` as PNG bytes; None when there is no scored row."""
    return _png(draw_health(health, dpi, pool_days), dpi)
