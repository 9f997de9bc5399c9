"""What the watchdog tells owners: each problem once, and once more when it clears.

Problems are posted through the failure alerts' path (the org's webhook, the owners'
mentions), one message per org per pass; a message that was not delivered is tried again on
the next pass, since only what was delivered is remembered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipelines.settings import Settings
from pipelines.utils.health.assess import Problem

# Lines per message: past them the message says how many more there are (a chat caps a
# message's length, and an agent down for all flows should not post 500 lines).
MAX_LINES = 25


@dataclass
class Notice:
    """One message to one org's webhook, and the problems it settles once delivered."""

    org: str
    lines: list[str]
    raised: list[Problem] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)  # keys

    def text(self) -> str:
        shown = self.lines[:MAX_LINES]
        if len(self.lines) > MAX_LINES:
            shown.append(
                f"... and {len(self.lines) - MAX_LINES} more: see `python manage.py status`."
            )
        return "\n".join(shown)


def plan_notices(
    problems: Iterable[Problem],
    alerted: dict[str, dict[str, Any]],
    mention: Any = None,
) -> list[Notice]:
    """The messages a pass sends: new problems, and recoveries of those alerted before.

    Args:
        problems: What the pass found.
        alerted: What earlier passes delivered: key -> {"org", "flow", "text", "since"}.
        mention: (owners, org) -> how the message names them; default: the names.
    """
    mention = mention or (lambda owners, org: ", ".join(owners) or "no code owners set")
    current = {p.key: p for p in problems}
    by_org: dict[str, Notice] = {}
    for key, problem in sorted(current.items()):
        if key in alerted:
            continue
        notice = by_org.setdefault(problem.org, Notice(problem.org, []))
        notice.lines.append(
            f"Problem: {problem.text} Owners: {mention(problem.owners, problem.org)}"
        )
        notice.raised.append(problem)
    for key, entry in sorted(alerted.items()):
        if key in current:
            continue
        org = str(entry.get("org", ""))
        notice = by_org.setdefault(org, Notice(org, []))
        notice.lines.append(f"Recovered: {entry.get('text', key)}")
        notice.cleared.append(key)
    return [by_org[org] for org in sorted(by_org)]


def settle(alerted: dict[str, dict[str, Any]], notice: Notice, now: dt.datetime) -> None:
    """Remember a delivered notice: its problems as alerted, its recoveries as gone."""
    for problem in notice.raised:
        alerted[problem.key] = {
            "org": problem.org,
            "flow": problem.flow,
            "text": problem.text,
            "since": now.isoformat(timespec="seconds"),
        }
    for key in notice.cleared:
        alerted.pop(key, None)


def mentioner(settings: Settings) -> Any:
    """(owners, org) -> the owners as that org's webhook mentions them."""
    from pipelines.utils.alerts.messages import mentions, owner_ids, webhook_for

    ids = owner_ids()
    hooks: dict[str, str] = {}

    def mention(owners: Iterable[str], org: str) -> str:
        if org not in hooks:
            hooks[org] = webhook_for(org or None, settings) or ""
        return mentions(list(owners), hooks[org], ids)

    return mention
