"""Affected-flow detection: static import closure, package __init__ rule, data files, deletions."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.manage.affected import affected_flows, dependency_hash, image_tag
from pipelines.utils.deploy.graph import ModuleGraph
from pipelines.utils.inventory import Repo

TEMPLATE = "pipelines.emd.template_pipeline.flows"
TEST_FLOW = "pipelines.emd.test_flow.flows"


def affected_by(root: Path, *relative: str) -> list[str]:
    root = root.resolve()
    graph = ModuleGraph.build(root)
    found, _ = affected_flows(Repo(root), graph, {root / r for r in relative})
    return sorted(a.module for a in found)


def ours(modules: list[str]) -> list[str]:
    """Only the example org's flows, so user-added projects do not change the answers."""
    return [m for m in modules if m in (TEMPLATE, TEST_FLOW)]


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ("pipelines/emd/template_pipeline/tasks.py", [TEMPLATE]),
        ("pipelines/emd/template_pipeline/data/rain_gauges.csv", [TEMPLATE]),
        ("pipelines/utils/dataframe/cleaning.py", [TEMPLATE]),
        # A warehouse's code reaches only flows that load or query a warehouse; the echo
        # flow writes nothing. Every flow's alerts keep their flood guard in the datalake.
        ("pipelines/utils/warehouse/duckdb_warehouse.py", [TEMPLATE]),
        ("pipelines/utils/warehouse/bigquery.py", [TEMPLATE]),
        ("pipelines/utils/datalake/gcs.py", [TEMPLATE, TEST_FLOW]),
        ("pipelines/utils/schedules/clocks.py", [TEMPLATE, TEST_FLOW]),
        ("pipelines/emd/test_flow/tasks.py", [TEST_FLOW]),
        # Aggregation files are not imported by any flow module.
        ("pipelines/emd/__init__.py", []),
        ("pipelines/flows.py", []),
        ("tests/pipelines/emd/test_flow/test_flows.py", []),
        ("README.md", []),
        ("templates/project/cookiecutter.json", []),
        # dbt models: every flow that can materialize one (its closure holds pipelines.utils.dbt).
        ("queries/models/template_pipeline/rain_per_station_day.sql", [TEMPLATE]),
        ("queries/models/new_dataset/new_model.sql", [TEMPLATE]),
        ("queries/target/compiled/x.sql", []),
    ],
)
def test_a_change_affects_exactly_the_flows_whose_closure_holds_it(repo_copy, changed, expected):
    assert ours(affected_by(repo_copy, changed)) == expected


def test_a_change_to_the_cli_affects_no_flow(repo_copy):
    cli_files = sorted(
        str(p.relative_to(repo_copy)) for p in (repo_copy / "pipelines/manage").rglob("*.py")
    )
    assert len(cli_files) > 10
    assert affected_by(repo_copy, *cli_files) == []


def test_runtime_code_never_imports_the_cli():
    from tests.conftest import REPO_ROOT

    graph = ModuleGraph.build(REPO_ROOT, cache=False)
    reaching = {
        module: sorted(n for n in graph.closure(module) if n.startswith("pipelines.manage"))
        for module in graph.files
        if module.startswith("pipelines.utils")
    }
    assert {m: found for m, found in reaching.items() if found} == {}


def test_every_package_init_python_runs_counts_but_the_org_list(repo_copy):
    # pipelines.utils.dataframe is imported by template_pipeline only.
    assert ours(affected_by(repo_copy, "pipelines/utils/dataframe/__init__.py")) == [TEMPLATE]
    # A project's own __init__ runs before its flows module.
    assert affected_by(repo_copy, "pipelines/emd/template_pipeline/__init__.py") == [TEMPLATE]
    # pipelines/__init__.py runs in every flow.
    assert ours(affected_by(repo_copy, "pipelines/__init__.py")) == [TEMPLATE, TEST_FLOW]
    # The org's list of projects is never run when a flow loads.
    assert affected_by(repo_copy, "pipelines/emd/__init__.py") == []


def test_dependency_changes_affect_every_flow(repo_copy):
    assert ours(affected_by(repo_copy, "requirements.lock")) == [TEMPLATE, TEST_FLOW]
    assert ours(affected_by(repo_copy, "Dockerfile")) == [TEMPLATE, TEST_FLOW]


def bump_pin(root: Path, name: str = "pandas") -> None:
    """Change one pin of the runtime lock, as `make lock` would on a new release."""
    lock = root / "requirements.lock"
    text = lock.read_text()
    pinned = re.search(rf"^{name}==(\S+)$", text, re.M)
    assert pinned, f"{name} is not pinned in requirements.lock"
    lock.write_text(text.replace(pinned.group(0), f"{name}=={pinned.group(1)}.post9"))


