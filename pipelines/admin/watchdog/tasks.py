"""Tasks of the watchdog project: the shared one lives in pipelines.utils.health."""
