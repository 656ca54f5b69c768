"""prediction_log, model_health and the analyst views (bsi_pipeline/monitoring/serving.py), pure.

Real rows: MLB 2008-2009 features_games from the embedded Retrosheet logs, with a ridge champion of
mlb_home_win trained on them (monitoring_helpers). The served stream is the 2009 season. Hand-built logs
check model_health and the views against numbers worked out by hand.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from bsi_pipeline.monitoring import drift, serving
from bsi_pipeline.models.artifact import ArtifactError
from bsi_pipeline.models.specs import load_specs
from bsi_pipeline.monitoring.serving import (
    ELO_SYSTEM,
    LOG_KEY,
    LOG_SCHEMA,
    NO_MODEL_VERSION,
    ChampionUnavailable,
    append_log,
    fill_outcomes,
    model_health,
    model_unavailable,
    outcome_rows,
    resolve_champion,
    serve_key,
    served_rows,
)
from bsi_pipeline.monitoring.system_ensemble import combine_systems, fit_ensemble
from bsi_pipeline_tests.monitoring_helpers import (
    batted_balls_features,
    champion_on,
    mlb_games_features,
    pitcher_starts_features,
    registry_row,
    registry_table,
    train_champion,
)

KEY = "mlb_home_win"
MODEL = f"model:{KEY}"
UTC = dt.timezone.utc
SERVED_AT = dt.datetime(2026, 1, 6, 6, 0, tzinfo=UTC)
LATER = dt.datetime(2026, 1, 7, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def mlb(tmp_path_factory):
    return champion_on(mlb_games_features, KEY, tmp_path_factory.mktemp("models"))


def serve(mlb, table=None, log=None, at=SERVED_AT) -> pl.DataFrame:
    return serve_key(mlb.table if table is None else table, mlb.spec, mlb.champion, mlb.scorer, log, at)


@pytest.fixture(scope="module")
def log(mlb) -> pl.DataFrame:
    return append_log(None, serve(mlb))


def system_rows(log: pl.DataFrame, system: str) -> pl.DataFrame:
    return log.filter(pl.col("system") == system).sort("row_id")


# ----------------------------------------------------------------------------------------- the log


def test_the_served_stream_is_the_latest_season(mlb):
    served = served_rows(mlb.table, mlb.spec)
    assert served["season"].unique().to_list() == [2009]
    assert served.height == mlb.table.filter(pl.col("season") == 2009).height == 2430


def test_each_system_logs_every_served_row_with_its_forecast_and_outcome(mlb, log):
    served = served_rows(mlb.table, mlb.spec).sort("row_id")
    assert log.schema == pl.Schema(LOG_SCHEMA)
    assert log.select(LOG_KEY).is_unique().all()
    assert dict(log.group_by("system").len().iter_rows()) == {MODEL: 2430, ELO_SYSTEM: 2430, "ensemble": 2430}

    model = system_rows(log, MODEL)
    expected = mlb.scorer.predict(served.select(mlb.spec.features))
    np.testing.assert_allclose(model["p"].to_numpy(), expected, rtol=0, atol=1e-12)
    assert (model["model_version"] == "1").all() and (model["model_id"] == mlb.champion.model_id).all()
    assert model["outcome"].to_list() == served["home_win"].to_list()
    assert (model["served_at"] == SERVED_AT).all() and (model["league"] == "mlb").all()
    row = model.row(100, named=True)
    values = served.filter(pl.col("row_id") == row["row_id"]).select(mlb.spec.features).row(0, named=True)
    assert json.loads(row["features"]) == pytest.approx(values)
    explanation = mlb.scorer.explain(values, top=5)
    assert [tuple(c) for c in json.loads(row["top_contributors"])] == explanation.contributions
    assert len(json.loads(row["top_contributors"])) == 5

    elo = system_rows(log, ELO_SYSTEM)
    assert elo["p"].to_list() == served["p_elo"].to_list()
    assert (elo["model_version"] == "p_elo").all() and elo["model_id"].null_count() == elo.height

    ensemble = system_rows(log, "ensemble")
    long = pl.concat([elo.select("row_id", "system", "p"), model.select("row_id", "system", "p")])
    combined = combine_systems(long, {ELO_SYSTEM: 0.5, MODEL: 0.5})
    assert ensemble["p"].to_list() == pytest.approx(combined["p"].to_list(), abs=1e-15)
    assert ensemble["note"].null_count() == ensemble.height   # both systems served every game
    assert (ensemble["model_version"] == "1").all()
    # every ensemble forecast is explained: the systems' shares and the bonus or penalty sum to p - 0.5
    for p, p_model, p_elo, text in zip(ensemble["p"], model["p"], elo["p"], ensemble["top_contributors"]):
        parts = dict(json.loads(text))
        assert sum(parts.values()) == pytest.approx(p - 0.5, abs=1e-12)
        assert parts[MODEL] == pytest.approx(0.5 * (p_model - 0.5), abs=1e-12)
        assert parts[ELO_SYSTEM] == pytest.approx(0.5 * (p_elo - 0.5), abs=1e-12)
    # and every Elo forecast: the rating lead, the home advantage and the starting pitchers sum to its log odds
    for p, text in zip(elo["p"], elo["top_contributors"]):
        parts = dict(json.loads(text))
        assert sum(parts.values()) == pytest.approx(math.log(p / (1 - p)), abs=1e-12)
        assert {"rating_diff", "home_advantage"} <= set(parts) <= {"rating_diff", "home_advantage", "beyond_elo_fit"}
    adjusted = combined.filter(pl.col("adjustment") != "none")
    assert adjusted.height > 0
    assert all(json.loads(t)[0][0] in {MODEL, ELO_SYSTEM, "bonus", "penalty"} for t in ensemble["top_contributors"])
    # the 611 validation rows of this small sample are too few to fit weights on: the defaults, saying so
    used = json.loads(ensemble["features"][0])["settings"]
    assert used["weights"] == {ELO_SYSTEM: 0.5, MODEL: 0.5}
    assert used["source"] == f"defaults: 611 validation rows of {mlb.champion.model_id} (< 1000) to fit on"
    assert serving.ensemble_settings_used(log).rows() == [
        (KEY, "1", json.dumps({ELO_SYSTEM: 0.5, MODEL: 0.5}), 0.05, 0.25, used["source"])]


def test_the_ensemble_weights_are_fitted_on_the_champions_validation_rows(mlb):
    """Never on the served rows (here the test season): the validation slice the artifact records."""
    valid = serving.reference_slices(mlb.table, mlb.spec, mlb.scorer.artifact).valid
    assert valid.height == 611 and valid["season"].unique().to_list() == [2008]
    fitted = serving.ensemble_settings(mlb.table, mlb.spec, mlb.scorer, min_rows=500)
    assert fitted.source == f"fitted on 611 validation rows of {mlb.champion.model_id}"
    direct = fit_ensemble(ELO_SYSTEM, valid["p_elo"].to_numpy(), MODEL,
                          mlb.scorer.predict(valid.select(mlb.spec.features)), valid["home_win"].cast(float).to_numpy(),
                          min_rows=500)
    assert fitted.weights == direct.weights and fitted.weights != {ELO_SYSTEM: 0.5, MODEL: 0.5}
    assert fitted.scores == pytest.approx(direct.scores)
    # settings given to serve_key are the ones used, and written into every ensemble row
    served = system_rows(serve_key(mlb.table, mlb.spec, mlb.champion, mlb.scorer, ensemble=fitted), "ensemble")
    base = system_rows(serve(mlb), MODEL).select("row_id", "system", "p")
    long = pl.concat([base, system_rows(serve(mlb), ELO_SYSTEM).select("row_id", "system", "p")])
    expected = combine_systems(long, fitted.weights, fitted.agreement_band, fitted.bonus, fitted.penalty)
    assert served["p"].to_list() == pytest.approx(expected["p"].to_list(), abs=1e-15)
    assert {json.dumps(json.loads(f)["settings"]["weights"]) for f in served["features"]} == {
        json.dumps(fitted.weights)}


def test_without_its_validation_rows_the_ensemble_keeps_the_defaults_and_serving_goes_on(mlb):
    """A lake rewritten with the served season only: the champion's validation window has no rows."""
    latest = mlb.table.filter(pl.col("season") == 2009)
    kept = serving.ensemble_settings(latest, mlb.spec, mlb.scorer, min_rows=500)
    assert kept.weights == {ELO_SYSTEM: 0.5, MODEL: 0.5}
    assert kept.source.startswith("defaults: no validation rows to fit on (mlb_home_win: features_games has no "
                                  "rows in the champion's train/valid window")
    rows = system_rows(serve_key(latest, mlb.spec, mlb.champion, mlb.scorer), "ensemble")
    assert rows.height == 2430 and rows["p"].null_count() == 0


