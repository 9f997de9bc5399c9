"""A city data office's Prefect 1 pipelines; importing this package imports no org."""

from pipelines.settings import apply_process_defaults

apply_process_defaults()
