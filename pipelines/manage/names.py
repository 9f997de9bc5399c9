"""Rules for org and project names, each rejection naming the rule and a fix."""

from __future__ import annotations

import keyword
import re
import sys
import unicodedata

from pipelines.constants import PROJECT_MODULES, SHARED_PACKAGES

MAX_LENGTH = 32
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
# A GitHub user (letters, digits, single hyphens, at most 39) or an org's team (org/team).
GITHUB_HANDLE = re.compile(r"^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)?$")

# Top-level names a project or org must not take: the repo's own packages and folders,
# and the packages a flow imports, which a same-named folder on sys.path would shadow.
REPO_NAMES = frozenset({"pipelines", "settings", "tests", "templates", "bench", "data", "test"})
DEPENDENCY_NAMES = frozenset(
    {
        "basedosdados", "click", "cookiecutter", "dask", "distributed", "duckdb", "google",
        "marshmallow", "numpy", "pandas", "pendulum", "prefect", "psycopg", "pyarrow",
        "pymysql", "pytest",
    }
)  # fmt: skip


# Device names Windows reserves in any folder, with or without an extension: a repository
# holding `pipelines/con/` cannot be checked out there.
WINDOWS_DEVICE_NAMES = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
     *(f"lpt{i}" for i in range(1, 10))}
)  # fmt: skip


def check_owner(value: str) -> str | None:
    """Why `value` cannot be a code owner (CODE_OWNERS holds GitHub handles), or None."""
    if GITHUB_HANDLE.match(value.removeprefix("@")):
        return None
    return (
        f"--owner {value!r} is not a GitHub handle (letters, digits and single hyphens, or "
        "org/team): write e.g. --owner ana-souza or --owner @data-office."
    )


def reserved_names() -> dict[str, str]:
    """Return every reserved name with the reason it is reserved."""
    reasons: dict[str, str] = {}
    for name in sorted(sys.stdlib_module_names):
        reasons[name] = f"it would shadow the standard library module '{name}'"
    for name in DEPENDENCY_NAMES:
        reasons[name] = f"it would shadow the installed package '{name}'"
    for name in REPO_NAMES:
        reasons[name] = f"it is a top-level name of this repository ('{name}')"
    for name in PROJECT_MODULES:
        reasons[name] = f"it is a module of the org/project shape ('{name}.py')"
    for name in SHARED_PACKAGES:
        reasons[name] = f"it is the shared package 'pipelines.{name}'"
    for name in WINDOWS_DEVICE_NAMES:
        reasons[name] = (
            f"Windows reserves '{name}' as a device name (a checkout holding it fails there)"
        )
    return reasons


def suggest(raw: str) -> str | None:
    """Turn a rejected name into the nearest snake_case identifier, if there is one."""
    ascii_text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    # Split camelCase before lowercasing so 'MyProject' becomes 'my_project'.
    ascii_text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", ascii_text).lower()
    words = [w for w in re.split(r"[^a-z0-9]+", ascii_text) if w]
    lead_digits = []
    while words and words[0].isdigit():
        lead_digits.append(words.pop(0))
    if words and words[0][0].isdigit():
        match = re.match(r"(\d+)(.*)", words[0])
        assert match
        lead_digits.append(match.group(1))
        words[0] = match.group(2)
    words += lead_digits
    candidate = "_".join(words)[:MAX_LENGTH].strip("_")
    if not candidate or not words or not words[0][0].isalpha():
        return None
    return candidate


def check_name(name: str, kind: str, taken: dict[str, str]) -> str | None:
    """Check a new org or project name against every rule.

    Args:
        name: The proposed name.
        kind: "project" or "org", used in messages.
        taken: Names already used in the repo, mapped to where (e.g. "pipelines/emd/x").

    Returns:
        None when the name is valid, else a message naming the broken rule and a fix.
    """
    if not name:
        return f"The {kind} name is empty. Give a snake_case name such as 'my_{kind}'."
    fix = suggest(name)
    hint = f" Try '{fix}'." if fix and fix != name else ""
    if not name.isascii():
        return (
            f"Invalid {kind} name {name!r}: names must be ASCII "
            f"(lowercase letters, digits and underscores).{hint}"
        )
    if not SNAKE_CASE.match(name):
        return (
            f"Invalid {kind} name {name!r}: names must be lowercase snake_case — start with a "
            f"letter, then letters, digits and single underscores (no spaces, hyphens, dots, "
            f"slashes, or leading/trailing/double underscores).{hint}"
        )
    if len(name) > MAX_LENGTH:
        return (
            f"Invalid {kind} name {name!r}: names are at most {MAX_LENGTH} characters "
            f"(this one has {len(name)})."
        )
    alternative = _free_alternative(name, taken)
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return (
            f"Invalid {kind} name {name!r}: it is a Python keyword, so it cannot be imported. "
            f"Try '{alternative}'."
        )
    reason = reserved_names().get(name)
    if reason:
        return (
            f"Invalid {kind} name {name!r}: the name is reserved because {reason}. "
            f"Try '{alternative}'. See `python manage.py list-projects` for reserved names."
        )
    if name in taken and taken[name].startswith(("the module ", "the folder ")):
        return (
            f"Invalid {kind} name {name!r}: {taken[name]} exists, and a package of that name "
            f"would shadow it (every command would then fail to import it). Try "
            f"'{alternative}'."
        )
    if name in taken:
        return (
            f"Invalid {kind} name {name!r}: names are unique across the repo (orgs and "
            f"projects), and {taken[name]} already uses it. Try '{alternative}'."
        )
    return None


def _free_alternative(name: str, taken: dict[str, str]) -> str:
    for suffix in ("pipeline", "project", "data", *(str(i) for i in range(2, 100))):
        candidate = f"{name}_{suffix}"
        if candidate not in taken and len(candidate) <= MAX_LENGTH:
            return candidate
    return f"{name[: MAX_LENGTH - 4]}_new"