def test_rerunning_adds_nothing(mlb, log):
    again = serve(mlb, log=log, at=LATER)
    assert again.height == 0
    assert_frame_equal(append_log(log, again), log)
    # the same rows served afresh (another served_at) are still the same keys: nothing changes
    assert_frame_equal(append_log(log, serve(mlb, at=LATER)), log)


def test_outcomes_are_filled_when_they_become_known(mlb):
    dates = mlb.table.filter(pl.col("season") == 2009)["date"].unique().sort()
    cut = dates[-7]
    pending = mlb.table.with_columns(home_win=pl.when(pl.col("date") >= cut).then(None).otherwise(pl.col("home_win")))
    first = append_log(None, serve(mlb, table=pending))
    n_pending = mlb.table.filter(pl.col("date") >= cut).height
    assert first["outcome"].null_count() == 3 * n_pending > 0

    later = fill_outcomes(append_log(first, serve(mlb, log=first, at=LATER)), outcome_rows(mlb.table, mlb.spec))
    assert later.height == first.height and later["outcome"].null_count() == 0
    truth = dict(mlb.table.select("row_id", "home_win").iter_rows())
    assert all(truth[r] == o for r, o in later.select("row_id", "outcome").iter_rows())
    assert (later["served_at"] == SERVED_AT).all()   # filling an outcome does not re-serve
    assert_frame_equal(later.drop("outcome"), first.drop("outcome"))


def test_the_ensemble_falls_back_to_the_surviving_system_and_says_so(mlb, log):
    ids = served_rows(mlb.table, mlb.spec)["row_id"].to_list()
    no_elo, bad = ids[:5], ids[5:8]
    broken = mlb.table.with_columns(
        p_elo=pl.when(pl.col("row_id").is_in(no_elo)).then(None).otherwise(pl.col("p_elo")),
        logit_elo_fit=pl.when(pl.col("row_id").is_in(bad)).then(float("nan")).otherwise(pl.col("logit_elo_fit")))
    damaged = append_log(None, serve(mlb, table=broken))

    def rows(system, which):
        return system_rows(damaged, system).filter(pl.col("row_id").is_in(which))

    assert rows(ELO_SYSTEM, no_elo)["p"].null_count() == 5
    assert set(rows(ELO_SYSTEM, no_elo)["note"]) == {"p_elo absent for this game"}
    assert rows(MODEL, bad)["p"].null_count() == 3
    assert all("logit_elo_fit" in note for note in rows(MODEL, bad)["note"])
    # one survivor: the ensemble is that system's forecast, unadjusted, with a note naming the failure
    assert rows("ensemble", no_elo)["p"].to_list() == pytest.approx(rows(MODEL, no_elo)["p"].to_list(), abs=1e-12)
    assert set(rows("ensemble", no_elo)["note"]) == {f"fallback to {MODEL}: failed elo (null p)"}
    assert rows("ensemble", bad)["p"].to_list() == pytest.approx(rows(ELO_SYSTEM, bad)["p"].to_list(), abs=1e-12)
    assert set(rows("ensemble", bad)["note"]) == {f"fallback to elo: failed {MODEL} (null p)"}
    assert system_rows(damaged, "ensemble")["note"].null_count() == len(ids) - 8

    # repaired inputs: the failed rows get their forecast, nothing is added, the ensemble stays as served
    repaired = append_log(damaged, serve(mlb, log=damaged, at=LATER))
    assert repaired.height == damaged.height and repaired["p"].null_count() == 0
    assert_frame_equal(system_rows(repaired, MODEL), system_rows(log, MODEL).with_columns(
        served_at=pl.when(pl.col("row_id").is_in(bad)).then(pl.lit(LATER)).otherwise(pl.col("served_at"))))
    assert_frame_equal(system_rows(repaired, "ensemble"), system_rows(damaged, "ensemble"))


