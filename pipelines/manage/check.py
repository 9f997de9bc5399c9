"""`manage.py check`: import every flow and validate what deploying it relies on."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from pipelines.errors import OrgSettingError
from pipelines.manage.clocks import clock_problems
from pipelines.manage.discover import unaggregated
from pipelines.manage.inventory import RepoFlows, load_repo_flows
from pipelines.manage.manifests import JOBS_CACHE, ManifestWorker, flow_manifest_problems
from pipelines.utils.deploy.graph import ModuleGraph
from pipelines.utils.deploy.serializer import Serializer
from pipelines.utils.health import expectation_problems
from pipelines.utils.health.dbt_sources import readable_freshness
from pipelines.utils.inventory import Repo

# What dbt parse reads under queries/ (not what it writes).
_DBT_OUTPUTS = {"target", "logs", "dbt_packages"}


def check_repo(repo: Repo, loaded: RepoFlows | None = None) -> tuple[int, list[str]]:
    """Validate every flow of the repo.

    Args:
        repo: The checkout.
        loaded: Its flows, when the caller has imported them already.

    Returns:
        How many flows were checked, and one line per problem.
    """
    from prefect.run_configs import KubernetesRun

    from pipelines.utils.pipeline_flow import PipelineFlow, org_label

    dbt_result = start_dbt_problems(repo)  # in another process, while flows are checked
    # Jobs are made in another process (Kubernetes' client takes a second to load) when no
    # earlier check remembers them; with a memo, only changed run configs are made, here.
    memo = repo.root / JOBS_CACHE
    manifests = None if memo.is_file() else ManifestWorker()
    problems = unaggregated(repo)
    if loaded is None:
        loaded = load_repo_flows(repo)
    serialize = Serializer()
    problems += loaded.problems
    by_name: dict[str, list[str]] = defaultdict(list)
    from pipelines.manage.register import checkout_path_in_defaults, credential_defaults

    sources, unreadable = readable_freshness(repo.root / "queries")
    problems += unreadable
    display: dict[str, str] = {}
    for module, flow in loaded.flows:
        where = f"{module}: flow {flow.name!r}"
        if module != "pipelines.flows":
            org = module.split(".")[1]
            if org not in display:
                try:
                    display[org] = repo.display_name(org)
                except OrgSettingError as error:
                    problems.append(str(error))
                    display[org] = org
            if not flow.name.startswith(f"{display[org]}: "):
                source = (
                    f"DISPLAY_NAME in pipelines/{org}/constants.py"
                    if display[org] != org
                    else f"the org whose folder holds it (or DISPLAY_NAME in pipelines/{org}/"
                    "constants.py)"
                )
                problems.append(f"{where}: its name must start with '{display[org]}: ', {source}")
            flow_org = getattr(flow, "org", org)
            if flow_org != org:
                problems.append(
                    f"{where}: says org={flow_org!r} but lives in pipelines/{org}/; alerts and "
                    f"agent labels would go to {flow_org!r}: pass org={org!r}"
                )
        path_problem = checkout_path_in_defaults(flow, repo.root)
        if path_problem:
            problems.append(f"{where}: {path_problem}")
        problems += [f"{where}: {problem}" for problem in credential_defaults(flow)]
        by_name[flow.name].append(module)
        try:
            flow.validate()
            flow.sorted_tasks()  # raises on a cycle
        except Exception as error:
            problems.append(f"{where}: invalid DAG: {error}")
        try:
            serialize(flow)
        except Exception as error:
            problems.append(f"{where}: does not serialize: {type(error).__name__}: {error}")
        if flow.schedule is not None:
            try:
                if not flow.schedule.next(3):
                    problems.append(f"{where}: its schedule yields no future runs")
            except Exception as error:
                problems.append(f"{where}: schedule fails: {error}")
            models = repo.root / "queries" / "models"
            problems += [f"{where}: {problem}" for problem in clock_problems(flow, models)]
        try:
            problems += [f"{where}: {problem}" for problem in expectation_problems(flow, sources)]
        except Exception as error:
            problems.append(f"{where}: freshness not readable: {type(error).__name__}: {error}")
        if not isinstance(flow, PipelineFlow):
            problems.append(
                f"{where}: is a {type(flow).__name__}; use pipelines.utils.pipeline_flow."
                f"PipelineFlow so it gets its org label, owners and failure alerts"
            )
        elif not isinstance(flow.run_config, KubernetesRun) or org_label(flow.org) not in (
            flow.run_config.labels or set()
        ):
            problems.append(f"{where}: run config must be a KubernetesRun with label {flow.org!r}")
    for name, modules in sorted(by_name.items()):
        if len(modules) > 1:
            problems.append(
                f"flow name {name!r} is used {len(modules)} times ({', '.join(modules)}); "
                f"flow names must be unique across the repo"
            )
    graph = ModuleGraph.build(repo.root)
    problems += frozen_problems(repo, loaded.flows, graph)
    problems += image_problems(repo, loaded.flows, graph)
    problems += flow_manifest_problems(loaded.flows, manifests, memo)
    problems += dbt_result()
    return len(loaded.flows), problems


def image_problems(repo: Repo, flows: list, graph: ModuleGraph) -> list[str]:
    """What the flow-run image would lack: lock files out of step with pyproject.toml, and
    third-party modules the flows' code imports that the image does not install."""
    from pipelines.manage.lock import image_import_problems, lock_problems

    modules = sorted({module for module, _ in flows})
    return lock_problems(repo.root) + image_import_problems(repo.root, graph, modules)


