"""Build the datalake that settings describe: a local folder or a GCS bucket."""

from __future__ import annotations

from pipelines.settings import Settings
from pipelines.utils.context import current_settings, datalake_folder, environment
from pipelines.utils.datalake.base import Datalake


def get_datalake(settings: Settings | None = None) -> Datalake:
    """The datalake of the current environment.

    Args:
        settings: Settings to read; default: the run's (pipelines.utils.context).

    Returns:
        LocalDatalake under PIPELINES_DATA_DIR/datalake in `local`, else GCSDatalake on
        PIPELINES_DATALAKE_BUCKET.

    Raises:
        SettingsError: dev/prod without PIPELINES_DATALAKE_BUCKET.
    """
    settings = settings or current_settings()
    if environment(settings).datalake == "folder":
        from pipelines.utils.datalake.local import LocalDatalake

        return LocalDatalake(datalake_folder(settings))
    from pipelines.utils.datalake.gcs import GCSDatalake

    return GCSDatalake(
        settings.require("PIPELINES_DATALAKE_BUCKET"),
        root=settings.require("PIPELINES_DATALAKE_PREFIX"),
    )
