"""Pick the datalake that settings describe: a local folder or a GCS bucket."""

from __future__ import annotations

from pipelines.settings import Settings, load_settings
from pipelines.utils.datalake.base import Datalake
from pipelines.utils.datalake.local import LocalDatalake


def get_datalake(settings: Settings | None = None) -> Datalake:
    """The datalake of the current environment.

    Args:
        settings: Settings to read; default: the environment and .env.

    Returns:
        LocalDatalake under PIPELINES_DATA_DIR/datalake in `local`, else GCSDatalake on
        PIPELINES_DATALAKE_BUCKET.

    Raises:
        SettingsError: dev/prod without PIPELINES_DATALAKE_BUCKET.
    """
    settings = settings or load_settings()
    if settings.env == "local":
        return LocalDatalake(settings.data_dir / "datalake")
    from pipelines.utils.datalake.gcs import GCSDatalake

    return GCSDatalake(
        settings.require("PIPELINES_DATALAKE_BUCKET"),
        root=settings.require("PIPELINES_DATALAKE_PREFIX"),
    )
