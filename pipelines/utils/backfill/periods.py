"""Split a date range into periods: days, weeks or months."""

from __future__ import annotations

import datetime as dt

EVERY = ("day", "week", "month")


def periods(
    start: dt.date | str, end: dt.date | str, every: str = "day"
) -> list[tuple[dt.date, dt.date]]:
    """Consecutive [first, last] day pairs covering start..end, both inclusive.

    Args:
        start: First day (date or YYYY-MM-DD).
        end: Last day, inclusive.
        every: "day", "week" (7 days from start) or "month" (calendar months).

    Returns:
        The periods, in order; the last one is cut at `end`.

    Raises:
        ValueError: Unknown `every`, unparsable dates, or end before start.
    """
    if every not in EVERY:
        raise ValueError(f"every={every!r} must be one of {', '.join(EVERY)}.")
    first, last = (d if isinstance(d, dt.date) else dt.date.fromisoformat(d) for d in (start, end))
    if last < first:
        raise ValueError(f"end {last} is before start {first}.")
    found = []
    current = first
    while current <= last:
        if every == "day":
            following = current + dt.timedelta(days=1)
        elif every == "week":
            following = current + dt.timedelta(days=7)
        else:
            following = (current.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        found.append((current, min(following - dt.timedelta(days=1), last)))
        current = following
    return found
