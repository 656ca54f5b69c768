"""Walking games one date at a time: every system forecasts a whole date before learning from it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import polars as pl


def date_blocks(dates: Sequence) -> Iterator[tuple[int, int]]:
    """(start, end) index ranges of equal consecutive dates, for rows sorted by date."""
    start, n = 0, len(dates)
    while start < n:
        end = start + 1
        while end < n and dates[end] == dates[start]:
            end += 1
        yield start, end
        start = end


def lined_up(games: pl.DataFrame, side: pl.DataFrame, on: list[str], what: str) -> pl.DataFrame:
    """``games`` with ``side``'s columns (a left join on ``on``), row for row in the games' order, for walkers
    that read both by position. A key ``side`` holds twice would add a row and shift every later game's
    values onto the wrong game, so it is an error naming the key instead."""
    repeated = side.filter(pl.struct(on).is_duplicated()).select(on).unique(maintain_order=True)
    if repeated.height:
        raise ValueError(f"{what}: {repeated.height} key(s) of {on} appear more than once, "
                         f"first {repeated.row(0)}; each must be one row")
    return games.join(side, on=on, how="left", maintain_order="left")
