"""basedosdados is never imported unconfigured (it would hang on input()), and importing it
keeps the process's warning filters."""

from __future__ import annotations

import os
import subprocess
import sys

from pipelines.settings import load_settings
from pipelines.utils.basedosdados import basedosdados_config_problem
from tests.conftest import REPO_ROOT


def test_config_problem_names_what_to_do(tmp_path):
    settings = load_settings({"HOME": str(tmp_path)}, root=tmp_path)
    assert "would wait for answers at an input() prompt" in basedosdados_config_problem(settings)
    (tmp_path / ".basedosdados").mkdir()
    (tmp_path / ".basedosdados" / "config.toml").write_text("")
    assert basedosdados_config_problem(settings) is None
    partial = load_settings({"BASEDOSDADOS_CONFIG": "eA=="}, root=tmp_path)
    assert "BASEDOSDADOS_CREDENTIALS_PROD, BASEDOSDADOS_CREDENTIALS_STAGING is not" in (
        basedosdados_config_problem(partial)
    )


CHECK = """
import sys, warnings
warnings.simplefilter("default")
from pipelines.settings import load_settings
from pipelines.utils.basedosdados import import_basedosdados
import pipelines.utils.warehouse, pipelines.utils.dump_db, pipelines.utils.execution
print("IMPORTED_EARLY", "basedosdados" in sys.modules)
before = list(warnings.filters)
import_basedosdados(load_settings())
print("IMPORTED", "basedosdados" in sys.modules, "FILTERS_KEPT", warnings.filters == before)
"""


def test_basedosdados_is_imported_only_when_used_and_keeps_warning_filters(tmp_path):
    (tmp_path / ".basedosdados").mkdir()
    (tmp_path / ".basedosdados" / "config.toml").write_text("")
    env = {**os.environ, "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=120,
    )  # fmt: skip
    assert "IMPORTED_EARLY False" in result.stdout, result.stderr
    assert "IMPORTED True FILTERS_KEPT True" in result.stdout, result.stderr
