"""manage.py lineage: tables, models and flows across orgs, read from the code and queries/."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from prefect.schedules import Schedule
from prefect.schedules.clocks import IntervalClock

from pipelines.errors import CommandError
from pipelines.manage.cli import cli
from pipelines.manage.lineage import Edge, Lineage, describe, model_links
from tests.conftest import REPO_ROOT

MODEL = "template_pipeline.rain_per_station_day"


def lineage(*args: str):
    return CliRunner().invoke(cli, ["--repo-root", str(REPO_ROOT), "lineage", *args])


def test_upstream_of_the_example_model_names_the_flow_and_the_raw_table():
    result = lineage(MODEL, "--upstream")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"model {MODEL} (queries/models/template_pipeline/rain_per_station_day.sql)",
        "Upstream: 2 node(s), 3 edge(s), upstream first:",
        "  flow emd: template_pipeline  --writes-->  table template_pipeline.rain_per_hour",
        f"  flow emd: template_pipeline  --materializes-->  model {MODEL}",
        f"  table template_pipeline.rain_per_hour  --source of-->  model {MODEL}",
    ]


def test_downstream_by_the_sources_staging_name_and_a_picture(tmp_path: Path):
    target = tmp_path / "lineage.svg"
    result = lineage("template_pipeline_staging.rain_per_hour", "--downstream", "-o", str(target))

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "table template_pipeline.rain_per_hour",
        "Downstream: 1 node(s), 1 edge(s), upstream first:",
        f"  table template_pipeline.rain_per_hour  --source of-->  model {MODEL}",
        f"Wrote {target}.",
    ]
    svg = target.read_text()
    assert ">template_pipeline.rain_per_hour<" in svg and f">{MODEL}<" in svg
    assert svg.count('class="edge"') == 1


def test_an_unknown_name_fails_with_the_nearest_ones():
    result = lineage("template_pipeline.rain_per_houre")

    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: 'template_pipeline.rain_per_houre' is no table, model or flow in the lineage"
    )
    assert "Did you mean template_pipeline.rain_per_hour," in result.output


def test_a_wrong_picture_extension_fails_before_anything_is_printed(tmp_path: Path):
    result = lineage(MODEL, "-o", str(tmp_path / "l.jpg"))

    assert result.exit_code == 1
    assert result.output == (
        f"Error: -o {tmp_path / 'l.jpg'}: the picture is .svg, .png or .dot, not '.jpg'.\n"
    )


def write_models(queries: Path) -> None:
    (queries / "models" / "sales").mkdir(parents=True)
    (queries / "models" / "finance").mkdir(parents=True)
    (queries / "models" / "sales" / "daily.sql").write_text(
        "select * from {{ source('sales_staging', 'orders') }}\n"
        'join {{source("crm", "clients")}} using (id)\n'
    )
    (queries / "models" / "finance" / "revenue.sql").write_text(
        "select * from {{ ref('daily') }} union all select * from {{ ref('sales', 'daily') }}\n"
    )
    (queries / "models" / "finance" / "report.sql").write_text("select * from {{ ref('revenue') }}")


def test_model_links_read_sources_and_refs_across_folders(tmp_path: Path):
    write_models(tmp_path / "queries")

    models, inputs = model_links(tmp_path / "queries")

    assert models == {
        "finance.report": "queries/models/finance/report.sql",
        "finance.revenue": "queries/models/finance/revenue.sql",
        "sales.daily": "queries/models/sales/daily.sql",
    }
    assert sorted(inputs) == [
        ("crm.clients", "sales.daily", "source of"),
        ("finance.revenue", "finance.report", "ref'd by"),
        ("sales.daily", "finance.revenue", "ref'd by"),
        ("sales.orders", "sales.daily", "source of"),  # the staging view is the raw table
    ]


def test_closures_in_both_directions_upstream_first(tmp_path: Path):
    write_models(tmp_path / "queries")
    graph = Lineage()
    models, inputs = model_links(tmp_path / "queries")
    for name in models:
        graph.add(name, "model")
    for upstream, model, relation in inputs:
        graph.add(upstream, "table")
        graph.link(upstream, model, relation)
    graph.add("sales: orders", "flow")
    graph.link("sales: orders", "sales.orders", "writes")
    graph.add("finance: mail", "flow")
    graph.link("finance.report", "finance: mail", "read by")

    nodes, edges = graph.closure("finance.revenue", "upstream")
    assert set(nodes) == {"finance.revenue", "sales.daily", "sales.orders", "crm.clients",
                          "sales: orders"}  # fmt: skip
    assert graph.order(nodes).index("sales: orders") < graph.order(nodes).index("sales.daily")
    down = describe(graph, "sales.orders", "downstream")
    assert down[1] == "Downstream: 4 node(s), 4 edge(s), upstream first:"
    assert down[-1] == "  model finance.report  --read by-->  flow finance: mail"
    assert describe(graph, "finance: mail", "downstream")[1:] == ["Downstream: nothing."]


def test_find_takes_the_staging_name_and_refuses_an_unknown_one():
    graph = Lineage()
    graph.add("sales.orders", "table")

    assert graph.find("sales_staging.orders") == "sales.orders"
    with pytest.raises(CommandError, match="Did you mean sales.orders"):
        graph.find("sales.order")


def test_a_flow_in_another_org_that_reads_the_model_is_downstream_of_the_example():
    import datetime as dt

    from prefect.schedules import Schedule
    from prefect.schedules.clocks import IntervalClock

    from pipelines.emd.template_pipeline.flows import flow as example
    from pipelines.manage.lineage import build_lineage
    from pipelines.utils.dump_to_gcs.flows import create_dump_to_gcs_flow

    clock = IntervalClock(
        dt.timedelta(days=1),
        start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        parameter_defaults={"dataset_id": "template_pipeline", "table_id": "rain_per_station_day"},
    )
    export = create_dump_to_gcs_flow("sme: rain export", org="sme", schedule=Schedule([clock]))

    graph = build_lineage(
        [("pipelines.emd.template_pipeline.flows", example), ("pipelines.sme.x.flows", export)],
        REPO_ROOT / "queries",
    )

    assert graph.flows_around(example.name) == ([], ["sme: rain export"])
    assert graph.flows_around("sme: rain export") == ([example.name], [])
    assert describe(graph, "template_pipeline.rain_per_hour", "downstream")[2:] == [
        f"  table template_pipeline.rain_per_hour  --source of-->  model {MODEL}",
        f"  model {MODEL}  --read by-->  flow sme: rain export",
    ]


def _materialize_flow(*clock_values: dict):
    from pipelines.utils.dbt import create_materialize_flow

    clocks = [
        IntervalClock(dt.timedelta(days=1), start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                      parameter_defaults=values)
        for values in clock_values
    ]  # fmt: skip
    return create_materialize_flow("COR: materializar", org="rj_cor", schedule=Schedule(clocks))


def test_a_materialize_flow_is_seen_whichever_way_its_clocks_name_the_model():
    """The original's shape (dataset_id, table_id, upstream) and a path selection: lineage
    draws both; a clock naming a model that has no file draws nothing (check says so)."""
    from pipelines.manage.lineage import build_lineage

    flow = _materialize_flow(
        {"dataset_id": "template_pipeline", "table_id": "rain_per_station_day", "upstream": True},
        {"select": "path:models/template_pipeline/rain_per_station_day.sql+"},
        {"dataset_id": "template_pipeline", "table_id": "no_such_model"},
    )
    graph = build_lineage([("pipelines.rj_cor.x.flows", flow)], REPO_ROOT / "queries")

    assert [e for e in graph.edges if e.upstream == flow.name] == [
        Edge(flow.name, MODEL, "materializes")
    ]
    assert "template_pipeline.no_such_model" not in graph.kinds
    assert all(edge.upstream != edge.downstream for edge in graph.edges)


def test_a_model_over_its_own_raw_table_draws_no_loop(tmp_path):
    """A dump writes template_pipeline.rain_per_hour and a model of that very name reads it:
    one node, no edge from it to itself."""
    from pipelines.manage.lineage import build_lineage
    from pipelines.utils.dump_db import create_dump_db_flow

    queries = tmp_path / "queries"
    shutil.copytree(REPO_ROOT / "queries", queries, ignore=shutil.ignore_patterns("target"))
    (queries / "models" / "template_pipeline" / "rain_per_hour.sql").write_text(
        "select * from {{ source('template_pipeline_staging', 'rain_per_hour') }}"
    )
    values = {"connection": "pg", "table": "t", "dataset_id": "template_pipeline",
              "table_id": "rain_per_hour", "materialize_after_dump": True}  # fmt: skip
    clock = IntervalClock(dt.timedelta(days=1), start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                          parameter_defaults=values)  # fmt: skip
    dump = create_dump_db_flow("emd: dump", org="emd", schedule=Schedule([clock]))
    graph = build_lineage([("pipelines.emd.x.flows", dump)], queries)
    assert graph.kinds["template_pipeline.rain_per_hour"] == "model"
    assert all(edge.upstream != edge.downstream for edge in graph.edges)
    assert Edge("emd: dump", "template_pipeline.rain_per_hour", "materializes") in graph.edges
