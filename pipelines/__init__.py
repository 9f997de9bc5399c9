"""A city data office's Prefect 1 pipelines; importing this package imports no org."""
