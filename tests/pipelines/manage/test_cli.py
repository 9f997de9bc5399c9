"""Tests of manage.py's scaffolding commands through click's CliRunner on a repo copy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.manage.cli import cli
from pipelines.manage.discover import Repo
from tests.conftest import snapshot

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
    assert invoke(repo_copy, "add-project", "qa_counts").exit_code == 0
    # A fresh interpreter in the copy, so the copy's pipelines package is the one imported.
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/pipelines/emd/qa_counts"],
        cwd=repo_copy, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout
    imported = subprocess.run(
        [sys.executable, "-c", "import pipelines.flows, pipelines.emd.qa_counts.flows as f; "
         "print(f.flow.name, f.flow.serialize()['schedule'] is not None)"],
        cwd=repo_copy, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert imported.stdout.strip() == "emd: qa_counts True", imported.stderr


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


def test_add_project_to_a_missing_org_says_how_to_create_it(repo_copy: Path):
    before = snapshot(repo_copy)
    result = invoke(repo_copy, "add-project", "qa_counts", "--org", "nope")
    assert result.exit_code == 1
    assert result.output == (
        "Error: Org 'nope' does not exist (existing orgs: emd). "
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

    assert result.exit_code != 0
    assert isinstance(result.exception, FileNotFoundError)
    assert snapshot(repo_copy) == before


def test_list_projects_prints_orgs_projects_and_reserved_names(repo_copy: Path):
    result = invoke(repo_copy, "list-projects")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    emd = Repo(repo_copy).projects("emd")
    assert lines[: len(emd) + 1] == [f"emd ({len(emd)} projects)", *(f"  {p}" for p in emd)]
    assert {"template_pipeline", "test_flow"} <= set(emd)
    assert any(line.startswith("Reserved names: ") and "utils" in line for line in lines)


def test_list_projects_json(repo_copy: Path):
    assert invoke(repo_copy, "add-org", "qa_org").exit_code == 0
    data = json.loads(invoke(repo_copy, "list-projects", "--json").output)
    assert data["orgs"] == {**Repo(repo_copy).tree(), "qa_org": []}
    assert data["orgs"]["qa_org"] == [] and "test_flow" in data["orgs"]["emd"]
    assert {"utils", "flows", "pipelines", "json", "prefect"} <= set(data["reserved"])


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
    from pipelines.manage.errors import CliError
    from pipelines.manage.transaction import Transaction

    kept = tmp_path / "kept.txt"
    kept.write_text("before")
    new = tmp_path / "new.txt"
    with (
        pytest.raises(CliError, match="Could not undo every step") as raised,
        Transaction() as tx,
    ):
        tx.write_text(kept, "after")
        tx.write_text(new, "x")
        new.unlink()
        new.mkdir()  # undoing the new file (an unlink) now fails
        raise RuntimeError("a later step failed")
    assert str(new) in str(raised.value)
    assert kept.read_text() == "before"  # the earlier step was still undone
