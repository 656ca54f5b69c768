"""Asset checks: Great Expectations suites mapped into Dagster check results.

Every check is blocking: a duplicate key, an impossible out count, a negative count or a score that
goes backwards would corrupt every downstream table, so downstream assets do not run.
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


CHECKS = [plays_quality, games_quality, box_batting_quality, box_pitching_quality]
