"""Clock helpers: interval and cron clocks in America/Sao_Paulo, and staggered clocks."""

from pipelines.utils.schedules.clocks import (
    cron_clock,
    interval_clock,
    make_schedule,
    staggered_clocks,
)

__all__ = ["cron_clock", "interval_clock", "make_schedule", "staggered_clocks"]
