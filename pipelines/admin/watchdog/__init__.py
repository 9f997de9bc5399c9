"""The watchdog project of the admin org."""
