"""Write the catalog: index, one page per flow, the day view and the graph pictures."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pendulum

from pipelines.constants import TIMEZONE
from pipelines.errors import CommandError
from pipelines.manage.catalog.facts import FlowFacts, flow_facts
from pipelines.manage.catalog.history import History, git
from pipelines.manage.catalog.when import runs_between
from pipelines.utils.inventory import Repo
from pipelines.utils.scratch import release, scratch_dir, umask

STATIC = ("catalog.css", "catalog.js")
# Written into every catalog folder: the files of that build. A folder without it, or holding
# files it does not list, is not the catalog's to replace.
MARKER = ".pipelines-catalog.json"
COLLISION = 2  # runs starting in the same minute


@dataclass
class Built:
    """What was written."""

    output: Path
    flows: int
    pictures: int
    problems: int
    runs: int


def _attribute(module: str, flow: Any) -> str:
    """The flow's name in its module (what `manage.py run` takes after the module)."""
    from pipelines.utils.inventory import flows_in

    names = [name for name, value in flows_in(sys.modules[module]).items() if value is flow]
    return names[0] if names else "flow"


def attach_problems(facts: list[FlowFacts], problems: list[str]) -> list[str]:
    """Give each flow the check problems that name its module, its name or its models;
    return the problems that concern no single flow."""
    loose = []
    for problem in problems:
        hit = False
        for flow in facts:
            if (
                f"{flow.module}:" in problem
                or repr(flow.name) in problem
                or any(m.path.removeprefix("queries/") in problem for m in flow.models)
            ):
                flow.problems.append(problem)
                hit = True
        if not hit:
            loose.append(problem)
    return loose


