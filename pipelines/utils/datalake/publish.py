"""Publishing a table's new files: the one step every writer (DataFrames, dumps, downloads)
shares once its rows are written and checked locally.

Order matters: files a sync_all_columns write keeps are rewritten first (a value that would
change refuses the write before anything is published); then each partition is swapped in
whole; then, for an overwrite, partitions the rows no longer have are deleted (a crash never
empties the table); last, the schema history takes the change.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.errors import SchemaContractError
from pipelines.utils.datalake.base import Datalake
from pipelines.utils.datalake.schema import SchemaPlan, record, rewrite_kept


def publish_files(
    datalake: Datalake,
    prefix: str,
    files: dict[str, dict[str, Path]],
    mode: str,
    partitioned: bool,
    plan: SchemaPlan,
    folder: Path,
    move: bool = False,
) -> list[str]:
    """Put a write's local files in the table's folder.

    Args:
        datalake: Where the table lives.
        prefix: The table's folder, <dataset_id>/<table_id>.
        files: Partition path ('' for the table's own folder) -> {file name: local file}.
        mode: "append" keeps the partitions not written (an unpartitioned table gets its
            files added); "overwrite" makes the table exactly these files.
        partitioned: The table is partitioned (an overwrite deletes partitions not written).
        plan: The write's schema plan; its history entry is recorded last.
        folder: Scratch space for rewritten files.
        move: The local files may be moved (they are the write's own staging files).

    Returns:
        The keys written.

    Raises:
        SchemaContractError: sync_all_columns must rewrite kept files and a value would change,
            or they are CSV.
    """
    files = {where: dict(group) for where, group in files.items()}
    whole_folder = mode == "overwrite"
    if plan.rewrite and mode == "append":
        kept = [k for k in datalake.list_keys(prefix) if _folder(prefix, k) not in files or
                not partitioned]  # fmt: skip
        if any(k.endswith(".csv") for k in kept):
            raise SchemaContractError(
                f"{prefix}: on_schema_change='sync_all_columns' rewrites the partitions a "
                "write keeps, and this table's files are CSV, which keep no types. Nothing was "
                "published. Rebuild it with mode='overwrite', or write Parquet."
            )
        for where, group in rewrite_kept(datalake, prefix, kept, plan.table, folder).items():
            files.setdefault(where, {}).update(group)
        whole_folder = whole_folder or not partitioned
        move = True  # rewritten files are this write's own
    keys: list[str] = []
    for where in sorted(files):
        group = files[where]
        if where:
            keys += datalake.replace_prefix(f"{prefix}/{where}", group, move=move)
        elif whole_folder:
            keys += datalake.replace_prefix(prefix, group, move=move)
        else:
            keys += [datalake.put(f"{prefix}/{name}", path) for name, path in group.items()]
    if mode == "overwrite" and partitioned and files:
        for stale in sorted(set(datalake.partitions(prefix)) - set(files)):
            datalake.delete_prefix(f"{prefix}/{stale}")
    record(datalake, prefix, plan, mode, folder)
    return keys


def _folder(prefix: str, key: str) -> str:
    """The partition path of a key under its table ('' for the table's own folder)."""
    return key[len(prefix) + 1 :].rpartition("/")[0]
