"""Flows shared by the projects of the {{cookiecutter.org}} org.

materialize_flow is the child run that its dump flows start, on the server, to build dbt models.
"""

from pipelines.utils.dbt import create_materialize_flow

materialize_flow = create_materialize_flow(
    "{{cookiecutter.org}}: materialize", org="{{cookiecutter.org}}"
)
