"""The Flow subclass every project uses: run config, storage, owners and state handlers."""

from pipelines.utils.flow_defaults.flow import PipelineFlow, org_label

__all__ = ["PipelineFlow", "org_label"]
