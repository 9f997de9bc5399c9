"""Constants of the test_flow project."""

ORG = "emd"

# Flow names are unique across the repo: `python manage.py check` verifies it.
FLOW_NAME = "emd: test_flow"

# People alerted when a run of this project's flow fails.
CODE_OWNERS: list[str] = []
