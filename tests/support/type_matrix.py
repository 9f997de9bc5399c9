"""Outcomes of the dump type matrix, counted by the tests and printed at the end of the run."""

from collections import Counter

# (source, format, outcome) -> cases
OUTCOMES: Counter = Counter()


def summary_lines() -> list[str]:
    """The matrix's summary, or nothing when it did not run."""
    if not OUTCOMES:
        return []
    lines = ["Dump type matrix (source, format, outcome: cases):"]
    for (source, fmt, outcome), count in sorted(OUTCOMES.items()):
        lines.append(f"  {source:<9} {fmt:<8} {outcome:<15} {count}")
    wrong = sum(n for key, n in OUTCOMES.items() if key[2] == "silently wrong")
    lines.append(f"Dump type matrix: {wrong} case(s) succeeded with a different value.")
    return lines
