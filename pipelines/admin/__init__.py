"""The admin org: imports every project's flows (manage.py edits this list)."""

import pipelines.admin.housekeeping.flows  # noqa: F401
import pipelines.admin.watchdog.flows  # noqa: F401
