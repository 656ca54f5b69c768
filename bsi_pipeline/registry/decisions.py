"""Champion/challenger decisions over the MLflow registry, and the history that records them.

The `model_registry` lake table is the decision history and the source of truth; MLflow aliases,
version tags and the served `<models_dir>/<key>/current` pointer are brought in line with it
after every change (so a run interrupted between the two is repaired by the next one).

Columns of `model_registry` (one row per event on one model version, appended, never rewritten):

  model_key, version (MLflow version number), model_id,
  status        the version's status after the event: champion, challenger or archived
  event         decision  (the registry compared this version with the champion: promoted -> champion,
                           kept -> challenger),
                replaced  (a champion archived because another version was promoted),
                rollback  (`bsi rollback`: the restored version -> champion, the current one -> archived)
  reason        why, with the numbers (promotion.decide's reason, or the operator's rollback reason)
  metrics       JSON: {"challenger": {...}, "champion": {...} | null, "challenger_version", "champion_version",
                "evidence": {...}} -- both versions scored on the same held-out rows
  window_start, window_end  the held-out (test) window the metrics are on
  decided_at    when (UTC); registered_at: when the version was registered in MLflow (UTC)

A version is known by (version, model_id), never by its number alone: a registered model that is
recreated (MLflow store reset, mlflow_uri moved) numbers its versions from 1 again, and such a version
is a new one, decided like any other (its reason names the reset), while the versions the history
knows under that number are no longer in MLflow, as if deleted.

A version is decided once: re-running with nothing new appends nothing. Every version not yet
decided is compared, oldest first, with the champion of that moment and with every former champion
(except versions rolled back from), all re-scored from their artifacts on the challenger's test window
rebuilt from the spec's feature table (same rows). A champion no longer in MLflow cannot be re-scored:
the challenger is then decided against the former champions alone (promotion rule 4 with rule 9). A
champion still in MLflow whose artifact cannot be loaded leaves the challenger undecided until a later run;
so does a challenger whose artifact cannot be fetched (the key fails the run, named, until it can be),
while a fetched artifact that cannot score the window is refused.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import numpy as np
import polars as pl

from bsi_pipeline.config import Settings
from bsi_pipeline.lake import has_table, read_table, read_table_if_written, write_table
from bsi_pipeline.models.specs import ModelSpec
from bsi_pipeline.monitoring import promotion
from bsi_pipeline.registry.mlflow_store import MlflowStore, RegistryError, VersionInfo, file_lock, tag_value

TABLE = "model_registry"
STATUSES = ("champion", "challenger", "archived")
EVENTS = ("decision", "replaced", "rollback")
SCHEMA = {
    "model_key": pl.String, "version": pl.Int64, "model_id": pl.String, "status": pl.String,
    "event": pl.String, "reason": pl.String, "metrics": pl.String, "window_start": pl.String,
    "window_end": pl.String, "decided_at": pl.Datetime("us", "UTC"), "registered_at": pl.Datetime("us", "UTC"),
}


T = TypeVar("T")


class RollbackError(RegistryError):
    """A rollback that cannot be done: unknown key, no champion, no previous champion."""


# ------------------------------------------------------------------------------------ locking, history


@contextlib.contextmanager
def registry_lock(settings: Settings) -> Iterator[None]:
    """One writer of the decision history at a time (the registry asset and `bsi rollback`)."""
    with file_lock(settings.mlflow_dir / "registry.lock"):
        yield


def empty_history() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def read_history(lake) -> pl.DataFrame:
    """The decision history, empty (with its columns) before the first decision."""
    frame = read_table_if_written(lake, TABLE)
    if frame is None or frame.width == 0:
        return empty_history()
    return frame.select([pl.col(c).cast(t) for c, t in SCHEMA.items()])


def _rows(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA) if rows else empty_history()


def _utc_ms(ms: int) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(ms / 1000.0, tz=dt.timezone.utc) if ms else None


# A version as the history knows it: (MLflow version number, model_id), as VersionInfo.ident. A
# number alone is ambiguous: a recreated registered model numbers its versions from 1 again.
Ident = tuple[int, str | None]


def row_ident(row: dict) -> Ident:
    return row["version"], row["model_id"]


@dataclass(frozen=True)
class KeyState:
    """A key's state from its history, versions identified by (number, model_id): latest row per
    version, champion, last archived, versions rolled back from, and every version ever champion
    (in the order of their champion rows)."""

    latest: dict[Ident, dict]
    champion: Ident | None
    archived: Ident | None
    rolled_back: frozenset[Ident]
    champion_rows: tuple[Ident, ...]


def key_state(history: pl.DataFrame, key: str) -> KeyState:
    latest: dict[Ident, dict] = {}
    champion = archived = None
    rolled_back, champion_rows = set(), []
    for row in history.filter(pl.col("model_key") == key).iter_rows(named=True):
        ident = row_ident(row)
        latest[ident] = row
        if row["status"] == "champion":
            champion = ident
            champion_rows.append(ident)
        elif row["status"] == "archived":
            archived = ident
            if row["event"] == "rollback":
                rolled_back.add(ident)
    if champion is not None and latest[champion]["status"] != "champion":
        champion = None
    return KeyState(latest, champion, archived, frozenset(rolled_back), tuple(champion_rows))


def reset_note(info: VersionInfo, state: KeyState) -> str | None:
    """Why a version whose number the history already has is decided anyway: the history's version
    of that number is another model, so the registered model was recreated (MLflow store reset,
    mlflow_uri moved) and numbered its versions from 1 again. None when the number is new."""
    earlier = sorted(str(mid) for number, mid in state.latest if number == info.number and mid != info.model_id)
    if not earlier:
        return None
    return (f"registry reset: MLflow version {info.version} is now model {info.model_id}, but the history's "
            f"version {info.version} is {', '.join(earlier)} (the registered model was recreated and reused the "
            "number), so it is decided as a new version")


# ------------------------------------------------------------------------------------ scoring on the window


@dataclass(frozen=True)
class Window:
    rows: pl.DataFrame     # the test rows of the feature table, every column
    start: str
    end: str
    window_id: str         # hash of the row ids: same id = same rows

    def as_record(self) -> dict:
        return {"window_start": self.start, "window_end": self.end, "window_id": self.window_id}


def held_out_window(features: pl.DataFrame, spec: ModelSpec) -> Window:
    """The spec's held-out test rows (slices_for), with every column of the feature table so that
    a version trained on other features can be scored on the same rows."""
    from bsi_pipeline.models.factory import slices_for

    test = slices_for(features, spec).test
    frame = features
    for column, value in spec.filter.items():
        frame = frame.filter(pl.col(column) == value)
    ids = test.select("row_id", _order=pl.int_range(pl.len()))
    rows = frame.join(ids, on="row_id", how="inner").sort("_order").drop("_order")
    window = {"start": str(test["date"].min()), "end": str(test["date"].max())}
    digest = hashlib.sha256("\x1f".join(test["row_id"].to_list()).encode()).hexdigest()[:16]
    return Window(rows, window["start"], window["end"], f"{spec.key}:{digest}:{test.height}")


def _finite(x) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def score_on_window(artifact_dir: Path, spec: ModelSpec, window: Window) -> tuple[dict, np.ndarray]:
    """Metrics of one model version on the window, as promotion.decide reads them (flat dict:
    task, brier/log_loss or rmse, calibration_accepted and calibration_reasons, the window),
    and the predictions."""
    from bsi_pipeline import metrics
    from bsi_pipeline.models import calibration, counts
    from bsi_pipeline.models.scoring import load_scorer

    scorer = load_scorer(artifact_dir)
    missing = [f for f in scorer.features if f not in window.rows.columns]
    if missing:
        raise RegistryError(f"{spec.feature_table} lacks feature(s) {', '.join(missing)} of {scorer.model_id}")
    X = np.ascontiguousarray(window.rows.select(scorer.features).to_numpy(), dtype=np.float64)
    y = window.rows[spec.target].cast(pl.Float64).to_numpy()
    pred = scorer.predict(X)
    record: dict = {"model_id": scorer.model_id, "rows": int(len(y)), **window.as_record()}
    if spec.task == "binary":
        p = np.clip(pred, 0.0, 1.0)
        accepted = calibration.acceptance(p, y)
        record.update(task="classification", brier=_finite(metrics.brier(p, y)),
                      log_loss=_finite(metrics.log_loss(p, y)), ece=accepted.ece,
                      calibration_accepted=accepted.passed, calibration_reasons=list(accepted.reasons))
    else:
        record.update(task="regression", rmse=_finite(float(np.sqrt(np.mean((pred - y) ** 2)))),
                      calibration_accepted=True, calibration_reasons=[])
        if spec.task == "count" and spec.line_column and scorer.artifact.get("count"):
            line = window.rows[spec.line_column].cast(pl.Float64).to_numpy()
            p_over = counts.prob_over(pred, line, scorer.artifact["count"]["dispersion"])
            accepted = calibration.acceptance(p_over, (y > line).astype(np.float64))
            # the count policy requires P(over) to pass calibration acceptance (promotion_policy.yaml)
            record.update(task="count", over_ece=accepted.ece, calibration_accepted=accepted.passed,
                          calibration_reasons=[f"P(over): {r}" for r in accepted.reasons])
    return record, pred


def baseline_problem(spec: ModelSpec, window: Window, pred: np.ndarray) -> str | None:
    """Why a version that must beat the spec's baseline does not, on the same rows; else None."""
    from bsi_pipeline.models.factory import _baseline, _beats

    if not (spec.must_beat_baseline and spec.baseline and spec.baseline in window.rows.columns):
        return None
    y = window.rows[spec.target].cast(pl.Float64).to_numpy()
    comparison = _baseline(spec, window.rows, pred, y)
    if comparison is None or _beats(spec.task, comparison):
        return None
    what = "Brier and log loss" if spec.task == "binary" else "RMSE"
    return (f"not promoted: does not beat the baseline {spec.baseline} on the same {comparison['rows']} test rows "
            f"({what})")


