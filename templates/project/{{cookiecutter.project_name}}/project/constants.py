"""Constants of the {{cookiecutter.project_name}} project."""

ORG = "{{cookiecutter.org}}"

# Flow names are unique across the repo: `python manage.py check` verifies it.
FLOW_NAME = "{{cookiecutter.flow_name}}"

# People alerted when a run of this project's flow fails.
CODE_OWNERS: list[str] = []
