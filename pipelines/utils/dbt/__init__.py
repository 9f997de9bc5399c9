"""dbt models (queries/) run in-process: locally on DuckDB, in dev/prod on BigQuery."""

from pipelines.utils.dbt.flows import create_materialize_flow
from pipelines.utils.dbt.runner import DbtRun, NodeResult, model_selector, run_dbt_command
from pipelines.utils.dbt.tasks import materialize, run_dbt

__all__ = [
    "DbtRun",
    "NodeResult",
    "create_materialize_flow",
    "materialize",
    "model_selector",
    "run_dbt",
    "run_dbt_command",
]
