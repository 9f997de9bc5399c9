"""The old home of PipelineFlow, org_label and flow_factory, kept so that branches written
against it still import: they now live in pipelines.utils.pipeline_flow (and the alerts in
pipelines.utils.alerts)."""

import warnings

from pipelines.utils.pipeline_flow import FlowFactory, PipelineFlow, flow_factory, org_label

__all__ = ["FlowFactory", "PipelineFlow", "flow_factory", "org_label"]

warnings.warn(
    "pipelines.utils.flow_defaults moved: import PipelineFlow, org_label and flow_factory from "
    "pipelines.utils.pipeline_flow instead.",
    FutureWarning,
    stacklevel=2,
)