# ------------------------------------------------------------------------------------ deciding


@dataclass
class KeyOutcome:
    model_key: str
    rows: list[dict] = field(default_factory=list)
    skipped: str | None = None
    fault: bool = False   # skipped for an error the run must report (not for data that is not there yet)


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, default=lambda v: v.item() if hasattr(v, "item") else str(v))


def decide_key(store: MlflowStore, settings: Settings, spec: ModelSpec, history: pl.DataFrame,
               policy: promotion.PromotionPolicy, now: dt.datetime,
               load_features: Callable[[str], pl.DataFrame]) -> KeyOutcome:
    """Decide every version of ``spec.key`` that has no decision yet, oldest first."""
    key = spec.key
    out = KeyOutcome(key)
    versions = store.versions(key)
    state = key_state(history, key)
    decision_rows = history.filter((pl.col("model_key") == key) & (pl.col("event") == "decision"))
    decided = {row_ident(row) for row in decision_rows.iter_rows(named=True)}
    pending = [v for v in versions if v.ident not in decided]
    if not pending:
        return out
    try:
        window = held_out_window(load_features(spec.feature_table), spec)
    except Exception as exc:  # noqa: BLE001 - no features yet: decide on a later run
        out.skipped = f"cannot rebuild the test window from {spec.feature_table}: {exc}"
        return out
    by_ident = {v.ident: v for v in versions}
    champion = by_ident.get(state.champion) if state.champion is not None else None
    # a champion no longer in MLflow (its version deleted, or the registered model recreated so that its
    # number now holds another model) cannot be re-scored: it is archived by the next promotion
    vanished = state.latest[state.champion] if state.champion is not None and champion is None else None
    scored: dict[Ident, tuple[dict | None, np.ndarray | None, str | None]] = {}
    unfetched: set[Ident] = set()   # versions whose artifact could not be had (disk, then MLflow)
    # every version that has been champion: a challenger must not be worse than any of them beyond the
    # tolerance (promotion rule 9), except versions an operator rolled back from
    ever_champion = list(dict.fromkeys(state.champion_rows))

    def score(info: VersionInfo):
        if info.ident not in scored:
            folder = None
            try:
                folder = store.locate_version(key, info.version, settings.models_dir)
                record, pred = score_on_window(folder, spec, window)
                scored[info.ident] = ({**record, "model_version": info.number}, pred, None)
            except Exception as exc:  # noqa: BLE001 - recorded as the reason, never a crash
                if folder is None:
                    unfetched.add(info.ident)
                scored[info.ident] = (None, None, f"{type(exc).__name__}: {exc}")
        return scored[info.ident]

    for info in pending:
        record, pred, error = score(info)
        if info.ident in unfetched:
            # no verdict on a model nobody could load (an MLflow outage looks the same as a lost artifact):
            # it and every later version wait, and the run fails naming the key until it can be fetched
            out.skipped = (f"cannot fetch version {info.version}'s artifact ({error}); it and later versions "
                           "are decided on a later run")
            out.fault = True
            return out
        champ_record = None
        if champion is not None and not error:
            champ_record, _, champ_error = score(champion)
            if champ_error:
                # not a verdict on the challenger: it and every later version wait for the champion
                out.skipped = (f"cannot re-score champion version {champion.version} on the test window "
                               f"({champ_error}); version {info.version} and later are decided on a later run")
                return out
        problem = None if error else baseline_problem(spec, window, pred)
        if error:
            why = f"refused: cannot score version {info.version} on the test window ({error})"
            decision = promotion.Decision(False, "challenger", why)
        elif problem:
            decision = promotion.Decision(False, "challenger", problem)
        else:
            former, unscored = former_champions(ever_champion, champion, state, by_ident, score)
            decision = promotion.decide(policy, record, champ_record, former,
                                        vanished_champion=None if vanished is None else int(vanished["version"]))
            if unscored:
                decision.evidence["former_champions_unscored"] = unscored
        reset = reset_note(info, state)
        if reset:
            decision = replace(decision, reason=f"{decision.reason}; {reset}")
            decision.evidence["registry_reset"] = reset
        metrics = {"challenger": record, "champion": champ_record, "challenger_version": info.number,
                   "champion_version": champion.number if champion is not None else None,
                   "evidence": decision.evidence}
        out.rows.append(dict(model_key=key, version=info.number, model_id=info.model_id, status=decision.status,
                             event="decision", reason=decision.reason, metrics=_json(metrics),
                             window_start=window.start, window_end=window.end, decided_at=now,
                             registered_at=_utc_ms(info.created_ms)))
        if decision.promote:
            if champion is not None:
                out.rows.append(dict(model_key=key, version=champion.number, model_id=champion.model_id,
                                     status="archived", event="replaced",
                                     reason=f"replaced by version {info.version}: {decision.reason}",
                                     metrics=_json(metrics), window_start=window.start, window_end=window.end,
                                     decided_at=now, registered_at=_utc_ms(champion.created_ms)))
            elif vanished is not None:
                out.rows.append({**vanished, "status": "archived", "event": "replaced", "decided_at": now,
                                 "reason": f"no longer in MLflow; replaced by version {info.version}"})
                vanished = None
            champion = info
            ever_champion.append(info.ident)
    return out


