"""The {{cookiecutter.org}} org: imports every project's flows (manage.py edits this list)."""