# ----------------------------------------------------------------------------------------- no champion


@pytest.fixture(scope="module")
def why(tmp_path_factory) -> str:
    """Why mlb_home_win has no champion in an empty models folder, as prediction_log tells it."""
    with pytest.raises(ChampionUnavailable) as raised:
        resolve_champion(tmp_path_factory.mktemp("no_models"), KEY, None)
    return model_unavailable(raised.value)


def serve_elo_only(mlb, why, table=None, log=None, at=SERVED_AT) -> pl.DataFrame:
    return serve_key(mlb.table if table is None else table, mlb.spec, None, None, log, at, unavailable=why)


@pytest.fixture(scope="module")
def elo_only(mlb, why) -> pl.DataFrame:
    return append_log(None, serve_elo_only(mlb, why))


def test_without_a_champion_a_game_key_is_served_by_elo_and_an_elo_only_ensemble(mlb, log, why, elo_only):
    assert why.startswith("no champion (mlb_home_win: no current model (")
    assert elo_only.schema == pl.Schema(LOG_SCHEMA)
    assert dict(elo_only.group_by("system").len().iter_rows()) == {ELO_SYSTEM: 2430, "ensemble": 2430}
    # the Elo rows are the ones served beside a champion
    assert_frame_equal(system_rows(elo_only, ELO_SYSTEM), system_rows(log, ELO_SYSTEM))

    ensemble = system_rows(elo_only, "ensemble")
    elo = system_rows(log, ELO_SYSTEM)["p"].to_list()
    assert ensemble["p"].to_list() == pytest.approx(elo, abs=1e-12)   # one survivor: Elo, unadjusted
    assert (ensemble["model_version"] == NO_MODEL_VERSION).all() and ensemble["model_id"].null_count() == 2430
    assert set(ensemble["note"]) == {f"fallback to elo: failed {MODEL} unavailable: {why}"}
    features = json.loads(ensemble["features"][0])
    assert features[MODEL] is None and features["adjustment"] == "none" and features["agreement"] == 0.0

    again = serve_elo_only(mlb, why, log=elo_only, at=LATER)   # a re-run adds nothing
    assert again.height == 0
    assert_frame_equal(append_log(elo_only, serve_elo_only(mlb, why, at=LATER)), elo_only)

    comparison = serving.system_comparison(elo_only)
    assert comparison.height == 2430 and comparison["p_model"].null_count() == 2430
    assert comparison["p_ensemble"].to_list() == pytest.approx(comparison["p_elo"].to_list(), abs=1e-12)
    assert set(comparison["ensemble_note"]) == {f"fallback to elo: failed {MODEL} unavailable: {why}"}
    assert serving.system_agreement(elo_only).height == 0   # one system (the ensemble is Elo itself)
    assert serving.daily_coverage(elo_only)["missing"].sum() == 0


def test_without_a_champion_or_elo_the_ensemble_names_both_failures(mlb, why):
    ids = served_rows(mlb.table, mlb.spec)["row_id"].to_list()[:3]
    broken = mlb.table.with_columns(p_elo=pl.when(pl.col("row_id").is_in(ids)).then(None).otherwise(pl.col("p_elo")))
    ensemble = system_rows(serve_elo_only(mlb, why, table=broken), "ensemble").filter(pl.col("row_id").is_in(ids))
    assert ensemble["p"].null_count() == 3
    assert set(ensemble["note"]) == {f"no forecast: every system failed: elo (null p), {MODEL} unavailable: {why}"}


def test_other_keys_without_a_champion_are_not_served(mlb):
    spec = load_specs()["mlb_hr_prob"]
    with pytest.raises(ChampionUnavailable, match="mlb_hr_prob: no champion"):
        serve_key(mlb.table, spec, None, None)
    assert not serving.serves_without_champion(spec) and serving.serves_without_champion(mlb.spec)


def _broken_artifact():
    raise ArtifactError("artifact.json: not valid JSON")


def test_a_game_key_whose_champion_cannot_be_loaded_falls_back_to_elo(mlb, log, elo_only):
    rows, why = serving.serve_or_fall_back(mlb.table, mlb.spec, lambda: (mlb.champion, mlb.scorer),
                                           served_at=SERVED_AT)
    assert why is None
    assert_frame_equal(append_log(None, rows), log)

    rows, why = serving.serve_or_fall_back(mlb.table, mlb.spec, _broken_artifact, served_at=SERVED_AT)
    assert why == "champion cannot be served (artifact.json: not valid JSON)"
    assert dict(rows.group_by("system").len().iter_rows()) == {ELO_SYSTEM: 2430, "ensemble": 2430}
    assert set(rows.filter(pl.col("system") == "ensemble")["note"]) == {
        f"fallback to elo: failed {MODEL} unavailable: {why}"}
    # the Elo-only rows are the ones served when no champion was ever named, apart from the reason
    assert_frame_equal(system_rows(rows, ELO_SYSTEM), system_rows(elo_only, ELO_SYSTEM))


def test_other_keys_whose_champion_cannot_be_loaded_are_skipped(mlb):
    with pytest.raises(ArtifactError, match="not valid JSON"):
        serving.serve_or_fall_back(mlb.table, load_specs()["mlb_hr_prob"], _broken_artifact)
    with pytest.raises(ZeroDivisionError):   # anything else is a bug, not a fallback
        serving.serve_or_fall_back(mlb.table, mlb.spec, lambda: 1 / 0)


