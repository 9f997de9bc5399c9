"""manage.py pr-comment: what a change deploys, on a fixture repo with a task edited, a model
changed and a clock added."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from click.testing import CliRunner

from pipelines.manage.change_report import MARKER, schedule_changes
from pipelines.manage.cli import cli
from tests.conftest import REPO_ROOT
from tests.pipelines.manage.test_affected import commit, dry_run, git_repo  # noqa: F401

TEMPLATE = "emd: template_pipeline"


def change_everything(root: Path) -> None:
    tasks = root / "pipelines/emd/test_flow/tasks.py"
    tasks.write_text(tasks.read_text() + "\n# A task edited.\n")
    model = root / "queries/models/template_pipeline/rain_per_station_day.sql"
    model.write_text(model.read_text().replace("sum(leituras)", "sum(leituras) + 0"))
    schedules = root / "pipelines/emd/test_flow/schedules.py"
    schedules.write_text(
        schedules.read_text().replace(
            "schedule = make_schedule(\n",
            "schedule = make_schedule(\n"
            '    interval_clock(timedelta(hours=6), start="2024-01-01 03:00", '
            'labels=[org_label(ORG)], parameter_defaults={"param": "often"}),\n',
        )
    )
    commit(root, "a task, a model, a clock")


def test_the_comment_lists_what_register_finds_its_owners_and_the_new_clock(git_repo: Path):  # noqa: F811
    change_everything(git_repo)
    expected = dry_run(git_repo, "--since", "HEAD~1")
    assert expected.returncode == 0, expected.stderr
    flows = sorted(e["flow"] for e in json.loads(expected.stdout))

    result = CliRunner().invoke(
        cli, ["--repo-root", str(git_repo), "pr-comment", "--since", "HEAD~1"]
    )

    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith(MARKER + "\n### What this change deploys\n")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert sorted(row.split("`")[1] for row in rows) == flows
    assert {TEMPLATE, "emd: test_flow"} <= set(flows)
    template = next(row for row in rows if row.startswith(f"| `{TEMPLATE}`"))
    assert "@data-office" in template
    assert "`template_pipeline.rain_per_hour`" in template
    assert "`template_pipeline.rain_per_station_day`" in template
    assert "queries/models/template_pipeline/rain_per_station_day.sql" in template
    test_flow = next(row for row in rows if row.startswith("| `emd: test_flow`"))
    assert "pipelines/emd/test_flow/" in test_flow
    changes = text.split("#### Schedule changes\n\n")[1].split("\n\n")[0].splitlines()
    assert len(changes) == 1
    assert changes[0].startswith("- `emd: test_flow`: added every 6 hours")
    assert "(next: " in changes[0]
    # What the flows write is theirs, not downstream: nothing else reads the example's tables.
    assert "Downstream" not in text
    worktrees = subprocess.run(
        ["git", "worktree", "list"], cwd=git_repo, capture_output=True, text=True, check=True
    )
    assert len(worktrees.stdout.splitlines()) == 1  # the base's worktree is gone


def test_no_affected_flow_and_an_unreadable_base_say_so(git_repo: Path):  # noqa: F811
    (git_repo / "README.md").write_text("only docs\n")
    commit(git_repo, "docs only")

    result = CliRunner().invoke(
        cli, ["--repo-root", str(git_repo), "pr-comment", "--since", "HEAD~1"]
    )

    assert result.exit_code == 0, result.output
    assert "No flow is affected (as `register --since HEAD~1` finds)." in result.output
    assert "#### Schedule changes\n\nNone.\n" in result.output


def test_schedule_changes_word_added_removed_and_new_flows():
    before = {"a": [["every day at 06:00", ["2026-12-05 06:00"]]]}
    after = {
        "a": [["every day at 07:00", ["2026-12-05 07:00"]]],
        "b": [["every hour", ["2026-12-04 13:00", "2026-12-04 14:00"]]],
    }

    assert schedule_changes(["a", "b"], before, after) == [
        "`a`: added every day at 07:00 (next: 2026-12-05 07:00)",
        "`a`: removed every day at 06:00",
        "`b` (new flow): added every hour (next: 2026-12-04 13:00, 2026-12-04 14:00)",
    ]


def test_downstream_problems_and_removed_files_are_rendered():
    from pipelines.manage.catalog.facts import FlowFacts, Table
    from pipelines.manage.change_report import Change, render

    facts = FlowFacts(
        name="sales: orders", slug="s", module="pipelines.sales.orders.flows", org="sales",
        project="orders", owners=["ana", "@bo"], labels=[], parameters=[], clocks=[],
        writes=[Table("sales", "orders", "every run")], reads=[], models=[], files=[],
        last_commit=None, tasks=1, edges=0,
    )  # fmt: skip
    change = Change(
        "main",
        flows=[{"flow": "sales: orders", "module": facts.module, "changed": "x.py"}],
        facts={"sales: orders": facts},
        downstream=[("finance.revenue", "model", ["finance: mail"])],
        problems=["pipelines.sales.orders.flows: sales: orders: a problem"],
        deleted=["pipelines/sales/old/flows.py"],
    )

    text = render(change)

    assert "| `sales: orders` | @ana @bo | x.py | `sales.orders` | – |" in text
    assert (
        "#### Downstream, new data\n\n- `finance.revenue` (model), read by `finance: mail`" in text
    )
    assert "- pipelines.sales.orders.flows: sales: orders: a problem" in text
    assert "#### Flow files removed\n\n- `pipelines/sales/old/flows.py`" in text


FAKE_GH = """#!/usr/bin/env python3
# GitHub's API for one PR, as `gh api` reaches it: comments in a JSON file; --jq by real jq.
import json, subprocess, sys
from pathlib import Path

