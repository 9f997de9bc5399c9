#!/usr/bin/env python3
"""Command line of the pipelines repo: `python manage.py --help`."""

import sys
from pathlib import Path

# Run from anywhere: the repo root holds the `pipelines` package.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipelines.manage.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
