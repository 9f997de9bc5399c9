"""Helpers of the {{cookiecutter.org}} org; run_local and run_cloud are importable from here, as seed 004 does."""

from pipelines.utils.execution import run_cloud, run_local

__all__ = ["run_cloud", "run_local"]
