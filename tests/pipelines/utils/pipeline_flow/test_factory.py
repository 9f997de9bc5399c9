"""flow_factory: every shared flow's factory shows, and takes, the same signature."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "factory",
    [
        "pipelines.utils.dump_db.create_dump_db_flow",
        "pipelines.utils.dump_url.create_dump_url_flow",
        "pipelines.utils.dump_to_gcs.create_dump_to_gcs_flow",
        "pipelines.utils.dbt.create_materialize_flow",
        "pipelines.utils.backfill.create_backfill_flow",
    ],
)
def test_a_flow_factory_shows_the_signature_it_is_called_with(factory):
    import importlib
    import inspect
    import pydoc

    module, _, name = factory.rpartition(".")
    create = getattr(importlib.import_module(module), name)
    shown = "(name: 'str', org: 'str', code_owners: 'Iterable[str]' = (), **flow_kwargs: 'Any')"
    assert str(inspect.signature(create)) == f"{shown} -> 'Flow'"
    assert f"{name}{shown}" in pydoc.plain(pydoc.render_doc(create))
    assert create.__doc__.startswith("Build a flow")


def test_the_old_import_still_works_and_names_the_new_one():
    import importlib
    import sys

    sys.modules.pop("pipelines.utils.flow_defaults", None)
    with pytest.warns(FutureWarning, match="import PipelineFlow, org_label and flow_factory from "
                      "pipelines.utils.pipeline_flow"):  # fmt: skip
        old = importlib.import_module("pipelines.utils.flow_defaults")
    from pipelines.utils.pipeline_flow import PipelineFlow

    assert old.PipelineFlow is PipelineFlow
