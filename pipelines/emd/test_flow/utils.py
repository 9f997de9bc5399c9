"""Helpers of the test_flow project (plain functions, not tasks)."""
