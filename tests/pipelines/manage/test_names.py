"""Hostile project and org names: each is rejected with its rule and leaves the tree as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.manage.cli import cli
from pipelines.manage.names import suggest
from tests.conftest import snapshot

SNAKE = "names must be lowercase snake_case"
HOSTILE = [
    # (name, words the message must contain)
    ("", "The project name is empty"),
    ("MyProject", f"{SNAKE}"),
    ("UPPER", SNAKE),
    ("my-project", SNAKE),
    ("my project", SNAKE),
    (" leading_space", SNAKE),
    ("trailing_", SNAKE),
    ("_private", SNAKE),
    ("double__underscore", SNAKE),
    ("1project", SNAKE),
    ("2024_census", SNAKE),
    ("123", SNAKE),
    ("my.project", SNAKE),
    ("../escape", SNAKE),
    ("a/b/c", "give NAME or GROUP/NAME (one group level)"),  # a/b is a grouped project
    ("a\\b", SNAKE),
    ("/abs", "give NAME or GROUP/NAME (one group level)"),
    ("proj$", SNAKE),
    ("tab\tname", SNAKE),
    ("new\nline", SNAKE),
    ("educação", "names must be ASCII"),
    ("café_data", "names must be ASCII"),
    ("x" * 33, "at most 32 characters"),
    ("class", "Python keyword"),
    ("import", "Python keyword"),
    ("match", "Python keyword"),
    ("utils", "reserved because it is the shared package 'pipelines.utils'"),
    ("flows", "reserved because it is a module of the org/project shape"),
    ("manage", "reserved because it is the shared package 'pipelines.manage'"),
    ("pipelines", "reserved because it is a top-level name of this repository"),
    ("json", "shadow the standard library module 'json'"),
    ("prefect", "shadow the installed package 'prefect'"),
    ("test_flow", "names are unique across the repo"),
    ("emd", "names are unique across the repo"),
    *[
        (name, f"Windows reserves '{name}' as a device name")
        for name in (
            "con",
            "prn",
            "aux",
            "nul",
            *(f"com{i}" for i in range(1, 10)),
            *(f"lpt{i}" for i in range(1, 10)),
        )
    ],  # fmt: skip
]


@pytest.mark.parametrize(("name", "rule"), HOSTILE, ids=[repr(n) for n, _ in HOSTILE])
def test_hostile_project_names_are_rejected_and_change_nothing(repo_copy: Path, name, rule):
    before = snapshot(repo_copy)
    result = CliRunner().invoke(cli, ["--repo-root", str(repo_copy), "add-project", name])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ")
    assert rule in result.output
    assert snapshot(repo_copy) == before


@pytest.mark.parametrize(
    "name", ["Bad-Org", "utils", "test_flow", "emd", "class", "", "con", "nul", "com1", "lpt9"]
)
def test_hostile_org_names_are_rejected_and_change_nothing(repo_copy: Path, name):
    before = snapshot(repo_copy)
    result = CliRunner().invoke(cli, ["--repo-root", str(repo_copy), "add-org", name])
    assert result.exit_code == 1, result.output
    assert snapshot(repo_copy) == before


def test_duplicate_across_orgs_is_rejected(repo_copy: Path):
    runner = CliRunner()
    assert runner.invoke(cli, ["--repo-root", str(repo_copy), "add-org", "qa_org"]).exit_code == 0
    before = snapshot(repo_copy)
    args = ["--repo-root", str(repo_copy), "add-project", "test_flow", "--org", "qa_org"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert result.output == (
        "Error: Invalid project name 'test_flow': names are unique across the repo (orgs and "
        "projects), and the project pipelines/emd/test_flow already uses it. "
        "Try 'test_flow_pipeline'.\n"
    )
    assert snapshot(repo_copy) == before


def test_messages_suggest_a_corrected_name(repo_copy: Path):
    result = CliRunner().invoke(cli, ["--repo-root", str(repo_copy), "add-project", "My-Project"])
    assert result.output == (
        "Error: Invalid project name 'My-Project': names must be lowercase snake_case — start "
        "with a letter, then letters, digits and single underscores (no spaces, hyphens, dots, "
        "slashes, or leading/trailing/double underscores). Try 'my_project'.\n"
    )


@pytest.mark.parametrize(
    ("raw", "fixed"),
    [
        ("MyProject", "my_project"),
        ("my-project", "my_project"),
        ("educação", "educacao"),
        ("2024_census", "census_2024"),
        ("1project", "project_1"),
        ("../escape", "escape"),
        ("123", None),
        ("", None),
    ],
)
def test_suggest(raw, fixed):
    assert suggest(raw) == fixed
