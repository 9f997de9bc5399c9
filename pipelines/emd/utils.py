"""The emd org's helpers: run_local and run_cloud importable as the original README does."""

from pipelines.utils.execution import run_cloud, run_local

__all__ = ["run_cloud", "run_local"]