def test_a_champion_arriving_later_adds_its_rows_and_a_combined_ensemble(mlb, log, elo_only):
    added = serve(mlb, log=elo_only, at=LATER)
    assert sorted(added.group_by("system", "model_version").len().rows()) == [("ensemble", "1", 2430),
                                                                              (MODEL, "1", 2430)]
    both = append_log(elo_only, added)
    assert both.select(LOG_KEY).is_unique().all()
    assert_frame_equal(system_rows(both, ELO_SYSTEM), system_rows(elo_only, ELO_SYSTEM))   # Elo logged once
    combined = system_rows(both, "ensemble").filter(pl.col("model_version") == "1")
    assert_frame_equal(combined, system_rows(log, "ensemble").with_columns(served_at=pl.lit(LATER)))
    assert serve(mlb, log=both, at=LATER).height == 0   # and nothing more on the next run

    # the views keep what each system served first: the Elo-only ensemble, whose note says why
    comparison = serving.system_comparison(both).sort("row_id")
    assert comparison.height == 2430
    assert comparison.select("p_elo", "p_model", "p_ensemble").null_count().row(0) == (0, 0, 0)
    assert comparison["p_model"].to_list() == system_rows(log, MODEL)["p"].to_list()
    assert comparison["p_ensemble"].to_list() == pytest.approx(comparison["p_elo"].to_list(), abs=1e-12)
    assert comparison["ensemble_note"].str.contains("unavailable: no champion").all()
    assert (comparison["model_version"] == "1").all()
    agreement = serving.system_agreement(both)
    assert agreement.height > 0 and agreement["rows"].sum() == 2430
    assert set(agreement["systems"]) == {f"elo,{MODEL}"}


# ----------------------------------------------------------------------------------------- the champion


def fake_model(models_dir, key: str, model_id: str) -> None:
    folder = models_dir / key / model_id
    folder.mkdir(parents=True)
    (folder / "artifact.json").write_text("{}")


def test_the_champion_is_the_current_model_with_its_registry_version(tmp_path):
    with pytest.raises(ChampionUnavailable, match="no current model"):
        resolve_champion(tmp_path, KEY, None)
    fake_model(tmp_path, KEY, "m-a")
    fake_model(tmp_path, KEY, "m-b")
    (tmp_path / KEY / "current").write_text("m-b\n")
    with pytest.raises(ChampionUnavailable, match="model_registry table is not there yet"):
        resolve_champion(tmp_path, KEY, None)
    t1, t2 = dt.datetime(2026, 1, 5, tzinfo=UTC), dt.datetime(2026, 1, 12, tzinfo=UTC)
    registry = registry_table([registry_row(KEY, 1, "m-a", "champion", t1),
                               registry_row(KEY, 2, "m-b", "challenger", t1),
                               registry_row(KEY, 2, "m-b", "champion", t2),   # promoted a week later
                               registry_row(KEY, 1, "m-a", "archived", t2)])
    champion = resolve_champion(tmp_path, KEY, registry)
    assert (champion.version, champion.model_id) == ("2", "m-b")
    assert champion.artifact_path == tmp_path / KEY / "m-b" / "artifact.json"
    (tmp_path / KEY / "current").write_text("m-a\n")   # pointer and registry disagree: do not serve
    with pytest.raises(ChampionUnavailable, match=r"current names m-a, but model_registry's champion is 2 \(m-b\)"):
        resolve_champion(tmp_path, KEY, registry)


# ----------------------------------------------------------------------------------------- health and views


def hand_log(rows: list[dict]) -> pl.DataFrame:
    base = {"model_key": "g", "model_version": "1", "model_id": "g-1", "system": "model:g", "task": "binary",
            "league": "mlb", "season": 2009, "features": None, "top_contributors": None, "note": None,
            "served_at": SERVED_AT}
    return pl.DataFrame([{**base, **row} for row in rows], schema=LOG_SCHEMA)


D1, D2 = dt.date(2009, 5, 1), dt.date(2009, 5, 2)


def test_model_health_matches_hand_computation():
    log = hand_log(
        [{"row_id": f"a{i}", "date": D1, "p": p, "outcome": y} for i, (p, y) in enumerate(
            [(0.8, 1.0), (0.6, 0.0), (0.3, 0.0), (0.4, 1.0)])]
        + [{"row_id": "a8", "date": D1, "p": 0.9, "outcome": None},          # outcome not known yet
           {"row_id": "a9", "date": D1, "p": None, "outcome": 1.0, "note": "failed"}]
        + [{"row_id": f"b{i}", "date": D2, "p": p, "outcome": 1.0} for i, p in enumerate([0.7, 0.55, 0.52])]
        + [{"row_id": f"r{i}", "date": D1, "p": p, "outcome": y, "model_key": "r", "system": "model:r",
            "task": "regression"} for i, (p, y) in enumerate([(0.3, 0.0), (0.5, 0.9)])])
    health = model_health(log).sort("model_key", "date")
    assert health.select("model_key", "date", "n").rows() == [("g", D1, 4), ("g", D2, 3), ("r", D1, 2)]
    day1, day2, reg = health.rows(named=True)
    assert day1["brier"] == pytest.approx((0.2 ** 2 + 0.6 ** 2 + 0.3 ** 2 + 0.6 ** 2) / 4)   # 0.2125
    assert day1["auc"] == pytest.approx(3 / 4)   # of the 4 (positive, negative) pairs, 0.4 < 0.6 is the miss
    assert day1["ece"] == pytest.approx((0.2 + 0.6 + 0.3 + 0.6) / 4)   # every forecast in its own bin
    assert day1["log_loss"] == pytest.approx(-(math.log(0.8) + math.log(0.4) + math.log(0.7) + math.log(0.4)) / 4)
    assert day1["accuracy"] == pytest.approx(0.5)
    assert day2["auc"] is None                   # one class only
    assert day2["brier"] == pytest.approx((0.3 ** 2 + 0.45 ** 2 + 0.48 ** 2) / 3)
    assert day2["ece"] == pytest.approx((abs(1 - 0.7) + abs(2 - 1.07)) / 3)   # 0.55 and 0.52 share a bin
    assert reg["rmse"] == pytest.approx(math.sqrt((0.3 ** 2 + 0.4 ** 2) / 2))
    assert reg["mae"] == pytest.approx(0.35) and reg["brier"] is None and reg["auc"] is None


def test_model_health_auc_with_unequal_classes_and_tied_forecasts():
    """Positives 0.8, 0.6, 0.2; negatives 0.6, 0.3. Of the 6 (positive, negative) pairs the positive is higher in
    (0.8, 0.6), (0.8, 0.3), (0.6, 0.3), tied in (0.6, 0.6) (a half) and lower in (0.2, 0.6), (0.2, 0.3):
    AUC = 3.5 / 6. test_model_health_matches_hand_computation has 2 positives and 2 negatives and no tie, where
    n1 and n0 are interchangeable and tie handling never matters."""
    log = hand_log([{"row_id": f"a{i}", "date": D1, "p": p, "outcome": y}
                    for i, (p, y) in enumerate([(0.8, 1.0), (0.6, 1.0), (0.6, 0.0), (0.3, 0.0), (0.2, 1.0)])])
    health = model_health(log).row(0, named=True)
    assert health["n"] == 5 and health["auc"] == pytest.approx(3.5 / 6)
    performance = serving.system_performance(log).row(0, named=True)
    assert performance["auc"] == pytest.approx(3.5 / 6)


