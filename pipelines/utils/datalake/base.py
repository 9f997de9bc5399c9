"""The Datalake interface and the layout of tables in it."""

from __future__ import annotations

import datetime as dt
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.constants import DEFAULT_LOCK_TIMEOUT_S
from pipelines.errors import DatalakeError, TableNameError

# Hive-style partitions with basedosdados' names, so BigQuery external tables read them as is.
PARTITION_KEYS = ("ano", "mes", "data")
# append: replace the partitions the rows touch, keep the others; overwrite: exactly these rows.
MODES = ("overwrite", "append")


@dataclass(frozen=True)
class DatalakeWrite:
    """What a write put in the datalake."""

    dataset_id: str
    table_id: str
    location: str
    rows: int
    partitions: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    # Column types (DuckDB type names) of CSV files, which do not carry types themselves.
    columns: dict[str, str] = field(default_factory=dict)
    # "append": only `partitions` changed; "overwrite": the folder was replaced whole.
    mode: str = "overwrite"


# The one rule for dataset_id and table_id, in the datalake, DuckDB and BigQuery alike: an
# identifier every engine takes unquoted, which also keeps keys free of '/' and '..'.
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,1023}")


def check_table_name(label: str, value: str) -> str:
    """Return `value` if it is a valid dataset_id or table_id.

    Raises:
        TableNameError: It is empty, too long, has characters other than letters, digits
            and underscores, or starts with a digit.
    """
    if not isinstance(value, str) or not _TABLE_NAME.fullmatch(value):
        raise TableNameError(
            f"{label}={value!r} is not a valid table or dataset name: use letters, digits and "
            "underscores, not starting with a digit (at most 1024), e.g. 'rain_per_hour'."
        )
    return value


# The project's own folders in the datalake, beside the datasets: zipped CSV exports
# (dump_to_gcs) and every folder starting with '_' (alert state is _alerts/). A dataset of
# one of these names would replace or delete them, so none may be used.
EXPORTS_FOLDER = "exports"
OWN_FOLDER_MARK = "_"


def table_prefix(dataset_id: str, table_id: str) -> str:
    """Where a table's files live: <dataset_id>/<table_id>.

    Raises:
        TableNameError: Either name breaks the naming rule (check_table_name), or the dataset
            would share a folder of the project's own (exports/, _alerts/ ...).
    """
    check_table_name("dataset_id", dataset_id)
    if dataset_id.lower() == EXPORTS_FOLDER or dataset_id.startswith(OWN_FOLDER_MARK):
        raise TableNameError(
            f"dataset_id={dataset_id!r} is reserved: the datalake keeps its own files under "
            f"{EXPORTS_FOLDER}/ and folders starting with '{OWN_FOLDER_MARK}', and a table there "
            "would replace them. Choose another dataset name, e.g. "
            f"'{dataset_id.strip('_') or 'my'}_data'."
        )
    return f"{dataset_id}/{check_table_name('table_id', table_id)}"


# Used instead when the table has its own column named like a key (ano, mes and data are
# common column names here): a partition key never shadows or overwrites a column.
SUFFIXED_KEYS = tuple(f"{key}_particao" for key in PARTITION_KEYS)


# How coarse a table's partitions are: a folder per year (ano=), month (ano=/mes=) or day.
GRAINS = ("year", "month", "day")


def grain_depth(partition_by: str) -> int:
    """How many partition folder levels a grain has (year 1, month 2, day 3).

    Raises:
        DatalakeError: Not one of GRAINS.
    """
    if partition_by not in GRAINS:
        raise DatalakeError(
            f"partition_by={partition_by!r} must be one of {', '.join(GRAINS)}: a folder per "
            "year (ano=), per month (ano=/mes=) or per day (ano=/mes=/data=)."
        )
    return GRAINS.index(partition_by) + 1


def partition_columns(partition_column: str, partition_by: str | None = None) -> tuple[str, ...]:
    """The column(s) a table partitions by: one date, timestamp or (by year) whole-number
    year column, or, by month, two whole-number columns "year,month" (a budget's
    "exercicio,mes").

    Raises:
        DatalakeError: More than two columns, an empty name, or two columns at another grain
            (partition_by None: the grain was checked already).
    """
    names = tuple(name.strip() for name in str(partition_column).split(","))
    if len(names) > 2 or not all(names):
        raise DatalakeError(
            f"partition_column={partition_column!r} must name one column, or two (year,month) "
            "with partition_by='month'."
        )
    if len(names) == 2 and partition_by not in (None, "month"):
        raise DatalakeError(
            f"partition_column={partition_column!r} names a year and a month column: they "
            "partition with partition_by='month'."
        )
    return names


