"""A Prefect Server stand-in that holds every request to the real server's schema."""

from tests.support.prefect_server.server import VALIDATION, PrefectTestServer, Recorded

__all__ = ["VALIDATION", "PrefectTestServer", "Recorded"]