def test_image_tag_hashes_the_lock_not_the_ranges_or_comments(repo_copy):
    before = image_tag(repo_copy)
    pyproject = repo_copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("line-length = 100", "line-length = 99"))
    # A range the lock still satisfies installs the very same versions: same image.
    pyproject.write_text(pyproject.read_text().replace('"pandas>=2.2,<3"', '"pandas>=2.2.1,<3"'))
    lock = repo_copy / "requirements.lock"
    lock.write_text("# refreshed by make lock\n" + lock.read_text().replace("# via", "#   via"))
    assert image_tag(repo_copy) == before
    bump_pin(repo_copy)
    assert image_tag(repo_copy) != before
    assert len(dependency_hash(repo_copy)) == 64


def test_syntax_errors_are_recorded_not_raised(repo_copy):
    (repo_copy / "pipelines/emd/test_flow/tasks.py").write_text("def broken(:\n")
    graph = ModuleGraph.build(repo_copy)
    assert graph.errors["pipelines.emd.test_flow.tasks"].startswith("SyntaxError")


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def git_repo(repo_copy: Path) -> Path:
    git(repo_copy, "init", "-q")
    git(repo_copy, "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    git(repo_copy, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    return repo_copy


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", message)


def dry_run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "register", *args, "--dry-run", "--json"],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_module_two_imports_away_registers_that_flow_and_no_other(git_repo: Path):
    project = git_repo / "pipelines/emd/template_pipeline"
    (project / "utils.py").write_text('"""Helpers."""\n\nFACTOR = 1\n')
    tasks = project / "tasks.py"
    tasks.write_text(
        tasks.read_text().replace(
            "from prefect import task\n",
            "from prefect import task\n\nfrom .utils import FACTOR  # noqa: F401\n",
        )
    )
    commit(git_repo, "tasks use utils")
    (project / "utils.py").write_text('"""Helpers."""\n\nFACTOR = 2\n')
    commit(git_repo, "change utils only")

    result = dry_run(git_repo, "--since", "HEAD~1")

    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    assert [(e["flow"], e["module"]) for e in entries] == [("emd: template_pipeline", TEMPLATE)]
    assert entries[0]["changed"] == "pipelines/emd/template_pipeline/utils.py"
    assert entries[0]["via"] == [
        TEMPLATE,
        "pipelines.emd.template_pipeline.tasks",
        "pipelines.emd.template_pipeline.utils",
    ]


def test_a_bigquery_fix_registers_only_the_flows_that_use_a_warehouse(git_repo: Path):
    """One line changed in the BigQuery warehouse: the flows whose code loads or queries a
    warehouse register again; the echo flow and the housekeeping flow (server API only) do
    not."""
    graph = ModuleGraph.build(git_repo, cache=False)
    bigquery = git_repo / "pipelines/utils/warehouse/bigquery.py"
    bigquery.write_text(bigquery.read_text() + "\n# a one-line fix\n")
    commit(git_repo, "fix BigQuery")

    result = dry_run(git_repo, "--since", "HEAD~1")

    assert result.returncode == 0, result.stderr
    modules = {e["module"] for e in json.loads(result.stdout)}
    assert TEST_FLOW not in modules and "pipelines.admin.housekeeping.flows" not in modules
    assert TEMPLATE in modules
    # Each one registered holds a warehouse's code; each one left out does not.
    flows = {m for m in graph.files if m.endswith(".flows") and not m.startswith("pipelines.utils")}
    users = {m for m in flows if "pipelines.utils.warehouse.bigquery" in graph.closure(m)}
    assert modules & flows == users