def frozen_problems(repo: Repo, flows: list, graph: ModuleGraph) -> list[str]:
    """Values computed from the clock at import time in the orgs' code, with the flows
    whose code runs them (a Parameter default or task argument would freeze at registration)."""
    from pipelines.manage.frozen import frozen_calls

    problems = []
    for org in repo.orgs():
        for path in sorted((repo.package / org).rglob("*.py")):
            for found in frozen_calls(path):
                owners = graph.owners(path)
                names = sorted(
                    {flow.name for module, flow in flows if owners & graph.closure(module)}
                )
                what = (
                    f"the default of Parameter {found.parameter!r}"
                    if found.parameter
                    else "a value"
                )
                problems.append(
                    f"{path.relative_to(repo.root)}:{found.line}: {what} comes from "
                    f"{found.call} when the module is imported, so it keeps that value in every "
                    f"run of {', '.join(repr(n) for n in names) or 'the flows importing it'}: "
                    "compute it inside a task"
                )
    return problems


def dbt_problems(repo: Repo) -> list[str]:
    """`dbt parse` of the repo's models: one problem per error, naming the model's file."""
    import logging

    from pipelines.errors import DbtError
    from pipelines.settings import load_settings
    from pipelines.utils.dbt.runner import run_dbt_command

    if not (repo.root / "queries" / "dbt_project.yml").is_file():
        return []
    quiet = logging.getLogger("pipelines.check.dbt")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    try:
        run_dbt_command(
            "parse", load_settings(root=repo.root), quiet, project_dir=repo.root / "queries"
        )
    except DbtError as error:
        return [f"queries/ (dbt parse): {line.strip()}" for line in str(error).splitlines()[1:]]
    return []


def _dbt_inputs_digest(repo: Repo) -> str | None:
    """Digest of what dbt parse reads: the files under queries/, dbt's version and the
    profile made from the settings (None when no profile can be made: parse says why)."""
    from importlib.metadata import version

    from pipelines.errors import PipelinesError
    from pipelines.settings import load_settings
    from pipelines.utils.dbt.profiles import profile

    try:
        made = profile(load_settings(root=repo.root))
    except PipelinesError:
        return None
    digest = hashlib.sha256()
    digest.update(version("dbt-core").encode())
    digest.update(json.dumps(made, sort_keys=True).encode())
    queries = repo.root / "queries"
    for path in sorted(queries.rglob("*")):
        relative = path.relative_to(queries)
        if path.is_file() and not _DBT_OUTPUTS & set(relative.parts):
            digest.update(relative.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def start_dbt_problems(repo: Repo) -> Callable[[], list[str]]:
    """Start `dbt parse` in another process (it takes as long as importing every flow, on
    the other core) unless these very inputs parsed cleanly before; return what waits for
    its problems.

    Only a clean parse is remembered (in the data folder), so a problem is reported on every
    check until it is fixed.
    """
    from pipelines.settings import load_settings

    if not (repo.root / "queries" / "dbt_project.yml").is_file():
        return list
    key = _dbt_inputs_digest(repo)
    memo = load_settings(root=repo.root).data_dir / "dbt" / "parsed-cleanly"
    if key is not None and memo.is_file() and memo.read_text() == key:
        return list
    child = subprocess.Popen(
        [sys.executable, "-m", "pipelines.manage.check", "--dbt-parse", str(repo.root)],
        cwd=repo.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip

    def result() -> list[str]:
        out, err = child.communicate(timeout=600)
        if child.returncode != 0:
            return [f"queries/ (dbt parse): could not run: {err.strip().splitlines()[-1:]}"]
        problems: list[str] = json.loads(out)
        if not problems and key is not None:
            memo.parent.mkdir(parents=True, exist_ok=True)
            memo.write_text(key)
        return problems

    return result


if __name__ == "__main__" and sys.argv[1:2] == ["--dbt-parse"]:
    print(json.dumps(dbt_problems(Repo(Path(sys.argv[2])))))
