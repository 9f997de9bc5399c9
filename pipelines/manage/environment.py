"""`manage.py settings`: every setting with where its value comes from, what the environment
runs on, and what each step (a local run, run_cloud, register) still needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pipelines.settings import (
    CLOUD_VARIABLES,
    ENVIRONMENT_REQUIRES,
    SETTING_FAMILIES,
    SETTINGS,
    Settings,
)
from pipelines.utils.redaction import MASK, mask_credentials

RUN_HERE = "A run here"
# Names whose whole value is a credential (an AppRole's role id is half of its login).
_CREDENTIAL_WORDS = ("SECRET", "TOKEN", "PASSWORD", "ROLE_ID")


@dataclass
class Row:
    name: str
    value: str  # as shown: credentials masked
    source: str  # environment, .env, default, unset


@dataclass
class Report:
    env: str
    rows: list[Row]
    uses: list[tuple[str, str]]
    needs: dict[str, list[str]] = field(default_factory=dict)  # step -> what it lacks

    @property
    def runs_here(self) -> bool:
        return not self.needs.get(RUN_HERE)


def shown(name: str, value: str) -> str:
    """A value fit to print: connection URLs without their password, webhooks without their
    token (the path), secrets and tokens not at all; any URL without its user info."""
    if any(word in name for word in _CREDENTIAL_WORDS):
        return MASK
    if "WEBHOOK" in name:
        parts = urlsplit(mask_credentials(value))
        return f"{parts.scheme}://{parts.netloc}/{MASK}" if parts.netloc else MASK
    return mask_credentials(value)


def settings_report(settings: Settings, env: str | None = None) -> Report:
    """What `manage.py settings` prints, read from `settings` alone (nothing is contacted);
    with `env`, as if PIPELINES_ENV were that."""
    import dataclasses

    from pipelines.utils.deploy.target import target_problems
    from pipelines.utils.resources import resources

    if env:
        settings = dataclasses.replace(settings, values={**settings.values, "PIPELINES_ENV": env})

    given_env = env
    env = settings.env
    cloud = {v.name for v in CLOUD_VARIABLES}
    rows = []
    documented = [s.name for s in (*SETTINGS, *CLOUD_VARIABLES)]
    family = sorted(n for n in settings.values if n.startswith(SETTING_FAMILIES))
    for name in [*documented, *family]:
        given = settings.environ.get(name) or (None if name in cloud else settings.values.get(name))
        if name == "PIPELINES_ENV" and given_env:
            rows.append(Row(name, given_env, "--env"))
        elif given:
            source = "environment" if settings.environ.get(name) else ".env"
            rows.append(Row(name, shown(name, given), source))
        elif name in cloud and settings.values.get(name):
            note = "(not exported: Prefect and google-auth read only the environment)"
            rows.append(Row(name, note, ".env"))
        else:
            default = None if name in cloud else settings.lookup(name)
            rows.append(Row(name, default or "", "default" if default else "unset"))
    needs = {
        RUN_HERE: [
            f"{name}: {settings.purpose(name)}"
            for name in ENVIRONMENT_REQUIRES[env]
            if not settings.lookup(name)
        ],
        "run_cloud": target_problems("development", settings),
        "register": target_problems("production", settings),
    }
    return Report(env, rows, resources(settings).describe(), needs)


def report_lines(report: Report) -> list[str]:
    """The report as `manage.py settings` prints it."""
    width = max(len(r.name) for r in report.rows)
    lines = [f"PIPELINES_ENV={report.env}: runs here use"]
    lines += [f"  {what:<9}  {where}" for what, where in report.uses]
    lines += ["", "Settings (the environment wins over .env, which wins over the defaults):"]
    for row in report.rows:
        lines.append(f"  {row.name:<{width}}  {row.source:<11}  {row.value}".rstrip())
    for step, lacking in report.needs.items():
        lines.append("")
        if lacking:
            lines.append(f"{step} needs:")
            lines += [f"  {problem}" for problem in lacking]
        else:
            lines.append(f"{step}: ready.")
    return lines