def test_deleted_flow_file_and_renamed_module_are_reported(git_repo: Path):
    (git_repo / "pipelines/emd/test_flow/flows.py").unlink()
    tasks = git_repo / "pipelines/emd/template_pipeline/tasks.py"
    tasks.rename(tasks.with_name("transforms.py"))
    flows = git_repo / "pipelines/emd/template_pipeline/flows.py"
    flows.write_text(flows.read_text().replace("from .tasks import", "from .transforms import"))
    commit(git_repo, "delete a flow, rename a module")

    text = subprocess.run(
        [sys.executable, "manage.py", "register", "--since", "HEAD~1", "--dry-run"],
        cwd=git_repo, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert "removed: pipelines/emd/test_flow/flows.py is gone" in text.stdout
    assert "would register  emd: template_pipeline" in text.stdout
    assert "emd: test_flow " not in text.stdout


def test_unknown_revision_and_missing_mode_fail_clearly(git_repo: Path):
    bad = dry_run(git_repo, "--since", "no-such-rev")
    assert bad.returncode == 1
    assert "Error: --since 'no-such-rev' is not a commit here" in bad.stderr
    neither = subprocess.run(
        [sys.executable, "manage.py", "register"], cwd=git_repo, capture_output=True, text=True
    )
    assert neither.returncode == 2 and "Pass exactly one of --all or --since REV." in neither.stderr


def test_fail_if_empty(git_repo: Path):
    (git_repo / "README.md").write_text("changed\n")
    commit(git_repo, "docs")
    quiet = dry_run(git_repo, "--since", "HEAD~1")
    assert quiet.returncode == 0 and json.loads(quiet.stdout) == []
    strict = dry_run(git_repo, "--since", "HEAD~1", "--fail-if-empty")
    assert strict.returncode == 1 and "No flow is affected" in strict.stderr


def test_since_means_what_this_branch_changed_since_it_left_rev(git_repo: Path):
    git(git_repo, "branch", "-M", "main")
    git(git_repo, "checkout", "-qb", "feature")
    tasks = git_repo / "pipelines/emd/test_flow/tasks.py"
    tasks.write_text(tasks.read_text() + "\n# feature work\n")
    commit(git_repo, "feature")
    git(git_repo, "checkout", "-q", "main")
    newer = git_repo / "pipelines/emd/template_pipeline/tasks.py"
    newer.write_text(newer.read_text() + "\n# newer on main\n")
    (git_repo / "pipelines/emd/template_pipeline/extra.sql").write_text("select 1\n")
    commit(git_repo, "main moves on")
    git(git_repo, "checkout", "-q", "feature")

    result = dry_run(git_repo, "--since", "main")
    assert result.returncode == 0, result.stderr
    # Only the branch's own change: main's newer flow is neither registered nor "removed".
    assert [e["module"] for e in json.loads(result.stdout)] == [TEST_FLOW]
    text = subprocess.run(
        [sys.executable, "manage.py", "register", "--since", "main", "--dry-run"],
        cwd=git_repo, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "removed" not in text.stdout, text.stdout


def test_untracked_files_count_as_changes(git_repo: Path):
    (git_repo / "pipelines/emd/template_pipeline/data/new.csv").write_text("a\n1\n")
    result = dry_run(git_repo, "--since", "HEAD")
    assert result.returncode == 0, result.stderr
    assert [e["module"] for e in json.loads(result.stdout)] == [TEMPLATE]


@pytest.mark.parametrize("value", ["--output=README.md", "-p", "HEAD --output=x", ""])
def test_a_since_value_never_reaches_git_as_an_option(git_repo: Path, value):
    (git_repo / "README.md").write_text("readme\n")
    commit(git_repo, "readme")
    before = (git_repo / "README.md").read_bytes()
    result = dry_run(git_repo, f"--since={value}")
    assert result.returncode in (1, 2), result.stdout
    assert "is not a" in result.stderr or "Pass exactly one" in result.stderr
    assert (git_repo / "README.md").read_bytes() == before


def test_a_deleted_data_file_affects_the_flows_of_its_package(git_repo: Path):
    (git_repo / "pipelines/emd/template_pipeline/data/rain_gauges.csv").unlink()
    result = dry_run(git_repo, "--since", "HEAD")
    assert [e["module"] for e in json.loads(result.stdout)] == [TEMPLATE]


def test_a_deleted_module_still_imported_reports_its_flow_as_failing(git_repo: Path):
    (git_repo / "pipelines/emd/test_flow/tasks.py").unlink()
    commit(git_repo, "delete tasks.py, flows.py still imports it")
    result = dry_run(git_repo, "--since", "HEAD~1")
    assert result.returncode == 1
    (entry,) = json.loads(result.stdout)
    assert entry["module"] == TEST_FLOW and entry["status"] == "failed"
    assert entry["changed"] == "pipelines/emd/test_flow/tasks.py"
    assert "ModuleNotFoundError" in entry["detail"]


def test_a_literal_import_module_call_is_an_import(git_repo: Path):
    project = git_repo / "pipelines/emd/template_pipeline"
    tasks = project / "tasks.py"
    tasks.write_text(
        tasks.read_text() + '\n\nimportlib.import_module("pipelines.emd.test_flow.constants")\n'
    )
    tasks.write_text("import importlib\n" + tasks.read_text())  # fmt: skip
    commit(git_repo, "dynamic import")
    constants = git_repo / "pipelines/emd/test_flow/constants.py"
    constants.write_text(constants.read_text() + "\nEXTRA = 1\n")
    assert ours(affected_by(git_repo, "pipelines/emd/test_flow/constants.py")) == [
        TEMPLATE,
        TEST_FLOW,
    ]


def test_importing_a_sibling_project_through_the_org_does_not_tie_to_the_whole_org(
    repo_copy: Path,
):
    flows = repo_copy / "pipelines/emd/test_flow/flows.py"
    flows.write_text(
        "from pipelines.emd import template_pipeline  # noqa: F401\n"
        "from .. import template_pipeline as again  # noqa: F401\n" + flows.read_text()
    )
    # Only the sibling's own __init__ is imported, not the org's list of every project.
    assert affected_by(repo_copy, "pipelines/emd/__init__.py") == []
    assert ours(affected_by(repo_copy, "pipelines/emd/template_pipeline/__init__.py")) == [
        TEMPLATE,
        TEST_FLOW,
    ]
    assert ours(affected_by(repo_copy, "pipelines/emd/template_pipeline/tasks.py")) == [TEMPLATE]


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        ("pyproject.toml", "[project]", "# a comment\n[project]"),
        ("pyproject.toml", "line-length = 100", "line-length = 99"),
        ("requirements.lock", "    # via", "    # via a comment\n    # via"),
        ("Dockerfile", "FROM docker.io", "# why this base image\nFROM docker.io"),
    ],
)
def test_comments_and_tool_settings_in_image_files_affect_no_flow(git_repo: Path, path, old, new):
    target = git_repo / path
    assert old in target.read_text()
    target.write_text(target.read_text().replace(old, new, 1))
    result = dry_run(git_repo, "--since", "HEAD")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_a_dependency_change_still_affects_every_flow(git_repo: Path):
    bump_pin(git_repo)
    result = dry_run(git_repo, "--since", "HEAD")
    assert ours([e["module"] for e in json.loads(result.stdout)]) == [TEMPLATE, TEST_FLOW]


