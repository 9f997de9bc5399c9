"""Create and remove orgs and projects from the cookiecutter templates, all or nothing."""

from __future__ import annotations

import ast
import dataclasses
import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import CommandError
from pipelines.manage.discover import (
    org_import_line,
    project_import_line,
    read_source,
    statement_imports,
)
from pipelines.manage.names import check_name, check_owner
from pipelines.manage.transaction import Transaction, recover, repo_lock
from pipelines.utils.inventory import Repo, project_module


@dataclass(frozen=True)
class Created:
    """What a scaffolding command created or changed, relative to the repo root."""

    created: list[str]
    edited: list[str]
    recovered: str | None = None  # an interrupted earlier command that was undone first


def validate_new_name(repo: Repo, name: str, kind: str) -> None:
    """Raise CommandError when name breaks a naming rule."""
    problem = check_name(name, kind, repo.taken_names())
    if problem:
        raise CommandError(problem)


def require_org(repo: Repo, org: str) -> None:
    """Raise CommandError unless org exists."""
    orgs = repo.orgs()
    if org not in orgs:
        listed = ", ".join(orgs) or "none yet"
        raise CommandError(
            f"Org '{org}' does not exist (existing orgs: {listed}). "
            f"Create it with `python manage.py add-org {org}` or pass --org."
        )


def model_files(name: str) -> dict[str, str]:
    """A starter dbt model for a project: queries/models/<name>/<name>.sql over the raw table
    <name>_staging.<name> that a dump with dataset_id=table_id=<name> loads."""
    source = "{{ source('" + name + "_staging', '" + name + "') }}"
    return {
        f"{name}.sql": (
            f"-- Builds {name}.{name} from the raw table the project's dump loads.\n"
            f"select *\nfrom {source}\n"
        ),
        "schema.yml": (
            "version: 2\n\n"
            "sources:\n"
            f"  - name: {name}_staging\n"
            "    tables:\n"
            f"      - name: {name}\n"
            f"        description: Raw rows loaded by a dump with dataset_id={name!r}.\n\n"
            "models:\n"
            f"  - name: {name}\n"
            "    description: TODO what one row is.\n"
        ),
    }


def _write_model(folder: Path, name: str) -> None:
    folder.mkdir()
    for file_name, text in model_files(name).items():
        (folder / file_name).write_text(text, encoding="utf-8")


def model_dir(repo: Repo, name: str) -> Path:
    """The dbt model folder `add-project --with-model` makes for a project."""
    return repo.root / "queries" / "models" / name


def split_project(name: str) -> tuple[str, str]:
    """(group, project) of `project` or `group/project` ("" when not grouped).

    Raises:
        CommandError: More than one group level, or an empty part.
    """
    if "/" not in name:
        return "", name  # an empty name is the name rules' to refuse
    parts = name.split("/")
    if len(parts) > 2 or not all(parts):
        raise CommandError(
            f"Invalid project {name!r}: give NAME or GROUP/NAME (one group level), e.g. "
            "meteorologia_inmet or meteorologia/meteorologia_inmet."
        )
    return ("", parts[0]) if len(parts) == 1 else (parts[0], parts[1])


def group_init_text(org: str, group: str) -> str:
    """The __init__.py add-project writes in a new group folder."""
    return f'"""The {group} projects of the {org} org."""\n'


def _project_context(repo: Repo, name: str, org: str, owners: list[str]) -> dict[str, str]:
    _, leaf = split_project(name)
    return {
        "project_name": leaf,
        "org": org,
        "project_module": project_module(org, name),
        "flow_name": f"{repo.display_name(org)}: {leaf}",
        "code_owners": json.dumps(owners),  # a JSON list of strings is a Python literal too
    }


def _owners_in(constants: Path) -> list[str]:
    """The CODE_OWNERS list a project's constants.py holds as a literal, else none (so a
    project add-project made with --owner still compares equal to its render)."""
    try:
        tree = ast.parse(constants.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return []
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == "CODE_OWNERS" for t in targets):
                try:
                    found = ast.literal_eval(node.value) if node.value else []
                except ValueError:
                    return []
                if isinstance(found, list) and all(isinstance(o, str) for o in found):
                    return found
    return []


