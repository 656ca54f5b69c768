"""The monitoring pictures (bsi_pipeline/monitoring/plots.py): PSI by feature of each champion, health over time.

Real frames: ridge champions of mlb_hr_prob (binary) and mlb_xwoba (regression) on the 2021-2022 Statcast
samples, their drift reports from serving.champion_drift (the hr one with every 2022 exit velocity raised by
8 mph, so launch_speed is critical), and model_health of what serving.serve_key logs for them and for
mlb_home_win on MLB 2008-2009 without a champion (Elo and the Elo-only ensemble: two systems in one panel).
The figures are inspected before saving: one panel per model key, each bar a PSI of the report, each line
and dot a number recomputed here from the log.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from matplotlib.colors import to_rgba

from bsi_pipeline.models.specs import load_specs
from bsi_pipeline.monitoring import drift, plots, serving
from bsi_pipeline_tests.monitoring_helpers import batted_balls_features, champion_on, mlb_games_features

PNG = b"\x89PNG\r\n\x1a\n"
AT = dt.datetime(2026, 1, 6, 6, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def hr(tmp_path_factory):
    return champion_on(batted_balls_features, "mlb_hr_prob", tmp_path_factory.mktemp("hr"))


@pytest.fixture(scope="module")
def xwoba(tmp_path_factory):
    return champion_on(batted_balls_features, "mlb_xwoba", tmp_path_factory.mktemp("xwoba"))


def faster(table: pl.DataFrame) -> pl.DataFrame:
    """Every 2022 (served) exit velocity 8 mph faster."""
    return table.with_columns(launch_speed=pl.when(pl.col("season") == 2022).then(pl.col("launch_speed") + 8.0)
                              .otherwise(pl.col("launch_speed")))


def report_of(trained, table=None) -> pl.DataFrame:
    return serving.champion_drift(trained.table if table is None else table, trained.spec, trained.champion,
                                  trained.scorer, trained.snapshot, AT)


@pytest.fixture(scope="module")
def report(hr, xwoba) -> pl.DataFrame:
    return pl.concat([report_of(hr, faster(hr.table)), report_of(xwoba)])


@pytest.fixture(scope="module")
def log(hr, xwoba) -> pl.DataFrame:
    home = load_specs()["mlb_home_win"]
    return serving.append_log(None, pl.concat([
        serving.serve_key(hr.table, hr.spec, hr.champion, hr.scorer, None, AT),
        serving.serve_key(xwoba.table, xwoba.spec, xwoba.champion, xwoba.scorer, None, AT),
        serving.serve_key(mlb_games_features(), home, None, None, None, AT, unavailable="no champion (test)")]))


def bars(ax) -> list:
    return list(ax.containers[0])


# ----------------------------------------------------------------------------------------- PSI


def test_psi_has_a_panel_per_champion_and_a_bar_per_feature_of_its_report(report, hr, xwoba):
    fig = plots.draw_psi(report)
    assert len(fig.axes) == 2
    for ax, trained in zip(fig.axes, (hr, xwoba)):   # keys in order: mlb_hr_prob, mlb_xwoba
        key = trained.spec.key
        assert ax.get_title().startswith(f"{key} v1:")
        rows = report.filter((pl.col("model_key") == key) & (pl.col("check") == "psi"))
        assert rows["feature"].to_list() == list(trained.scorer.features)
        assert [t.get_text() for t in ax.get_yticklabels()] == rows["feature"].to_list()
        np.testing.assert_allclose([b.get_width() for b in bars(ax)], rows["value"].to_numpy())
        assert [b.get_facecolor() for b in bars(ax)] == [to_rgba(plots.STATUS_COLOURS[s]) for s in rows["status"]]
        assert [t.get_text() for t in ax.texts] == [f"{v:.3f}" for v in rows["value"]]
        assert [line.get_xdata()[0] for line in ax.lines] == [drift.PSI_WARNING, drift.PSI_CRITICAL]
    # +8 mph: launch_speed's bar is the one red bar, past the critical line; launch_angle stays green
    hr_bars = dict(zip(hr.scorer.features, bars(fig.axes[0])))
    assert hr_bars["launch_speed"].get_width() > drift.PSI_CRITICAL
    assert hr_bars["launch_speed"].get_facecolor() == to_rgba("tab:red")
    assert hr_bars["launch_angle"].get_facecolor() == to_rgba("tab:green")
    assert plots.psi_png(report).startswith(PNG)


def test_a_psi_past_the_axis_is_cut_there_and_keeps_its_value(report):
    """A season-constant feature (home_edge on a first season) can give a PSI of 12: its bar stops at the axis end,
    hatched, and the other bars of its panel are still drawn on a readable scale."""
    huge = report.with_columns(value=pl.when((pl.col("check") == "psi") & (pl.col("feature") == "launch_speed"))
                               .then(12.157).otherwise(pl.col("value")))
    ax = plots.draw_psi(huge).axes[0]
    assert ax.get_xlim() == (0.0, plots.PSI_AXIS_MAX)
    speed, angle = bars(ax)[:2]
    assert speed.get_width() == plots.PSI_AXIS_MAX and speed.get_hatch() == "///"
    assert angle.get_hatch() is None and angle.get_width() < 0.01
    assert ax.texts[0].get_text() == "12.157"
    assert plots.draw_psi(report).axes[1].get_xlim() == pytest.approx((0.0, drift.PSI_CRITICAL * 1.25))


def test_an_exempt_feature_is_drawn_grey_and_named_so(report):
    exempt = report.with_columns(status=pl.when((pl.col("check") == "psi") & (pl.col("feature") == "launch_speed"))
                                 .then(pl.lit("exempt")).otherwise(pl.col("status")))
    ax = plots.draw_psi(exempt).axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "launch_speed (exempt)" and labels[1] == "launch_angle"
    assert bars(ax)[0].get_facecolor() == to_rgba("0.6") and bars(ax)[1].get_facecolor() == to_rgba("tab:green")
    assert ax.texts[0].get_text() == f"{bars(plots.draw_psi(report).axes[0])[0].get_width():.3f}"


def test_a_champion_without_psi_gets_a_panel_saying_why(report, xwoba):
    """Every served row missing launch_speed: the xwoba report has no PSI, only a skipped row with the reason."""
    broken = xwoba.table.with_columns(launch_speed=pl.when(pl.col("season") == 2022).then(None)
                                      .otherwise(pl.col("launch_speed")))
    both = pl.concat([report.filter(pl.col("model_key") == "mlb_hr_prob"), report_of(xwoba, broken)])
    fig = plots.draw_psi(both)
    assert len(fig.axes) == 2
    hr_ax, xwoba_ax = fig.axes
    assert len(bars(hr_ax)) == 6 and not xwoba_ax.containers
    assert [t.get_text() for t in xwoba_ax.texts] == [
        "PSI not computed: no served row has finite values for every feature"]
    assert plots.psi_png(both).startswith(PNG)


def test_an_empty_report_draws_nothing():
    empty = pl.DataFrame(schema=serving.DRIFT_SCHEMA)
    assert plots.draw_psi(empty) is None and plots.psi_png(empty) is None


# ----------------------------------------------------------------------------------------- health


def pooled_from_log(log: pl.DataFrame, key: str, system: str, day: dt.date, days: int = plots.POOL_DAYS) -> float:
    """The mean squared error of the key's scored rows of ``system`` in day - days < date <= day."""
    rows = log.filter((pl.col("model_key") == key) & (pl.col("system") == system) & pl.col("p").is_not_null()
                      & pl.col("outcome").is_not_null() & (pl.col("date") > day - dt.timedelta(days=days))
                      & (pl.col("date") <= day))
    return float(((rows["p"] - rows["outcome"]) ** 2).mean())


