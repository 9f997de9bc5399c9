"""Imports every org, and through them every project's flows: what CD and `check` walk."""

import pipelines.emd  # noqa: F401
