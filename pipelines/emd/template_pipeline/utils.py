"""Helpers of the template_pipeline project (plain functions, not tasks)."""
