"""Failure alerts: who to mention, where to post, what to say, and how often."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import prefect
from prefect import Flow
from prefect.engine.state import State, TriggerFailed

from pipelines.settings import Settings
from pipelines.utils.context import current_settings
from pipelines.utils.redaction import redact
from pipelines.utils.server import Server
from pipelines.utils.server.context import run_page, server_run_id

# GitHub handle -> {discord: id, slack: id}: the ids an alert mentions for each code owner.
OWNERS_FILE = Path(__file__).resolve().parents[2] / "owners.yaml"
RECENT_RUNS = 10


def owner_ids(path: Path | None = None) -> dict[str, dict[str, str]]:
    """The owners file: {github handle: {"discord": id, "slack": id}}; empty if absent."""
    path = path or OWNERS_FILE
    if not path.is_file():
        return {}
    import yaml  # type: ignore[import-untyped]

    found = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): {str(a): str(b) for a, b in (v or {}).items()} for k, v in found.items()}


def mentions(owners: list[str], webhook: str, ids: dict[str, dict[str, str]]) -> str:
    """Owners as the webhook's chat mentions them (<@id>), by handle when no id is known."""
    chat = "slack" if "slack" in urlsplit(webhook).netloc else "discord"
    shown = []
    for owner in owners:
        handle = owner.lstrip("@")
        known = ids.get(handle, {}).get(chat)
        shown.append(f"<@{known}> ({handle})" if known else handle)
    return ", ".join(shown) or "no code owners set"


def webhook_for(org: str | None, settings: Settings) -> str | None:
    """PIPELINES_FAILURE_WEBHOOK_URL_<ORG>, else PIPELINES_FAILURE_WEBHOOK_URL (each may be a
    `secret:<path>` reference, read from the secrets store)."""
    from pipelines.utils.secrets import resolve

    own = settings.lookup(f"PIPELINES_FAILURE_WEBHOOK_URL_{org.upper()}") if org else None
    return resolve(own or settings.get("PIPELINES_FAILURE_WEBHOOK_URL"), settings)


def recent_failures() -> str | None:
    """'k of the last n runs failed' for the current flow (on the server), else None."""
    run_id = server_run_id()
    if run_id is None:
        return None
    states = Server().recent_states(run_id, RECENT_RUNS)
    if not states:  # the first run: nothing to compare with yet
        return None
    failed = sum(1 for state in states if state != "Success")
    return f"{failed} of the last {len(states)} finished runs failed"


def failed_task_messages(state: State) -> list[tuple[str, str]]:
    """(task name, its message) of each task that failed in its own right."""
    task_states = state.result if isinstance(state.result, dict) else {}
    if task_states:  # flow.run(): the states of every task come with the flow's
        return [
            (str(getattr(task, "name", task)), str(task_state.message))
            for task, task_state in task_states.items()
            if task_state.is_failed() and not isinstance(task_state, TriggerFailed)
        ]
    run_id = server_run_id()
    if run_id is None:
        return []
    found = []
    for task_run in Server().failed_tasks(run_id):
        name = task_run["task"]["name"]
        if task_run["map_index"] >= 0:
            name = f"{name}[{task_run['map_index']}]"
        found.append((name, str(task_run["state_message"])))
    return found


def failure_text(flow: Flow, state: State, webhook: str, settings: Settings) -> str:
    """Flow, run link, state message and each failed task's, owners, parameters, history."""
    run_id = server_run_id()  # only a run from the server has a page to link to
    ui = settings.require("PIPELINES_PREFECT_UI_URL")
    link = run_page(ui, run_id) if run_id else "a local run (no link)"
    owners = mentions(list(getattr(flow, "code_owners", []) or []), webhook, owner_ids())
    lines = [
        f"Flow {flow.name!r} failed: {redact(str(state.message))}",
        f"Run: {link}",
        f"Owners: {owners}",
    ]
    parameters = prefect.context.get("parameters")
    if parameters:
        lines.append(f"Parameters: {redact(json.dumps(parameters, default=str, sort_keys=True))}")
    try:
        history = recent_failures()
    except Exception:  # the history is a nicety: the alert goes without it
        history = None
    if history:
        lines.append(f"History: {history}")
    # Each failed task in its own words (e.g. dbt's error and the model's file); tasks that
    # only did not run because an upstream failed add nothing.
    try:
        failed = failed_task_messages(state)
    except Exception as error:  # the server did not answer: say so, send the rest
        failed = [("(failed tasks)", f"not read from the server: {type(error).__name__}")]
    for name, message in failed:
        lines.append(f"{name}: {redact(message)}")
    return "\n".join(lines)


