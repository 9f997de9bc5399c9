"""A copy of this repo with many generated projects, for benchmarks and the catalog test."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COPIED = (
    "pipelines", "templates", "manage.py", "pyproject.toml", "Dockerfile", "requirements.lock",
    "requirements-dev.lock",
)  # fmt: skip


def generate(root: Path, projects: int, orgs: int) -> list[str]:
    """Copy the repo into root and add `projects` copies of emd/test_flow over `orgs` orgs.

    Each copy gets its own org, flow name and import line, as add-project would write them.

    Returns:
        The dotted flows modules of the generated projects.
    """
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(
                source, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(source, root / name)
    example = root / "pipelines" / "emd" / "test_flow"
    modules, org_lines = [], []
    for o in range(orgs):
        org = root / "pipelines" / f"org_{o}"
        org.mkdir()
        for module in ("constants", "flows", "schedules", "tasks", "utils"):
            (org / f"{module}.py").write_text(f'"""Generated org {o}: {module}."""\n')
        lines = []
        for p in range(o, projects, orgs):
            target = org / f"project_{p}"
            shutil.copytree(example, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            constants = target / "constants.py"
            constants.write_text(
                constants.read_text()
                .replace('ORG = "emd"', f'ORG = "org_{o}"')
                .replace('"emd: test_flow"', f'"org_{o}: project_{p}"')
            )
            lines.append(f"import pipelines.org_{o}.project_{p}.flows  # noqa: F401")
            modules.append(f"pipelines.org_{o}.project_{p}.flows")
        (org / "__init__.py").write_text(f'"""Generated org {o}."""\n\n' + "\n".join(lines) + "\n")
        org_lines.append(f"import pipelines.org_{o}  # noqa: F401")
    flows = root / "pipelines" / "flows.py"
    flows.write_text(flows.read_text() + "\n".join(org_lines) + "\n")
    return modules
