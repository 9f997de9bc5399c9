"""dbt's profile for the environment, built from settings (nobody writes profiles.yml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.settings import REPO_ROOT, Settings

# The dbt project of the repo: models/<dataset_id>/<table_id>.sql.
QUERIES_DIR = REPO_ROOT / "queries"
PROFILE = "pipelines"


def profile(settings: Settings) -> dict[str, Any]:
    """The `pipelines` profile with one target, named after PIPELINES_ENV.

    local: dbt-duckdb on the warehouse file load_to_warehouse writes. dev and prod:
    dbt-bigquery on PIPELINES_BIGQUERY_PROJECT (Google's default credentials; an emulator at
    PIPELINES_BIGQUERY_API_ENDPOINT gets a placeholder token, as it checks none).
    """
    from pipelines.utils.resources import resources

    env = settings.env
    return {PROFILE: {"target": env, "outputs": {env: resources(settings).dbt_output()}}}


def write_profiles(settings: Settings, folder: Path) -> Path:
    """Write profiles.yml for settings into folder; returns the folder (dbt's --profiles-dir)."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    # JSON is YAML: no YAML writer needed, and values are quoted safely.
    (folder / "profiles.yml").write_text(json.dumps(profile(settings), indent=2))
    return folder
