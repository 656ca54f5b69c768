"""Model specs, time-based splits and ensemble weights: the rules the factory trains by."""

import dataclasses
import datetime as dt

import numpy as np
import polars as pl
import pytest
import yaml

from bsi_pipeline.models.ensemble import skill_weights
from bsi_pipeline.models.specs import SpecError, load_specs
from bsi_pipeline.models.splits import Slices, TrainingDataError, model_frame, time_split


def test_packaged_specs_cover_the_issue_keys():
    specs = load_specs()
    assert {"mlb_hr_prob", "mlb_xwoba", "ncaa_home_win", "mlb_home_win", "ncaa_pitcher_strikeouts"} <= set(specs)
    assert specs["mlb_hr_prob"].task == "binary" and specs["mlb_xwoba"].task == "regression"
    assert specs["mlb_home_win"].baseline == "p_elo" and specs["mlb_home_win"].must_beat_baseline
    # compare_with is part of a spec's identity only where it is set: other specs keep their model ids
    assert specs["ncaa_home_win"].as_dict()["compare_with"] == ["p_ridge_stack"]
    assert "compare_with" not in specs["mlb_hr_prob"].as_dict()


@pytest.mark.parametrize("change, message", [
    ({"task": "ranking"}, "task 'ranking'"),
    ({"algorithms": ["xgboost", "catboost"]}, "unknown algorithm"),
    ({"algorithms": ["ensemble"]}, "needs at least one"),
    ({"features": ["is_home_run", "launch_speed"]}, "also a feature"),
    ({"colour": "red"}, "unknown field"),
    ({"compare_with": ["p_elo"]}, "compare_with needs a baseline"),
    ({"baseline": "estimated_woba_using_speedangle", "compare_with": "p_elo"}, "must be a list"),
])
def test_bad_specs_are_refused_with_the_reason(tmp_path, change, message):
    spec = dict(load_specs()["mlb_hr_prob"].as_dict())
    spec.pop("key")
    spec.update(change)
    path = tmp_path / "specs.yaml"
    path.write_text(yaml.safe_dump({"broken": spec}))
    with pytest.raises(SpecError, match=message):
        load_specs(path)


@pytest.mark.parametrize("exempt, message", [
    ({"launch_speed": "because"}, "psi_exempt names \\['launch_speed'\\], not among its features"),
    ({"launch_angle": " "}, "psi_exempt must map each feature to the reason"),
    (["launch_angle"], "psi_exempt must map each feature to the reason"),
])
def test_a_psi_exemption_names_one_of_the_spec_features_and_says_why(tmp_path, exempt, message):
    spec = dict(load_specs()["mlb_hr_prob"].as_dict(), features=["launch_angle", "spray_angle"], psi_exempt=exempt)
    spec.pop("key")
    path = tmp_path / "specs.yaml"
    path.write_text(yaml.safe_dump({"broken": spec}))
    with pytest.raises(SpecError, match=message):
        load_specs(path)


def test_a_psi_exemption_is_monitoring_not_model_identity():
    """Declaring (or rewording) an exemption must not give the model a new id, so it is left out of as_dict."""
    home = load_specs()["mlb_home_win"]
    assert set(home.psi_exempt) == {"home_edge"} and "80 games" in home.psi_exempt["home_edge"]
    assert home.as_dict() == dataclasses.replace(home, psi_exempt={}).as_dict()
    assert "psi_exempt" not in home.as_dict()


def test_a_count_spec_needs_its_line_column(tmp_path):
    """ncaa_pitcher_strikeouts is evaluated on P(over the line): without line_column it trained and calibrated,
    then failed at evaluation with a TypeError."""
    spec = dict(load_specs()["ncaa_pitcher_strikeouts"].as_dict())
    spec.pop("key")
    spec.pop("line_column")
    path = tmp_path / "specs.yaml"
    path.write_text(yaml.safe_dump({"no_line": spec}))
    with pytest.raises(SpecError, match="task count needs line_column"):
        load_specs(path)


