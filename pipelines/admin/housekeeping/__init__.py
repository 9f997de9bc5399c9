"""The housekeeping project of the admin org."""
