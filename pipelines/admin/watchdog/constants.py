"""Constants of the watchdog project."""

ORG = "admin"

# Flow names are unique across the repo: `python manage.py check` verifies it.
FLOW_NAME = "admin: watchdog"

# People alerted when a run of this project's flow fails.
CODE_OWNERS: list[str] = []