def test_model_health_ece_uses_ten_bins():
    """0.62 (outcome 1) and 0.78 (outcome 0) share a fifth of [0, 1] but not a tenth: ten bins give
    ECE = (|1 - 0.62| + |0 - 0.78|) / 2 = 0.58, five bins |1 - 1.40| / 2 = 0.20."""
    log = hand_log([{"row_id": "a", "date": D1, "p": 0.62, "outcome": 1.0},
                    {"row_id": "b", "date": D1, "p": 0.78, "outcome": 0.0}])
    assert model_health(log)["ece"].item() == pytest.approx(0.58)


def test_a_known_outcome_is_never_overwritten():
    """fill_outcomes fills null outcomes only, as its docstring says. A later outcomes table that disagrees (a
    corrected score) does not rewrite what the log recorded."""
    log = hand_log([{"row_id": "a", "date": D1, "p": 0.6, "outcome": 1.0},
                    {"row_id": "b", "date": D1, "p": 0.4, "outcome": None}])
    outcomes = pl.DataFrame({"model_key": ["g", "g"], "row_id": ["a", "b"], "outcome": [0.0, 1.0]})
    filled = fill_outcomes(log, outcomes).sort("row_id")
    assert filled["outcome"].to_list() == [1.0, 1.0]


def views_log() -> pl.DataFrame:
    rows = []
    for rid, day, elo, model, ens, y in [("r1", D1, 0.6, 0.7, 0.66, 1.0), ("r2", D1, 0.45, 0.55, 0.5, 0.0),
                                         ("r3", D2, 0.52, None, 0.52, None)]:
        rows += [{"row_id": rid, "date": day, "system": "elo", "model_version": "p_elo", "p": elo, "outcome": y},
                 {"row_id": rid, "date": day, "system": "model:g", "p": model, "outcome": y,
                  "note": None if model is not None else "bad features"},
                 {"row_id": rid, "date": day, "system": "ensemble", "p": ens, "outcome": y,
                  "note": None if model is not None else "fallback to elo: failed model:g (null p)"}]
    # version 2 served r1 a week later: the views keep what was served first
    rows.append({"row_id": "r1", "date": D1, "system": "model:g", "model_version": "2", "p": 0.9, "outcome": 1.0,
                 "served_at": LATER})
    return hand_log(rows)


def test_system_comparison_and_performance_use_the_first_served_forecast():
    log = views_log()
    comparison = serving.system_comparison(log).sort("row_id")
    assert comparison.select("row_id", "p_elo", "p_model", "p_ensemble", "outcome", "model_version").rows() == [
        ("r1", 0.6, 0.7, 0.66, 1.0, "1"), ("r2", 0.45, 0.55, 0.5, 0.0, "1"), ("r3", 0.52, None, 0.52, None, None)]
    assert comparison["ensemble_note"].to_list() == [None, None, "fallback to elo: failed model:g (null p)"]

    performance = {row["system"]: row for row in serving.system_performance(log).iter_rows(named=True)}
    assert performance["elo"]["n"] == 2
    assert performance["elo"]["brier"] == pytest.approx((0.4 ** 2 + 0.45 ** 2) / 2)
    assert performance["elo"]["accuracy"] == 1.0
    assert performance["model:g"]["brier"] == pytest.approx((0.3 ** 2 + 0.55 ** 2) / 2)
    assert performance["model:g"]["accuracy"] == 0.5
    assert performance["model:g"]["log_loss"] == pytest.approx(-(math.log(0.7) + math.log(0.45)) / 2)


def test_daily_coverage_and_agreement():
    log = views_log()
    coverage = serving.daily_coverage(log)
    got = {(d, s): (r, p, m) for d, s, r, p, m in coverage.select("date", "system", "rows", "predictions",
                                                                  "missing").iter_rows()}
    assert got == {(D1, "elo"): (2, 2, 0), (D1, "model:g"): (2, 2, 0), (D1, "ensemble"): (2, 2, 0),
                   (D2, "elo"): (1, 1, 0), (D2, "model:g"): (1, 0, 1), (D2, "ensemble"): (1, 1, 0)}
    assert dict(coverage.select("date", "outcomes_known").unique().iter_rows()) == {D1: 2, D2: 0}

    agreement = serving.system_agreement(log)
    assert agreement.height == 1   # on D2 only Elo forecast r3: nothing to compare
    day = agreement.row(0, named=True)
    assert (day["date"], day["rows"]) == (D1, 2)
    assert day["mean_spread"] == pytest.approx(0.1) and day["share_same_side"] == 0.5   # r2: 0.45 vs 0.55
    assert day["systems"] == "elo,model:g"


def agreement_log(pairs) -> pl.DataFrame:
    """A game on D1 for each (Elo, model) pair of forecasts: one log row per system, outcome unknown."""
    rows = []
    for i, (elo, model) in enumerate(pairs):
        rows += [{"row_id": f"r{i}", "date": D1, "system": "elo", "model_version": "p_elo", "p": elo, "outcome": None},
                 {"row_id": f"r{i}", "date": D1, "system": "model:g", "p": model, "outcome": None}]
    return hand_log(rows)


def test_agreement_spread_is_a_mean_and_a_forecast_of_one_half_is_on_neither_side():
    """Spreads 0.1 and 0.3: mean 0.2, max 0.3 (test_daily_coverage_and_agreement has two spreads of 0.1, so mean
    and max cannot be told apart there). Elo at exactly 0.5 picks no side, so (0.5, 0.6) is not "same side"
    (system_agreement's docstring: all p above 0.5, or all below)."""
    day = serving.system_agreement(agreement_log([(0.6, 0.7), (0.3, 0.6)])).row(0, named=True)
    assert day["rows"] == 2
    assert day["mean_spread"] == pytest.approx(0.2) and day["max_spread"] == pytest.approx(0.3)
    assert day["share_same_side"] == 0.5
    half = serving.system_agreement(agreement_log([(0.5, 0.6), (0.4, 0.5)])).row(0, named=True)
    assert half["share_same_side"] == 0.0


