"""`manage.py status`: every flow's last run, next run, failing streak and tables' ages.

Expectations come from the code in this checkout; what happened comes from Prefect Server's
production project (dev, prod) or from the runs run_local recorded under the data folder
(local), so it works offline too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pipelines.constants import TIMEZONE
from pipelines.errors import CommandError
from pipelines.manage.inventory import load_modules
from pipelines.settings import Settings, load_settings
from pipelines.utils.health import expectation_of
from pipelines.utils.health.assess import FlowHealth, as_of, assess
from pipelines.utils.health.dbt_sources import source_freshness
from pipelines.utils.health.expectations import next_run, words
from pipelines.utils.health.observe import late_after, load_times, seen_locally, seen_on_server
from pipelines.utils.inventory import Repo, flow_modules


@dataclass
class Status:
    """What `status` shows: each flow's health, where it was read, and modules that failed."""

    health: list[FlowHealth]
    now: dt.datetime
    source: str
    failed_modules: dict[str, str] = field(default_factory=dict)
    # Each expected table's schema history ("dataset.table" -> entries, oldest first).
    schemas: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def stale(self) -> int:
        return sum(p.kind == "stale" for h in self.health for p in h.problems)


def parse_now(value: str | None) -> dt.datetime | None:
    """--now: an ISO date/time (read in America/Sao_Paulo without an offset); None: now."""
    if not value:
        return None
    try:
        found = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--now {value!r} is not a date/time: write e.g. 2026-12-06T08:00 or "
            "2026-12-06T08:00+00:00."
        ) from None
    if not 1970 <= found.year <= 2200:  # schedules cannot be stepped to year 9999
        raise CommandError(
            f"--now {value!r} is out of range: give a time between 1970 and 2200, e.g. "
            "2026-12-06T08:00."
        )
    if found.tzinfo is None:
        import pendulum

        found = pendulum.instance(found, tz=TIMEZONE)
    return found.astimezone(dt.UTC)


def status(
    repo: Repo,
    *,
    org: str | None = None,
    owner: str | None = None,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
    server: Any = None,
) -> Status:
    """Read every flow (or an org's, or an owner's) and judge its health at `now`.

    Raises:
        CommandError: --org names no org of the repo, or --owner no owner of its flows.
    """
    given_now = now is not None
    now = now or dt.datetime.now(dt.UTC)
    settings = settings or load_settings(root=repo.root)
    modules = flow_modules(repo)
    if org is not None:
        orgs = sorted({m.org for m in modules})
        if org not in orgs:
            raise CommandError(f"--org {org!r} is no org of this repo (orgs: {', '.join(orgs)}).")
        modules = [m for m in modules if m.org == org]
    loaded = load_modules([m.module for m in modules])
    flows = [flow for _, flow in loaded.flows]
    if owner is not None:
        wanted = owner.lstrip("@").lower()

        def owners_of(flow: Any) -> list[str]:
            return [o.lstrip("@").lower() for o in getattr(flow, "code_owners", []) or []]

        known = sorted({o for f in flows for o in owners_of(f)})
        flows = [f for f in flows if wanted in owners_of(f)]
        if not flows:
            raise CommandError(
                f"--owner {owner!r} owns no flow here (owners: {', '.join(known) or 'none'}); "
                "owners are the GitHub handles in each project's CODE_OWNERS."
            )
    sources = source_freshness(repo.root / "queries")
    expectations = [expectation_of(f, sources) for f in flows]
    next_runs = {f.name: next_run(f.schedule, now) for f in flows}
    if settings.env == "local":
        seen = seen_locally(settings)
        source = "runs recorded by run_local under the data folder"
        where = "local"
    else:
        from pipelines.utils.deploy.target import project_of
        from pipelines.utils.server import Server

        project = project_of("production", settings)
        seen = seen_on_server(server or Server(), project, expectations, now, late_after(settings))
        source = f"Prefect Server, project {project!r}"
        where = "server"
    loaded_at = load_times(settings, expectations)
    if given_now:  # judged as at that moment: what happened after it is not the past
        seen, loaded_at = as_of(seen, loaded_at, now)
    health = assess(
        expectations, seen, loaded_at, now, where=where,  # type: ignore[arg-type]
        next_runs=next_runs,
    )  # fmt: skip
    schemas = schema_histories(settings, [t.table for e in expectations for t in e.tables])
    return Status(health, now, source, dict(loaded.failed), schemas)


def schema_histories(settings: Settings, tables: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The schema history the datalake keeps for each table that has one."""
    from pipelines.utils.datalake.schema import read_history
    from pipelines.utils.resources import resources

    datalake = resources(settings).datalake()
    found = {}
    for table in sorted(set(tables)):
        history = read_history(datalake, table.replace(".", "/", 1))
        if history:
            found[table] = history
    return found


def _ago(now: dt.datetime, when: dt.datetime | None) -> str:
    return "never" if when is None else f"{words(now - when)} ago"


def status_lines(found: Status) -> list[str]:
    """The table `status` prints: flows with problems first, each with its tables."""
    rows = []
    for health in found.health:
        last = health.last_run
        upcoming = health.next_run
        rows.append(
            (
                health.expectation.name,
                f"{last.state} {_ago(found.now, last.when)}" if last else "no run",
                f"in {words(upcoming - found.now)}" if upcoming else "not scheduled",
                str(health.streak),
            )
        )
    header = ("FLOW", "LAST RUN", "NEXT RUN", "FAILED IN A ROW")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]

    def line(cells: tuple[str, ...]) -> str:
        return (
            "  ".join(c.ljust(w) for c, w in zip(cells[:3], widths, strict=True)) + "  " + cells[3]
        )

    lines = [f"Status at {found.now:%Y-%m-%d %H:%M} UTC, from {found.source}:", "", line(header)]
    for health, row in zip(found.health, rows, strict=True):
        lines.append(line(row))
        for table in health.tables:
            age = table.age(found.now)
            if age is None:
                verdict = "not loaded yet"
            else:
                verdict = (
                    f"{'STALE' if table.stale(found.now) else 'fresh'}, loaded {words(age)} ago"
                )
            lines.append(f"    table {table.table}: {verdict} (at most {words(table.freshness)})")
        for problem in health.problems:
            lines.append(f"    ! {problem.text}")
    problems = sum(len(h.problems) for h in found.health)
    lines += ["", f"{len(found.health)} flow(s), {problems} problem(s)."]
    for module, error in sorted(found.failed_modules.items()):
        lines.append(f"{module}: import failed: {error}")
    return lines
