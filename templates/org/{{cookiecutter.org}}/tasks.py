"""Tasks shared by the projects of the {{cookiecutter.org}} org (none yet)."""
