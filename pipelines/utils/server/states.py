"""The names of Prefect 1's run states that the project reads."""

# A run in one of these will not change state again.
FINISHED = ("Success", "Failed", "Cancelled", "Skipped", "TimedOut", "Cached")
# Finished without an error.
SUCCEEDED = ("Success", "Cached", "Skipped")
