"""Provenance of every column of every features table, as data: what a model may use.

Kinds:
- key:      identifies the row (row_id, league, season, date, and names for analysts);
- pre_game: known before the event starts, computed only from games on earlier dates;
- input:    (batted balls) measured at contact, the moment the prediction is about;
- outcome:  computed from the event itself: labels, never features;
- baseline: another system's forecast, known before the event, kept for side-by-side comparison.

The builders select their columns in the order declared here, so this file and the tables cannot
drift apart (bsi_pipeline.features.common.finalize refuses a table that lacks a declared column).
Training calls `check_leakage(table, features)` and refuses a spec that uses an outcome or an
undeclared name.
"""

from __future__ import annotations

KEY, PRE_GAME, INPUT, OUTCOME, BASELINE = "key", "pre_game", "input", "outcome", "baseline"
KINDS = (KEY, PRE_GAME, INPUT, OUTCOME, BASELINE)
MODEL_INPUT_KINDS = (PRE_GAME, INPUT)

_KEYS = {"row_id": KEY, "league": KEY, "season": KEY, "date": KEY}


def _sides(*names: str, diff: bool = True) -> dict[str, str]:
    """<name>_home, <name>_away and (home minus away) <name>_diff, all pre_game."""
    out = {}
    for name in names:
        out[f"{name}_home"] = PRE_GAME
        out[f"{name}_away"] = PRE_GAME
        if diff:
            out[f"{name}_diff"] = PRE_GAME
    return out


def _systems(*systems: str) -> dict[str, str]:
    out = {}
    for s in systems:
        out.update({f"p_{s}": PRE_GAME, f"logit_{s}": PRE_GAME, f"has_{s}": PRE_GAME})
    return out


PROVENANCE: dict[str, dict[str, str]] = {
    "features_batted_balls": {
        **_KEYS,
        "launch_speed": INPUT, "launch_angle": INPUT, "spray_angle": INPUT, "has_spray": INPUT,
        "pull_angle": INPUT, "has_pull": INPUT, "is_barrel": INPUT, "is_hard_hit": INPUT,
        "is_home_run": OUTCOME, "is_hit": OUTCOME, "woba_value": OUTCOME,
        "estimated_woba_using_speedangle": BASELINE,
    },
    "features_games": {
        **_KEYS,
        **_systems("elo_fit", "elo_plain", "elo_pitcher", "ridge_margin", "components", "ridge_stack"),
        "rating_diff": PRE_GAME, "conference_rating_diff": PRE_GAME, "has_rating": PRE_GAME,
        **_sides("rest", "travel"),
        **_sides("first_game", diff=False),
        **_sides("games_played", "form5", "form10", "run_diff10", "run_diff_season", "pythag"),
        "h2h_net": PRE_GAME, "h2h_games": PRE_GAME, "series_day": PRE_GAME, "weekend": PRE_GAME,
        "conference_game": PRE_GAME, "neutral": PRE_GAME, "postseason": PRE_GAME,
        **_sides("starter_rest"),
        **_sides("starter_short_rest", "starter_long_rest", "has_starter", diff=False),
        "home_edge": PRE_GAME,
        "home_win": OUTCOME, "home_score": OUTCOME, "away_score": OUTCOME,
        "p_elo": BASELINE,
    },
    "features_pitcher_starts": {
        **_KEYS,
        "game_id": KEY, "team": KEY, "player": KEY, "player_key": KEY, "opponent": KEY,
        "is_home": PRE_GAME, "conference_game": PRE_GAME,
        "prior_starts": PRE_GAME, "prior_starts_season": PRE_GAME, "prior_appearances": PRE_GAME,
        "prior_bf": PRE_GAME, "k_per_bf": PRE_GAME, "k_per_start": PRE_GAME, "bf_per_start": PRE_GAME,
        "outs_per_start": PRE_GAME, "days_rest": PRE_GAME, "first_appearance": PRE_GAME,
        "opp_k_rate": PRE_GAME, "opp_prior_pa": PRE_GAME, "league_k_rate": PRE_GAME, "line": PRE_GAME,
        "strikeouts": OUTCOME, "over_line": OUTCOME, "batters_faced": OUTCOME,
        "baseline_k": BASELINE, "baseline_p_over": BASELINE,
    },
}


EVENT = {"features_batted_balls": "the batted ball", "features_games": "the game",
         "features_pitcher_starts": "the start"}


class LeakageError(ValueError):
    """A model asked for a column computed from the event it predicts, or for a column nobody declared."""


def columns(table: str) -> dict[str, str]:
    """column -> kind for one features table, in the table's column order."""
    if table not in PROVENANCE:
        raise LeakageError(f"unknown features table {table!r} (known: {', '.join(sorted(PROVENANCE))})")
    return dict(PROVENANCE[table])


def feature_columns(table: str) -> list[str]:
    """The columns a model may use as features (pre_game and input), in table order."""
    return [c for c, kind in columns(table).items() if kind in MODEL_INPUT_KINDS]


def label_columns(table: str) -> list[str]:
    return [c for c, kind in columns(table).items() if kind == OUTCOME]


def baseline_columns(table: str) -> list[str]:
    return [c for c, kind in columns(table).items() if kind == BASELINE]


def check_leakage(table: str, features: list[str]) -> None:
    """Raise LeakageError naming every requested feature that is an outcome or is not declared at all.

    Keys and baselines are known before the event, so they are not leakage and pass."""
    declared = columns(table)
    outcomes = [f for f in features if declared.get(f) == OUTCOME]
    unknown = [f for f in features if f not in declared]
    problems = []
    if outcomes:
        problems.append(f"feature(s) {', '.join(outcomes)} of {table} are computed from "
                        f"{EVENT.get(table, 'the event')} itself (outcome); "
                        "a model may use only pre_game/input features")
    if unknown:
        problems.append(f"feature(s) {', '.join(unknown)} are not declared for {table} in "
                        "bsi_pipeline/features/provenance.py")
    if problems:
        raise LeakageError("; ".join(problems))
