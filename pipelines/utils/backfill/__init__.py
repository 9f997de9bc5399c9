"""backfill: run a flow once per period of a date range, locally or on the server."""

from pipelines.utils.backfill.flows import backfill_children, create_backfill_flow
from pipelines.utils.backfill.periods import periods
from pipelines.utils.backfill.runs import backfill_local, backfill_server

__all__ = [
    "backfill_children",
    "backfill_local",
    "backfill_server",
    "create_backfill_flow",
    "periods",
]
