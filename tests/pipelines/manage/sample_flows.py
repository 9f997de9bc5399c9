"""Flows that `manage.py run` tests point at by dotted path."""

from prefect import Flow, Parameter, task


@task
def fail(reason: str) -> None:
    raise RuntimeError(reason)


with Flow("always fails") as failing:
    fail(Parameter("reason", default="the source is down"))

not_a_flow = 42


@task
def load(upstream: None, table: str) -> None:
    pass


with Flow("fails upstream") as fails_upstream:
    failed = fail(Parameter("reason", default="404 Client Error: Not Found"))
    for table in ("a", "b", "c", "d", "e", "f"):
        load(failed, table)
