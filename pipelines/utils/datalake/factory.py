"""Pick the datalake that settings describe: a local folder or a GCS bucket."""

from __future__ import annotations

from pipelines.settings import Settings
from pipelines.utils.datalake.base import Datalake


def get_datalake(settings: Settings | None = None) -> Datalake:
    """The datalake of the current environment.

    Args:
        settings: Settings to read; default: the run's (pipelines.utils.resources).

    Returns:
        LocalDatalake under PIPELINES_DATA_DIR/datalake in `local`, else GCSDatalake on
        PIPELINES_DATALAKE_BUCKET.

    Raises:
        SettingsError: dev/prod without PIPELINES_DATALAKE_BUCKET.
    """
    from pipelines.utils.resources import resources

    return resources(settings).datalake()