def _add_project(
    repo: Repo, name: str, org: str, with_model: bool = False, owners: Sequence[str] = ()
) -> Created:
    require_org(repo, org)
    group, leaf = split_project(name)
    validate_new_name(repo, leaf, "project")
    if group and group not in repo.groups(org):
        validate_new_name(repo, group, "group")
    for owner in owners:
        problem = check_owner(owner)
        if problem:
            raise CommandError(problem)
    handles = list(dict.fromkeys(o.removeprefix("@") for o in owners))
    context = _project_context(repo, name, org, handles)
    package = repo.project_dir(org, name)
    tests = repo.project_tests(org, name)
    models = model_dir(repo, leaf)
    for target in (package, tests, *([models] if with_model else [])):
        if target.exists():
            raise CommandError(f"{target.relative_to(repo.root)} already exists; remove it first.")
    init = repo.org_init(org)
    group_init = package.parent / "__init__.py"
    with tempfile.TemporaryDirectory(prefix="pipelines-scaffold-") as tmp:
        rendered = _render(repo, "project", context, Path(tmp)) / leaf
        if with_model:
            _write_model(rendered / "model", leaf)
        with Transaction(repo.root, f"add-project {name} --org {org}") as tx:
            tx.move_tree(rendered / "project", package)
            if group and not group_init.exists():
                tx.write_text(group_init, group_init_text(org, group))
            tx.move_tree(rendered / "tests", tests)
            if with_model:
                tx.move_tree(rendered / "model", models)
            tx.write_text(init, _with_line(read_source(init), project_import_line(org, name)))
    created = [_rel(repo, package) + "/", _rel(repo, tests) + "/"]
    return Created(
        created=created + ([_rel(repo, models) + "/"] if with_model else []),
        edited=[_rel(repo, init)],
    )


def _add_org(repo: Repo, name: str) -> Created:
    """Render the org template and import it from pipelines/flows.py."""
    validate_new_name(repo, name, "org")
    package = repo.package / name
    if package.exists():
        raise CommandError(f"{_rel(repo, package)} already exists; remove it first.")
    with tempfile.TemporaryDirectory(prefix="pipelines-scaffold-") as tmp:
        rendered = _render(repo, "org", {"org": name}, Path(tmp)) / name
        with Transaction(repo.root, f"add-org {name}") as tx:
            tx.move_tree(rendered, package)
            flows = repo.flows_module
            tx.write_text(flows, _with_line(read_source(flows), org_import_line(name)))
    return Created(created=[_rel(repo, package) + "/"], edited=[_rel(repo, repo.flows_module)])


def _remove_project(repo: Repo, name: str, org: str) -> Created:
    """Undo add_project: remove the package, its tests, its model folder and its import line."""
    require_org(repo, org)
    package = repo.project_dir(org, name)
    if name not in repo.projects(org):
        elsewhere = [o for o, projects in repo.tree().items() if name in projects]
        hint = f" It lives in org '{elsewhere[0]}': pass --org {elsewhere[0]}." if elsewhere else ""
        raise CommandError(f"Project '{name}' does not exist in org '{org}'.{hint}")
    tests = repo.project_tests(org, name)
    group, leaf = split_project(name)
    model = model_dir(repo, leaf)
    init = repo.org_init(org)
    removed = [_rel(repo, package) + "/"]
    source = read_source(init)
    edited = _without_import(source, project_module(org, name), _rel(repo, init))
    # The group folder goes with its last project, when it holds only what add-project wrote.
    siblings = [p for p in repo.projects(org) if group and p != name and p.startswith(f"{group}/")]
    folder_of_group = package.parent
    lone_group = (
        group
        and not siblings
        and {p.name for p in folder_of_group.iterdir()} - {"__pycache__"} == {"__init__.py", leaf}
        and read_source(folder_of_group / "__init__.py") == group_init_text(org, group)
    )
    # Every step is journaled first: a kill at any point is undone by the next command.
    with Transaction(repo.root, f"remove-project {name} --org {org}") as tx:
        tx.write_text(init, edited)
        tx.remove_tree(folder_of_group if lone_group else package)
        if lone_group:
            removed[0] = _rel(repo, folder_of_group) + "/"
        for folder in (tests, model):
            if folder.exists():
                tx.remove_tree(folder)
                removed.append(_rel(repo, folder) + "/")
    # add-project may have created tests/pipelines/<org>/ for this project alone.
    _remove_empty_parents(tests.parent, repo.root / "tests")
    return Created(created=removed, edited=[_rel(repo, init)])


