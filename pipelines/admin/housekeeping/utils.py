"""Helpers of the housekeeping project (plain functions, not tasks)."""
