"""Optional database drivers, imported only when a dump needs them, with install hints."""

from __future__ import annotations

import importlib
import shutil
import tempfile
from pathlib import Path
from types import ModuleType

EXTRAS = {
    "postgres": (
        "duckdb_extension_postgres",
        "pipelines[postgres]",
        "duckdb-extension-postgres and psycopg",
    ),
    "mysql": ("connectorx", "pipelines[mysql]", "connectorx and PyMySQL"),
    "mssql": ("connectorx", "pipelines[mssql]", "connectorx"),
    "oracle": ("connectorx", "pipelines[oracle]", "connectorx"),
}


def require(dialect: str, module: str | None = None) -> ModuleType:
    """Import a dialect's driver, or raise ImportError saying what to install."""
    name, extra, what = EXTRAS[dialect]
    try:
        return importlib.import_module(module or name)
    except ImportError as error:
        raise ImportError(
            f"Dumping from {dialect} needs {what}, which is not installed: "
            f"pip install '{extra}' (or `make install`, which installs every extra)."
        ) from error


def postgres_extension() -> Path:
    """The DuckDB postgres extension file, named so `LOAD` finds its entry point.

    The PyPI wheel ships it as postgres.duckdb_extension; DuckDB derives the entry point from
    the file name and needs postgres_scanner.duckdb_extension. Downloads are never attempted.
    """
    import duckdb

    module = require("postgres")
    assert module.__file__
    shipped = next(Path(module.__file__).parent.glob("extensions/*/postgres.duckdb_extension"))
    cache = Path(tempfile.gettempdir()) / f"pipelines-duckdb-{duckdb.__version__}"
    target = cache / "postgres_scanner.duckdb_extension"
    if not target.exists() or target.stat().st_size != shipped.stat().st_size:
        cache.mkdir(parents=True, exist_ok=True)
        partial = cache / f".{target.name}.{id(cache)}"
        shutil.copyfile(shipped, partial)
        partial.replace(target)
    return target
