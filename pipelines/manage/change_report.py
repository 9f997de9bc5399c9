"""What a change deploys, as a pull request comment: the flows `register --since` finds, by
org, their owners, the tables and models they write, schedule changes, the downstream tables
that will see new data, and what `check` finds in them."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pendulum

from pipelines.constants import TIMEZONE
from pipelines.errors import CommandError
from pipelines.utils.inventory import Repo

# The first line of the comment: CI finds its own comment by it and edits it in place.
MARKER = "<!-- pipelines: change report -->"
NEXT_RUNS = 2


@dataclass
class Change:
    """Everything the comment shows."""

    since: str
    flows: list[dict[str, Any]] = field(default_factory=list)  # register's dry-run entries
    facts: dict[str, Any] = field(default_factory=dict)  # flow name -> FlowFacts
    schedules: list[str] = field(default_factory=list)  # one line per clock added/removed
    downstream: list[tuple[str, str, list[str]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    base_unreadable: str = ""


# Run by the revision's own interpreter in its own tree (so the base is read by the base's
# code), for the base and the head alike; only modules both have are imported.
_CLOCKS_SCRIPT = """
import json, sys
from pathlib import Path
import pendulum
from pipelines.manage.catalog.when import clock_runs
from pipelines.manage.inventory import load_repo_flows
from pipelines.utils.inventory import Repo
now, count = pendulum.parse(sys.argv[1]), int(sys.argv[2])
found = {}
for _, flow in load_repo_flows(Repo(Path.cwd())).flows:
    found[flow.name] = [
        [c.words, [r.format("YYYY-MM-DD HH:mm") for r in c.next_runs]]
        for c in clock_runs(flow.schedule, now, count)
    ]
