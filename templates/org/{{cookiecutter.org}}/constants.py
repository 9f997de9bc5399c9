"""Constants shared by the projects of the {{cookiecutter.org}} org."""

ORG = "{{cookiecutter.org}}"
# Flow names start with "<DISPLAY_NAME>: " (default: the folder's name), e.g. "COR" for a
# folder rj_cor: DISPLAY_NAME = "COR". Labels, alerts and the catalog still use the folder.
