#!/usr/bin/env python3
"""Command line of the pipelines repo: `python manage.py --help`."""

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

# Run from anywhere: the repo root holds the `pipelines` package.
ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

# Found, not imported: list-projects must not pay for Prefect's import.
_missing = [name for name in ("click", "prefect") if importlib.util.find_spec(name) is None]
if _missing:
    _venv = ROOT / ".venv" / "bin" / "python"
    sys.exit(
        f"manage.py needs {' and '.join(_missing)}, which this Python ({sys.executable}) "
        "lacks: the project's packages are in its virtualenv.\n"
        + (
            f"Activate it (`source {_venv.parent / 'activate'}`) or run {_venv} manage.py ..."
            if _venv.exists()
            else "Run `make install` first, then `source .venv/bin/activate`."
        )
    )


class _ModulesFirst(importlib.abc.MetaPathFinder):
    """Imports pipelines/<name>.py where a folder pipelines/<name>/ would hide it."""

    def __init__(self, modules: dict[str, Path]) -> None:
        self.modules = modules

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        module = self.modules.get(fullname)
        return importlib.util.spec_from_file_location(fullname, module) if module else None


def _shadowing_folders() -> dict[str, Path]:
    """Packages under pipelines/ that hide a module of the same name (pipelines/errors/ and
    pipelines/errors.py): the package wins, and every command would fail on its import."""
    package = ROOT / "pipelines"
    return {
        f"pipelines.{folder.name}": package / f"{folder.name}.py"
        for folder in sorted(package.iterdir())
        if (folder / "__init__.py").is_file() and (package / f"{folder.name}.py").is_file()
    }


_shadows = _shadowing_folders()
if _shadows:
    names = [name.split(".")[1] for name in _shadows]
    removing = sys.argv[1:3] == ["remove-org", names[0]]
    if not removing:
        sys.exit(
            f"Error: the folder pipelines/{names[0]}/ hides the module pipelines/{names[0]}.py, "
            f"which every command needs; remove that org with "
            f"`python manage.py remove-org {names[0]}` (or rename the folder)."
        )
    sys.meta_path.insert(0, _ModulesFirst(_shadows))

from pipelines.manage.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