def _frame(seasons=(2020, 2021, 2022), per_day=3, days=40):
    rows = []
    for season in seasons:
        for day in range(days):
            for k in range(per_day):
                rows.append({"row_id": f"{season}-{day}-{k}", "season": season,
                             "date": dt.date(season, 4, 1) + dt.timedelta(days=day),
                             "launch_speed": 80.0 + k, "launch_angle": 10.0 + day % 30, "spray_angle": 0.0,
                             "has_spray": 1.0, "pull_angle": 0.0, "has_pull": 1.0, "is_home_run": float((day + k) % 7 == 0),
                             "estimated_woba_using_speedangle": 0.3, "woba_value": 0.3})
    return pl.DataFrame(rows).sample(fraction=1.0, shuffle=True, seed=3)


def test_time_split_holds_out_the_last_season_and_never_splits_a_date():
    spec = load_specs()["mlb_hr_prob"]
    spec = type(spec)(**{**spec.__dict__, "min_rows": {"train": 10, "valid": 10, "test": 10}})
    slices = time_split(model_frame(_frame(), spec), spec)
    assert set(slices.test["season"].unique()) == {2022}
    assert slices.train["date"].max() < slices.valid["date"].min()
    assert slices.valid["season"].max() < 2022
    total = slices.train.height + slices.valid.height + slices.test.height
    assert total == 3 * 40 * 3
    assert abs(slices.valid.height / (slices.train.height + slices.valid.height) - 0.2) < 0.05
    # deterministic order: the same slices whatever the input order
    again = time_split(model_frame(_frame().reverse(), spec), spec)
    assert again.train["row_id"].to_list() == slices.train["row_id"].to_list()


def test_too_few_rows_and_missing_columns_are_named():
    spec = load_specs()["mlb_hr_prob"]
    with pytest.raises(TrainingDataError, match="too few rows to train"):
        time_split(model_frame(_frame(days=5), spec), spec)
    with pytest.raises(TrainingDataError, match="no column"):
        model_frame(_frame().drop("spray_angle"), spec)
    with pytest.raises(TrainingDataError, match="null/NaN"):
        model_frame(_frame().with_columns(launch_speed=pl.lit(float("nan"))), spec)
    # a row without a date would fall out of both sides of every date cut
    undated = _frame().with_columns(date=pl.when(pl.col("row_id") == "2021-3-1").then(None).otherwise(pl.col("date")))
    with pytest.raises(TrainingDataError, match="column date has 1 null"):
        model_frame(undated, spec)


def test_a_binary_target_other_than_0_1_and_a_duplicated_row_id_are_refused():
    spec = load_specs()["mlb_hr_prob"]
    frame = _frame()
    with pytest.raises(TrainingDataError, match="target is_home_run has 1 value"):
        model_frame(frame.with_columns(is_home_run=pl.when(pl.col("row_id") == "2021-3-1").then(2.0)
                                       .otherwise(pl.col("is_home_run"))), spec)
    with pytest.raises(TrainingDataError, match="duplicated row_id"):
        model_frame(pl.concat([frame, frame.head(1)]), spec)


def test_the_slices_digest_changes_with_a_feature_value():
    """The digest is part of the model id: the same rows with a corrected value are other data, so train_stage
    must not reuse the old candidates."""
    frame = model_frame(_frame(), load_specs()["mlb_hr_prob"])
    columns = ["launch_speed", "launch_angle"]
    slices = Slices(train=frame.head(100), valid=frame.slice(100, 50), test=frame.tail(50))
    fixed = frame.with_columns(launch_speed=pl.when(pl.col("row_id") == frame["row_id"][7]).then(101.5)
                               .otherwise(pl.col("launch_speed")))
    changed = Slices(train=fixed.head(100), valid=fixed.slice(100, 50), test=fixed.tail(50))
    assert changed.train["row_id"].to_list() == slices.train["row_id"].to_list()
    assert changed.digest(columns) != slices.digest(columns)
    assert Slices(train=frame.head(100), valid=frame.slice(100, 50), test=frame.tail(50)).digest(columns) == \
        slices.digest(columns)


def test_the_spec_filter_keeps_only_its_league():
    """mlb_home_win and ncaa_home_win share features_games: filter {league: ...} keeps each to its own."""
    spec = dataclasses.replace(load_specs()["mlb_hr_prob"], filter={"league": "mlb"})
    frame = _frame().with_columns(league=pl.when(pl.col("row_id").str.ends_with("-0")).then(pl.lit("ncaa"))
                                  .otherwise(pl.lit("mlb")))
    kept = model_frame(frame, spec)
    assert kept.height == 3 * 40 * 2 and set(kept["league"]) == {"mlb"}


