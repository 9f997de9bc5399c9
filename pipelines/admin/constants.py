"""Constants shared by the projects of the admin org."""

ORG = "admin"
