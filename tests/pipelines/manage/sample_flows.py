"""Flows that `manage.py run` tests point at by dotted path."""

from prefect import Flow, Parameter, task


@task
def fail(reason: str) -> None:
    raise RuntimeError(reason)


with Flow("always fails") as failing:
    fail(Parameter("reason", default="the source is down"))

not_a_flow = 42