# ----------------------------------------------------------------------------------------- drift report shapes


def test_the_drift_reference_is_the_champions_own_training_rows(mlb):
    from bsi_pipeline.models.factory import slices_for

    now = slices_for(mlb.table, mlb.spec)
    ref = serving.reference_slices(mlb.table, mlb.spec, mlb.scorer.artifact)
    assert ref.source == "artifact train_window"
    for name in ("train", "valid", "test"):
        assert getattr(ref, name)["row_id"].to_list() == getattr(now, name)["row_id"].to_list(), name
    # a new season with no outcomes yet: served, but the reference stays what the champion trained on
    upcoming = mlb.table.filter(pl.col("season") == 2009).head(40).with_columns(
        season=pl.lit(2010, dtype=pl.Int32), date=pl.col("date").dt.offset_by("1y"),
        row_id=pl.col("row_id").str.replace("2009", "2010"), home_win=pl.lit(None, dtype=pl.Float64))
    grown = pl.concat([mlb.table, upcoming], how="vertical_relaxed")
    later = serving.reference_slices(grown, mlb.spec, mlb.scorer.artifact)
    assert later.train["row_id"].to_list() == now.train["row_id"].to_list()
    report = serving.champion_drift(grown, mlb.spec, mlb.champion, mlb.scorer, mlb.snapshot)
    assert set(report.filter(pl.col("check") == "psi")["n_current"]) == {40}
    ks = report.filter(pl.col("check") == "ks_prediction").row(0, named=True)
    assert (ks["reference"], ks["n_reference"]) == ("test (rows outside the served stream)", 2430)
    assert report.filter(pl.col("check") == "concept")["reference"].to_list() == ["no served row has a known outcome yet"]


def test_concept_drift_is_not_judged_on_a_handful_of_outcomes(mlb):
    full = serving.champion_drift(mlb.table, mlb.spec, mlb.champion, mlb.scorer, mlb.snapshot)
    assert {"concept_brier", "concept_accuracy"} <= set(full["check"])
    assert full.filter(pl.col("check").str.starts_with("concept"))["n_current"].min() >= serving.MIN_CONCEPT_ROWS
    first_days = mlb.table.filter(pl.col("season") == 2009)["date"].unique().sort()[:2]
    few = mlb.table.with_columns(home_win=pl.when((pl.col("season") == 2009) & ~pl.col("date").is_in(first_days.implode()))
                                 .then(None).otherwise(pl.col("home_win")))
    n_known = few.filter((pl.col("season") == 2009) & pl.col("home_win").is_not_null()).height
    assert 0 < n_known < serving.MIN_CONCEPT_ROWS
    report = serving.champion_drift(few, mlb.spec, mlb.champion, mlb.scorer, mlb.snapshot)
    concept = report.filter(pl.col("check").str.starts_with("concept"))
    assert concept.select("check", "status").rows() == [("concept", "skipped")]
    assert f"only {n_known} served row(s) with a known outcome" in concept["reference"][0]
    assert report.filter(pl.col("check") == "psi").height == len(mlb.spec.features)


def test_a_feature_the_spec_exempts_keeps_its_psi_but_asks_for_no_retrain(mlb):
    """home_edge is one value per team and season, 0 for every game of the sample's first season (2008, the
    training rows): its PSI against 2009 is huge whatever the model, and a retrain cannot change it
    (model_specs.yaml: psi_exempt). The row keeps its value for analysts; only the verdict changes."""
    exempt = serving.champion_drift(mlb.table, mlb.spec, mlb.champion, mlb.scorer, mlb.snapshot, SERVED_AT)
    judged = serving.champion_drift(mlb.table, dataclasses.replace(mlb.spec, psi_exempt={}), mlb.champion,
                                    mlb.scorer, mlb.snapshot, SERVED_AT)
    edge_row = (pl.col("check") == "psi") & (pl.col("feature") == "home_edge")
    edge, plain = exempt.filter(edge_row).row(0, named=True), judged.filter(edge_row).row(0, named=True)
    assert plain["status"] == "critical" and plain["value"] > 1.0
    assert edge["status"] == "exempt" and edge["value"] == plain["value"]
    assert edge["reference"] == f"{plain['reference']}; PSI not judged: {mlb.spec.psi_exempt['home_edge']}"
    assert_frame_equal(exempt.filter(~edge_row), judged.filter(~edge_row))
    _, reasons = serving.retrain_request(exempt)
    _, judged_reasons = serving.retrain_request(judged)
    assert [r for r in judged_reasons if "'home_edge'" not in r] == reasons
    assert len(judged_reasons) == len(reasons) + 1


def feed_broken(table: pl.DataFrame, rows: pl.Expr, feature: str = "logit_elo_pitcher") -> pl.DataFrame:
    """``table`` with ``feature`` null on ``rows``: the starters' Elo feed broke there."""
    return table.with_columns(pl.when(rows).then(None).otherwise(pl.col(feature)).alias(feature))


def latest_days(days: int = drift.CONCEPT_WINDOW_DAYS, season: int = 2009) -> pl.Expr:
    """The season's rows dated within ``days`` of its last date (2009-10-06): the drift window."""
    return (pl.col("season") == season) & (pl.col("date") > pl.col("date").filter(pl.col("season") == season).max()
                                           - dt.timedelta(days=days))


