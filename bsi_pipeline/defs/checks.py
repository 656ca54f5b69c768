"""Asset checks: Great Expectations suites mapped into Dagster check results.

Every check is blocking: a duplicate key, an impossible out count, a negative count or a score that
goes backwards would corrupt every downstream table, so downstream assets do not run.

The features tables' checks are plain @asset_check definitions on outputs of the feature multi-assets
(optional outputs, can_subset=True), not check_specs on the multi-assets: a separate check runs only in a
run that selects its table (or selects the check itself, as weekly_retrain does, reading the table from
the lake), and a failure blocks only the assets that read that table. A blocking check_spec inside the
multi-asset would fail the whole step, the `_excluded` output with it (dagster-io/dagster#20659).
"""


import dagster as dg
import polars as pl

from bsi_pipeline import quality


def _result(outcome: quality.SuiteResult) -> dg.AssetCheckResult:
    failures = outcome.failures()
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if outcome.passed else "; ".join(
            f"{f['expectation']} {f['kwargs']} failed on {f['unexpected_count']} rows (e.g. {f['examples'][:3]})"
            for f in failures),
        metadata={
            "rows": outcome.rows,
            "expectations": len(outcome.expectations),
            "failed": len(failures),
            "details": dg.MetadataValue.json(outcome.expectations),
        },
    )


@dg.asset_check(asset="plays", blocking=True,
                description="GX: unique (game_id, seq), non-null ids, outs 0..3, scores >= 0 and never decreasing "
                            "within a game, event types in the vocabulary, dates inside the season.")
def plays_quality(plays: pl.DataFrame) -> dg.AssetCheckResult:
    return _result(quality.validate("plays", quality.plays_frame_for_checks(plays), quality.plays_suite()))


@dg.asset_check(asset="games", blocking=True,
                description="GX: unique non-null game ids, teams and dates, non-negative scores, sports in scope.")
def games_quality(games: pl.DataFrame) -> dg.AssetCheckResult:
    return _result(quality.validate("games", games, quality.games_suite()))


@dg.asset_check(asset="box_batting", blocking=True,
                description="GX: one row per game, team and player; counts non-negative.")
def box_batting_quality(box_batting: pl.DataFrame) -> dg.AssetCheckResult:
    return _result(quality.validate("box_batting", box_batting, quality.box_batting_suite()))


@dg.asset_check(asset="box_pitching", blocking=True,
                description="GX: one row per game, team and known pitcher; counts non-negative.")
def box_pitching_quality(box_pitching: pl.DataFrame) -> dg.AssetCheckResult:
    return _result(quality.validate("box_pitching", box_pitching, quality.box_pitching_suite()))


_FEATURES = "GX: unique non-null row_id and keys, season = year of the date, no null/NaN model input; "


@dg.asset_check(asset="features_games", blocking=True,
                description=_FEATURES + "home_win 0/1 and equal to the final score's winner (no ties), scores "
                            ">= 0, p_<system> and p_elo within [0, 1], "
                            f"rest days 1..{quality.REST_CAP}.")
def features_games_quality(features_games: pl.DataFrame) -> dg.AssetCheckResult:
    return _result(quality.validate_features("features_games", features_games))


@dg.asset_check(asset="features_pitcher_starts", blocking=True,
                description=_FEATURES + "one start per game and team, named pitcher and opponent, 0 <= "
                            "strikeouts <= batters_faced, over_line = strikeouts > line, "
                            f"line >= {quality.MIN_LINE}, rates and P(over) within [0, 1], "
                            f"days of rest 1..{quality.DAYS_REST_CAP}.")
def features_pitcher_starts_quality(features_pitcher_starts: pl.DataFrame) -> dg.AssetCheckResult:
    return _result(quality.validate_features("features_pitcher_starts", features_pitcher_starts))


@dg.asset_check(asset="features_batted_balls", blocking=True,
                description=_FEATURES + "is_home_run and is_hit 0/1 with every home run a hit, woba_value "
                            "present and >= 0, xwOBA >= 0 where given, exit velocity > 0, launch angle within "
                            "[-90, 90].")
def features_batted_balls_quality(features_batted_balls: pl.DataFrame) -> dg.AssetCheckResult:
    return _result(quality.validate_features("features_batted_balls", features_batted_balls))


FEATURE_CHECKS = [features_games_quality, features_pitcher_starts_quality, features_batted_balls_quality]
CHECKS = [plays_quality, games_quality, box_batting_quality, box_pitching_quality, *FEATURE_CHECKS]
