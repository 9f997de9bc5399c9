"""Tests of manage.py's scaffolding commands through click's CliRunner on a repo copy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.manage.cli import cli
from pipelines.utils.inventory import Repo
from tests.conftest import REPO_ROOT, snapshot

PROJECT_FILES = {"__init__.py", "constants.py", "flows.py", "schedules.py", "tasks.py", "utils.py"}


def invoke(root: Path, *args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["--repo-root", str(root), *args], input=input)


def files_under(folder: Path) -> set[str]:
    return {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_add_project_creates_the_project_its_test_and_one_import_line(repo_copy: Path):
    result = invoke(repo_copy, "add-project", "qa_counts", "--org", "emd")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:4] == [
        "Created project 'qa_counts' in org 'emd':",
        "  created pipelines/emd/qa_counts/",
        "  created tests/pipelines/emd/qa_counts/",
        "  edited  pipelines/emd/__init__.py",
    ]
    assert files_under(repo_copy / "pipelines/emd/qa_counts") == PROJECT_FILES
    assert files_under(repo_copy / "tests/pipelines/emd/qa_counts") == {"test_flows.py"}
    init = (repo_copy / "pipelines/emd/__init__.py").read_text().splitlines()
    assert init.count("import pipelines.emd.qa_counts.flows  # noqa: F401") == 1
    import_lines = [line for line in init if line.startswith("import ")]
    assert import_lines == sorted(import_lines)
    flows = (repo_copy / "pipelines/emd/qa_counts/constants.py").read_text()
    assert 'FLOW_NAME = "emd: qa_counts"' in flows


def test_generated_project_imports_serializes_runs_and_passes_its_own_test(repo_copy: Path):
    import os

    assert invoke(repo_copy, "add-project", "qa_counts").exit_code == 0
    # A fresh interpreter in the copy, so the copy's pipelines package is the one imported;
    # with no data folder set, as a developer runs it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINES_")}
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/pipelines/emd/qa_counts"],
        cwd=repo_copy, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout
    assert not (repo_copy / "data").exists()  # its runs are no real runs for `status`
    imported = subprocess.run(
        [sys.executable, "-c", "import pipelines.flows, pipelines.emd.qa_counts.flows as f; "
         "print(f.flow.name, f.flow.serialize()['schedule'] is not None)"],
        cwd=repo_copy, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert imported.stdout.strip() == "emd: qa_counts True", imported.stderr


def test_add_project_names_the_flow_after_the_org_display_name(repo_copy: Path):
    constants = repo_copy / "pipelines/emd/constants.py"
    constants.write_text(constants.read_text() + 'DISPLAY_NAME = "EMD"\n')
    assert invoke(repo_copy, "add-project", "qa_counts", "--org", "emd").exit_code == 0
    flows = (repo_copy / "pipelines/emd/qa_counts/constants.py").read_text()
    assert 'FLOW_NAME = "EMD: qa_counts"' in flows


def test_add_project_uses_the_default_org_from_settings(repo_copy: Path, monkeypatch):
    assert invoke(repo_copy, "add-org", "qa_org").exit_code == 0
    monkeypatch.setenv("PIPELINES_DEFAULT_ORG", "qa_org")
    result = invoke(repo_copy, "add-project", "qa_meals")
    assert result.exit_code == 0, result.output
    assert (repo_copy / "pipelines/qa_org/qa_meals/flows.py").is_file()


def test_add_org_creates_the_org_and_imports_it_from_pipelines_flows(repo_copy: Path):
    result = invoke(repo_copy, "add-org", "qa_org")

    assert result.exit_code == 0, result.output
    assert files_under(repo_copy / "pipelines/qa_org") == PROJECT_FILES
    flows = (repo_copy / "pipelines/flows.py").read_text().splitlines()
    assert flows.count("import pipelines.qa_org  # noqa: F401") == 1
    assert invoke(repo_copy, "add-project", "qa_meals", "--org", "qa_org").exit_code == 0
    init = (repo_copy / "pipelines/qa_org/__init__.py").read_text()
    assert "import pipelines.qa_org.qa_meals.flows  # noqa: F401" in init


def test_remove_project_undoes_add_project_byte_for_byte(repo_copy: Path):
    before = snapshot(repo_copy)
    assert invoke(repo_copy, "add-project", "qa_counts").exit_code == 0
    result = invoke(repo_copy, "remove-project", "qa_counts", "--yes")

    assert result.exit_code == 0, result.output
    assert "Removed project 'qa_counts' from org 'emd':" in result.output
    assert snapshot(repo_copy) == before


def test_remove_project_in_a_new_org_leaves_no_empty_test_folder(repo_copy: Path):
    assert invoke(repo_copy, "add-org", "qa_org").exit_code == 0
    before = snapshot(repo_copy)
    assert invoke(repo_copy, "add-project", "qa_meals", "--org", "qa_org").exit_code == 0
    assert (
        invoke(repo_copy, "remove-project", "qa_meals", "--org", "qa_org", "--yes").exit_code == 0
    )
    assert snapshot(repo_copy) == before


def test_remove_project_asks_first_and_a_no_changes_nothing(repo_copy: Path):
    assert invoke(repo_copy, "add-project", "qa_counts").exit_code == 0
    before = snapshot(repo_copy)
    result = invoke(repo_copy, "remove-project", "qa_counts", input="n\n")

    assert result.exit_code == 1
    assert (
        "Error: Nothing removed: not confirmed (pass --yes to skip the question)." in result.output
    )
    assert snapshot(repo_copy) == before


def test_remove_project_that_does_not_exist_names_its_real_org(repo_copy: Path):
    assert invoke(repo_copy, "add-org", "qa_org").exit_code == 0
    result = invoke(repo_copy, "remove-project", "test_flow", "--org", "qa_org", "--yes")
    assert result.exit_code == 1
    assert result.output == (
        "Error: Project 'test_flow' does not exist in org 'qa_org'. "
        "It lives in org 'emd': pass --org emd.\n"
    )


def test_owners_given_to_add_project_are_its_code_owners(repo_copy: Path):
    result = invoke(
        repo_copy, "add-project", "qa_counts",
        "--owner", "@ana-souza", "--owner", "data-office/rain", "--owner", "ana-souza",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "No owner" not in result.output
    constants = (repo_copy / "pipelines/emd/qa_counts/constants.py").read_text()
    assert 'CODE_OWNERS: list[str] = ["ana-souza", "data-office/rain"]\n' in constants
    # What add-project wrote is not unsaved work: it goes without --force.
    assert invoke(repo_copy, "remove-project", "qa_counts", "--yes").exit_code == 0


def test_without_an_owner_add_project_says_no_one_will_be_mentioned(repo_copy: Path):
    result = invoke(repo_copy, "add-project", "qa_counts")
    assert result.exit_code == 0, result.output
    assert (
        "No owner: an alert that it failed or that its data is stale will mention no one. Add "
        "GitHub handles to CODE_OWNERS in pipelines/emd/qa_counts/constants.py."
    ) in result.output.splitlines()
    constants = (repo_copy / "pipelines/emd/qa_counts/constants.py").read_text()
    assert "CODE_OWNERS: list[str] = []\n" in constants


@pytest.mark.parametrize("owner", ["ana souza", "-ana", "ana--souza", "a" * 40, ""])
def test_an_owner_that_is_no_github_handle_is_refused_before_anything_is_written(
    repo_copy: Path, owner: str
):
    before = snapshot(repo_copy)
    result = invoke(repo_copy, "add-project", "qa_counts", "--owner", owner)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: --owner {owner!r} is not a GitHub handle (letters, digits and single hyphens, "
        "or org/team): write e.g. --owner ana-souza or --owner @data-office.\n"
    )
    assert snapshot(repo_copy) == before


def test_add_project_to_a_missing_org_says_how_to_create_it(repo_copy: Path):
    before = snapshot(repo_copy)
    result = invoke(repo_copy, "add-project", "qa_counts", "--org", "nope")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: Org 'nope' does not exist (existing orgs: {', '.join(Repo(repo_copy).orgs())}). "
        "Create it with `python manage.py add-org nope` or pass --org.\n"
    )
    assert snapshot(repo_copy) == before


def test_a_failure_while_moving_files_rolls_everything_back(repo_copy: Path):
    # A broken template: the tests folder is missing, so the second move fails.
    template_tests = repo_copy / "templates/project/{{cookiecutter.project_name}}/tests"
    for path in template_tests.iterdir():
        path.unlink()
    template_tests.rmdir()
    before = snapshot(repo_copy)

    result = invoke(repo_copy, "add-project", "qa_counts")

    assert result.exit_code == 1
    assert result.output.startswith("Error: No such file or directory")
    assert "nothing else was changed" in result.output
    assert snapshot(repo_copy) == before


def test_list_projects_prints_orgs_projects_and_reserved_names(repo_copy: Path):
    result = invoke(repo_copy, "list-projects")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    emd = Repo(repo_copy).projects("emd")
    start = lines.index(f"emd ({len(emd)} projects)")
    assert lines[start + 1 : start + len(emd) + 1] == [f"  {p}" for p in emd]
    assert {"template_pipeline", "test_flow"} <= set(emd)
    assert any(line.startswith("Reserved names: ") and "utils" in line for line in lines)


def test_list_projects_json(repo_copy: Path):
    assert invoke(repo_copy, "add-org", "qa_org").exit_code == 0
    data = json.loads(invoke(repo_copy, "list-projects", "--json").output)
    assert data["orgs"] == {**Repo(repo_copy).tree(), "qa_org": []}
    assert data["orgs"]["qa_org"] == [] and "test_flow" in data["orgs"]["emd"]
    assert {"utils", "flows", "pipelines", "json", "prefect"} <= set(data["reserved"])
    assert "pipelines/emd/test_flow/flows.py" in data["flow_modules"]


def test_list_projects_imports_neither_prefect_nor_any_flow(repo_copy: Path):
    code = (
        "import sys; sys.argv = ['manage.py', 'list-projects'];"
        "from pipelines.manage.cli import cli\n"
        "try: cli()\n"
        "except SystemExit: pass\n"
        "bad = [m for m in sys.modules if m == 'prefect' or m.startswith('pipelines.emd')]\n"
        "print('IMPORTED', bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_copy, capture_output=True, text=True, timeout=60
    )
    assert "IMPORTED []" in out.stdout, out.stdout + out.stderr


@pytest.mark.parametrize("command", ["add-project", "add-org", "remove-project", "list-projects"])
def test_every_command_has_help_with_an_example(command: str):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert "python manage.py" in result.output


def test_concurrent_add_project_loses_no_import_line(repo_copy: Path):
    init = repo_copy / "pipelines/emd/__init__.py"
    docstring = init.read_text().splitlines()[0]
    names = []
    for round_ in range(5):
        batch = [f"concurrent_{round_}_{i}" for i in range(8)]
        running = [
            subprocess.Popen(
                [sys.executable, "manage.py", "add-project", name, "--org", "emd"],
                cwd=repo_copy,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for name in batch
        ]
        for process in running:
            _out, err = process.communicate(timeout=300)
            assert process.returncode == 0, err
        names += batch
    text = init.read_text()
    assert text.splitlines()[0] == docstring
    for name in ["template_pipeline", "test_flow", *names]:
        assert f"import pipelines.emd.{name}.flows  # noqa: F401" in text, name
    checked = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=repo_copy, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_same_name_added_twice_at_once_is_one_success_and_one_message(repo_copy: Path):
    running = [
        subprocess.Popen(
            [sys.executable, "manage.py", "add-project", "twin", "--org", "emd"],
            cwd=repo_copy,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in running]
    assert sorted(code for code, _ in results) == [0, 1]
    (refused,) = [err for code, err in results if code == 1]
    assert refused.startswith("Error:") and "Traceback" not in refused


def test_rollback_goes_on_past_a_step_it_cannot_undo(tmp_path: Path):
    from pipelines.errors import CommandError
    from pipelines.manage.transaction import Transaction

    kept = tmp_path / "kept.txt"
    kept.write_text("before")
    new = tmp_path / "new.txt"
    with (
        pytest.raises(CommandError, match="Could not undo every step") as raised,
        Transaction() as tx,
    ):
        tx.write_text(kept, "after")
        tx.write_text(new, "x")
        new.unlink()
        new.mkdir()  # undoing the new file (an unlink) now fails
        raise RuntimeError("a later step failed")
    assert str(new) in str(raised.value)
    assert kept.read_text() == "before"  # the earlier step was still undone


def git_commit_all(root: Path) -> None:
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=root, check=True)


def test_remove_project_with_unsaved_work_is_refused_with_yes(repo_copy: Path):
    assert invoke(repo_copy, "add-project", "qa_counts").exit_code == 0
    git_commit_all(repo_copy)
    project = repo_copy / "pipelines/emd/qa_counts"
    (project / "tasks.py").write_text((project / "tasks.py").read_text() + "\n# my work\n")
    (project / "notes.sql").write_text("select 1\n")
    before = snapshot(repo_copy)

    refused = invoke(repo_copy, "remove-project", "qa_counts", "--yes")

    assert refused.exit_code == 1
    assert refused.output.splitlines() == [
        "These files of qa_counts are not as add-project wrote them and would be lost:",
        "  pipelines/emd/qa_counts/notes.sql (untracked)",
        "  pipelines/emd/qa_counts/tasks.py (uncommitted)",
        "Error: Nothing removed: qa_counts holds files of yours (listed above). Move them away "
        "first, or pass --force to delete them too.",
    ]
    assert snapshot(repo_copy) == before
    forced = invoke(repo_copy, "remove-project", "qa_counts", "--force")
    assert forced.exit_code == 0, forced.output
    assert not project.exists()


def test_remove_project_outside_git_compares_with_the_template(repo_copy: Path):
    assert invoke(repo_copy, "add-project", "qa_counts").exit_code == 0
    flows = repo_copy / "pipelines/emd/qa_counts/flows.py"
    flows.write_text(flows.read_text() + "\n# edited\n")
    result = invoke(repo_copy, "remove-project", "qa_counts", "--yes", input="n\n")
    assert result.exit_code == 1
    assert "  pipelines/emd/qa_counts/flows.py" in result.output.splitlines()


@pytest.mark.parametrize(
    "line",
    [
        "import pipelines.emd.qa_counts.flows  # noqa: F401  (my note)",
        "from pipelines.emd.qa_counts import flows as qa_counts_flows  # noqa: F401",
        "from .qa_counts import flows  # noqa: F401",
        "from pipelines.emd.qa_counts import (  # noqa: F401\n    flows,\n)",
    ],
)
def test_remove_project_finds_its_import_however_it_was_reformatted(repo_copy: Path, line):
    init = repo_copy / "pipelines/emd/__init__.py"
    original = init.read_text()
    assert invoke(repo_copy, "add-project", "qa_counts").exit_code == 0
    init.write_text(original.rstrip("\n") + "\n" + line + "\n")

    result = invoke(repo_copy, "remove-project", "qa_counts", "--force")

    assert result.exit_code == 0, result.output
    assert init.read_text() == original


def test_remove_project_refuses_a_statement_it_cannot_remove_whole(repo_copy: Path):
    init = repo_copy / "pipelines/emd/__init__.py"
    assert invoke(repo_copy, "add-project", "qa_counts").exit_code == 0
    init.write_text(
        init.read_text().replace(
            "import pipelines.emd.qa_counts.flows  # noqa: F401\n",
            "import pipelines.emd.qa_counts.flows, pipelines.emd.test_flow.flows  # noqa\n",
        )
    )
    before = snapshot(repo_copy)
    result = invoke(repo_copy, "remove-project", "qa_counts", "--force")
    assert result.exit_code == 1
    assert result.output == (
        "Error: pipelines/emd/__init__.py:3 imports qa_counts together with other modules; "
        "remove qa_counts from that statement by hand, then rerun.\n"
    )
    assert snapshot(repo_copy) == before


KILL_ON_SECOND_MOVE = """
import os, shutil, sys
from pathlib import Path
from pipelines.manage import transaction
from pipelines.utils.inventory import Repo
from pipelines.manage.scaffold import {function}

