"""Schedules of the template_pipeline project."""

from datetime import timedelta

from pipelines.utils.pipeline_flow import org_label
from pipelines.utils.schedules import interval_clock, make_schedule

from .constants import ORG

# Every hour at minute 5, America/Sao_Paulo.
schedule = make_schedule(
    interval_clock(timedelta(hours=1), start="2024-01-01 00:05", labels=[org_label(ORG)])
)