def former_champions(ever_champion: list[Ident], champion: VersionInfo | None, state: KeyState,
                     by_ident: dict[Ident, VersionInfo], score: Callable) -> tuple[list[dict], list[str]]:
    """The former champions' records on the window (not the current one, not a version rolled back
    from, not one no longer in MLflow), and a note for each that could not be scored."""
    records, unscored = [], []
    current = champion.ident if champion is not None else None
    for ident in ever_champion:
        if ident == current or ident in state.rolled_back or ident not in by_ident:
            continue
        record, _, error = score(by_ident[ident])
        if error:
            unscored.append(f"version {ident[0]}: {error}")
        else:
            records.append(record)
    return records, unscored


def sync_key(store: MlflowStore, settings: Settings, key: str, history: pl.DataFrame) -> list[str]:
    """Bring MLflow aliases, version tags and the `current` pointer in line with the history.
    Returns what changed. A key without history is left alone."""
    from bsi_pipeline.models.scoring import CURRENT_FILE, set_current

    state = key_state(history, key)
    if not state.latest:
        return []
    changes: list[str] = []
    versions = {v.ident: v for v in store.versions(key)}
    # only versions MLflow still holds as the history knows them (same number AND model_id) keep an
    # alias: a target no longer there clears it
    champion = versions.get(state.champion) if state.champion is not None else None
    archived = versions.get(state.archived) if state.archived is not None else None
    undecided = [info.number for ident, info in versions.items() if ident not in state.latest]
    challengers = [number for (number, mid), row in state.latest.items()
                   if row["status"] == "challenger" and (number, mid) in versions
                   and (champion is None or number > champion.number)]
    targets = {"champion": champion.number if champion else None, "archived": archived.number if archived else None,
               "challenger": max(undecided + challengers, default=None)}
    for alias, target in targets.items():
        now = store.alias_version(key, alias)
        if target is None and now is not None:
            store.delete_alias(key, alias)
            changes.append(f"{key}: alias {alias} removed (was version {now})")
        elif target is not None and now != str(target):
            store.set_alias(key, alias, target)
            changes.append(f"{key}: alias {alias} -> version {target}")
    for ident, row in state.latest.items():
        info = versions.get(ident)
        if info is None:
            continue
        wanted = {"status": row["status"], "decided_at": row["decided_at"].isoformat(), "reason": row["reason"]}
        stale = {k: v for k, v in wanted.items() if info.tags.get(k) != tag_value(v)}
        if stale:
            store.set_version_tags(key, info.number, stale)
    if champion is not None:
        folder = store.locate_version(key, champion.number, settings.models_dir)
        pointer = Path(settings.models_dir) / key / CURRENT_FILE
        model_id = folder.name
        if not pointer.is_file() or pointer.read_text().strip() != model_id:
            set_current(settings.models_dir, key, model_id)
            changes.append(f"{key}: current -> {model_id} (version {champion.number})")
    return changes


