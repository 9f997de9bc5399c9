#!/usr/bin/env python3
"""Command line of the pipelines repo: `python manage.py --help`."""

import sys
from pathlib import Path

# Run from anywhere: the repo root holds the `pipelines` package.
sys.path.insert(0, str(Path(__file__).resolve().parent))

try:
    import click  # noqa: F401
except ImportError:
    sys.exit(
        "manage.py needs click (requirements-cli.txt), which this Python lacks.\n"
        "Run `make install`, then `source .venv/bin/activate` (or use .venv/bin/python)."
    )

from pipelines.manage.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