real_rename, moves = os.rename, []
def rename(source, target):  # every folder move (shutil.move's too) is one rename
    moves.append(target)
    real_rename(source, target)
    if len(moves) == 2:
        os._exit(9)  # as if killed: no rollback, no cleanup
transaction.os.rename = rename
{function}(Repo(Path(sys.argv[1])), "qa_counts", "emd")
"""


@pytest.mark.parametrize("function", ["add_project", "remove_project"])
def test_a_killed_command_is_undone_by_the_next_one(repo_copy: Path, function):
    if function == "remove_project":
        assert invoke(repo_copy, "add-project", "qa_counts").exit_code == 0
    before = snapshot(repo_copy)
    killed = subprocess.run(
        [sys.executable, "-c", KILL_ON_SECOND_MOVE.format(function=function), str(repo_copy)],
        cwd=repo_copy, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert killed.returncode == 9, killed.stderr
    assert snapshot(repo_copy) != before

    result = invoke(repo_copy, "add-project", "qa_other")

    assert result.exit_code == 0, result.output
    assert (
        f"note: `manage.py {function.replace('_', '-')} qa_counts --org emd` was interrupted "
        "earlier;" in result.output
    )
    assert invoke(repo_copy, "remove-project", "qa_other", "--yes").exit_code == 0
    assert snapshot(repo_copy) == before


def test_a_file_the_command_cannot_use_is_a_message_not_a_traceback(repo_copy: Path):
    # The project's test folder cannot be created: its parent is a file.
    tests = repo_copy / "tests/pipelines/emd"
    shutil.rmtree(tests)
    tests.write_text("in the way\n")
    before = snapshot(repo_copy)
    result = invoke(repo_copy, "add-project", "qa_counts")
    assert result.exit_code == 1
    assert result.output.startswith("Error: File exists (")
    assert "Traceback" not in result.output
    assert snapshot(repo_copy) == before


def test_a_broken_project_breaks_neither_run_nor_the_tests_of_its_siblings(repo_copy: Path):
    assert invoke(repo_copy, "add-project", "qa_counts").exit_code == 0
    broken = repo_copy / "pipelines/emd/qa_broken"
    assert invoke(repo_copy, "add-project", "qa_broken").exit_code == 0
    (broken / "tasks.py").write_text("raise RuntimeError('half-finished work')\n")

    ran = subprocess.run(
        [sys.executable, "manage.py", "run", "pipelines.emd.qa_counts.flows.flow"],
        cwd=repo_copy, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/pipelines/emd/qa_counts", "tests/pipelines/emd/qa_broken"],
        cwd=repo_copy, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert tests.returncode == 1 and "2 passed, 2 errors" in tests.stdout, tests.stdout[-3000:]
    failing = subprocess.run(
        [sys.executable, "manage.py", "run", "pipelines.emd.qa_broken.flows.flow"],
        cwd=repo_copy, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert failing.returncode == 1
    assert "Error: Importing 'pipelines.emd.qa_broken.flows' failed at " in failing.stderr
    assert "qa_broken/tasks.py:1: RuntimeError: half-finished work" in failing.stderr
    assert "Traceback" not in failing.stderr


def test_repo_root_runs_flows_from_that_tree(repo_copy: Path):
    tasks = repo_copy / "pipelines/emd/test_flow/tasks.py"
    tasks.write_text(tasks.read_text().replace('"param = %s"', '"from the copy: param = %s"'))
    result = subprocess.run(
        [sys.executable, str(Path(__file__).parents[3] / "manage.py"), "--repo-root",
         str(repo_copy), "run", "pipelines.emd.test_flow.flows.flow"],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "from the copy: param = default" in result.stdout + result.stderr


def test_add_project_with_model_creates_a_dbt_model_that_parses(repo_copy: Path):
    result = invoke(repo_copy, "add-project", "qa_counts", "--with-model")

    assert result.exit_code == 0, result.output
    assert "  created queries/models/qa_counts/" in result.output.splitlines()
    models = repo_copy / "queries/models/qa_counts"
    assert files_under(models) == {"qa_counts.sql", "schema.yml"}
    assert (
        "{{ source('qa_counts_staging', 'qa_counts') }}" in (models / "qa_counts.sql").read_text()
    )
    checked = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=repo_copy, capture_output=True, text=True,
        timeout=180,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _modules_under_pipelines() -> list[str]:
    """Every module and folder directly under pipelines/ and its orgs, read from the tree."""
    repo = Repo(REPO_ROOT)
    found = set()
    packages = set(repo.orgs()) | {p for org in repo.orgs() for p in repo.projects(org)}
    for folder in [repo.package, *(repo.package / org for org in repo.orgs())]:
        for entry in folder.iterdir():
            if entry.name.startswith(("_", ".")) or entry.name in packages:
                continue
            if entry.suffix == ".py" or entry.is_dir():
                found.add(entry.stem)
    return sorted(found)


@pytest.mark.parametrize("name", _modules_under_pipelines())
def test_an_org_or_project_may_not_shadow_a_module_already_under_pipelines(repo_copy, name):
    before = snapshot(repo_copy)
    for args in (["add-org", name], ["add-project", name, "--org", "emd"]):
        result = invoke(repo_copy, *args)
        assert result.exit_code == 1, result.output
        assert f"Invalid {args[0][4:]} name {name!r}: " in result.output
        assert "exists, and a package of that name would shadow it" in result.output or (
            "the name is reserved because" in result.output
        )
    assert snapshot(repo_copy) == before


def test_a_new_module_under_pipelines_is_protected_by_itself(repo_copy):
    (repo_copy / "pipelines" / "lineage.py").write_text('"""A new shared module."""\n')
    result = invoke(repo_copy, "add-org", "lineage")
    assert result.exit_code == 1
    assert "the module pipelines/lineage.py exists, and a package of that name" in result.output


@pytest.mark.parametrize("where", ["empty", "missing", "file"])
def test_a_repo_root_that_is_not_a_checkout_says_so(tmp_path, where):
    root = tmp_path / where
    if where == "empty":
        root.mkdir()
    result = CliRunner().invoke(cli, ["--repo-root", str(root), "list-projects"])
    if where == "file":
        root.write_text("x")
        result = CliRunner().invoke(cli, ["--repo-root", str(root), "list-projects"])
        assert result.exit_code == 2 and "is a file" in result.output
        return
    assert result.exit_code == 1
    assert result.output == (
        f"Error: --repo-root {root} is not a checkout of this repository (it has no "
        "pipelines/__init__.py): give the folder that holds manage.py.\n"
    )
    assert not (tmp_path / where / "pipelines").exists()


@pytest.mark.parametrize("command", [["check"], ["add-project", "zz", "--org", "emd"]])
def test_a_non_utf8_org_init_is_named_with_its_line_not_a_traceback(repo_copy, command):
    init = repo_copy / "pipelines" / "emd" / "__init__.py"
    init.write_bytes(b'"""emd."""\n# caf\xe9\n' + init.read_bytes().split(b"\n", 1)[1])
    done = subprocess.run(
        [sys.executable, "manage.py", *command], cwd=repo_copy, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == f"Error: {init}:2: not UTF-8 (byte 0xe9); save the file as UTF-8.\n"
    assert not (repo_copy / "pipelines" / "emd" / "zz").exists()


def test_remove_project_right_after_add_project_asks_nothing_with_yes(repo_copy: Path):
    git_commit_all(repo_copy)
    before = snapshot(repo_copy)
    assert invoke(repo_copy, "add-project", "qa_counts").exit_code == 0

    removed = invoke(repo_copy, "remove-project", "qa_counts", "--yes")  # no input to give

    assert removed.exit_code == 0, removed.output
    assert "exist only in this working tree" not in removed.output
    after = {k: v for k, v in snapshot(repo_copy).items() if not k.startswith(".git")}
    assert after == {k: v for k, v in before.items() if not k.startswith(".git")}


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "try:\n    import pipelines.emd.qa_counts.flows  # noqa: F401\nexcept ImportError:\n"
            "    pass\n",
            "imports qa_counts as the only statement of the block at line 5",
        ),
        (
            "if True:\n    import pipelines.emd.qa_counts.flows  # noqa: F401\n",
            "imports qa_counts as the only statement of the block at line 5",
        ),
        (
            "if True: import pipelines.emd.qa_counts.flows  # noqa: F401\n",
            "imports qa_counts on a line it shares with other code",
        ),
        (
            "import pipelines.emd.qa_counts.flows; import pipelines.emd.test_flow.flows  # noqa\n",
            "imports qa_counts on a line it shares with other code",
        ),
        (
            "import pipelines.emd.test_flow.flows; import pipelines.emd.qa_counts.flows  # noqa\n",
            "imports qa_counts on a line it shares with other code",
        ),
        (
            "if True:\n    pass\nelse: import pipelines.emd.qa_counts.flows  # noqa: F401\n",
            "imports qa_counts on a line it shares with other code",
        ),
    ],
)
def test_remove_project_never_leaves_an_unparseable_init_nor_takes_a_neighbour(
    repo_copy: Path, block, message
):
    init = repo_copy / "pipelines/emd/__init__.py"
    assert invoke(repo_copy, "add-project", "qa_counts").exit_code == 0
    source = init.read_text().replace("import pipelines.emd.qa_counts.flows  # noqa: F401\n", "")
    init.write_text(source + block)
    before = snapshot(repo_copy)

    result = invoke(repo_copy, "remove-project", "qa_counts", "--force")

    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: pipelines/emd/__init__.py:")
    assert message in result.output
    assert snapshot(repo_copy) == before


def test_remove_project_inside_a_block_with_other_statements_removes_only_its_own(
    repo_copy: Path,
):
    init = repo_copy / "pipelines/emd/__init__.py"
    assert invoke(repo_copy, "add-project", "qa_counts").exit_code == 0
    source = init.read_text().replace("import pipelines.emd.qa_counts.flows  # noqa: F401\n", "")
    init.write_text(
        source + "try:\n    import pipelines.emd.qa_counts.flows  # noqa: F401\n"
        "    import json  # noqa: F401\nexcept ImportError:\n    pass\n"
    )

    result = invoke(repo_copy, "remove-project", "qa_counts", "--force")

    assert result.exit_code == 0, result.output
    assert init.read_text() == source + (
        "try:\n    import json  # noqa: F401\nexcept ImportError:\n    pass\n"
    )


def test_remove_project_undoes_add_project_with_model_exactly(repo_copy: Path):
    git_commit_all(repo_copy)
    before = snapshot(repo_copy)
    assert invoke(repo_copy, "add-project", "qa_counts", "--with-model").exit_code == 0

    removed = invoke(repo_copy, "remove-project", "qa_counts", "--yes")

    assert removed.exit_code == 0, removed.output
    assert "  removed queries/models/qa_counts/" in removed.output.splitlines()
    after = {k: v for k, v in snapshot(repo_copy).items() if not k.startswith(".git")}
    assert after == {k: v for k, v in before.items() if not k.startswith(".git")}


def test_remove_project_counts_an_edited_model_as_unsaved_work(repo_copy: Path):
    git_commit_all(repo_copy)
    assert invoke(repo_copy, "add-project", "qa_counts", "--with-model").exit_code == 0
    model = repo_copy / "queries/models/qa_counts/qa_counts.sql"
    model.write_text(model.read_text() + "where true\n")

    refused = invoke(repo_copy, "remove-project", "qa_counts", "--yes")

    assert refused.exit_code == 1
    assert "  queries/models/qa_counts/qa_counts.sql (untracked)" in refused.output.splitlines()
    assert model.exists()


def _ignore_and_commit(root: Path, *patterns: str) -> None:
    (root / ".gitignore").write_text((root / ".gitignore").read_text() + "".join(
        f"{p}\n" for p in patterns
    ))  # fmt: skip
    git_commit_all(root)


def test_remove_project_yes_keeps_every_byte_of_ignored_and_committed_files_it_did_not_write(
    repo_copy: Path,
):
    assert invoke(repo_copy, "add-project", "qa_counts", "--with-model").exit_code == 0
    project = repo_copy / "pipelines/emd/qa_counts"
    other_model = repo_copy / "queries/models/qa_counts/other_report.sql"
    other_model.write_text("select 2 as two\n")
    _ignore_and_commit(repo_copy, ".env", "build/", ".vscode/")  # the model is committed
    (project / ".env").write_text("PIPELINES_DB_X=postgresql://u:p@h/db\n")
    (project / "build").mkdir()
    (project / "build" / "report.csv").write_text("a;b\n1;2\n")
    vscode = repo_copy / "tests/pipelines/emd/qa_counts/.vscode"
    vscode.mkdir()
    (vscode / "settings.json").write_text("{}\n")
    before = snapshot(repo_copy)

    refused = invoke(repo_copy, "remove-project", "qa_counts", "--yes")

    assert refused.exit_code == 1
    assert refused.output.splitlines()[1:5] == [
        "  pipelines/emd/qa_counts/.env (ignored)",
        "  pipelines/emd/qa_counts/build/report.csv (ignored)",
        "  tests/pipelines/emd/qa_counts/.vscode/settings.json (ignored)",
        "  queries/models/qa_counts/other_report.sql (committed)",
    ]
    assert snapshot(repo_copy) == before
    asked = invoke(repo_copy, "remove-project", "qa_counts", input="n\n")
    assert asked.exit_code == 1 and "Delete them anyway? [y/N]: n" in asked.output
    assert snapshot(repo_copy) == before
    assert invoke(repo_copy, "remove-project", "qa_counts", "--force").exit_code == 0
    assert not project.exists() and not other_model.exists()


def test_remove_org_yes_keeps_an_ignored_file_it_did_not_write(repo_copy: Path):
    assert invoke(repo_copy, "add-org", "sme").exit_code == 0
    _ignore_and_commit(repo_copy, ".env")
    env = repo_copy / "pipelines/sme/.env"
    env.write_text("PIPELINES_VAULT_TOKEN=x\n")

    refused = invoke(repo_copy, "remove-org", "sme", "--yes")

    assert refused.exit_code == 1
    assert "  pipelines/sme/.env (ignored)" in refused.output.splitlines()
    assert env.read_text() == "PIPELINES_VAULT_TOKEN=x\n"


def test_remove_project_refuses_a_project_another_module_imports(repo_copy: Path):
    for name in ("yaml_io", "consumer"):
        assert invoke(repo_copy, "add-project", name).exit_code == 0
    tasks = repo_copy / "pipelines/emd/consumer/tasks.py"
    tasks.write_text(tasks.read_text() + "\nfrom pipelines.emd.yaml_io.tasks import *  # noqa\n")
    before = snapshot(repo_copy)

    refused = invoke(repo_copy, "remove-project", "yaml_io", "--yes")

    assert refused.exit_code == 1
    assert refused.output == (
        "Error: Nothing removed: pipelines.emd.consumer.tasks import(s) pipelines.emd.yaml_io, "
        "and would fail to import without it (and `check` with them). Remove those imports "
        "first, or pass --force to remove it anyway.\n"
    )
    assert snapshot(repo_copy) == before
    forced = invoke(repo_copy, "remove-project", "yaml_io", "--yes", "--force")
    assert forced.exit_code == 0, forced.output
    assert forced.output.startswith(
        "Warning: pipelines.emd.consumer.tasks will fail to import: they import "
        "pipelines.emd.yaml_io.\n"
    )


def test_remove_org_undoes_add_org_exactly(repo_copy: Path):
    git_commit_all(repo_copy)
    before = snapshot(repo_copy)
    assert invoke(repo_copy, "add-org", "sme").exit_code == 0

    removed = invoke(repo_copy, "remove-org", "sme", "--yes")

    assert removed.exit_code == 0, removed.output
    assert removed.output.splitlines() == [
        "Removed org 'sme':",
        "  removed pipelines/sme/",
        "  edited  pipelines/flows.py",
    ]
    after = {k: v for k, v in snapshot(repo_copy).items() if not k.startswith(".git")}
    assert after == {k: v for k, v in before.items() if not k.startswith(".git")}


def test_remove_org_refuses_an_org_with_projects_and_a_missing_org(repo_copy: Path):
    before = snapshot(repo_copy)
    refused = invoke(repo_copy, "remove-org", "emd", "--yes")
    assert refused.exit_code == 1
    assert refused.output.startswith("Error: Org 'emd' still has projects (")
    assert "remove each first with `python manage.py remove-project PROJECT --org emd`" in (
        refused.output
    )
    missing = invoke(repo_copy, "remove-org", "nope", "--yes")
    assert missing.exit_code == 1
    assert missing.output == "Error: Org 'nope' does not exist (existing orgs: admin, emd).\n"
    assert snapshot(repo_copy) == before


def test_remove_org_refuses_unsaved_work_with_yes(repo_copy: Path):
    git_commit_all(repo_copy)
    assert invoke(repo_copy, "add-org", "sme").exit_code == 0
    (repo_copy / "pipelines/sme/utils.py").write_text("# mine\n")

    refused = invoke(repo_copy, "remove-org", "sme", "--yes")

    assert refused.exit_code == 1
    assert "  pipelines/sme/utils.py (untracked)" in refused.output.splitlines()
    assert (repo_copy / "pipelines/sme/utils.py").exists()


def test_an_org_that_hides_a_module_is_named_by_every_command_and_remove_org_undoes_it(
    repo_copy: Path,
):
    """What `add-org errors` made before the name was refused: pipelines/errors/ hides
    pipelines/errors.py, so nothing could import; manage.py says so and remove-org undoes it."""
    before = snapshot(repo_copy)
    from pipelines.manage import scaffold

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scaffold, "validate_new_name", lambda *args: None)
        assert scaffold.add_org(Repo(repo_copy), "errors").created == ["pipelines/errors/"]

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=repo_copy, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip

    helped = manage("--help")
    assert helped.returncode == 1
    assert helped.stderr == (
        "Error: the folder pipelines/errors/ hides the module pipelines/errors.py, which every "
        "command needs; remove that org with `python manage.py remove-org errors` (or rename "
        "the folder).\n"
    )
    removed = manage("remove-org", "errors", "--yes")
    assert removed.returncode == 0, removed.stderr
    assert snapshot(repo_copy) == before
    assert manage("list-projects").returncode == 0


def test_every_command_reads_the_settings_and_data_of_the_repo_root_it_is_given(
    repo_copy: Path, tmp_path: Path
):
    import os

    other_data = tmp_path / "other-data"
    (repo_copy / ".env").write_text(f"PIPELINES_DATA_DIR={other_data}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINES_")}
    ran = subprocess.run(
        [sys.executable, "manage.py", "run", "pipelines.emd.template_pipeline.flows.flow"],
        cwd=repo_copy, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
    here = env  # run from this checkout, whose .env (if any) must not be read

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "--repo-root", str(repo_copy), *args],
            cwd=REPO_ROOT, env=here, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    queried = manage("query", "SELECT count(*) AS n FROM template_pipeline.rain_per_hour")
    assert queried.returncode == 0, queried.stderr
    assert "192" in queried.stdout
    shown = manage("settings")
    assert f"the folder {other_data}/datalake" in shown.stdout
    status = manage("status", "--org", "emd")
    assert "emd: template_pipeline" in status.stdout and "Success" in status.stdout


def test_the_query_hint_a_run_prints_works_pasted_into_a_shell_without_the_venv(tmp_path: Path):
    import os
    import re

    data = tmp_path / "elsewhere"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINES_")}
    env["PIPELINES_DATA_DIR"] = str(data)
    ran = subprocess.run(
        [sys.executable, "manage.py", "run", "pipelines.emd.template_pipeline.flows.flow"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
    hint = re.search(r"query it with: (.*rain_per_hour LIMIT 10')", ran.stdout + ran.stderr)
    assert hint, ran.stdout + ran.stderr
    assert f"PIPELINES_DATA_DIR={data}" in hint.group(1)
    bare = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no venv active, no settings
    pasted = subprocess.run(["bash", "-c", hint.group(1)], cwd=REPO_ROOT, env=bare,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert pasted.returncode == 0, pasted.stderr
    assert "estacao" in pasted.stdout


def test_manage_py_without_the_projects_packages_says_how_to_get_them():
    done = subprocess.run(
        [sys.executable, "-S", "manage.py", "list-projects"],  # -S: no site-packages
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("manage.py needs click and prefect, which this Python (")
    assert "Activate it (`source " in done.stderr or "Run `make install` first" in done.stderr


def test_a_grouped_project_is_added_listed_checked_and_removed(repo_copy: Path):
    """The original system grouped projects one level deeper (rj_cor/meteorologia/...)."""
    before = snapshot(repo_copy)
    for name in ("meteorologia/meteorologia_inmet", "meteorologia/precipitacao_inea"):
        result = invoke(repo_copy, "add-project", name, "--org", "emd", "--owner", "ana")
        assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:4] == [
        "Created project 'meteorologia/precipitacao_inea' in org 'emd':",
        "  created pipelines/emd/meteorologia/precipitacao_inea/",
        "  created tests/pipelines/emd/meteorologia/precipitacao_inea/",
        "  edited  pipelines/emd/__init__.py",
    ]
    group = repo_copy / "pipelines/emd/meteorologia"
    assert files_under(group) == {"__init__.py"} | {
        f"{p}/{f}" for p in ("meteorologia_inmet", "precipitacao_inea") for f in PROJECT_FILES
    }
    init = (repo_copy / "pipelines/emd/__init__.py").read_text()
    assert "import pipelines.emd.meteorologia.meteorologia_inmet.flows  # noqa: F401" in init
    listed = json.loads(invoke(repo_copy, "list-projects", "--json").output)
    assert "meteorologia/meteorologia_inmet" in json.dumps(listed)
    assert Repo(repo_copy).projects("emd") == [
        "meteorologia/meteorologia_inmet", "meteorologia/precipitacao_inea", "template_pipeline",
        "test_flow",
    ]  # fmt: skip
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/pipelines/emd/meteorologia"],
        cwd=repo_copy, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
    checked = subprocess.run([sys.executable, "manage.py", "check"], cwd=repo_copy,
                             capture_output=True, text=True, timeout=300)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("ok: 10 flow(s) checked, no problems.")

    for name in ("meteorologia/precipitacao_inea", "meteorologia/meteorologia_inmet"):
        result = invoke(repo_copy, "remove-project", name, "--org", "emd", "--yes")
        assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == "  removed pipelines/emd/meteorologia/"
    left = (".pipelines-cache", "data")  # what check and the tests leave behind
    after = {k: v for k, v in snapshot(repo_copy).items()
             if k.split("/")[0] not in left and "__pycache__" not in k}  # fmt: skip
    assert after == before  # the group went with its last project


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("meteorologia/inmet/estacoes", "Invalid project 'meteorologia/inmet/estacoes': give NAME "
         "or GROUP/NAME (one group level)"),
        ("Meteorologia/inmet", "Invalid group name 'Meteorologia'"),
        ("meteorologia/Inmet", "Invalid project name 'Inmet'"),
        ("test_flow/inmet", "'test_flow'"),
        ("meteorologia/test_flow", "'test_flow'"),
    ],
)  # fmt: skip
def test_each_level_of_a_grouped_name_is_checked_before_anything_is_written(
    repo_copy: Path, name: str, message: str
):
    before = snapshot(repo_copy)
    result = invoke(repo_copy, "add-project", name, "--org", "emd")
    assert result.exit_code == 1
    assert message in result.output
    assert snapshot(repo_copy) == before


def test_output_piped_to_a_reader_that_goes_away_ends_quietly():
    """`manage.py list-projects | head -1`: no 'Error: Broken pipe' once head has its line,
    and the status of a process ended by SIGPIPE, as other command-line tools have."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "list-projects"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before the command has written anything
    error = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141
    assert error == ""
