"""Data health: what the code promises (cadences, freshness), what happened (runs, loads),
and the problems between the two, for the watchdog and `manage.py status`."""

from pipelines.utils.health.expectations import (
    DEFAULT_FAILING_STREAK,
    DEFAULT_GRACE,
    FlowExpectation,
    TableExpectation,
    expectation_of,
    expectation_problems,
)

__all__ = [
    "DEFAULT_FAILING_STREAK",
    "DEFAULT_GRACE",
    "FlowExpectation",
    "TableExpectation",
    "expectation_of",
    "expectation_problems",
]
