"""Flows shared by the projects of the emd org: the child runs its flows start, and backfills."""

from pipelines.utils.backfill import create_backfill_flow
from pipelines.utils.dbt import create_materialize_flow

materialize_flow = create_materialize_flow("emd: materialize", org="emd")
# Started from the Prefect UI: one run of another emd flow per period of a date range.
backfill_flow = create_backfill_flow("emd: backfill", org="emd")
