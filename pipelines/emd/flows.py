"""Flows shared by the projects of the emd org: the materialization child of its dump flows."""

from pipelines.utils.dbt import create_materialize_flow

materialize_flow = create_materialize_flow("emd: materialize", org="emd")
