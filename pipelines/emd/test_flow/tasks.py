"""Tasks of the test_flow project."""

import prefect
from prefect import task


@task
def echo(param: str) -> str:
    """Log the parameter and return it, to check that flows run end to end.

    Args:
        param: Any value.

    Returns:
        The value as text.
    """
    text = str(param)
    prefect.context.get("logger").info("param = %s", text)
    return text
