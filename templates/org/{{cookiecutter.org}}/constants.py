"""Constants shared by the projects of the {{cookiecutter.org}} org."""

ORG = "{{cookiecutter.org}}"
