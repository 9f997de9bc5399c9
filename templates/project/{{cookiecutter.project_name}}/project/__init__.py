"""The {{cookiecutter.project_name}} project of the {{cookiecutter.org}} org."""
