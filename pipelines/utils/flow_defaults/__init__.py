"""The Flow subclass every project uses (org label, owners, alerts) and the flow factory form."""

from pipelines.utils.flow_defaults.factory import FlowFactory, flow_factory
from pipelines.utils.flow_defaults.flow import PipelineFlow, org_label
from pipelines.utils.flow_defaults.handlers import notify_failure, skip_if_running

__all__ = [
    "FlowFactory",
    "PipelineFlow",
    "flow_factory",
    "notify_failure",
    "org_label",
    "skip_if_running",
]
