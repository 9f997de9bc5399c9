"""Schedules shared by the projects of the emd org (none yet)."""
