"""Global constants shared by every org: names and time zone, no infrastructure addresses."""

TIMEZONE = "America/Sao_Paulo"

# The five-file shape of an org and of a project (the original repository's layout).
PROJECT_MODULES = ("constants", "flows", "schedules", "tasks", "utils")

# Packages directly under pipelines/ that are shared code, not orgs.
SHARED_PACKAGES = ("manage", "utils")

# Suffix that marks a flow version registered by run_cloud for development.
DEV_FLOW_SUFFIX = " (development)"
# Suffix of the versions `register --staging` (CD of a staging branch) puts in the same project:
# a different name is a different flow group, so the two never archive each other's versions.
STAGING_FLOW_SUFFIX = " (staging)"
