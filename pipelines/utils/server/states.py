"""The names of Prefect 1's run states that the project reads, grouped once: the server's
queries take these as variables, and every reader of a run's state uses the same groups."""

# A run in one of these will not change state again.
FINISHED = ("Success", "Failed", "Cancelled", "Skipped", "TimedOut", "Cached")
# Finished without an error.
SUCCEEDED = ("Success", "Cached", "Skipped")
# Finished runs a failing streak counts: a run skipped (another was running) or cached says
# nothing about whether the flow works.
CONCLUDED = ("Success", "Failed", "TimedOut", "Cancelled")
# A task run that failed, whatever the cause.
FAILED_TASK = ("Failed", "TimedOut", "ValidationFailed")
# Due, but no agent has started it (Pending: created in a state no agent has picked up).
NOT_STARTED = ("Scheduled", "Submitted", "Queued", "Pending")
# States a run can be stuck in when its pod died: housekeeping cancels them past a limit.
STUCK = ("Running", "Submitted")
RUNNING = "Running"