def unsaved_work(repo: Repo, name: str, org: str) -> list[str]:
    """Files of a project (its package, tests and model folder) that only this working tree
    holds and that are not what add-project wrote.

    In a git checkout: files that are untracked or differ from HEAD (committed work can be
    brought back from history), unless byte-for-byte what the project template renders (a
    project just added, nothing edited). Elsewhere: files that differ from that render.
    """
    owners = _owners_in(repo.project_dir(org, name) / "constants.py")
    context = _project_context(repo, name, org, owners)
    _, leaf = split_project(name)
    with tempfile.TemporaryDirectory(prefix="pipelines-compare-") as tmp:
        rendered = _render(repo, "project", context, Path(tmp)) / leaf
        _write_model(rendered / "model", leaf)
        pristine = {
            repo.project_dir(org, name): rendered / "project",
            repo.project_tests(org, name): rendered / "tests",
            model_dir(repo, leaf): rendered / "model",
        }
        return _changed_files(repo, pristine)


def unsaved_org_work(repo: Repo, org: str) -> list[str]:
    """Files of an org package (and its test folder) that only this working tree holds and
    that are not what add-org wrote (as unsaved_work does for a project)."""
    with tempfile.TemporaryDirectory(prefix="pipelines-compare-") as tmp:
        rendered = _render(repo, "org", {"org": org}, Path(tmp)) / org
        pristine = {repo.package / org: rendered, repo.root / "tests" / "pipelines" / org: None}
        return _changed_files(repo, pristine)


def _changed_files(repo: Repo, pristine: Mapping[Path, Path | None]) -> list[str]:
    """Files under each folder that are not byte for byte what the folder's pristine render
    holds (None: nothing is pristine), whether git tracks, ignores or has never seen them:
    a committed report, an ignored .env are the user's as much as a new file. In a git
    checkout each is labelled (untracked, uncommitted, ignored or committed)."""
    folders = [folder for folder in pristine if folder.exists()]
    if not folders:
        return []
    status = _git_status(repo, folders)
    changed = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue  # bytecode Python writes again
            where = _rel(repo, path)
            render = pristine[folder]
            original = render / path.relative_to(folder) if render else None
            pristine_copy = original is not None and original.is_file()
            if pristine_copy and original.read_bytes() == path.read_bytes():  # type: ignore[union-attr]
                continue
            changed.append(f"{where} ({_label(status, where)})" if status is not None else where)
    return changed


def _git_status(repo: Repo, folders: list[Path]) -> dict[str, str] | None:
    """Files under folders that git holds otherwise than committed (path from the root ->
    untracked | uncommitted | ignored), or None when repo is not a git work tree."""
    import subprocess

    try:
        result = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all", "--ignored=matching",
             "--", *map(str, folders)],
            cwd=repo.root, capture_output=True, text=True, check=True,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    top = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=repo.root, capture_output=True, text=True
    ).stdout.strip()
    if Path(top).resolve() != repo.root.resolve():
        return None  # a folder inside another repository: compare with the template
    found = {}
    labels = {"??": "untracked", "!!": "ignored"}
    for line in result.stdout.splitlines():
        path = line[3:].strip().strip('"')
        if "__pycache__" in path:
            continue
        found[path] = labels.get(line[:2], "uncommitted")
    return found


def _label(status: dict[str, str], where: str) -> str:
    """A file's git state; git names an ignored or untracked folder once, with a '/'."""
    if where in status:
        return status[where]
    folders = [p for p in status if p.endswith("/") and where.startswith(p)]
    return status[max(folders, key=len)] if folders else "committed"