def test_skill_weights_follow_skill_and_respect_the_clamp():
    weights = skill_weights({"a": 0.30, "b": 0.25, "c": 0.02, "d": 0.01})
    assert abs(sum(weights.values()) - 1.0) < 1e-12
    assert all(0.10 - 1e-12 <= w <= 0.60 + 1e-12 for w in weights.values())
    assert weights["a"] > weights["b"] > weights["c"] >= weights["d"]
    assert weights["d"] == pytest.approx(0.10)
    dominant = skill_weights({"a": 1.0, "b": 0.001})
    assert dominant == pytest.approx({"a": 0.60, "b": 0.40})
    equal = skill_weights({"a": 0.2, "b": 0.2, "c": 0.2})
    assert np.allclose(list(equal.values()), 1 / 3)


def test_the_cap_holds_when_the_other_members_have_no_skill():
    """One skilled member at the 0.60 cap and two without skill at the 0.10 floor sum to 0.80: the two
    take the rest equally (the weights used to be renormalized to 0.75 / 0.125 / 0.125)."""
    assert skill_weights({"a": 0.2, "b": 0.0, "c": 0.0}) == pytest.approx({"a": 0.6, "b": 0.2, "c": 0.2})
    lopsided = skill_weights({"a": 0.2, "b": -0.1, "c": 0.0, "d": 0.0})
    assert lopsided == pytest.approx({"a": 0.6, "b": 0.4 / 3, "c": 0.4 / 3, "d": 0.4 / 3})
    # Where the floor leaves room under the cap, the members without skill stay at the floor.
    room = skill_weights({"a": 0.3, "b": 0.3, "c": 0.0, "d": 0.0, "e": 0.0})
    assert room == pytest.approx({"a": 0.35, "b": 0.35, "c": 0.1, "d": 0.1, "e": 0.1})


def test_near_ties_go_to_the_simpler_model():
    from bsi_pipeline.models.training import Candidate, choose

    def cand(name, score):
        return Candidate(name, {}, None, "m", 0.0, np.zeros(1), {}, selection_score=score)
    candidates = {n: cand(n, s) for n, s in
                  [("ridge", 0.68121), ("xgboost", 0.68158), ("ensemble", 0.68110), ("stacking", 0.68113)]}
    assert choose(candidates, 0.001) == "ridge"        # within 0.1% of the best: the simplest wins
    assert choose(candidates, 0.0) == "ensemble"       # no tolerance: the best wins
    candidates["ridge"] = cand("ridge", 0.69)
    assert choose(candidates, 0.001) == "xgboost"      # 0.68158 is still within 0.1% of 0.68110
    candidates["xgboost"] = cand("xgboost", 0.70)
    assert choose(candidates, 0.001) == "ensemble"     # ensemble < stacking in simplicity


def test_training_is_skipped_when_spec_and_data_are_unchanged(tmp_path):
    """Incremental retraining: same spec and rows -> the exported candidates are reused; new rows -> trained."""
    from bsi_pipeline.models.factory import train_stage

    spec = load_specs()["mlb_hr_prob"]
    spec = dataclasses.replace(spec, algorithms=("ridge",), min_rows={"train": 10, "valid": 10, "test": 10})
    frame = _frame()
    messages = []
    first = train_stage(frame, spec, tmp_path, log=messages.append)
    again = train_stage(frame, spec, tmp_path, log=messages.append)
    assert again.equals(first) and "reusing" in messages[-1]
    more = pl.concat([frame, _frame(seasons=(2019,), days=5)])
    third = train_stage(more, spec, tmp_path, log=messages.append)
    assert "reusing" not in messages[-1] and third["model_id"][0] != first["model_id"][0]


def test_n_jobs_refuses_what_is_not_a_thread_count(monkeypatch):
    from bsi_pipeline.models.algorithms import n_jobs

    monkeypatch.delenv("BSI_N_JOBS", raising=False)
    assert n_jobs() == 1
    monkeypatch.setenv("BSI_N_JOBS", "2")
    assert n_jobs() == 2
    for bad in ("two", "0", "-1", "1.5"):
        monkeypatch.setenv("BSI_N_JOBS", bad)
        with pytest.raises(ValueError, match="BSI_N_JOBS"):
            n_jobs()
