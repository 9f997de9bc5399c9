"""Constants of the template_pipeline project."""

ORG = "emd"

# Flow names are unique across the repo: `python manage.py check` verifies it.
FLOW_NAME = "emd: template_pipeline"

# People alerted when a run of this project's flow fails.
CODE_OWNERS: list[str] = []
