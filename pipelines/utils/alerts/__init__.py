"""Failure alerts: who a failed run mentions, where the message goes, and how often."""

from pipelines.utils.alerts.handler import failure_message, notify_failure

__all__ = ["failure_message", "notify_failure"]