def test_a_flow_imported_into_another_projects_flows_registers_once_from_its_own(
    git_repo: Path,
):
    flows = git_repo / "pipelines/emd/test_flow/flows.py"
    flows.write_text(
        "from pipelines.emd.template_pipeline.flows import flow as borrowed  # noqa: F401\n"
        + flows.read_text()
    )
    result = dry_run(git_repo, "--all")
    assert result.returncode == 0, result.stderr
    entries = [(e["flow"], e["module"]) for e in json.loads(result.stdout)]
    assert entries.count(("emd: template_pipeline", TEMPLATE)) == 1
    assert ("emd: template_pipeline", TEST_FLOW) not in entries


def test_the_bundle_holds_exactly_the_closure_the_hash_and_detection_use(repo_copy: Path):
    import io
    import zipfile

    from pipelines.utils.deploy.bundle import build_archive

    root = repo_copy.resolve()
    graph = ModuleGraph.build(root)
    archive = build_archive(graph, TEMPLATE)
    names = set(zipfile.ZipFile(io.BytesIO(archive)).namelist())
    assert {
        "pipelines/__init__.py",
        "pipelines/settings.py",
        "pipelines/emd/template_pipeline/__init__.py",
        "pipelines/emd/template_pipeline/data/rain_gauges.csv",
        "pipelines/utils/warehouse/duckdb_warehouse.py",
        "queries/dbt_project.yml",
        "queries/models/template_pipeline/rain_per_station_day.sql",
    } <= names
    assert "pipelines/emd/__init__.py" not in names  # the org's list is never run
    assert "pipelines/emd/test_flow/flows.py" not in names
    assert names == {str(p.relative_to(root)) for p in graph.closure_files(TEMPLATE)}
    assert build_archive(graph, TEMPLATE) == archive  # reproducible: same files, same key


def test_verbose_says_how_many_modules_each_bundle_carries(git_repo: Path):
    result = dry_run(git_repo, "--all")
    assert result.returncode == 0, result.stderr
    sizes = {e["flow"]: e["bundle_modules"] for e in json.loads(result.stdout)}
    # The one-task echo carries far fewer modules than the example ETL, and both carry some.
    assert 0 < sizes["emd: test_flow"] < sizes["emd: template_pipeline"]
    text = subprocess.run(
        [sys.executable, "manage.py", "register", "--all", "--dry-run", "-v"],
        cwd=git_repo, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    index = next(i for i, line in enumerate(lines) if "would register  emd: test_flow " in line)
    assert lines[index + 1] == f"      bundle: {sizes['emd: test_flow']} modules"