@dataclass
class RegistryRun:
    history: pl.DataFrame              # the whole table after this run
    new_rows: pl.DataFrame             # what this run appended
    skipped: dict[str, str]            # key -> why its pending versions were not decided
    changes: list[str]                 # aliases / current pointers moved
    failed: dict[str, str] = field(default_factory=dict)   # key -> the error that stopped it


class RegistryRunError(RegistryError):
    """Raised at the end of a registry run in which some keys failed, after every other key was
    decided and synced; ``run`` is what the run did."""

    def __init__(self, run: RegistryRun):
        self.run = run
        super().__init__(f"model_registry failed for {len(run.failed)} key(s): "
                         + "; ".join(f"{key}: {why}" for key, why in sorted(run.failed.items())))


class _KeyFailures(dict):
    """key -> error text of a registry run: one key's failure is recorded and the next key goes on
    (a champion whose artifact cannot be loaded must not stop every other key's aliases and
    `current` pointer), and the run reports all of them at its end."""

    def attempt(self, key: str, default: T, action: Callable[..., T], *args) -> T:
        """``action(*args)``, or ``default`` with the error recorded under ``key``."""
        try:
            return action(*args)
        except Exception as exc:  # noqa: BLE001 - raised with the key's name by run_registry
            self.record(key, f"{type(exc).__name__}: {exc}")
            return default

    def record(self, key: str, text: str) -> None:
        self[key] = f"{self[key]}; {text}" if key in self else text