def importers(repo: Repo, package: str) -> list[str]:
    """Modules outside `package` (and its org's list of projects) that import it or one of
    its modules: removing the package would break each of them."""
    from pipelines.utils.deploy.graph import ModuleGraph

    graph = ModuleGraph.build(repo.root, cache=False)  # a refusal writes nothing
    org = ".".join(package.split(".")[:2])  # pipelines.<org>, above any group

    def inside(name: str) -> bool:
        return name == package or name.startswith(package + ".")

    return sorted(
        module
        for module in graph.files
        if not inside(module)
        and module != org
        and any(inside(n) for n in graph.imports[module] | graph.unresolved.get(module, set()))
    )


def _remove_org(repo: Repo, name: str) -> Created:
    """Undo add_org: remove an org that has no projects, and its import line."""
    if name not in repo.orgs():
        listed = ", ".join(repo.orgs()) or "none"
        raise CommandError(f"Org '{name}' does not exist (existing orgs: {listed}).")
    projects = repo.projects(name)
    if projects:
        raise CommandError(
            f"Org '{name}' still has projects ({', '.join(projects)}); remove each first with "
            f"`python manage.py remove-project PROJECT --org {name}`."
        )
    package = repo.package / name
    tests = repo.root / "tests" / "pipelines" / name
    flows = repo.flows_module
    edited = _without_import(read_source(flows), f"pipelines.{name}", _rel(repo, flows))
    removed = [_rel(repo, package) + "/"]
    with Transaction(repo.root, f"remove-org {name}") as tx:
        tx.write_text(flows, edited)
        tx.remove_tree(package)
        if tests.exists():
            tx.remove_tree(tests)
            removed.append(_rel(repo, tests) + "/")
    return Created(created=removed, edited=[_rel(repo, flows)])


def _render(repo: Repo, template: str, context: dict[str, str], output: Path) -> Path:
    # cookiecutter pulls in jinja2; import it only for the commands that render.
    from cookiecutter.main import cookiecutter

    source = repo.root / "templates" / template
    if not (source / "cookiecutter.json").is_file():
        raise CommandError(
            f"Template folder {_rel(repo, source)} is missing its cookiecutter.json."
        )
    cookiecutter(
        str(source),
        no_input=True,
        extra_context=context,
        output_dir=str(output),
        default_config=True,
        accept_hooks=False,
    )
    return output


def _with_line(source: str, line: str) -> str:
    """Insert an import line in sorted place; editing twice never duplicates it."""
    lines = source.splitlines()
    if line in lines:
        return source
    imports = [i for i, existing in enumerate(lines) if existing.startswith(("import ", "from "))]
    if not imports:
        # a blank line between the docstring and the first import, as ruff format wants
        return (source.rstrip("\n") + "\n\n" if source.strip() else "") + line + "\n"
    position = imports[-1] + 1
    for index in imports:
        if lines[index] > line:
            position = index
            break
    lines.insert(position, line)
    return "\n".join(lines) + "\n"


