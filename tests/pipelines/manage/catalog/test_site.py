"""manage.py catalog: the pages, what each flow's page says, problems and the day view."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pendulum
import pytest

from pipelines.manage.catalog.facts import FlowFacts, Model
from pipelines.manage.catalog.site import attach_problems, build_catalog, day_view
from pipelines.utils.inventory import Repo
from pipelines.utils.schedules import cron_clock, make_schedule
from tests.conftest import REPO_ROOT

NOW = pendulum.datetime(2026, 12, 2, 10, 34, tz="America/Sao_Paulo")
EXAMPLE_FLOWS = {
    "admin-backfill",
    "admin-housekeeping",
    "admin-watchdog",
    "admin-materialize",
    "emd-backfill",
    "emd-materialize",
    "emd-template-pipeline",
    "emd-test-flow",
}


@pytest.fixture(scope="module")
def example_catalog(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("site") / "catalog"
    build_catalog(Repo(REPO_ROOT), output, now=NOW)
    return output


def test_the_site_has_an_index_a_day_view_and_a_page_per_flow(example_catalog: Path):
    files = {p.relative_to(example_catalog).as_posix() for p in example_catalog.rglob("*")}
    pages = {
        f.removeprefix("flows/").removesuffix(".html") for f in files if f.startswith("flows/")
    }

    assert pages - {""} == EXAMPLE_FLOWS
    assert {"index.html", "day.html", "catalog.css", "catalog.js", "flows", "graphs"} <= files
    index = (example_catalog / "index.html").read_text()
    assert '<a href="flows/emd-template-pipeline.html">emd: template_pipeline</a>' in index
    assert 'id="query"' in index and '<script src="catalog.js"></script>' in index
    assert not list(example_catalog.parent.glob(".catalog-*")), "the staging folder is gone"


def test_a_flow_page_says_what_runs_when_who_owns_it_and_what_it_writes(example_catalog: Path):
    from pipelines.emd.template_pipeline.flows import flow

    page = (example_catalog / "flows" / "emd-template-pipeline.html").read_text()

    assert '<span class="tag">data-office</span>' in page
    for resource in ("cpu request: 250m", "memory request: 512Mi", "memory limit: 1Gi"):
        assert f'<span class="tag">{resource}</span>' in page
    assert "every hour from 2024-01-01 00:05 (America/Sao_Paulo)" in page
    next_runs = [f"<li>Wed 2026-12-02 {hour}:05</li>" for hour in (11, 12, 13, 14, 15)]
    assert all(run in page for run in next_runs)
    assert "<code>template_pipeline.rain_per_hour</code>" in page
    assert "<code>template_pipeline/rain_per_hour/</code>" in page
    assert "<code>template_pipeline_staging.rain_per_hour</code>" in page
    assert "<code>queries/models/template_pipeline/rain_per_station_day.sql</code>" in page
    assert "<code>pipelines/emd/template_pipeline/flows.py</code>" in page
    assert "python manage.py run pipelines.emd.template_pipeline.flows.flow" in page
    picture = page.split('<img src="../graphs/')[1].split('"')[0]
    svg = (example_catalog / "graphs" / picture).read_text()
    assert all(f">{task.name}<" in svg for task in flow.tasks)


def test_parameters_show_their_defaults_and_the_clocks_that_override_them(tmp_path: Path):
    from prefect import Parameter, task

    from pipelines.manage.catalog.facts import flow_facts
    from pipelines.utils.dump_to_gcs.tasks import dump_to_gcs  # reads a table
    from pipelines.utils.pipeline_flow import PipelineFlow
    from pipelines.utils.schedules import staggered_clocks

    @task
    def write(dataset_id: str, table_id: str) -> None:
        """Stands for a dump."""

    clocks = staggered_clocks(
        pendulum.duration(days=1), [{"table_id": "escolas"}, {"table_id": "turmas"}]
    )
    with PipelineFlow("emd: dumps", org="emd", schedule=make_schedule(*clocks)) as flow:
        table = Parameter("table_id", default="escolas")
        write(Parameter("dataset_id", default="educacao"), table)
        dump_to_gcs(dataset_id="educacao", table_id="notas", query=None)

    facts = flow_facts("pipelines.emd.dumps.flows", flow, tmp_path, [], None, NOW)

    by_name = {p.name: p for p in facts.parameters}
    assert by_name["table_id"].default == "escolas"
    assert by_name["table_id"].overrides == [(1, "escolas"), (2, "turmas")]
    assert [(t.warehouse_table, t.when) for t in facts.writes] == [
        ("educacao.escolas", "a run started by hand, clock 1"),
        ("educacao.turmas", "clock 2"),
    ]
    assert [(t.warehouse_table, t.when) for t in facts.reads] == [("educacao.notas", "every run")]
    assert "educacao.turmas" in facts.search_text()


def test_a_model_its_clocks_publish_is_marked_public(tmp_path: Path):
    from pipelines.manage.catalog.facts import flow_facts
    from pipelines.utils.dump_db import create_dump_db_flow
    from pipelines.utils.schedules import staggered_clocks

    common = {"connection": "sme", "dataset_id": "educacao", "materialize_after_dump": True}
    clocks = staggered_clocks(pendulum.duration(days=1), [
        {**common, "table": "a", "table_id": "escolas", "publish": True},
        {**common, "table": "b", "table_id": "turmas"},
    ])  # fmt: skip
    flow = create_dump_db_flow("sme: dumps", org="sme", schedule=make_schedule(*clocks))

    facts = flow_facts("pipelines.sme.dumps.flows", flow, tmp_path, [], None, NOW)

    assert [(m.name, m.public) for m in facts.models] == [
        ("educacao.escolas", True), ("educacao.turmas", False)
    ]  # fmt: skip


def _facts(name: str, module: str, models: list[Model] | None = None) -> FlowFacts:
    slug = name.replace(": ", "-")
    return FlowFacts(
        name, slug, module, "emd", None, [], [], [], [], [], [], models or [], [], None, 0, 0
    )


def test_problems_go_next_to_the_flow_they_name():
    a = _facts("emd: a", "pipelines.emd.a.flows")
    b = _facts(
        "emd: b", "pipelines.emd.b.flows", [Model("x.y", "queries/models/x/y.sql", True, "")]
    )
    problems = [
        "pipelines.emd.a.flows: flow 'emd: a': its schedule yields no future runs",
        "pipelines/emd/c/utils.py:3: a value comes from datetime.now() when the module is "
        "imported, so it keeps that value in every run of 'emd: b': compute it inside a task",
        "queries/ (dbt parse): Compilation Error in model y (models/x/y.sql)",
        "pipelines.emd.broken.flows: import failed: SyntaxError: invalid syntax",
    ]

    loose = attach_problems([a, b], problems)

    assert a.problems == problems[:1]
    assert b.problems == problems[1:3]
    assert loose == problems[3:]


def test_the_day_view_marks_runs_starting_in_the_same_minute():
    a, b, c = (_facts(f"emd: {n}", f"pipelines.emd.{n}.flows") for n in "abc")
    schedules = {
        "emd: a": make_schedule(cron_clock("0 6 * * *")),
        "emd: b": make_schedule(cron_clock("0 6 * * *"), cron_clock("30 * * * *")),
        "emd: c": None,
    }

    day = day_view([a, b, c], schedules, NOW)

    assert day["total"] == 2 + 24 and day["scheduled"] == 2
    [collision] = day["collisions"]
    assert collision["label"] == "Thu 06:00"
    assert [(r["name"], r["clock"]) for r in collision["runs"]] == [
        ("emd: a", ""),
        ("emd: b", " (clock 1)"),
    ]
    assert day["hours"][0] == {"x": 26, "label": "11:00"}


def _catalog(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "catalog", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_command_shows_check_problems_and_replaces_the_site_whole(repo_copy: Path):
    assert _catalog(repo_copy).returncode == 0
    stale = repo_copy / "build" / "catalog" / "flows" / "emd-test-flow.html"
    assert stale.is_file()  # a page of the earlier build, for a flow renamed since
    flows = repo_copy / "pipelines" / "emd" / "test_flow" / "flows.py"
    flows.write_text(flows.read_text().replace("    FLOW_NAME,", '    "admin: test_flow",'))

    done = _catalog(repo_copy)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Wrote {repo_copy / 'build' / 'catalog' / 'index.html'}: ")
    assert "8 flow(s)" in done.stdout and "1 problem(s) from check" in done.stdout
    assert not stale.exists()
    page = (repo_copy / "build" / "catalog" / "flows" / "admin-test-flow.html").read_text()
    assert "its name must start with &#39;emd: &#39;, the org whose folder holds it" in page
    index = (repo_copy / "build" / "catalog" / "index.html").read_text()
    assert "⚠ 1" in index


def test_a_failed_build_keeps_the_last_site(repo_copy: Path):
    assert _catalog(repo_copy).returncode == 0
    index = repo_copy / "build" / "catalog" / "index.html"
    before = index.read_text()
    (repo_copy / "templates" / "catalog" / "flow.html").write_text("{% if %}")

    done = _catalog(repo_copy)

    assert done.returncode == 1
    template = repo_copy / "templates" / "catalog" / "flow.html"
    assert done.stderr == (
        f"Error: The catalog's template {template} (line 1) is broken: Expected an "
        "expression, got 'end of statement block'. Nothing was written; the last catalog is "
        "as it was.\n"
    )
    assert index.read_text() == before
    assert sorted(p.name for p in (repo_copy / "build").iterdir()) == ["catalog"]


def test_a_build_a_kill_left_half_written_is_removed_by_the_next_build(repo_copy: Path):
    import subprocess
    import sys

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    half = repo_copy / "build" / f".catalog-p{ended.pid}-x1y2"  # a killed build's staging
    (half / "flows").mkdir(parents=True)
    (half / "flows" / "a.html").write_text("<html>")

    assert _catalog(repo_copy).returncode == 0

    assert sorted(p.name for p in (repo_copy / "build").iterdir()) == ["catalog"]


def test_a_folder_the_catalog_did_not_make_is_refused_and_left_byte_for_byte(repo_copy: Path):
    import subprocess

    from tests.conftest import snapshot

    theirs = repo_copy / "notes"
    (theirs / "sub").mkdir(parents=True)
    (theirs / "todo.md").write_text("mine")
    (theirs / "sub" / "deep.txt").write_text("also mine")
    subprocess.run(["git", "init", "-q", str(theirs)], check=True)
    before = snapshot(theirs)

    done = _catalog(repo_copy, "-o", str(theirs))

    assert done.returncode == 1
    assert done.stderr == (
        f"Error: {theirs} is not empty and was not made by `manage.py catalog`: refusing to "
        "replace it. Give a new or empty folder (the default is build/catalog).\n"
    )
    assert snapshot(theirs) == before
    # A checkout itself, `catalog -o .`:
    here = _catalog(repo_copy, "-o", str(repo_copy))
    assert here.returncode == 1 and "was not made by `manage.py catalog`" in here.stderr
    assert (repo_copy / "pipelines").is_dir() and (repo_copy / "manage.py").is_file()


def test_a_file_put_into_the_catalogs_own_folder_is_not_deleted(repo_copy: Path):
    assert _catalog(repo_copy).returncode == 0
    note = repo_copy / "build" / "catalog" / "flows" / "my-notes.txt"
    note.write_text("keep me")

    done = _catalog(repo_copy)

    assert done.returncode == 1
    assert done.stderr == (
        f"Error: {repo_copy / 'build' / 'catalog'} holds flows/my-notes.txt, which the catalog "
        "did not write: move them out of the folder first. Nothing was changed.\n"
    )
    assert note.read_text() == "keep me"


def test_a_new_catalog_folder_follows_the_umask_and_an_empty_one_is_used(repo_copy: Path):
    import stat

    empty = repo_copy / "empty"
    empty.mkdir()
    assert _catalog(repo_copy, "-o", str(empty)).returncode == 0
    assert (empty / "index.html").is_file()
    fresh = repo_copy / "site"
    done = subprocess.run(
        [sys.executable, "manage.py", "catalog", "-o", str(fresh)], cwd=repo_copy,
        capture_output=True, text=True, timeout=300, preexec_fn=lambda: os.umask(0o027),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert oct(stat.S_IMODE(fresh.stat().st_mode)) == oct(0o750)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"flows": [{"flow": "emd: x"}]}, "flows[0]: 'failing_streak' is missing or not a number"),
        (
            {"flows": [{"flow": "emd: x", "failing_streak": 0, "recent_runs": [], "problems": [],
                        "tables": [{"table": "a.b", "freshness_s": "1h", "age_s": None,
                                    "stale": False}]}]},
            "flows[0].tables[0]: 'freshness_s' is missing or not a number",
        ),
        ([], "no 'flows' list"),
    ],
)  # fmt: skip
def test_a_health_file_of_the_wrong_shape_is_named_not_the_template(
    repo_copy: Path, document, problem
):
    health = repo_copy / "health.json"
    health.write_text(json.dumps(document))
    done = _catalog(repo_copy, "--health", str(health))
    assert done.returncode == 1
    assert done.stderr == (
        f"Error: --health {health}: not a `manage.py status --json` document ({problem}). "
        "Write one with: python manage.py status --json > health.json\n"
    )


def test_last_change_is_the_projects_own_and_the_shared_codes_is_apart(repo_copy: Path):
    from tests.pipelines.manage.test_affected import commit, git

    git(repo_copy, "init", "-q")
    commit(repo_copy, "base")
    tasks = repo_copy / "pipelines/emd/test_flow/tasks.py"
    tasks.write_text(tasks.read_text() + "\n# test_flow's own change\n")
    commit(repo_copy, "test_flow: its own change")
    shared = repo_copy / "pipelines/utils/redaction/__init__.py"
    shared.write_text(shared.read_text() + "\n# a shared change\n")
    commit(repo_copy, "utils: a shared change")
    assert _catalog(repo_copy).returncode == 0

    def rows(slug: str) -> tuple[str, str]:
        page = (repo_copy / "build/catalog/flows" / f"{slug}.html").read_text()
        last = page.split("<th>Last change</th>")[1].split("</tr>")[0]
        shared_row = page.split("<th>Shared code</th>")[1].split("</tr>")[0]
        return last, shared_row

    own, shared_code = rows("emd-test-flow")
    assert "test_flow: its own change" in own and "utils: a shared change" in shared_code
    other, other_shared = rows("emd-template-pipeline")
    assert ": base" in other and "utils: a shared change" in other_shared


def test_the_catalog_carries_and_links_the_docs_it_is_given(repo_copy: Path, tmp_path: Path):
    docs = tmp_path / "docs-site"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(docs)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    done = _catalog(repo_copy, "--docs", str(docs))
    assert done.returncode == 0, done.stderr
    site = repo_copy / "build" / "catalog"
    assert (site / "docs" / "index.html").is_file()
    assert '<a href="docs/index.html">Docs</a>' in (site / "index.html").read_text()
    assert (
        '<a href="../docs/index.html">Docs</a>' in (site / "flows/emd-test-flow.html").read_text()
    )
    refused = _catalog(repo_copy, "--docs", str(tmp_path))
    assert refused.returncode == 1
    assert refused.stderr == (
        f"Error: --docs {tmp_path}: no index.html there; build the docs with `make docs`.\n"
    )
    without = _catalog(repo_copy)
    assert without.returncode == 0 and ">Docs</a>" not in (site / "index.html").read_text()


def test_the_flow_page_shows_its_tables_schema_history_from_the_status(repo_copy: Path):
    entry = {"at": "2026-12-07T10:00:00+00:00", "flow": "emd: template_pipeline",
             "flow_run": "run-1", "mode": "append", "on_schema_change": "append_new_columns",
             "changes": ["new column 'extra' (VARCHAR)"],
             "columns": [["estacao", "VARCHAR"], ["extra", "VARCHAR"]]}  # fmt: skip
    document = {
        "flows": [{"flow": "emd: template_pipeline", "failing_streak": 0, "recent_runs": [],
                   "tables": [], "problems": []}],
        "schemas": {"template_pipeline.rain_per_hour": [entry]},
    }  # fmt: skip
    health = repo_copy / "health.json"
    health.write_text(json.dumps(document))
    done = _catalog(repo_copy, "--health", str(health))
    assert done.returncode == 0, done.stderr
    page = (repo_copy / "build/catalog/flows/emd-template-pipeline.html").read_text()
    history = page.split("<h2>Schema history</h2>")[1].split("</table>")[0]
    assert "<code>template_pipeline.rain_per_hour</code>" in history
    assert "new column &#39;extra&#39; (VARCHAR)" in history
    assert "<code>extra</code> VARCHAR" in history and "<code>run-1</code>" in history
    bad = dict(document, schemas={"a.b": [{"at": 1}]})
    health.write_text(json.dumps(bad))
    refused = _catalog(repo_copy, "--health", str(health))
    assert refused.returncode == 1
    assert "schemas['a.b'][0]: 'at' is missing or not a text" in refused.stderr