print(json.dumps(found))
"""


def clocks_at(tree: Path, now: pendulum.DateTime) -> dict[str, list[list[Any]]]:
    """Each flow's clocks in the checkout at `tree`: [words, next runs].

    Raises:
        CommandError: Its flows did not load.
    """
    done = subprocess.run(
        [sys.executable, "-c", _CLOCKS_SCRIPT, now.isoformat(), str(NEXT_RUNS)],
        cwd=tree, capture_output=True, text=True, timeout=600,  # `-c` puts cwd first on the path
    )  # fmt: skip
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise CommandError(f"the flows in {tree} did not load: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def base_clocks(repo: Repo, since: str, now: pendulum.DateTime) -> dict[str, list[list[Any]]]:
    """The clocks where this branch left `since` (their merge base, as register --since
    compares), read by that revision's own code in a worktree of its own: a clock changed on
    main after the branch started is not this change's.

    Raises:
        CommandError: The revision could not be checked out or its flows read.
    """
    from pipelines.manage.affected import merge_base
    from pipelines.utils.scratch import temporary_folder

    base = merge_base(repo.root, since)
    # A killed run's folder is swept by temporary_folder; prune forgets its worktree entry.
    with temporary_folder("pipelines-base-") as folder:
        subprocess.run(["git", "worktree", "prune"], cwd=repo.root, capture_output=True)
        tree = Path(folder) / "base"
        added = subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(tree), base],
            cwd=repo.root, capture_output=True, text=True,
        )  # fmt: skip
        if added.returncode != 0:
            raise CommandError(f"git worktree add {since}: {added.stderr.strip()}")
        try:
            return clocks_at(tree, now)
        except CommandError as error:
            raise CommandError(f"the flows at {since} did not load: {error}") from None
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)],
                cwd=repo.root, capture_output=True,
            )  # fmt: skip


def schedule_changes(
    names: list[str], before: dict[str, list[list[Any]]], after: dict[str, list[list[Any]]]
) -> list[str]:
    """One line per clock added or removed among these flows (a changed clock is both)."""
    lines = []
    for name in names:
        old, new = before.get(name), after.get(name, [])
        old_words = {words for words, _ in old or []}
        new_words = {words for words, _ in new}
        tag = f"`{name}`" + (" (new flow)" if old is None else "")
        for words, runs in new:
            if words not in old_words:
                lines.append(f"{tag}: added {words} (next: {', '.join(runs)})")
        for words, _ in old or []:
            if words not in new_words:
                lines.append(f"{tag}: removed {words}")
    return lines


def collect(repo: Repo, since: str, now: pendulum.DateTime | None = None) -> Change:
    """Everything the comment shows for the change since `since`."""
    from pipelines.manage.catalog.facts import flow_facts
    from pipelines.manage.check import check_repo
    from pipelines.manage.inventory import load_repo_flows
    from pipelines.manage.lineage import build_lineage
    from pipelines.manage.register import register
    from pipelines.utils.health.dbt_sources import readable_freshness

    now = now or pendulum.now(TIMEZONE)
    report = register(repo, since=since, dry_run=True)
    change = Change(since, [o.as_json() for o in report.outcomes], deleted=list(report.deleted))
    loaded = load_repo_flows(repo)
    names = [entry["flow"] for entry in change.flows]
    chosen = [(m, f) for m, f in loaded.flows if f.name in names]
    sources, _ = readable_freshness(repo.root / "queries")  # its problem is among check's
    for module, flow in chosen:
        change.facts[flow.name] = flow_facts(module, flow, repo.root, [], None, now, sources)
    try:
        before = base_clocks(repo, since, now)
    except CommandError as error:
        before, change.base_unreadable = {}, str(error)
    if not change.base_unreadable:
        # The head in a process of its own too: this one's `pipelines` may not be the tree's
        # (--repo-root), and both sides must be read alike.
        change.schedules = schedule_changes(names, before, clocks_at(repo.root, now))
    lineage = build_lineage(loaded.flows, repo.root / "queries")
    written = {t.warehouse_table for f in change.facts.values() for t in f.writes} | {
        m.name for f in change.facts.values() for m in f.models
    }
    seen: set[str] = set()
    for table in sorted(written):
        if table not in lineage.kinds:
            continue
        for node in lineage.closure(table, "downstream")[0][1:]:
            if lineage.kinds[node] != "flow" and node not in written and node not in seen:
                seen.add(node)
                readers = sorted(
                    e.downstream
                    for e in lineage.edges
                    if e.upstream == node and lineage.kinds[e.downstream] == "flow"
                )
                change.downstream.append((node, lineage.kinds[node], readers))
    _, problems = check_repo(repo, loaded)
    modules = {entry["module"] for entry in change.flows}
    change.problems = [p for p in problems if any(p.startswith(m) for m in modules | set(names))]
    return change


def _mention(owner: str) -> str:
    return owner if owner.startswith("@") else f"@{owner}"


def render(change: Change) -> str:
    """The comment's Markdown (its first line is MARKER)."""
    lines = [MARKER, "### What this change deploys", ""]
    if not change.flows:
        lines.append(f"No flow is affected (as `register --since {change.since}` finds).")
    else:
        orgs = {f.org for f in change.facts.values()}
        lines.append(
            f"**{len(change.flows)} flow(s)** in {len(orgs)} org(s) register a new version "
            f"(as `register --since {change.since}` finds)."
        )
    by_org: dict[str, list[dict[str, Any]]] = {}
    for entry in change.flows:
        facts = change.facts.get(entry["flow"])
        by_org.setdefault(facts.org if facts else "?", []).append(entry)
    for org, entries in sorted(by_org.items()):
        lines += ["", f"#### {org}", "", "| Flow | Owners | Why | Writes | Models |"]
        lines.append("|---|---|---|---|---|")
        for entry in entries:
            facts = change.facts.get(entry["flow"])
            owners = " ".join(_mention(o) for o in (facts.owners if facts else [])) or "none"
            why = entry.get("changed") or entry.get("reason") or entry.get("detail", "")
            writes = ", ".join(f"`{t.warehouse_table}`" for t in facts.writes) if facts else ""
            models = ", ".join(f"`{m.name}`" for m in facts.models) if facts else ""
            lines.append(
                f"| `{entry['flow']}` | {owners} | {why} | {writes or '–'} | {models or '–'} |"
            )
    lines += ["", "#### Schedule changes", ""]
    if change.base_unreadable:
        lines.append(f"Not compared: {change.base_unreadable}")
    elif change.schedules:
        lines += [f"- {line}" for line in change.schedules]
    else:
        lines.append("None.")
    if change.downstream:
        lines += ["", "#### Downstream, new data", ""]
        for node, kind, readers in change.downstream:
            read = f", read by {', '.join(f'`{r}`' for r in readers)}" if readers else ""
            lines.append(f"- `{node}` ({kind}){read}")
    if change.problems:
        lines += ["", "#### Problems `check` finds in them", ""]
        lines += [f"- {p}" for p in change.problems]
    if change.deleted:
        lines += ["", "#### Flow files removed", ""]
        lines += [f"- `{p}`" for p in change.deleted]
    return "\n".join(lines) + "\n"
