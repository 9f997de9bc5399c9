"""Schedules of the watchdog project."""

from datetime import timedelta

from pipelines.utils.pipeline_flow import org_label
from pipelines.utils.schedules import interval_clock, make_schedule

from .constants import ORG

# Every 10 minutes, acting (runs started by hand default to a dry run).
schedule = make_schedule(
    interval_clock(
        timedelta(minutes=10),
        start="2024-01-01 00:02",
        labels=[org_label(ORG)],
        parameter_defaults={"dry_run": False},
    )
)
