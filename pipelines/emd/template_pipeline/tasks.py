"""Tasks of the template_pipeline project."""

import prefect
from prefect import task


@task
def greet(name: str) -> str:
    """Build a greeting and log it.

    Args:
        name: Who to greet.

    Returns:
        The greeting.

    Raises:
        ValueError: The name is blank.
    """
    if not name.strip():
        raise ValueError("name must not be blank")
    greeting = f"Hello, {name}!"
    prefect.context.get("logger").info(greeting)
    return greeting