store = Path(sys.argv[0]).with_name("comments.json")
comments = json.loads(store.read_text()) if store.exists() else []
args = sys.argv[2:]
method = args[args.index("--method") + 1] if "--method" in args else "GET"
path = next(a for a in args if a.startswith("repos/"))
with open(store.with_name("calls.log"), "a") as log:
    log.write(f"{method} {path}\\n")
if method == "GET":
    found = subprocess.run(["jq", "-r", args[args.index("--jq") + 1]], input=json.dumps(comments),
                           capture_output=True, text=True, check=True)
    sys.stdout.write(found.stdout)
else:
    body = Path(args[args.index("-F") + 1].removeprefix("body=@")).read_text()
    if method == "POST":
        comments.append({"id": 100 + len(comments), "body": body})
    else:
        wanted = int(path.rsplit("/", 1)[1])
        next(c for c in comments if c["id"] == wanted)["body"] = body
    store.write_text(json.dumps(comments))
"""


def test_the_workflow_posts_one_comment_and_edits_it_on_each_push(tmp_path: Path):
    import os
    import shutil

    if shutil.which("jq") is None:
        import pytest

        message = "jq is not installed (apt-get install jq): the fake gh runs gh's --jq with it"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: .ci/run installs it)")
        pytest.skip(message)
    workflow = (REPO_ROOT / ".github/workflows/ci.yaml").read_text()
    assert "manage.py pr-comment --since" in workflow
    assert ".github/scripts/post-pr-comment.sh build/pr-comment.md" in workflow
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(FAKE_GH)
    (bin_dir / "gh").chmod(0o755)
    (bin_dir / "comments.json").write_text(
        json.dumps([{"id": 7, "body": "LGTM"}, {"id": 8, "body": "<!-- another bot -->\nhi"}])
    )
    report = tmp_path / "pr-comment.md"
    env = {
        **os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "GITHUB_REPOSITORY": "city/pipelines", "PR": "42", "GH_TOKEN": "unused",
    }  # fmt: skip
    script = REPO_ROOT / ".github/scripts/post-pr-comment.sh"

    outputs = []
    for push in ("first push", "second push", "third push"):
        report.write_text(f"{MARKER}\n### What this change deploys\n\n{push}\n")
        done = subprocess.run([str(script), str(report)], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.strip())

    comments = json.loads((bin_dir / "comments.json").read_text())
    assert [c["id"] for c in comments] == [7, 8, 102]  # one comment of ours, others untouched
    assert comments[2]["body"].endswith("third push\n") and comments[0]["body"] == "LGTM"
    edited = "Edited comment 102 on #42."
    assert outputs == ["Posted the change report on #42.", edited, edited]
    calls = (bin_dir / "calls.log").read_text().splitlines()
    assert calls[:2] == [
        "GET repos/city/pipelines/issues/42/comments",
        "POST repos/city/pipelines/issues/42/comments",
    ]
    assert calls[-1] == "PATCH repos/city/pipelines/issues/comments/102"
    report.write_text("no marker\n")
    refused = subprocess.run([str(script), str(report)], env=env, capture_output=True, text=True)
    assert refused.returncode == 1
    assert "does not start with its marker comment" in refused.stderr


def test_a_clock_main_changed_after_the_branch_left_is_not_this_changes(git_repo: Path):  # noqa: F811
    from tests.pipelines.manage.test_affected import git

    git(git_repo, "branch", "-q", "-M", "main")
    git(git_repo, "checkout", "-q", "-b", "feature")
    tasks = git_repo / "pipelines/emd/test_flow/tasks.py"
    tasks.write_text(tasks.read_text() + "\n# The branch's own edit.\n")
    commit(git_repo, "the branch edits a task")
    git(git_repo, "checkout", "-q", "main")
    change_everything(git_repo)  # main moves on: a clock added to test_flow
    git(git_repo, "checkout", "-q", "feature")

    result = CliRunner().invoke(
        cli, ["--repo-root", str(git_repo), "pr-comment", "--since", "main"]
    )

    assert result.exit_code == 0, result.output
    assert "| `emd: test_flow`" in result.output
    assert "#### Schedule changes\n\nNone.\n" in result.output  # main's new clock is not ours


def test_a_worktree_a_killed_run_left_is_removed_by_the_next_run(git_repo: Path):  # noqa: F811
    import sys
    import tempfile

    from tests.pipelines.manage.test_affected import git

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pr-comment killed mid-way: its folder and worktree stay behind
    left = Path(tempfile.mkdtemp(prefix=f"pipelines-base-p{dead.pid}-"))
    git(git_repo, "worktree", "add", "--detach", "-q", str(left / "base"), "HEAD")
    change_everything(git_repo)

    result = CliRunner().invoke(
        cli, ["--repo-root", str(git_repo), "pr-comment", "--since", "HEAD~1"]
    )

    assert result.exit_code == 0, result.output
    assert not left.exists()
    listed = subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=git_repo,
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert listed.count("worktree ") == 1, listed  # the checkout itself only