def day_view(
    facts: list[FlowFacts], schedules: dict[str, Any], start: pendulum.DateTime
) -> dict[str, Any]:
    """Every scheduled run of the 24 hours from `start`, by minute, for day.html."""
    start = start.in_tz(TIMEZONE).start_of("minute")
    end = start.add(hours=24)
    slots: dict[int, list[dict[str, str]]] = defaultdict(list)
    for flow in facts:
        schedule = schedules.get(flow.name)
        many = schedule is not None and len(schedule.clocks) > 1
        for when, clock in runs_between(schedule, start, end):
            minute = int((when - start).total_seconds() // 60)
            label = f" (clock {clock + 1})" if many else ""
            slots[minute].append({"slug": flow.slug, "name": flow.name, "clock": label})
    peak = max((len(runs) for runs in slots.values()), default=1)
    rows = []
    for minute in sorted(slots):
        runs = sorted(slots[minute], key=lambda run: run["name"])
        label = start.add(minutes=minute).format("ddd HH:mm")
        height = max(4, round(110 * len(runs) / peak))
        rows.append({"x": minute, "runs": runs, "label": label, "height": height})
    by_hour: dict[str, dict[str, Any]] = {}
    for row in rows:
        label = start.add(minutes=row["x"]).start_of("hour").format("ddd HH:00")
        hour = by_hour.setdefault(label, {"label": label, "slots": [], "runs": 0})
        hour["slots"].append(row)
        hour["runs"] += len(row["runs"])
    first = start.add(hours=1).start_of("hour") if start.minute else start
    ticks = [first.add(hours=h) for h in range(0, 24, 2)]
    hours = [
        {"x": int((t - start).total_seconds() // 60), "label": t.format("HH:mm")} for t in ticks
    ]
    collisions = sorted(
        (row for row in rows if len(row["runs"]) >= COLLISION),
        key=lambda r: (-len(r["runs"]), r["x"]),
    )
    return {
        "start": start,
        "end": end,
        "slots": rows,
        "hours": hours,
        "by_hour": list(by_hour.values()),
        "collisions": collisions[:50],
        "threshold": COLLISION,
        "total": sum(len(row["runs"]) for row in rows),
        "scheduled": sum(1 for f in facts if schedules.get(f.name) is not None),
    }


def _revision(repo: Repo) -> str:
    return (git(repo.root, "log", "-1", "--format=%h (%cs)") or "").strip() or "a tree outside git"


def check_output(output: Path) -> None:
    """Refuse a folder the catalog may not replace: a file, or a non-empty folder it did not
    make, or its own folder holding files it did not write (a user's notes, a checkout).

    Raises:
        CommandError: Naming the folder (and a file not the catalog's); nothing is changed.
    """
    if not output.exists() and not output.is_symlink():
        return
    if not output.is_dir():
        raise CommandError(f"{output} is not a folder: give `catalog -o` a new or empty folder.")
    if not any(output.iterdir()):
        return
    try:
        listed = set(json.loads((output / MARKER).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        raise CommandError(
            f"{output} is not empty and was not made by `manage.py catalog`: refusing to "
            "replace it. Give a new or empty folder (the default is build/catalog)."
        ) from None
    extra = sorted(_files(output) - {MARKER} - listed)
    if extra:
        more = f" and {len(extra) - 1} other file(s)" if len(extra) > 1 else ""
        raise CommandError(
            f"{output} holds {extra[0]}{more}, which the catalog did not write: move them "
            "out of the folder first. Nothing was changed."
        )


def _files(folder: Path) -> set[str]:
    """Every file (or link) under folder, as a path from it."""
    return {
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()
    }


def read_health(path: Path) -> dict[str, Any]:
    """A `manage.py status --json` document (or the watchdog's _health/status.json).

    Raises:
        CommandError: The file is missing or is not such a document.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        problem = _health_shape(data)
    except (OSError, ValueError) as error:
        problem = str(error)
    if problem:
        raise CommandError(
            f"--health {path}: not a `manage.py status --json` document ({problem}). Write "
            "one with: python manage.py status --json > health.json"
        )
    return data


# What the health page reads of each flow of a status document: (field, types) per level.
_NUMBER = (int, float)
_HEALTH_FIELDS: dict[str, tuple[tuple[str, tuple[type, ...]], ...]] = {
    "flow": (("flow", (str,)), ("failing_streak", (int,)), ("recent_runs", (list,)),
             ("tables", (list,)), ("problems", (list,))),
    "run": (("state", (str,)),),
    "table": (("table", (str,)), ("freshness_s", _NUMBER), ("age_s", (*_NUMBER, type(None))),
              ("stale", (bool,))),
    "problem": (("text", (str,)),),
    "schema": (("at", (str,)), ("changes", (list,)), ("columns", (list,)), ("mode", (str,)),
               ("on_schema_change", (str,))),
}  # fmt: skip


def _health_shape(data: Any) -> str | None:
    """The first place where `data` is not a status document, e.g. "flows[2].tables[0]:
    'freshness_s' should be a number"; None when every part the page reads is there."""

    def wrong(item: Any, kind: str, where: str) -> str | None:
        if not isinstance(item, dict):
            return f"{where} should be an object"
        for name, types in _HEALTH_FIELDS[kind]:
            if not isinstance(item.get(name), types) or (
                bool in types) != isinstance(item.get(name), bool):  # fmt: skip
                return f"{where}: {name!r} is missing or not a {' or '.join(_kinds(types))}"
        return None

    if not isinstance(data, dict) or not isinstance(data.get("flows"), list):
        return "no 'flows' list"
    for i, flow in enumerate(data["flows"]):
        found = wrong(flow, "flow", f"flows[{i}]")
        for field, kind in (("recent_runs", "run"), ("tables", "table"), ("problems", "problem")):
            for j, item in enumerate(flow.get(field) or [] if not found else []):
                found = found or wrong(item, kind, f"flows[{i}].{field}[{j}]")
        if found:
            return found
    schemas = data.get("schemas", {})
    if not isinstance(schemas, dict):
        return "'schemas' should be an object"
    for table, history in schemas.items():
        if not isinstance(history, list):
            return f"schemas[{table!r}] should be a list"
        for j, entry in enumerate(history):
            found = wrong(entry, "schema", f"schemas[{table!r}][{j}]")
            if found:
                return found
    return None


def _kinds(types: tuple[type, ...]) -> list[str]:
    names = {str: "text", int: "number", float: "number", list: "list", bool: "true/false",
             type(None): "null"}  # fmt: skip
    return list(dict.fromkeys(names[t] for t in types))


def health_rows(data: dict[str, Any], facts: list[FlowFacts]) -> list[dict[str, Any]]:
    """The health page's rows: each flow of the status, linked to its page when it has one,
    with ages in words."""
    import datetime as dt

    from slugify import slugify

    from pipelines.utils.health.expectations import words

    pages = {f.name: f for f in facts}
    rows = []
    for row in data["flows"]:
        page = pages.get(row["flow"])
        shown = dict(row, slug=page.slug if page else slugify(row["flow"]), page=bool(page))
        shown["tables"] = [
            dict(
                table,
                age=None
                if table.get("age_s") is None
                else words(dt.timedelta(seconds=table["age_s"])),
                freshness=words(dt.timedelta(seconds=table["freshness_s"])),
            )
            for table in row["tables"]
        ]
        if page:
            page.health = shown
            page.schemas = {
                t.warehouse_table: data["schemas"][t.warehouse_table]
                for t in page.writes
                if t.warehouse_table in data.get("schemas", {})
            }
        rows.append(shown)
    return rows


def build_catalog(
    repo: Repo,
    output: Path,
    now: pendulum.DateTime | None = None,
    health: dict[str, Any] | None = None,
    docs: Path | None = None,
) -> Built:
    """Import every flow, check it, and write the catalog into `output` (replaced whole, only
    once everything is written).

    Args:
        repo: The checkout.
        output: The folder to write.
        now: The time the next runs are counted from.
        health: A `status --json` document: adds the health page and each flow's badge.
        docs: A built docs site (`make docs`): copied under docs/, linked from every page.

    Raises:
        CommandError: The templates are missing or broken, a picture could not be drawn, or
            `docs` is no built docs site.
    """
    import jinja2

    if docs is not None and not (docs / "index.html").is_file():
        raise CommandError(f"--docs {docs}: no index.html there; build the docs with `make docs`.")

    from pipelines.manage.check import check_repo
    from pipelines.manage.inventory import load_repo_flows
    from pipelines.manage.lineage import build_lineage, lineage_dot
    from pipelines.manage.picture import flow_dot, render_svgs
    from pipelines.utils.deploy.graph import ModuleGraph
    from pipelines.utils.health.dbt_sources import readable_freshness

    templates = repo.root / "templates" / "catalog"
    if not (templates / "index.html").is_file():
        raise CommandError(f"The catalog's templates are missing from {templates}.")
    output = output.resolve()
    check_output(output)  # before anything is imported or written
    now = now or pendulum.now(TIMEZONE)
    loaded = load_repo_flows(repo)
    _, problems = check_repo(repo, loaded)
    graph = ModuleGraph.build(repo.root)
    history = History(repo.root)
    lineage = build_lineage(loaded.flows, repo.root / "queries")
    sources, _ = readable_freshness(repo.root / "queries")  # its problem is among check's
    facts, schedules, dots = [], {}, []
    for module, flow in loaded.flows:
        files = graph.closure_files(module)
        # The project's own files apart from the shared code every flow imports (one commit
        # there would otherwise be every flow's last change).
        folder = graph.files[module].parent
        own = [f for f in files if f.is_relative_to(folder)]
        entry = flow_facts(module, flow, repo.root, files, history.last_commit(own), now, sources)
        entry.shared_commit = history.last_commit(f for f in files if f not in own)
        entry.attribute = _attribute(module, flow)
        entry.upstream, entry.downstream = lineage.flows_around(flow.name)
        facts.append(entry)
        schedules[flow.name] = flow.schedule
        dots.append(flow_dot(flow, title=False))
    taken: set[str] = set()
    for entry in facts:  # flow names are unique, their slugs need not be
        base, number = entry.slug, 1
        while entry.slug in taken:
            number += 1
            entry.slug = f"{base}-{number}"
        taken.add(entry.slug)
    facts_by_dot = defaultdict(list)
    for entry, dot in zip(facts, dots, strict=True):
        entry.graph = hashlib.sha256(dot.encode()).hexdigest()[:16] + ".svg"
        facts_by_dot[dot].append(entry)
    unique = list(facts_by_dot)
    whole = lineage_dot(lineage)
    *svgs, lineage_svg = render_svgs([*unique, whole])  # one renderer run for every picture
    pictures = dict(zip(unique, svgs, strict=True))
    loose = attach_problems(facts, problems)
    facts.sort(key=lambda f: (f.org, f.project or "", f.name))
    orgs: dict[str, dict[str | None, list[FlowFacts]]] = {}
    for entry in facts:
        orgs.setdefault(entry.org, {}).setdefault(entry.project, []).append(entry)

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates), autoescape=True, undefined=jinja2.StrictUndefined
    )
    rows = health_rows(health, facts) if health else []
    common = {
        "built": now.format("YYYY-MM-DD HH:mm zz"),
        "revision": _revision(repo),
        "health_generated": (health or {}).get("generated", "") if health else "",
        "slugs": {entry.name: entry.slug for entry in facts},
        "docs": docs is not None,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = scratch_dir(f".{output.name}-", output.parent)  # sweeps a killed build's
    try:
        (staging / "flows").mkdir()
        (staging / "graphs").mkdir()
        for name in STATIC:
            shutil.copy2(templates / name, staging / name)
        if docs is not None:
            shutil.copytree(docs, staging / "docs")
        page = env.get_template("flow.html")
        for entry in facts:
            (staging / "flows" / f"{entry.slug}.html").write_text(
                page.render(flow=entry, up="../", **common), encoding="utf-8"
            )
        for dot, svg in pictures.items():
            (staging / "graphs" / facts_by_dot[dot][0].graph).write_text(svg, encoding="utf-8")
        (staging / "index.html").write_text(
            env.get_template("index.html").render(
                flows=facts, orgs=orgs, loose_problems=loose, up="", **common
            ),
            encoding="utf-8",
        )
        (staging / "graphs" / "lineage.svg").write_text(lineage_svg, encoding="utf-8")
        (staging / "lineage.html").write_text(
            env.get_template("lineage.html").render(
                up="",
                edges=sorted(lineage.edges, key=lambda e: (e.upstream, e.downstream, e.relation)),
                kinds=lineage.kinds,
                where=lineage.where,
                **common,
            ),
            encoding="utf-8",
        )
        day = day_view(facts, schedules, now)
        (staging / "day.html").write_text(
            env.get_template("day.html").render(up="", **day, **common), encoding="utf-8"
        )
        if health:
            (staging / "health.html").write_text(
                env.get_template("health.html").render(
                    up="",
                    health_rows=rows,
                    health_source=health.get("source", "the watchdog"),
                    health_problems=[p["text"] for r in rows for p in r["problems"]],
                    **common,
                ),
                encoding="utf-8",
            )
        written = sorted(_files(staging))
        (staging / MARKER).write_text(json.dumps({"files": written}, indent=0), encoding="utf-8")
        staging.chmod(0o777 & ~umask())  # mkdtemp's folder is 0700; a new folder is not
        check_output(output)  # nothing else got in while this build ran
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
        release(staging)  # only forgets it: it is the catalog now
    except jinja2.TemplateError as error:
        release(staging)
        where = getattr(error, "filename", None) or getattr(error, "name", None) or "a template"
        line = getattr(error, "lineno", None)
        raise CommandError(
            f"The catalog's template {where}{f' (line {line})' if line else ''} is broken: "
            f"{error.message or error}. Nothing was written; the last catalog is as it was."
        ) from error
    except BaseException:
        release(staging)
        raise
    return Built(output, len(facts), len(pictures), len(problems), day["total"])