def partition_keys(columns: Iterable[str], partition_by: str = "day") -> tuple[str, ...]:
    """The partition folder names for a table with these columns, at this grain.

    Raises:
        DatalakeError: The table has columns named like both sets of keys, or an unknown
            grain.
    """
    depth = grain_depth(partition_by)
    names = {column.lower() for column in columns}
    for keys in (PARTITION_KEYS, SUFFIXED_KEYS):
        if not names & set(keys[:depth]):
            return keys[:depth]
    raise DatalakeError(
        "the table has columns named like the partition keys ano/mes/data and "
        "ano_particao/mes_particao/data_particao; rename one in a query= (SELECT ... AS ...)."
    )


def partition_path(day: dt.date, keys: tuple[str, ...] = PARTITION_KEYS) -> str:
    """The partition folder of a day at the grain `keys` has: ano=2024/mes=01/data=2024-01-31,
    ano=2024/mes=01 or ano=2024."""
    values = (str(day.year), f"{day.month:02d}", day.isoformat())
    return "/".join(f"{key}={value}" for key, value in zip(keys, values, strict=False))


def partition_start(partition: str) -> dt.date | None:
    """The first day a partition folder holds (ano=2024/mes=03 -> 2024-03-01); None for the
    NULL partition or a folder that names no day."""
    values = [part.split("=", 1)[1] for part in partition.split("/") if "=" in part]
    if not values or "__HIVE_DEFAULT_PARTITION__" in values:
        return None
    try:
        if len(values) >= 3:
            return dt.date.fromisoformat(values[2])
        return dt.date(int(values[0]), int(values[1]) if len(values) == 2 else 1, 1)
    except ValueError:
        return None


def null_partition(keys: tuple[str, ...] = PARTITION_KEYS) -> str:
    """The partition folder of rows whose partition column is NULL (Hive's default name)."""
    return "/".join(f"{key}=__HIVE_DEFAULT_PARTITION__" for key in keys)


class Datalake(ABC):
    """Files addressed by slash-separated keys. Writes of a prefix replace it as a whole."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the datalake is, for humans: a folder or gs://bucket."""

    @abstractmethod
    def uri(self, key: str) -> str:
        """The address of one key (a local path or gs://bucket/key)."""

    @abstractmethod
    def list_keys(self, prefix: str) -> list[str]:
        """Keys under prefix, sorted."""

    @abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The content of one key.

        Raises:
            FileNotFoundError: No such key.
        """

    @abstractmethod
    def size(self, key: str) -> int:
        """The size in bytes of one key, without reading it.

        Raises:
            FileNotFoundError: No such key.
        """

    @abstractmethod
    def replace_prefix(self, prefix: str, files: dict[str, Path], move: bool = False) -> list[str]:
        """Make prefix hold exactly `files` (name -> local file), dropping what was there.

        Args:
            prefix: The folder to replace, e.g. a partition.
            files: File name under prefix -> local file to upload.
            move: The local files may be moved instead of copied (they are staging files).

        Returns:
            The keys written.
        """

    @abstractmethod
    def put(self, key: str, source: Path) -> str:
        """Upload one local file to key; returns the key."""

    def local_file(self, key: str, folder: Path) -> Path:
        """A local file holding the key's content: the file itself where the datalake is a
        folder, else a download into `folder` (streamed, never held in memory whole)."""
        target = folder / key.replace("/", "__")
        target.write_bytes(self.read_bytes(key))
        return target

    def partitions(self, prefix: str) -> list[str]:
        """Partition folders (ano=[/mes=[/data=]]) holding files under a table prefix, sorted."""
        found = set()
        for key in self.list_keys(prefix):
            relative = key[len(prefix) + 1 :]
            if relative.startswith(
                tuple(f"{keys[0]}=" for keys in (PARTITION_KEYS, SUFFIXED_KEYS))
            ):  # the folders above the file, whatever the grain
                found.add("/".join(p for p in relative.split("/")[:-1] if "=" in p))
        return sorted(found)

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every key under prefix; returns how many."""

    # A table's write and its warehouse load succeed or fail together where the datalake
    # can keep the folder as it was (the local one); elsewhere these do nothing.
    keeps_unloaded_writes = False

    def begin_write(self, prefix: str, timeout: float = DEFAULT_LOCK_TIMEOUT_S) -> None:  # noqa: B027
        """Keep what a table's folder holds now until settle() says whether it was loaded;
        another run's unsettled write of the same table is waited for up to timeout s."""

    def settle(self, prefix: str, loaded: bool) -> None:  # noqa: B027 (optional)
        """After a load: loaded, forget the kept folder; not loaded, put it back."""

    def has_ended_writes(self) -> bool:
        """Whether a run of this process ended between a write and its load."""
        return False

    def pending_writes(self) -> dict[str, str]:
        """Table prefixes written by a run that ended before settle(), each with the id of its
        write (which the warehouse records when it loads it)."""
        return {}

    def write_id(self, prefix: str) -> str | None:
        """The id of the unsettled write of a table prefix, if any."""
        return None
