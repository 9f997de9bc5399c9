"""Tasks of the housekeeping project: the shared ones live in pipelines.utils.server_cleanup."""
