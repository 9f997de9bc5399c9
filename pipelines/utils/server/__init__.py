"""Prefect Server's API: every GraphQL document the project sends, and a thin typed client."""

from pipelines.utils.server.client import Server

__all__ = ["Server"]
