"""Org helpers: run_local and run_cloud, imported from here as the original README does."""

from pipelines.utils.execution import run_cloud, run_local

__all__ = ["run_cloud", "run_local"]
