"""Constants of the {{cookiecutter.project_name}} project."""

ORG = "{{cookiecutter.org}}"

# Flow names are unique across the repo: `python manage.py check` verifies it.
FLOW_NAME = "{{cookiecutter.flow_name}}"

# GitHub handles mentioned when a run fails or its data goes stale (ids in pipelines/owners.yaml).
CODE_OWNERS: list[str] = {{cookiecutter.code_owners}}