def test_a_served_feature_gone_missing_is_reported_and_the_other_checks_still_run(mlb):
    feature, served = "logit_elo_pitcher", pl.col("season") == 2009
    # the last week of 2009: the KS reference (rows outside the served stream) must not be these rows
    last_week = served & (pl.col("date") >= dt.date(2009, 9, 29))
    n_bad, n_served = mlb.table.filter(last_week).height, mlb.table.filter(served).height
    n_window = mlb.table.filter(latest_days()).height   # the missing check's rows: the latest 14 days
    assert (n_bad, n_window, n_served) == (88, 166, 2430)
    report = serving.champion_drift(feed_broken(mlb.table, last_week), mlb.spec, mlb.champion, mlb.scorer,
                                    mlb.snapshot)
    assert report.schema == pl.Schema(serving.DRIFT_SCHEMA)
    missing = report.filter(pl.col("check") == "missing")
    assert missing["feature"].to_list() == list(mlb.scorer.features)
    bad = missing.filter(pl.col("feature") == feature).row(0, named=True)
    assert bad["value"] == pytest.approx(n_bad / n_window) and bad["n_current"] == n_window
    assert bad["status"] == "critical" and bad["threshold"] == drift.MISSING_CRITICAL
    assert set(missing.filter(pl.col("feature") != feature)["status"]) == {"ok"}
    ks = report.filter(pl.col("check") == "ks_prediction").row(0, named=True)
    assert (ks["reference"], ks["n_current"]) == ("valid", n_served - n_bad)
    assert set(report.filter(pl.col("check") == "psi")["n_current"]) == {n_served - n_bad}
    # critical, but a retrain on the same feed cannot fix it: a feed problem, named, and no retrain for it. The
    # champion's PSI drift (2009 against 2008, as on the intact rows) still asks for one, with the run key the
    # same findings give without the broken feed
    run_key, reasons = serving.retrain_request(report)
    mended = report.with_columns(status=pl.when(pl.col("check") == "missing").then(pl.lit("ok"))
                                 .otherwise(pl.col("status")))
    assert run_key is not None and run_key == serving.retrain_request(mended)[0]
    assert reasons and not any("null/NaN/infinite" in r for r in reasons)
    assert any(r.startswith("mlb_home_win version 1: psi of feature") for r in reasons)
    intact = serving.champion_drift(mlb.table, mlb.spec, mlb.champion, mlb.scorer, mlb.snapshot)
    assert serving.feed_problems(intact) == []
    assert serving.feed_problems(report) == [
        f"mlb_home_win version 1: feature '{feature}' is null/NaN/infinite in {n_bad / n_window:.1%} of the served "
        f"rows > 1% (n_current {n_window}): the model could not score them"]
    # one unscorable row in the window (1 in 166) is a warning: named in the report, no retrain for it
    last = served & pl.col("row_id").is_in(mlb.table.filter(served).sort("date", "row_id")["row_id"].tail(1).implode())
    one = serving.champion_drift(feed_broken(mlb.table, last), mlb.spec, mlb.champion, mlb.scorer, mlb.snapshot)
    one_row = one.filter((pl.col("check") == "missing") & (pl.col("feature") == feature))
    assert one_row.select("status", "value").rows() == [("warning", 1 / n_window)]
    # five in April, long since fixed, are outside the window: what is served now is fine
    five = served & pl.col("row_id").is_in(mlb.table.filter(served).sort("date", "row_id")["row_id"].head(5).implode())
    early = serving.champion_drift(feed_broken(mlb.table, five), mlb.spec, mlb.champion, mlb.scorer, mlb.snapshot)
    five_rows = early.filter((pl.col("check") == "missing") & (pl.col("feature") == feature))
    assert five_rows.select("status", "n_current").rows() == [("ok", n_window)]


def test_a_feed_broken_for_the_last_games_is_critical_not_diluted_by_the_season(mlb):
    # the last 20 of 2,430 games: 0.8% of the season (a warning), 20 of the latest window's 166 rows
    last_20 = pl.col("row_id").is_in(mlb.table.filter(pl.col("season") == 2009).sort("date", "row_id")["row_id"]
                                     .tail(20).implode())
    report = serving.champion_drift(feed_broken(mlb.table, last_20), mlb.spec, mlb.champion, mlb.scorer, mlb.snapshot)
    bad = report.filter((pl.col("check") == "missing") & (pl.col("feature") == "logit_elo_pitcher"))
    assert bad.select("status", "value", "n_current").rows() == [("critical", pytest.approx(20 / 166), 166)]
    assert set(report["model_status"]) == {"critical"}


def test_every_served_row_missing_a_feature_is_a_critical_report_not_a_skipped_key(mlb):
    report = serving.champion_drift(feed_broken(mlb.table, pl.col("season") == 2009), mlb.spec, mlb.champion,
                                    mlb.scorer, mlb.snapshot)
    assert report.schema == pl.Schema(serving.DRIFT_SCHEMA)
    bad = report.filter((pl.col("check") == "missing") & (pl.col("status") == "critical"))
    assert bad.select("feature", "value").rows() == [("logit_elo_pitcher", 1.0)]
    skipped = report.filter(pl.col("status") == "skipped")
    assert skipped["check"].to_list() == ["psi", "ks_prediction", "concept"]
    assert set(skipped["reference"]) == {"no served row has finite values for every feature"}
    assert set(report["model_status"]) == {"critical"}
    assert set(report["served_through"]) == {mlb.table.filter(pl.col("season") == 2009)["date"].max()}
    # a broken feed, not drift: retraining on it would give the same model
    assert serving.retrain_request(report) == (None, [])
    assert [r.split(":")[0] for r in serving.feed_problems(report)] == ["mlb_home_win version 1"]
    assert "'logit_elo_pitcher' is null/NaN/infinite in 100.0%" in serving.feed_problems(report)[0]


def test_a_regression_key_logs_values_and_gets_a_value_ks_check(tmp_path):
    table = batted_balls_features()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BSI_N_JOBS", "1")
        xwoba = train_champion(table, "mlb_xwoba", tmp_path)
    log = append_log(None, serve_key(table, xwoba.spec, xwoba.champion, xwoba.scorer, None, SERVED_AT))
    served = served_rows(table, xwoba.spec)
    assert set(log["system"]) == {"model:mlb_xwoba"} and log.height == served.height   # no Elo, no ensemble
    assert (log["task"] == "regression").all()
    np.testing.assert_allclose(log.sort("row_id")["p"].to_numpy(),   # the expected wOBA value itself
                               xwoba.scorer.predict(served.sort("row_id").select(xwoba.spec.features)), atol=1e-12)
    health = model_health(log)
    assert health["rmse"].null_count() == 0 and health["brier"].null_count() == health.height

    report = serving.champion_drift(table, xwoba.spec, xwoba.champion, xwoba.scorer, xwoba.snapshot)
    assert report.schema == pl.Schema(serving.DRIFT_SCHEMA)
    ks = report.filter(pl.col("check") == "ks_prediction").row(0, named=True)
    assert ks["reference"] == "valid" and ks["n_current"] == served.height and 0.0 <= ks["value"] <= 1.0
    concept = report.filter(pl.col("check") == "concept").row(0, named=True)
    assert concept["status"] == "skipped" and "regression" in concept["reference"]


