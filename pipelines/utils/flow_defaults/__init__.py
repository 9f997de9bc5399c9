"""The Flow subclass every project uses: run config, storage, owners and state handlers."""

from pipelines.utils.flow_defaults.flow import PipelineFlow, org_label
from pipelines.utils.flow_defaults.handlers import notify_failure, skip_if_running

__all__ = ["PipelineFlow", "notify_failure", "org_label", "skip_if_running"]
