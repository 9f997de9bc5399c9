"""Helpers of the watchdog project (plain functions, not tasks)."""