def run_registry(store: MlflowStore, settings: Settings, specs: dict[str, ModelSpec],
                 policy: promotion.PromotionPolicy | None = None, now: dt.datetime | None = None) -> RegistryRun:
    """Decide every undecided version of every key, append the decisions to the history (written
    first: it is the record), then move aliases and `current` pointers to match. This is the only
    write of the table for a registry run, under the lock: a copy written after the lock is released
    would overwrite a `bsi rollback` that came in between. The first run writes it even when empty,
    so that the warehouse has the table with its columns.

    Errors are per key: a key whose deciding or syncing fails is left as it is and the other keys
    go on; RegistryRunError then names the failed keys (and carries the run), so that the run is
    seen to fail."""
    policy = policy or promotion.load_policy()
    now = now or dt.datetime.now(dt.timezone.utc)
    features: dict[str, pl.DataFrame] = {}
    lake = settings.storage

    def load_features(name: str) -> pl.DataFrame:
        if name not in features:
            features[name] = read_table(lake, name)
        return features[name]

    failed = _KeyFailures()
    with registry_lock(settings):
        history = read_history(lake)
        outcomes = [failed.attempt(key, KeyOutcome(key), decide_key, store, settings, spec, history, policy, now,
                                   load_features) for key, spec in specs.items()]
        for outcome in outcomes:
            if outcome.fault:
                failed.record(outcome.model_key, outcome.skipped)
        new_rows = _rows([row for o in outcomes for row in o.rows])
        if new_rows.height:
            history = pl.concat([history, new_rows], how="vertical")
        if new_rows.height or not has_table(lake, TABLE):
            write_table(lake, TABLE, history)
        changes = [c for key in specs for c in failed.attempt(key, [], sync_key, store, settings, key, history)]
    run = RegistryRun(history, new_rows, {o.model_key: o.skipped for o in outcomes if o.skipped}, changes,
                      dict(failed))
    if failed:
        raise RegistryRunError(run)
    return run