def _without_import(source: str, package: str, where: str) -> str:
    """Remove the statements of a module that import package, however formatted (an org
    __init__ importing a project, pipelines/flows.py importing an org).

    A statement is found by what it imports (`import pipelines.o.p.flows  # comment`,
    `from pipelines.o.p import flows as x`, `from .p import flows`, over several lines) and
    removed with exactly the lines it spans.

    Raises:
        CommandError: A statement also imports something else, shares a line with another
            statement, or is the only statement of a block (removing it would leave the file
            unparseable), or the file does not parse; the message names the line to edit.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise CommandError(
            f"{where} does not parse (line {error.lineno}: {error.msg}); fix it, then rerun."
        ) from None
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    statements = [node for node in ast.walk(tree) if isinstance(node, ast.stmt)]
    project = package.rsplit(".", 1)[1]  # as messages name it
    ours = [node for node in statements if _imports_package(node, package, where)]
    lines = source.splitlines(keepends=True)
    drop: set[int] = set()
    for node in ours:
        assert node.end_lineno is not None and node.end_col_offset is not None
        # Offsets count UTF-8 bytes.
        before = lines[node.lineno - 1].encode()[: node.col_offset].decode()
        after = lines[node.end_lineno - 1].encode()[node.end_col_offset :].decode().strip()
        if before.strip() or (after and not after.startswith("#")):
            raise CommandError(
                f"{where}:{node.lineno} imports {project} on a line it shares with other code; "
                "put the import on a line of its own (or remove it by hand), then rerun."
            )
        block = _block_of(node, parents.get(node))
        if block is not None and all(sibling in ours for sibling in block):
            header = getattr(parents[node], "lineno", "?")
            raise CommandError(
                f"{where}:{node.lineno} imports {project} as the only statement of the block "
                f"at line {header} (removing it would leave the file unparseable); edit that "
                "block by hand, then rerun."
            )
        drop.update(range(node.lineno - 1, node.end_lineno))
    kept = "".join(line for index, line in enumerate(lines) if index not in drop)
    if not _import_lines(kept):
        kept = kept.rstrip("\n") + "\n" if kept.strip() else ""
    try:
        ast.parse(kept)
    except SyntaxError as error:  # a case the checks above missed: never write it
        raise CommandError(
            f"{where}: removing the import of {project} would leave the file unparseable "
            f"(line {error.lineno}: {error.msg}); remove it by hand, then rerun."
        ) from None
    return kept


def _imports_package(node: ast.stmt, package: str, where: str) -> bool:
    """Whether an import statement imports package (and only it), read as `check` reads it
    (discover.statement_imports); relative imports from the package's parent, the package
    of the file that imports it."""
    here, project = package.rsplit(".", 1)
    names = statement_imports(node, here)
    ours = [n for n in names if n == package or n.startswith(package + ".")]
    if ours and len(ours) != len(names):
        raise CommandError(
            f"{where}:{node.lineno} imports {project} together with other modules; remove "
            f"{project} from that statement by hand, then rerun."
        )
    return bool(ours)


def _block_of(node: ast.stmt, parent: ast.AST | None) -> list[ast.stmt] | None:
    """The statement list (body, else, finally, ...) of a compound statement holding node;
    None at module level, where an empty file is fine."""
    if parent is None or isinstance(parent, ast.Module):
        return None
    for _field, value in ast.iter_fields(parent):
        if isinstance(value, list) and node in value:
            return value
    return None


def _import_lines(source: str) -> list[str]:
    return [ln for ln in source.splitlines() if ln.startswith(("import ", "from "))]


def _rel(repo: Repo, path: Path) -> str:
    return str(path.relative_to(repo.root))


def _remove_empty_parents(path: Path, stop: Path) -> None:
    """Delete empty folders from path upwards, stopping at stop."""
    while path != stop and path.is_dir() and not any(path.iterdir()):
        path.rmdir()
        path = path.parent


def _locked(repo: Repo, change: Callable[[], Created]) -> Created:
    """Run a tree change holding the repo's lock, after undoing any command killed midway."""
    with repo_lock(repo.root):
        recovered = recover(repo.root)
        result = change()
    return dataclasses.replace(result, recovered=recovered)


def add_project(
    repo: Repo, name: str, org: str, with_model: bool = False, owners: Sequence[str] = ()
) -> Created:
    """Render the project template and wire it into its org (under the repo's lock).

    Args:
        repo: The repository to change.
        name: A project name, or group/name for a project in a group folder.
        org: An existing org.
        with_model: Also create the dbt model queries/models/<name>/<name>.sql.
        owners: GitHub handles for CODE_OWNERS ('@' optional).

    Returns:
        The files and folders created and the files edited.

    Raises:
        CommandError: The name, org or an owner is invalid, or the target already exists.
    """
    return _locked(repo, lambda: _add_project(repo, name, org, with_model, owners))


def add_org(repo: Repo, name: str) -> Created:
    """Render the org template and import it from pipelines/flows.py (under the repo's lock)."""
    return _locked(repo, lambda: _add_org(repo, name))


def remove_org(repo: Repo, name: str) -> Created:
    """Undo add_org for an org without projects (under the repo's lock)."""
    return _locked(repo, lambda: _remove_org(repo, name))


def remove_project(repo: Repo, name: str, org: str) -> Created:
    """Undo add_project (under the repo's lock)."""
    return _locked(repo, lambda: _remove_project(repo, name, org))
