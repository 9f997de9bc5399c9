"""PipelineFlow, the Flow every project uses (org label, owners, alerts, pod size), and the
factory form of the shared flows."""

from pipelines.utils.pipeline_flow.factory import FlowFactory, flow_factory
from pipelines.utils.pipeline_flow.flow import PipelineFlow, org_label
from pipelines.utils.pipeline_flow.skip_if_running import skip_if_running

__all__ = ["FlowFactory", "PipelineFlow", "flow_factory", "org_label", "skip_if_running"]
