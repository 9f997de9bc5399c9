"""Schedules of the test_flow project."""

from datetime import timedelta

from pipelines.utils.pipeline_flow import org_label
from pipelines.utils.schedules import interval_clock, make_schedule

from .constants import ORG

# Daily at 06:00 America/Sao_Paulo. For one clock per table, see staggered_clocks.
schedule = make_schedule(
    interval_clock(
        timedelta(days=1),
        start="2024-01-01 06:00",
        labels=[org_label(ORG)],
        parameter_defaults={"param": "scheduled"},
    )
)
