"""Which character separates a delimited file's fields: read from the file, never assumed."""

from __future__ import annotations

import csv
from collections import Counter

CANDIDATES = (",", ";", "\t", "|")
SAMPLE_BYTES = 64 << 10
_LINES = 50


def sniff_separator(sample: str) -> str | None:
    """The candidate that splits the sample's lines into the same number of fields (more
    than one) most often; ties go to more fields, then to CANDIDATES' order. None when no
    candidate splits any line (a file of one column)."""
    lines = [line for line in sample.splitlines()[:_LINES] if line.strip()]
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may end mid-line
    best: tuple[float, int, int] | None = None
    chosen = None
    for order, candidate in enumerate(CANDIDATES):
        widths = [len(row) for row in csv.reader(lines, delimiter=candidate)]
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        if width < 2:
            continue
        score = (count / len(widths), width, -order)
        if best is None or score > best:
            best, chosen = score, candidate
    return chosen


def one_column_problem(header: list[str], separator: str) -> str | None:
    """Why a header read as a single column was likely split with the wrong separator."""
    if len(header) != 1:
        return None
    others = [c for c in CANDIDATES if c != separator and c in header[0]]
    if not others:
        return None
    return (
        f"the file read as one column, whose header holds {others[0]!r}: pass "
        f"separator={others[0]!r} (it was read with {separator!r})."
    )


def shown(separator: str) -> str:
    """A separator as a log line names it."""
    return {"\t": "tab (\\t)", " ": "space"}.get(separator, repr(separator))
