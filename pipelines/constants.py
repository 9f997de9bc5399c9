"""Global constants shared by every org: names and time zone, no infrastructure addresses."""

TIMEZONE = "America/Sao_Paulo"

# The five-file shape of an org and of a project (the original repository's layout).
PROJECT_MODULES = ("constants", "flows", "schedules", "tasks", "utils")

# Packages directly under pipelines/ that are shared code, not orgs.
SHARED_PACKAGES = ("manage", "utils")

# Seconds a local write waits for another process to release the DuckDB warehouse file (the
# default of PIPELINES_WAREHOUSE_LOCK_TIMEOUT_S, and of the classes that take the wait).
DEFAULT_LOCK_TIMEOUT_S = 120

# Suffix that marks a flow version registered by run_cloud for development.
DEV_FLOW_SUFFIX = " (development)"
# Suffix of the versions `register --staging` (CD of a staging branch) puts in the same project:
# a different name is a different flow group, so the two never archive each other's versions.
STAGING_FLOW_SUFFIX = " (staging)"

# Options every DuckDB connection the project opens takes. DuckDB keeps the bytes of every
# file it reads in a cache outside its memory cap: loading 3,650 day files of 60 columns
# peaked at 329 MB with it, 145 MB without (the files are read once per statement anyway).
DUCKDB_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_file_cache": False,
}
# The block size of a new local warehouse file. DuckDB writes a table a block per column at a
# time: with its default 256 KB, 400 columns did not fit the 100 MB cap; with 64 KB they load
# in it, and 10M narrow rows take the same space and time (16 and 32 KB files were twice as big).
WAREHOUSE_BLOCK_SIZE = 64 * 1024
