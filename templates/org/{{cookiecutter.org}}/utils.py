"""Helpers of the {{cookiecutter.org}} org; run_local and run_cloud as seed 004 imports them."""

from pipelines.utils.execution import run_local

__all__ = ["run_local"]
