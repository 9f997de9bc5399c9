"""Keep Prefect Server tidy: stuck runs, stale versions and old run history."""

from pipelines.utils.server_cleanup.tasks import (
    archive_stale_versions,
    cancel_stuck_runs,
    delete_old_runs,
)

__all__ = ["archive_stale_versions", "cancel_stuck_runs", "delete_old_runs"]
