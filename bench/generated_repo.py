"""The generated many-project repo the benchmarks run on (shared with the tests)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.generated_repo import COPIED, REPO, generate  # noqa: E402

__all__ = ["COPIED", "REPO", "generate"]
