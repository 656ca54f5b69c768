"""bsi_pipeline.monitoring.system_ensemble: weighted mean, fallback when a system fails, and the
direction of the agreement bonus and disagreement penalty, on a synthetic slate of games."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from bsi_pipeline.monitoring import system_ensemble as se

WEIGHTS = {"elo": 1.0, "model_champion": 2.0}


def _logit(p):
    return math.log(p / (1 - p))


def _sigmoid(z):
    return 1 / (1 + math.exp(-z))


def _long(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"row_id": pl.String, "system": pl.String, "p": pl.Float64},
                        orient="row")


@pytest.fixture(scope="module")
def slate() -> pl.DataFrame:
    """800 games: both systems see the same true strength with their own noise; some games have
    a failed model (null p) or no elo row (team without a rating)."""
    rng = np.random.default_rng(20240815)
    n = 800
    z = rng.normal(0.15, 0.7, n)
    elo = 1 / (1 + np.exp(-(z + rng.normal(0, 0.25, n))))
    model = 1 / (1 + np.exp(-(z + rng.normal(0, 0.25, n))))
    ids = [f"g{i:04d}" for i in range(n)]
    model_failed = rng.uniform(size=n) < 0.05
    elo_absent = rng.uniform(size=n) < 0.05
    rows = []
    for i in range(n):
        if not elo_absent[i]:
            rows.append((ids[i], "elo", float(elo[i])))
        rows.append((ids[i], "model_champion", None if model_failed[i] else float(model[i])))
    return _long(rows)


def _expected_mean(group: pl.DataFrame) -> float | None:
    ok = group.filter(pl.col("p").is_not_null())
    if ok.height == 0:
        return None
    w = np.array([WEIGHTS[s] for s in ok["system"]])
    return float(np.sum(w * ok["p"].to_numpy()) / w.sum())


def test_output_shape_and_weighted_mean(slate):
    out = se.combine_systems(slate, WEIGHTS)
    assert out.columns == ["row_id", *se.OUTPUT_SCHEMA]
    assert out.height == slate["row_id"].n_unique()
    assert out["row_id"].to_list() == sorted(slate["row_id"].unique().to_list())
    assert set(out["system"]) == {"ensemble"}
    by_id = {k[0]: g for k, g in slate.group_by("row_id")}
    for row in out.iter_rows(named=True):
        expected = _expected_mean(by_id[row["row_id"]])
        if expected is None:
            assert row["p"] is None
            continue
        assert row["p_mean"] == pytest.approx(expected)
        assert 0 < row["p"] < 1
        if row["adjustment"] == "none":
            assert row["p"] == pytest.approx(expected)
    # On this slate all three adjustments occur.
    assert set(out["adjustment"].drop_nulls()) == {"bonus", "penalty", "none"}


def test_fallback_when_a_system_fails(slate):
    out = se.combine_systems(slate, WEIGHTS)
    nulls = slate.filter(pl.col("system") == "model_champion", pl.col("p").is_null())["row_id"]
    with_elo = set(slate.filter(pl.col("system") == "elo")["row_id"])
    fell_back = out.filter(pl.col("row_id").is_in(nulls.to_list()) & pl.col("row_id").is_in(list(with_elo)))
    assert fell_back.height > 0
    elo_p = dict(zip(*slate.filter(pl.col("system") == "elo").select("row_id", "p").to_dict().values()))
    for row in fell_back.iter_rows(named=True):
        assert row["systems_used"] == ["elo"]
        assert row["systems_missing"] == ["model_champion"]
        assert row["p"] == pytest.approx(elo_p[row["row_id"]])  # one survivor: no adjustment
        assert row["note"] == "fallback to elo: failed model_champion (null p)"
    no_elo = out.filter(~pl.col("row_id").is_in(list(with_elo)) & pl.col("p").is_not_null())
    assert no_elo.height > 0
    assert set(no_elo["note"]) == {"fallback to model_champion: failed elo (no forecast row)"}
    complete = out.filter(pl.col("systems_missing").list.len() == 0)
    assert complete["note"].null_count() == complete.height


def test_every_system_failed_gives_null_with_note():
    out = se.combine_systems(_long([("a", "elo", None), ("a", "model_champion", float("nan"))]), WEIGHTS)
    row = out.row(0, named=True)
    assert row["p"] is None and row["systems_used"] == []
    assert row["note"] == "no forecast: every system failed: elo (null p), model_champion (null p)"


def test_agreement_bonus_pushes_away_from_half():
    forecasts = _long([("home_fav", "elo", 0.62), ("home_fav", "model_champion", 0.65),
                       ("away_fav", "elo", 0.36), ("away_fav", "model_champion", 0.33)])
    out = {r["row_id"]: r for r in se.combine_systems(forecasts, WEIGHTS, bonus=0.1).iter_rows(named=True)}
    for row_id, side in (("home_fav", 1), ("away_fav", -1)):
        row = out[row_id]
        assert row["adjustment"] == "bonus"
        assert side * (row["p"] - row["p_mean"]) > 0  # further from 0.5, same side
        assert row["p"] == pytest.approx(_sigmoid(_logit(row["p_mean"]) * 1.1))
        assert row["agreement"] == pytest.approx(0.03)


def test_disagreement_penalty_pulls_toward_half():
    forecasts = _long([("g", "elo", 0.58), ("g", "model_champion", 0.45)])
    row = se.combine_systems(forecasts, WEIGHTS, penalty=0.3).row(0, named=True)
    assert row["adjustment"] == "penalty"
    assert row["p_mean"] == pytest.approx((0.58 + 2 * 0.45) / 3)
    assert row["p_mean"] < row["p"] < 0.5  # pulled toward 0.5, not across it
    assert row["p"] == pytest.approx(_sigmoid(_logit(row["p_mean"]) * 0.7))


def test_same_side_but_wide_spread_is_not_adjusted():
    forecasts = _long([("g", "elo", 0.55), ("g", "model_champion", 0.75)])
    row = se.combine_systems(forecasts, WEIGHTS, agreement_band=0.05).row(0, named=True)
    assert row["adjustment"] == "none" and row["p"] == pytest.approx(row["p_mean"])
    wide = se.combine_systems(forecasts, WEIGHTS, agreement_band=0.25).row(0, named=True)
    assert wide["adjustment"] == "bonus" and wide["p"] > wide["p_mean"]


def test_agreement_exactly_at_the_band_gets_the_bonus():
    """0.67 - 0.62 is 0.05000000000000004 in floats: "within 0.05" as the module says (_BAND_SLACK)."""
    row = se.combine_systems(_long([("g", "elo", 0.62), ("g", "model", 0.67)]),
                             {"elo": 0.5, "model": 0.5}).row(0, named=True)
    assert row["adjustment"] == "bonus"
    assert row["p"] == pytest.approx(_sigmoid(1.05 * _logit(0.645)))


def test_a_system_at_exactly_one_half_gets_neither_bonus_nor_penalty():
    """Step 4 of the module's rule: "none" when a survivor is at exactly 0.5 (it takes no side), even within the
    band."""
    row = se.combine_systems(_long([("g", "elo", 0.50), ("g", "model", 0.52)]),
                             {"elo": 0.5, "model": 0.5}).row(0, named=True)
    assert row["adjustment"] == "none" and row["p"] == pytest.approx(0.51)


def test_slate_directions(slate):
    out = se.combine_systems(slate, WEIGHTS)
    dist = (out["p"] - 0.5).abs() - (out["p_mean"] - 0.5).abs()
    bonus = out["adjustment"] == "bonus"
    penalty = out["adjustment"] == "penalty"
    assert (dist.filter(bonus) > 0).all()
    assert (dist.filter(penalty) < 0).all()
    assert (out.filter(bonus)["agreement"] <= se.DEFAULT_AGREEMENT_BAND + 1e-12).all()
    # The adjustment never moves p across 0.5.
    both = out.filter(pl.col("p").is_not_null())
    assert ((both["p"] - 0.5).sign() == (both["p_mean"] - 0.5).sign()).all()


def test_extreme_forecasts_stay_inside_unit_interval():
    forecasts = _long([("g", "elo", 1.0), ("g", "model_champion", 0.999999),
                       ("h", "elo", 0.0), ("h", "model_champion", 0.0)])
    out = se.combine_systems(forecasts, WEIGHTS, bonus=0.5)
    assert ((out["p"] > 0) & (out["p"] < 1)).all()


def test_weight_zero_switches_a_system_off():
    forecasts = _long([("g", "elo", 0.7), ("g", "model_champion", 0.4), ("g", "market", 0.65)])
    row = se.combine_systems(forecasts, {**WEIGHTS, "market": 0.0}).row(0, named=True)
    assert row["systems_used"] == ["elo", "model_champion"] and row["systems_missing"] == []


def test_bad_input_is_an_error():
    ok = _long([("g", "elo", 0.6), ("g", "model_champion", 0.55)])
    with pytest.raises(ValueError, match="without a weight.*market"):
        se.combine_systems(pl.concat([ok, _long([("g", "market", 0.6)])]), WEIGHTS)
    with pytest.raises(ValueError, match="duplicate"):
        se.combine_systems(pl.concat([ok, _long([("g", "elo", 0.61)])]), WEIGHTS)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        se.combine_systems(_long([("g", "elo", 1.3)]), WEIGHTS)
    with pytest.raises(ValueError, match="weight > 0"):
        se.combine_systems(ok, {"elo": 0.0, "model_champion": 0.0})
    with pytest.raises(ValueError, match="weight of system 'elo'"):
        se.combine_systems(ok, {"elo": -1.0, "model_champion": 1.0})


# ------------------------------------------------------------------------------- fitting the weights


@pytest.fixture(scope="module")
def mlb_systems():
    """Two real systems on every 2008-2009 MLB game of the embedded logs: the league's Elo forecast and
    the components system (Elo + BaseRuns + starters + lineups), with the outcomes."""
    from bsi_pipeline_tests.monitoring_helpers import mlb_games_features

    games = mlb_games_features().filter(pl.col("home_win").is_not_null())
    return (games["p_elo"].to_numpy(), 1 / (1 + np.exp(-games["logit_components"].to_numpy())),
            games["home_win"].cast(pl.Float64).to_numpy())


def test_fitted_weights_favour_the_better_system_and_are_what_combine_systems_scores(mlb_systems):
    elo, components, y = mlb_systems
    fitted = se.fit_ensemble("elo", elo, "components", components, y, source="games")
    assert fitted.source == f"fitted on {len(y)} games" and fitted.scores["rows"] == len(y) == 4858
    assert fitted.weights["components"] > 0.5 and sum(fitted.weights.values()) == pytest.approx(1.0)
    assert set(fitted.weights.values()) <= set(se.WEIGHT_GRID) | {round(1 - w, 2) for w in se.WEIGHT_GRID}
    assert fitted.scores["fitted"] <= min(fitted.scores["defaults"], fitted.scores["components"] + 1e-3)
    # the search's array rule is combine_systems' rule: the same log loss from the public function
    ids = np.arange(len(y))
    long = pl.DataFrame({"row_id": np.concatenate([ids, ids]), "system": ["elo"] * len(y) + ["components"] * len(y),
                         "p": np.concatenate([elo, components])})
    p = fitted.combine(long).sort("row_id")["p"].to_numpy()
    assert se.metrics.log_loss(p, y) == pytest.approx(fitted.scores["fitted"], abs=1e-12)
    assert (fitted.bonus, fitted.penalty) == (se.DEFAULT_BONUS, se.DEFAULT_PENALTY)


def test_too_few_complete_rows_keep_the_default_weights(mlb_systems):
    elo, components, y = (v[: se.MIN_FIT_ROWS].copy() for v in mlb_systems)
    elo[:3] = np.nan   # rows missing a forecast do not count
    kept = se.fit_ensemble("elo", elo, "components", components, y, source="games")
    assert kept.weights == {"elo": 0.5, "components": 0.5} and kept.scores == {}
    assert kept.source == f"defaults: {se.MIN_FIT_ROWS - 3} games (< {se.MIN_FIT_ROWS}) to fit on"
    assert se.fit_ensemble("elo", elo, "components", components, y, min_rows=100).source.startswith("fitted on 997")


def test_fit_ensemble_fits_at_exactly_min_rows_and_counts_only_rows_with_an_outcome():
    """fit_ensemble keeps the defaults "with fewer than min_rows complete rows": exactly min_rows is enough. A row
    without an outcome is not complete."""
    rng = np.random.default_rng(4)
    a, b = rng.uniform(0.2, 0.8, 40), rng.uniform(0.2, 0.8, 40)
    y = (rng.uniform(size=40) < b).astype(float)
    assert se.fit_ensemble("elo", a, "model", b, y, source="rows", min_rows=40).source == "fitted on 40 rows"
    y[:3] = np.nan   # outcomes not known yet: 37 complete rows
    kept = se.fit_ensemble("elo", a, "model", b, y, source="rows", min_rows=41)
    assert kept.source == "defaults: 37 rows (< 41) to fit on" and kept.weights == {"elo": 0.5, "model": 0.5}
    assert se.fit_ensemble("elo", a, "model", b, y, source="rows", min_rows=37).scores["rows"] == 37


def test_contributions_are_each_systems_share_and_the_adjustment():
    weights = {"elo": 0.25, "model": 0.75}
    forecasts = pl.DataFrame({"row_id": ["g1", "g1", "g2", "g2", "g3", "g3"],
                              "system": ["elo", "model"] * 3,
                              "p": [0.60, 0.62, 0.45, 0.70, None, 0.40]})
    out = se.combine_systems(forecasts, weights)
    by_row = {r["row_id"]: r for r in out.iter_rows(named=True)}
    agree = by_row["g1"]   # both above 0.5 and within the band: bonus
    parts = se.contributions({"elo": 0.60, "model": 0.62}, weights, agree["p"], agree["p_mean"], agree["adjustment"])
    assert agree["adjustment"] == "bonus"
    assert dict(parts) == pytest.approx({"model": 0.75 * 0.12, "elo": 0.25 * 0.10,
                                         "bonus": agree["p"] - agree["p_mean"]})
    assert [name for name, _ in parts] == ["model", "elo", "bonus"]          # largest first
    assert sum(v for _, v in parts) == pytest.approx(agree["p"] - 0.5, abs=1e-15)
    split = by_row["g2"]   # opposite sides: penalty, which pulls toward 0.5
    parts = dict(se.contributions({"elo": 0.45, "model": 0.70}, weights, split["p"], split["p_mean"],
                                  split["adjustment"]))
    assert split["adjustment"] == "penalty" and parts["penalty"] < 0
    assert sum(parts.values()) == pytest.approx(split["p"] - 0.5, abs=1e-15)
    alone = by_row["g3"]   # elo failed: the model is the whole forecast
    alone_parts = se.contributions({"elo": None, "model": 0.40}, weights, alone["p"], alone["p_mean"],
                                   alone["adjustment"])
    assert alone_parts == [("model", pytest.approx(-0.10))]
    assert se.contributions({"elo": None, "model": None}, weights, None, None, None) == []


def test_contributions_are_ordered_by_size_when_they_pull_toward_the_away_side():
    """Both systems favour the away side (0.30, 0.33, within the band: bonus). Shares -0.10 and -0.085, bonus
    sigmoid(1.05 logit(0.315)) - 0.315 = -0.0083: largest |value| first, as for a home side."""
    weights = {"elo": 0.5, "model": 0.5}
    p_mean = 0.315
    p = _sigmoid(1.05 * _logit(p_mean))
    parts = se.contributions({"elo": 0.30, "model": 0.33}, weights, p, p_mean, "bonus")
    assert [name for name, _ in parts] == ["elo", "model", "bonus"]
    assert dict(parts) == pytest.approx({"elo": -0.10, "model": -0.085, "bonus": p - p_mean})
