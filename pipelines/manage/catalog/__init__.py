"""The catalog: a static site of every org, project, flow, schedule, table and model."""

from pipelines.manage.catalog.site import Built, build_catalog

__all__ = ["Built", "build_catalog"]
