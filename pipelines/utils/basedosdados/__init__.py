"""basedosdados, imported only when used: unconfigured it would hang on input()."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from pipelines.errors import SettingsError
from pipelines.settings import Settings

CREDENTIALS = ("BASEDOSDADOS_CREDENTIALS_PROD", "BASEDOSDADOS_CREDENTIALS_STAGING")


def basedosdados_config_problem(settings: Settings) -> str | None:
    """Why basedosdados would stop to ask for its configuration, or None when it is set up."""
    environ = settings.environ
    if environ.get("BASEDOSDADOS_CONFIG"):
        missing = [name for name in CREDENTIALS if not environ.get(name)]
        if missing:
            return f"BASEDOSDADOS_CONFIG is set but {', '.join(missing)} is not (base64 JSON keys)."
        return None
    home = Path(environ.get("HOME") or Path.home())
    if (home / ".basedosdados" / "config.toml").is_file():
        return None
    return (
        "basedosdados is not configured, and would wait for answers at an input() prompt. "
        "Create ~/.basedosdados/config.toml (run `basedosdados config init` once, "
        "interactively), or set BASEDOSDADOS_CONFIG, BASEDOSDADOS_CREDENTIALS_PROD and "
        "BASEDOSDADOS_CREDENTIALS_STAGING (base64, as basedosdados documents)."
    )


def import_basedosdados(settings: Settings) -> Any:
    """Import basedosdados after checking its configuration, keeping our warning filters."""
    problem = basedosdados_config_problem(settings)
    if problem:
        raise SettingsError(problem)
    saved = warnings.filters[:]
    try:
        import basedosdados
    finally:
        warnings.filters[:] = saved  # type: ignore[index]
    return basedosdados
