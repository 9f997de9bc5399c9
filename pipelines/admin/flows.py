"""Flows shared by the projects of the admin org.

materialize_flow is the child run that its dump flows start, on the server, to build dbt models;
backfill_flow runs another of its flows once per period of a date range, from the Prefect UI.
"""

from pipelines.utils.backfill import create_backfill_flow
from pipelines.utils.dbt import create_materialize_flow

materialize_flow = create_materialize_flow("admin: materialize", org="admin")
backfill_flow = create_backfill_flow("admin: backfill", org="admin")
