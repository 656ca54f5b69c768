"""Champion/challenger promotion: whether a newly trained model version replaces the champion.

The policy is data (promotion_policy.yaml beside this module) so the tolerances can be read and
reviewed without reading code. :func:`decide` applies it to two plain dicts, one per model
version, as an MLflow run's metrics and tags would give them:

* ``task``: "classification" (default) or "regression"; picks the policy block.
* the metrics the policy lists, at the top level: ``brier`` and ``log_loss`` for a
  classification, ``rmse`` for a regression. Lower is better for all of them.
* ``calibration_accepted`` (bool) and ``calibration_reasons`` (list of str): the calibration
  acceptance verdict, required where the policy says so.
* the held-out window the metrics were computed on: ``window_id`` and/or ``window_start`` and
  ``window_end`` (str, date or datetime). Two versions are compared only on the same window.
* ``model_version`` (optional): used in the evidence.

A challenger replaces the champion only when it is better on the held-out window: not worse beyond
the tolerance on any metric AND strictly better on at least one. Any failure to establish that keeps
the champion: the decision is then "challenger" with the reason, never an exception.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

__all__ = [
    "POLICY_FILE",
    "TASKS",
    "WINDOW_KEYS",
    "Decision",
    "PromotionPolicy",
    "TaskPolicy",
    "decide",
    "load_policy",
]

POLICY_FILE = Path(__file__).with_name("promotion_policy.yaml")
TASKS = ("classification", "regression", "count")
WINDOW_KEYS = ("window_id", "window_start", "window_end")
# Differences within this of the tolerance count as within it (0.2195 - 0.2190 is not exactly 0.0005).
_FLOAT_SLACK = 1e-12


@dataclass(frozen=True)
class TaskPolicy:
    """One task's rule: per-metric tolerances (lower is better) and whether calibration
    acceptance is required."""

    tolerances: dict[str, float]
    require_calibration_acceptance: bool


@dataclass(frozen=True)
class PromotionPolicy:
    tasks: dict[str, TaskPolicy]
    source: str = ""

    def for_task(self, task: str) -> TaskPolicy:
        if task not in self.tasks:
            raise ValueError(f"the promotion policy has no rule for task {task!r} "
                             f"(tasks: {sorted(self.tasks)})")
        return self.tasks[task]


@dataclass(frozen=True)
class Decision:
    """promote: whether the challenger becomes champion; status: the challenger's resulting
    status ("champion" or "challenger"); reason: sentences with the numbers behind the call;
    evidence: the numbers themselves, for the registry/metadata."""

    promote: bool
    status: str
    reason: str
    evidence: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# the policy file


def _task_policy(task: str, spec, where: str) -> TaskPolicy:
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: {task} must be a mapping")
    unknown = set(spec) - {"tolerances", "require_calibration_acceptance"}
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)} under {task}")
    tolerances = spec.get("tolerances")
    if not isinstance(tolerances, dict) or not tolerances:
        raise ValueError(f"{where}: {task}.tolerances must list at least one metric")
    clean = {}
    for metric, value in tolerances.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{where}: {task}.tolerances.{metric} must be a number >= 0; got {value!r}")
        clean[str(metric)] = float(value)
    required = spec.get("require_calibration_acceptance", False)
    if not isinstance(required, bool):
        raise ValueError(f"{where}: {task}.require_calibration_acceptance must be true or false")
    return TaskPolicy(tolerances=clean, require_calibration_acceptance=required)


def load_policy(path: str | Path | None = None) -> PromotionPolicy:
    """The policy in ``path`` (default: promotion_policy.yaml beside this module), validated:
    known tasks only, tolerances numbers >= 0."""
    path = Path(path) if path is not None else POLICY_FILE
    raw = yaml.safe_load(path.read_text())
    if not isinstance(raw, dict) or not raw:
        raise ValueError(f"{path}: expected a mapping of task -> rule")
    unknown = set(raw) - set(TASKS)
    if unknown:
        raise ValueError(f"{path}: unknown task(s) {sorted(unknown)}; expected {TASKS}")
    return PromotionPolicy(tasks={task: _task_policy(task, spec, str(path)) for task, spec in raw.items()},
                           source=str(path))


# --------------------------------------------------------------------------------------
# decide


def _num(x: float) -> str:
    """4 decimals as in the reasons ("0.2231"), scientific when that would print 0.0000."""
    return f"{x:.4f}" if x == 0 or abs(x) >= 5e-5 else f"{x:.2e}"


def _keep(reason: str, evidence: dict) -> Decision:
    return Decision(promote=False, status="challenger", reason=reason, evidence=evidence)


def _window_value(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return None if value is None else str(value)


def _window(record: dict) -> dict:
    return {k: _window_value(record.get(k)) for k in WINDOW_KEYS if record.get(k) is not None}


def _window_mismatch(challenger: dict, champion: dict) -> str | None:
    """Why the two held-out windows cannot be taken as the same one, or None when they are."""
    a, b = _window(challenger), _window(champion)
    if not a and not b:
        return ("refused: neither challenger nor champion names its held-out window "
                f"({', '.join(WINDOW_KEYS)}), so their metrics cannot be compared")
    problems = []
    for key in WINDOW_KEYS:
        if key in a and key not in b:
            problems.append(f"challenger has {key} {a[key]!r} but the champion has none")
        elif key in b and key not in a:
            problems.append(f"champion has {key} {b[key]!r} but the challenger has none")
        elif key in a and a[key] != b[key]:
            problems.append(f"{key} differs: challenger {a[key]!r}, champion {b[key]!r}")
    if problems:
        return ("refused: challenger and champion were not evaluated on the same held-out window ("
                + "; ".join(problems) + ")")
    return None


def _metric(record: dict, name: str, who: str) -> tuple[float | None, str | None]:
    value = record.get(name)
    if value is None:
        return None, f"{who} has no {name} on record"
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None, f"{who} {name} is not a number ({value!r})"
    if not math.isfinite(value):
        return None, f"{who} {name} is not finite ({value!r})"
    return value, None


def _calibration(challenger: dict) -> tuple[bool, list[str]]:
    accepted = challenger.get("calibration_accepted")
    reasons = challenger.get("calibration_reasons") or []
    reasons = [reasons] if isinstance(reasons, str) else [str(r) for r in reasons]
    # Only a real boolean counts: a string "false" must not read as accepted.
    return isinstance(accepted, (bool, np.bool_)) and bool(accepted), reasons


def _metrics(record: dict, names, who: str) -> tuple[dict, list[str]]:
    """The named metrics of one side, and a problem sentence for each missing or non-finite one."""
    values, problems = {}, []
    for name in names:
        values[name], problem = _metric(record, name, who)
        if problem:
            problems.append(problem)
    return values, problems


def decide(policy: PromotionPolicy, challenger: dict, champion: dict | None,
           former_champions: list[dict] | tuple = (), vanished_champion: int | None = None) -> Decision:
    """Whether ``challenger`` replaces ``champion`` under ``policy``. Rules, in order:

    1. The challenger's task (default "classification") must have a rule in the policy, and a
       champion, if any, must be of the same task.
    2. Where the task requires it, the challenger must have ``calibration_accepted`` True;
       otherwise it stays challenger, with its calibration reasons quoted.
    3. The challenger must report every policy metric as a finite number.
    4. No champion: the challenger becomes champion, after rule 9 when former champions are given
       (the champion's version was deleted from MLflow): a vanished champion must not let a version
       through that is worse than every earlier champion. The reason says "no champion yet" only when
       there are no former champions and no ``vanished_champion`` (the number of a champion version
       that can no longer be re-scored), "no current champion" otherwise.
    5. Same held-out window: every one of window_id/window_start/window_end that either dict
       gives must be given by both and be equal (dates compared as ISO strings), and at least
       one must be given; otherwise refused.
    6. The champion must report every policy metric too (else refused: nothing to compare).
    7. Not worse than the champion beyond the tolerance: for EVERY policy metric, challenger -
       champion <= tolerance (lower is better). Otherwise the reason names each metric that is
       worse beyond its tolerance. The tolerance is a necessary condition, not a reason to promote:
    8. Better than the champion: strictly lower (beyond float noise) on AT LEAST ONE policy metric.
       A tie, or a challenger worse on every metric within the tolerances, stays challenger (the
       project promotes only a version that is better on held-out data), the reason giving the
       numbers. A challenger a little worse on one metric and better on another is promoted.
    9. Rule 7 holds against every former champion given too (re-scored on the same window): without
       it, a chain of promotions each within the tolerance could lose many tolerances in all. (Rule 8
       is about the current champion only: beating it is what a promotion is for.) A
       former champion must be on the same window; one that is not, or lacks a metric, is skipped
       and named in the evidence."""
    task = challenger.get("task", "classification")
    rule = policy.for_task(task)
    evidence: dict = {"task": task, "tolerances": dict(rule.tolerances),
                      "challenger_version": challenger.get("model_version"),
                      "champion_version": None if champion is None else champion.get("model_version")}
    if champion is not None and champion.get("task", "classification") != task:
        return _keep(f"refused: challenger is a {task} model but the champion is a "
                     f"{champion.get('task', 'classification')} model", evidence)

    accepted, cal_reasons = _calibration(challenger)
    evidence["calibration_accepted"] = accepted
    evidence["calibration_reasons"] = cal_reasons
    if rule.require_calibration_acceptance and not accepted:
        why = "; ".join(cal_reasons) if cal_reasons else "no reasons recorded"
        return _keep(f"not promoted: the challenger failed calibration acceptance ({why})", evidence)

    ours, problems = _metrics(challenger, rule.tolerances, "challenger")
    evidence["challenger"] = ours
    if problems:
        return _keep("not promoted: " + "; ".join(problems), evidence)

    if champion is None:
        return _without_champion(rule, ours, challenger, former_champions, evidence, vanished_champion)

    mismatch = _window_mismatch(challenger, champion)
    evidence["window"] = {"challenger": _window(challenger), "champion": _window(champion)}
    if mismatch:
        return _keep(mismatch, evidence)

    theirs, problems = _metrics(champion, rule.tolerances, "champion")
    evidence["champion"] = theirs
    if problems:
        return _keep("refused: " + "; ".join(problems) + ", so the challenger cannot be compared", evidence)

    worse, fine = [], []
    evidence["difference"] = {}
    for name, tolerance in rule.tolerances.items():
        evidence["difference"][name] = ours[name] - theirs[name]
        is_worse, sentence = _compare(name, tolerance, ours[name], theirs[name], "champion")
        (worse if is_worse else fine).append(sentence)
    if worse:
        return _keep("not promoted: " + "; ".join(worse), evidence)
    if not _improves_on_any(ours, theirs):
        return _keep("not promoted: not better than the champion on any metric: " + "; ".join(fine), evidence)
    creep, _ = _against_former(rule, ours, challenger, former_champions, evidence)
    if creep:
        return _keep("not promoted: " + "; ".join(creep) + _CREEP, evidence)
    return Decision(promote=True, status="champion", evidence=evidence,
                    reason="promoted: " + "; ".join(fine))


_CREEP = " (small losses must not add up over promotions)"


def _improves_on_any(ours: dict, theirs: dict) -> bool:
    """Rule 8: lower than the champion on at least one metric by more than float noise. Being within
    the tolerance only shows the challenger is not clearly worse; a tie or an all-round small loss
    would replace the champion with a model that is no better, and churn what is served."""
    return any(ours[name] < theirs[name] - _FLOAT_SLACK for name in ours)


def _compare(name: str, tolerance: float, ours: float, theirs: float, whose: str) -> tuple[bool, str]:
    """(worse beyond the tolerance?, the sentence saying so with the numbers) for one metric, so
    that the champion and the former champions are judged and worded alike."""
    diff = ours - theirs
    if diff > tolerance + _FLOAT_SLACK:
        return True, (f"{name} {_num(ours)} is worse than {whose} {_num(theirs)} "
                      f"by {_num(diff)} > tolerance {_num(tolerance)}")
    return False, (f"{name} {_num(ours)} vs {whose} {_num(theirs)} "
                   f"(difference {_num(diff)}, within tolerance {_num(tolerance)})")


def _without_champion(rule: TaskPolicy, ours: dict, challenger: dict, former: list[dict] | tuple,
                      evidence: dict, vanished: int | None = None) -> Decision:
    """Rules 4 and 9 with no current champion. Former champions are given when the champion's version
    vanished from MLflow; they still bound the loss, or deleting a champion would let any calibrated
    version through."""
    evidence["window"] = _window(challenger)
    scores = ", ".join(f"{name} {_num(v)}" for name, v in ours.items())
    if not former:
        why = "no champion yet" if vanished is None else (
            f"no current champion (version {vanished} is no longer in MLflow) and no former champion to compare with")
        return Decision(promote=True, status="champion", evidence=evidence,
                        reason=f"promoted: {why}; first version to pass acceptance ({scores})")
    worse, fine = _against_former(rule, ours, challenger, former, evidence)
    if worse:
        return _keep("not promoted: no current champion, and " + "; ".join(worse)
                     + " (former champions still set the bar when there is no current one)", evidence)
    if fine:
        return Decision(promote=True, status="champion", evidence=evidence,
                        reason="promoted: no current champion; " + "; ".join(fine))
    return Decision(promote=True, status="champion", evidence=evidence,
                    reason=f"promoted: no current champion, and no former champion comparable on this window "
                           f"(see former_champions_skipped); first version to pass acceptance ({scores})")


def _against_former(rule: TaskPolicy, ours: dict, challenger: dict, former: list[dict] | tuple,
                    evidence: dict) -> tuple[list[str], list[str]]:
    """Rule 9: per metric, the challenger against the best former champion on it, each sentence naming
    that champion: (worse beyond the tolerance, within it). The comparable former champions' metrics go
    to the evidence, the others to former_champions_skipped."""
    usable, skipped = [], []
    for record in former:
        version = record.get("model_version")
        values, problems = _metrics(record, rule.tolerances, f"former champion {version}")
        mismatch = _window_mismatch(challenger, record)
        if problems or mismatch:
            skipped.append(f"version {version}: " + "; ".join(problems or [mismatch]))
        else:
            usable.append((version, values))
    evidence["former_champions"] = {str(v): values for v, values in usable}
    if skipped:
        evidence["former_champions_skipped"] = skipped
    worse, fine = [], []
    for name, tolerance in rule.tolerances.items():
        if not usable:
            break
        version, values = min(usable, key=lambda item: item[1][name])
        is_worse, sentence = _compare(name, tolerance, ours[name], values[name],
                                      f"former champion version {version}'s")
        (worse if is_worse else fine).append(sentence)
    return worse, fine
