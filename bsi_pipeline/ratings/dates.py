"""Walking games one date at a time: every system forecasts a whole date before learning from it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence


def date_blocks(dates: Sequence) -> Iterator[tuple[int, int]]:
    """(start, end) index ranges of equal consecutive dates, for rows sorted by date."""
    start, n = 0, len(dates)
    while start < n:
        end = start + 1
        while end < n and dates[end] == dates[start]:
            end += 1
        yield start, end
        start = end