@pytest.fixture(scope="module")
def strikeouts(tmp_path_factory):
    """A count champion: ncaa_pitcher_strikeouts on the embedded college starts, served 2021."""
    return champion_on(pitcher_starts_features, "ncaa_pitcher_strikeouts", tmp_path_factory.mktemp("k_models"))


def test_a_count_keys_unplayed_starts_are_unknown_outcomes_not_unders(strikeouts):
    k = strikeouts
    target, line = k.spec.target, k.spec.line_column
    # next weekend's 40 starts, listed before they are pitched: strikeouts unknown
    last = k.table.filter(pl.col("season") == 2021).sort("date", "row_id").tail(40)
    upcoming = last.with_columns(row_id=pl.col("row_id") + "-next", date=pl.lit(dt.date(2021, 7, 3)),
                                 **{target: pl.lit(None, dtype=k.table.schema[target])})
    live = pl.concat([k.table, upcoming])
    served = served_rows(live, k.spec, list(k.scorer.features))
    _, y = serving._probability_stream("count", k.scorer, served, k.spec)
    unknown = served[target].is_null().to_numpy()
    assert unknown.sum() == 40 and np.isnan(y[unknown]).all()
    np.testing.assert_array_equal(y[~unknown], (served.filter(~pl.Series(unknown))[target]
                                                > served.filter(~pl.Series(unknown))[line]).cast(pl.Float64))
    # concept drift judges only starts with a known outcome: six in the latest 14 days, too few
    window = served.filter(pl.col(target).is_not_null()
                           & (pl.col("date") > dt.date(2021, 7, 3) - dt.timedelta(days=14)))
    assert 0 < window.height < serving.MIN_CONCEPT_ROWS
    report = serving.champion_drift(live, k.spec, k.champion, k.scorer, k.snapshot)
    concept = report.filter(pl.col("check").str.starts_with("concept"))
    assert concept.select("check", "status").rows() == [("concept", "skipped")]
    assert f"only {window.height} served row(s) with a known outcome" in concept["reference"][0]


def test_a_count_keys_drift_stream_is_p_over_with_the_champions_dispersion(strikeouts):
    """The KS and concept checks of a count key compare P(strikeouts > line) under the champion's own negative
    binomial (artifact count.dispersion, fitted on its validation slice: 0.088 here), not Poisson. Expected:
    scipy's NB2 survival function at floor(line), r = 1 / alpha, p = r / (r + mean)."""
    from scipy import stats

    k = strikeouts
    alpha = k.scorer.artifact["count"]["dispersion"]
    assert alpha > 0.01
    served = served_rows(k.table, k.spec, list(k.scorer.features))
    p, y = serving._probability_stream("count", k.scorer, served, k.spec)
    mean = np.maximum(k.scorer.predict(served.select(list(k.scorer.features))), 1e-6)
    line = served[k.spec.line_column].to_numpy()
    r = 1 / alpha
    np.testing.assert_allclose(p, stats.nbinom.sf(np.floor(line), r, r / (r + mean)), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(y, (served[k.spec.target].to_numpy() > line).astype(float))


def test_the_elo_forecast_is_taken_apart_on_the_log_odds_scale():
    per_point = math.log(10) / 400
    logit_fit = (40 + 24) * per_point           # a 40-point rating lead and 24 points of home advantage
    p_elo = 1 / (1 + math.exp(-(logit_fit - 0.1)))  # the pitchers take 0.1 off (elo_pitcher)
    parts = serving.elo_contributions(p_elo, {"logit_elo_fit": logit_fit, "has_elo_fit": 1.0, "rating_diff": 40.0,
                                              "conference_rating_diff": 0.0, "has_rating": 1.0})
    assert [name for name, _ in parts] == ["rating_diff", "home_advantage", "beyond_elo_fit"]
    assert dict(parts) == pytest.approx({"rating_diff": 40 * per_point, "home_advantage": 24 * per_point,
                                         "beyond_elo_fit": -0.1})
    # a neutral site in a league with conferences: no home advantage, so no such part
    logit_neutral = (-30 - 10) * per_point
    neutral = serving.elo_contributions(1 / (1 + math.exp(-logit_neutral)), {
        "logit_elo_fit": logit_neutral, "has_elo_fit": 1.0, "rating_diff": -30.0, "conference_rating_diff": -10.0,
        "has_rating": 1.0})
    assert dict(neutral) == pytest.approx({"rating_diff": -30 * per_point, "conference_rating_diff": -10 * per_point})
    assert serving.elo_contributions(0.6, {"logit_elo_fit": 0.4, "has_elo_fit": 1.0, "rating_diff": 0.0,
                                           "conference_rating_diff": 0.0, "has_rating": 0.0}) == []
    assert serving.elo_contributions(None, {}) == []


def test_elo_parts_are_ordered_by_size_not_sign():
    """An away favourite: the rating lead (-100 points) outweighs the home advantage (+24 points), so it is
    listed first although it is negative. What the user reads first is what moved the forecast most."""
    per_point = math.log(10) / 400
    logit_fit = (-100 + 24) * per_point
    parts = serving.elo_contributions(1 / (1 + math.exp(-logit_fit)), {
        "logit_elo_fit": logit_fit, "has_elo_fit": 1.0, "rating_diff": -100.0, "conference_rating_diff": 0.0,
        "has_rating": 1.0})
    assert [name for name, _ in parts] == ["rating_diff", "home_advantage"]
    assert dict(parts) == pytest.approx({"rating_diff": -100 * per_point, "home_advantage": 24 * per_point})


def test_elo_parts_need_elo_fit_for_the_game():
    """has_elo_fit 0: logit_elo_fit is a fallback, not elo_fit's forecast, so the forecast is not taken apart
    (elo_contributions' docstring), even though the team ratings exist."""
    assert serving.elo_contributions(0.6, {"logit_elo_fit": 0.4, "has_elo_fit": 0.0, "rating_diff": 30.0,
                                           "conference_rating_diff": 0.0, "has_rating": 1.0}) == []
