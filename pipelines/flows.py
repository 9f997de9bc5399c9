"""Imports every org, and through them every project's flows; `check` verifies it imports."""

import pipelines.admin  # noqa: F401
import pipelines.emd  # noqa: F401
