"""The emd org: imports every project's flows (manage.py edits this list)."""

import pipelines.emd.template_pipeline.flows  # noqa: F401
import pipelines.emd.test_flow.flows  # noqa: F401
