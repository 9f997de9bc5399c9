"""Helpers of the {{cookiecutter.project_name}} project (plain functions, not tasks)."""
