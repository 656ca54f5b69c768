"""Time-based train / validation / test slices: never shuffled, never a date on two sides.

Test is the last seasons in the data; of the earlier rows (sorted by date), the latest
`valid_fraction` validate (calibration, model choice) and the rest train (fitting, tuning).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.model_selection import TimeSeriesSplit

from bsi_pipeline.models.specs import ModelSpec, SpecError

KEY_COLUMNS = ("row_id", "season", "date")


class TrainingDataError(ValueError):
    """The feature table cannot train this spec (missing columns, too few rows, bad values)."""


class NotEnoughData(TrainingDataError):
    """Too few rows or seasons for the spec's split: the data is not there yet (not a bug)."""


@dataclass(frozen=True)
class Slices:
    train: pl.DataFrame
    valid: pl.DataFrame
    test: pl.DataFrame

    def window(self) -> dict:
        """Date ranges and row counts per slice, for artifacts and model cards."""
        out = {}
        for name in ("train", "valid", "test"):
            frame = getattr(self, name)
            out[name] = {"start": str(frame["date"].min()), "end": str(frame["date"].max()),
                         "rows": frame.height}
        return out

    def digest(self, columns: list[str]) -> str:
        """A short hash of the rows and values each slice holds: part of the model id."""
        sha = hashlib.sha256()
        for name in ("train", "valid", "test"):
            frame = getattr(self, name).select(["row_id", *columns])
            sha.update(name.encode())
            sha.update("\x1f".join(frame["row_id"].to_list()).encode())
            sha.update(np.ascontiguousarray(frame.select(columns).to_numpy(), dtype=np.float64).tobytes())
        return sha.hexdigest()[:12]


def model_frame(table: pl.DataFrame, spec: ModelSpec) -> pl.DataFrame:
    """The spec's rows of the feature table: filtered, checked, sorted by date then row_id."""
    needed = [*KEY_COLUMNS, *spec.features, spec.target]
    if spec.baseline:
        needed += [spec.baseline, *spec.compare_with]
    if spec.line_column:
        needed.append(spec.line_column)
    needed += [c for c in spec.filter if c not in needed]
    missing = [c for c in dict.fromkeys(needed) if c not in table.columns]
    if missing:
        raise TrainingDataError(f"{spec.key}: {spec.feature_table} has no column(s) {', '.join(missing)}")
    if table.height == 0:
        raise NotEnoughData(f"{spec.key}: {spec.feature_table} has no rows (no source data for it in this config)")
    frame = table
    for column, value in spec.filter.items():
        frame = frame.filter(pl.col(column) == value)
    frame = frame.select(list(dict.fromkeys(needed))).sort(["date", "row_id"])
    # a null key would fall out of both sides of a date cut; a null line, out of the P(over) evaluation
    checked = [*KEY_COLUMNS, *spec.features, spec.target, *([spec.line_column] if spec.line_column else [])]
    for column in checked:
        nulls = frame[column].null_count() + (frame[column].is_nan().sum() if frame[column].dtype.is_float() else 0)
        if nulls:
            raise TrainingDataError(f"{spec.key}: column {column} has {nulls} null/NaN value(s); "
                                    "the feature builder must fill or exclude them")
    if spec.task == "binary":
        bad = frame.filter(~pl.col(spec.target).cast(pl.Float64).is_in([0.0, 1.0])).height
        if bad:
            raise TrainingDataError(f"{spec.key}: target {spec.target} has {bad} value(s) other than 0/1")
    if frame["row_id"].n_unique() != frame.height:
        raise TrainingDataError(f"{spec.key}: duplicated row_id in {spec.feature_table}")
    return frame


def time_split(frame: pl.DataFrame, spec: ModelSpec) -> Slices:
    """Slices per the spec's split; raises TrainingDataError below the spec's minimum rows."""
    seasons = sorted(frame["season"].unique().to_list())
    if len(seasons) <= spec.split.test_last_seasons:
        raise NotEnoughData(
            f"{spec.key}: needs more than {spec.split.test_last_seasons} season(s) to hold out a test season; "
            f"the data has {seasons}")
    test_seasons = seasons[-spec.split.test_last_seasons:]
    test = frame.filter(pl.col("season").is_in(test_seasons))
    earlier = frame.filter(~pl.col("season").is_in(test_seasons))
    cut_date = None
    if earlier.height:
        cut = min(int(round(earlier.height * (1.0 - spec.split.valid_fraction))), earlier.height - 1)
        cut_date = earlier["date"][cut]
    train = earlier.filter(pl.col("date") < cut_date) if cut_date is not None else earlier
    valid = earlier.filter(pl.col("date") >= cut_date) if cut_date is not None else earlier.head(0)
    slices = Slices(train=train, valid=valid, test=test)
    short = [f"{name} {getattr(slices, name).height} < {minimum}"
             for name, minimum in spec.min_rows.items() if getattr(slices, name).height < minimum]
    if short:
        raise NotEnoughData(f"{spec.key}: too few rows to train ({'; '.join(short)})")
    return slices


def date_folds(dates: np.ndarray, n_splits: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window folds over rows sorted by date: scikit-learn's TimeSeriesSplit, with every cut moved
    back to the first row of its date, so that no date is on both sides of a fold (the two games of a
    doubleheader share their features; one must not be fitted while the other is held out). Folds left
    empty by the move (a date longer than a fold) are dropped."""
    dates = np.asarray(dates)
    if len(dates) > 1 and (dates[1:] < dates[:-1]).any():
        raise ValueError("date_folds needs rows sorted by date")
    cuts = []
    for _, hold in TimeSeriesSplit(n_splits=n_splits).split(dates):
        cuts.append(int(np.searchsorted(dates, dates[hold[0]], side="left")))
    cuts.append(len(dates))
    rows = np.arange(len(dates))
    return [(rows[:start], rows[start:end]) for start, end in zip(cuts, cuts[1:]) if 0 < start < end]


__all__ = ["NotEnoughData", "Slices", "SpecError", "TrainingDataError", "date_folds", "model_frame", "time_split"]