# ------------------------------------------------------------------------------------ rollback


def previous_champion(history: pl.DataFrame, key: str) -> tuple[Ident, Ident]:
    """(current champion, the champion before it) from the history. Versions that were rolled
    back away from are skipped: rolling back twice goes further back, not to the bad version."""
    state = key_state(history, key)
    if state.champion is None:
        raise RollbackError(f"{key} has no champion to roll back from")
    rows = state.champion_rows
    last_reign = max(i for i, ident in enumerate(rows) if ident == state.champion)
    for ident in reversed(rows[:last_reign]):
        if ident != state.champion and ident not in state.rolled_back:
            return state.champion, ident
    raise RollbackError(f"{key}: no previous champion to restore (champion version {state.champion[0]} "
                        f"is the first one{' still eligible' if state.rolled_back else ''})")


def _restorable(store: MlflowStore, key: str, ident: Ident) -> VersionInfo:
    """The MLflow version a rollback restores: it will be served, so it must still be the model the
    history decided on, not another that reuses its number in a recreated registered model."""
    info = store.version_info(key, ident[0])
    if info.ident != ident:
        raise RollbackError(f"{key}: MLflow version {info.version} is now model {info.model_id}, not {ident[1]} "
                            "(the registered model was recreated), so it cannot be restored")
    return info


def rollback(store: MlflowStore, settings: Settings, key: str, reason: str, known_keys: list[str],
             now: dt.datetime | None = None) -> dict:
    """Restore the champion before the current one: history rows first, then aliases and `current`."""
    now = now or dt.datetime.now(dt.timezone.utc)
    registered = set(store.version_numbers())
    if key not in set(known_keys) | registered:
        raise RollbackError(f"unknown model key {key!r} (known: {', '.join(sorted(set(known_keys) | registered))})")
    lake = settings.storage
    with registry_lock(settings):
        history = read_history(lake)
        current, previous = previous_champion(history, key)
        state = key_state(history, key)
        restored = _restorable(store, key, previous)
        store.locate_version(key, restored.version, settings.models_dir)  # the restored artifact must be servable
        metrics = _json({"rolled_back_from": current[0], "restored": previous[0], "operator_reason": reason})
        rows = [_rollback_row(state.latest[current], "archived", f"rolled back to version {previous[0]}: {reason}",
                              metrics, now),
                _rollback_row(state.latest[previous], "champion",
                              f"restored by rollback from version {current[0]}: {reason}", metrics, now)]
        history = pl.concat([history, _rows(rows)], how="vertical")
        write_table(lake, TABLE, history)
        changes = sync_key(store, settings, key, history)
    return {"model_key": key, "from_version": current[0], "to_version": previous[0], "model_id": restored.model_id,
            "reason": reason, "changes": changes}


def _rollback_row(latest: dict, status: str, reason: str, metrics: str, now: dt.datetime) -> dict:
    """A rollback event on a version, from its latest history row: model_id, window and registered_at
    as recorded, not read back from MLflow, where the champion rolled back from may no longer be (a
    deleted champion is when a rollback is needed most)."""
    return {**latest, "status": status, "event": "rollback", "reason": reason, "metrics": metrics, "decided_at": now}


__all__ = ["EVENTS", "SCHEMA", "STATUSES", "TABLE", "Ident", "KeyOutcome", "RegistryRun", "RegistryRunError",
           "RollbackError", "Window", "baseline_problem", "decide_key", "empty_history", "held_out_window", "key_state",
           "previous_champion", "read_history", "registry_lock", "reset_note", "rollback", "row_ident", "run_registry",
           "score_on_window", "sync_key"]