def test_health_has_a_panel_per_key_with_a_line_per_system(log):
    health = serving.model_health(log)
    fig = plots.draw_health(health)
    assert len(fig.axes) == 3
    home, balls, woba = fig.axes
    assert [ax.get_title().split(":")[0] for ax in fig.axes] == ["mlb_home_win", "mlb_hr_prob", "mlb_xwoba"]
    assert [ax.get_ylabel() for ax in fig.axes] == ["brier", "brier", "rmse"]   # RMSE for the regression key
    n_games = log.filter((pl.col("model_key") == "mlb_home_win") & (pl.col("system") == "elo")).height
    assert [line.get_label() for line in home.lines] == [f"elo (n={n_games:,})", f"ensemble (n={n_games:,})"]
    assert [line.get_label().split(" (")[0] for line in balls.lines] == ["model:mlb_hr_prob"]

    for ax, key, metric in ((home, "mlb_home_win", "brier"), (balls, "mlb_hr_prob", "brier"),
                            (woba, "mlb_xwoba", "rmse")):
        for line, dots in zip(ax.lines, ax.collections):
            system = line.get_label().split(" (")[0]
            days = health.filter((pl.col("model_key") == key) & (pl.col("system") == system)).sort("date")
            assert list(line.get_xdata()) == days["date"].to_list()        # a point per day served
            np.testing.assert_allclose(dots.get_offsets()[:, 1], days[metric].to_numpy())   # the day's value
            ys = line.get_ydata()
            for i in (0, len(ys) // 2, len(ys) - 1):                        # the pooled trailing window
                mse = pooled_from_log(log, key, system, days["date"][i])
                assert ys[i] == pytest.approx(mse if metric == "brier" else math.sqrt(mse), rel=1e-9)
    assert plots.health_png(health).startswith(PNG)


def test_the_last_point_of_the_champions_line_is_the_brier_the_drift_check_judges(log, hr):
    """The pooled window is the concept window: the line ends on the report's concept_brier."""
    concept = report_of(hr).filter(pl.col("check") == "concept_brier")
    assert concept.height == 1 and concept["n_current"][0] >= serving.MIN_CONCEPT_ROWS
    series = plots.health_series(serving.model_health(log)).filter(pl.col("system") == "model:mlb_hr_prob")
    assert series["pooled"][-1] == pytest.approx(concept["value"][0], rel=1e-9)


def test_a_system_served_by_two_versions_gets_a_line_each(log):
    """A new champion (version 2) re-served the latest 30 days: its own line, labelled with the version."""
    rows = log.filter(pl.col("model_key") == "mlb_hr_prob")
    last = rows["date"].max()
    again = rows.filter(pl.col("date") > last - dt.timedelta(days=30)).with_columns(
        model_version=pl.lit("2"), p=(pl.col("p") * 0.9))
    ax = plots.draw_health(serving.model_health(pl.concat([rows, again]))).axes[0]
    labels = [line.get_label().split(" (")[0] for line in ax.lines]
    assert labels == ["model:mlb_hr_prob v1", "model:mlb_hr_prob v2"]
    assert len(ax.lines[1].get_xdata()) == again["date"].n_unique()


def test_no_scored_row_draws_nothing(log):
    unknown = serving.model_health(log.with_columns(outcome=pl.lit(None, dtype=pl.Float64)))
    assert unknown.height == 0
    assert plots.draw_health(unknown) is None and plots.health_png(unknown) is None
    assert plots.health_series(unknown).height == 0
