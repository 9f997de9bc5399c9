"""Constants of the housekeeping project."""

ORG = "admin"

# Flow names are unique across the repo: `python manage.py check` verifies it.
FLOW_NAME = "admin: housekeeping"

# People alerted when a run of this project's flow fails.
CODE_OWNERS: list[str] = []

# A run Running or Submitted for longer than this is stuck (per-flow overrides: a parameter).
STUCK_LIMIT_MINUTES = 360.0
# Finished runs are kept this long.
RETENTION_DAYS = 90.0