@dataclass
class Guard:
    """One flow's alert history, kept in the datalake so ephemeral pods share it."""

    last_alert: str | None = None  # ISO time of the last alert posted
    suppressed: int = 0  # failures since then that were not posted

    @staticmethod
    def key(flow_name: str) -> str:
        """The flow's own file: its slug to read, and a hash of its exact name, since names
        that differ only in punctuation or case ('emd: a/b', 'emd: a b') share a slug."""
        import hashlib

        from slugify import slugify

        digest = hashlib.sha256(flow_name.encode()).hexdigest()[:16]
        return f"_alerts/{slugify(flow_name)[:80]}-{digest}.json"


def _load_guard(flow_name: str) -> Guard:
    from pipelines.utils.datalake import get_datalake

    lake = get_datalake()
    try:
        return Guard(**json.loads(lake.read_bytes(Guard.key(flow_name))))
    except (FileNotFoundError, KeyError, ValueError):
        return Guard()


def _save_guard(flow_name: str, guard: Guard) -> None:
    import tempfile

    from pipelines.utils.datalake import get_datalake

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "guard.json"
        path.write_text(json.dumps(guard.__dict__))
        get_datalake().put(Guard.key(flow_name), path)


def plan(
    flow_name: str, failed: bool, interval: dt.timedelta, now: dt.datetime
) -> tuple[str | None, int]:
    """What to post for this run's end, and how many failures went unposted before it.

    The action is 'alert', 'summary' or None, and it is recorded. A failure posts an alert
    unless one was posted less than `interval` ago; then it is counted. The count is posted
    as a summary when the flow succeeds again or when a failure comes after the interval
    (with that failure's alert).
    """
    guard = _load_guard(flow_name)
    suppressed = guard.suppressed
    recent = (
        guard.last_alert is not None
        and now - dt.datetime.fromisoformat(guard.last_alert) < interval
    )
    if not failed:
        if not suppressed:
            return None, 0
        _save_guard(flow_name, Guard())
        return "summary", suppressed
    if recent:
        guard.suppressed += 1
        _save_guard(flow_name, guard)
        return None, suppressed
    _save_guard(flow_name, Guard(last_alert=now.isoformat(), suppressed=0))
    return ("summary" if suppressed else "alert"), suppressed


def summary_text(flow_name: str, suppressed: int, recovered: bool) -> str:
    ending = "it succeeded again" if recovered else "and it failed again (below)"
    return (
        f"Flow {flow_name!r}: {suppressed} more failure(s) since the last alert were not posted "
        f"one by one; {ending}."
    )


def to_post(flow: Flow, state: State, webhook: str, settings: Settings) -> list[str]:
    """The messages this state change posts (none, an alert, a summary, or both)."""
    failed = state.is_failed()
    interval = dt.timedelta(minutes=settings.number("PIPELINES_ALERT_INTERVAL_MIN"))
    action, suppressed = plan(flow.name, failed, interval, dt.datetime.now(dt.UTC))
    if action is None:
        return []
    posts = []
    if action == "summary":
        posts.append(summary_text(flow.name, suppressed, recovered=not failed))
    if failed:
        posts.append(failure_text(flow, state, webhook, settings))
    return posts


def payload(text: str) -> dict[str, Any]:
    """What Discord ('content') and Slack ('text') webhooks both accept."""
    return {"content": text, "text": text}


def _org(flow: Flow) -> str | None:
    org = getattr(flow, "org", None)
    return str(org) if org else None


def alerts_for(
    flow: Flow, state: State, settings: Settings | None = None
) -> tuple[str | None, list[str]]:
    """(webhook URL, messages) for a finished run; no webhook configured means no messages."""
    settings = settings or current_settings()
    webhook = webhook_for(_org(flow), settings)
    if not webhook:
        return None, []
    return webhook, to_post(flow, state, webhook, settings)
