"""The warehouse on BigQuery (dev and prod), through google-cloud-bigquery.

Each load makes two tables from the datalake folder gs://<bucket>/<prefix>/<dataset>/<table>/:
- `<dataset>_staging.<table>`: an external table over the files (Hive partitions read as
  ano INT64, mes INT64, data DATE), recreated on every load so it always shows the folder;
- `<dataset>.<table>`: a native table with the same columns, partitioned by the date key
  where the dump was partitioned, filled by BigQuery from the staging table.

basedosdados is not used here: its Table.create (2.0.0-2.0.3) fails without a sample file
(UnboundLocalError), declares every staging column STRING from a sample, and calls its own
backend API; google-cloud-bigquery gives BigQuery's own Parquet types and one atomic statement
per load.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.errors import MissingSettingError, ServiceUnreachableError, WarehouseError
from pipelines.settings import Settings
from pipelines.utils.datalake.base import (
    PARTITION_KEYS,
    SUFFIXED_KEYS,
    Datalake,
    check_table_name,
)
from pipelines.utils.naming import staging_dataset
from pipelines.utils.warehouse.base import LoadedTable, Preview, TableFiles, Warehouse

if TYPE_CHECKING:
    import pandas as pd

# The API names a type in its legacy words or its standard SQL ones, by table kind.
_STANDARD_TYPES = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL", "RECORD": "STRUCT"}


def same_schema(left: Iterable[Any], right: Iterable[Any]) -> bool:
    """Whether two schemas (lists of SchemaField) have the same columns, in order, with types
    of the same meaning (INTEGER is INT64) and the same modes (NULLABLE when unset)."""

    def meaning(fields: Iterable[Any]) -> list[tuple]:
        return [
            (
                field.name.lower(),
                _STANDARD_TYPES.get(field.field_type.upper(), field.field_type.upper()),
                (field.mode or "NULLABLE").upper(),
                meaning(field.fields) if field.fields else [],
            )
            for field in fields
        ]

    return meaning(left) == meaning(right)


# BigQuery allows 4,000 partitions per table: longer histories are partitioned by month.
MAX_DAY_PARTITIONS = 3_650
# DuckDB type names (CSV dumps declare them) -> BigQuery types.
_CSV_TYPES = {
    "BOOLEAN": "BOOL",
    "TINYINT": "INT64",
    "SMALLINT": "INT64",
    "INTEGER": "INT64",
    "BIGINT": "INT64",
    "UTINYINT": "INT64",
    "USMALLINT": "INT64",
    "UINTEGER": "INT64",
    "FLOAT": "FLOAT64",
    "DOUBLE": "FLOAT64",
    "DATE": "DATE",
    "TIME": "TIME",
    "TIMESTAMP": "DATETIME",
    "TIMESTAMP_S": "DATETIME",
    "TIMESTAMP_MS": "DATETIME",
    "TIMESTAMP_NS": "DATETIME",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    "VARCHAR": "STRING",
    "BLOB": "BYTES",
    "UBIGINT": "NUMERIC",
    "HUGEINT": "BIGNUMERIC",
    "UUID": "STRING",
    "JSON": "STRING",
}


def csv_column_type(duckdb_type: str) -> str:
    """The BigQuery type of a column declared with a DuckDB type name (STRING for a type
    BigQuery has no scalar for, and for a column of NULLs only)."""
    upper = duckdb_type.upper()
    if upper.startswith("DECIMAL"):
        precision, _, scale = upper[len("DECIMAL(") : -1].partition(",")
        fits = int(precision) - int(scale or 0) <= 29 and int(scale or 0) <= 9
        return "NUMERIC" if fits else "BIGNUMERIC"
    return _CSV_TYPES.get(upper, "STRING")


def _scalar(duckdb_type: str) -> bool:
    """Whether a DuckDB type is one value (not a list, struct or map)."""
    upper = duckdb_type.upper()
    return not (upper.endswith("]") or upper.startswith(("STRUCT", "MAP", "UNION")))


def partition_layout(keys: Iterable[str]) -> tuple[str, ...] | None:
    """The partition key names the files use (ano[/mes[/data]] or the _particao ones, at the
    grain the folders have), or None."""
    keys = list(keys)
    for names in (PARTITION_KEYS, SUFFIXED_KEYS):
        present = tuple(n for n in names if any(f"/{n}=" in f"/{key}" for key in keys))
        if present:
            return present
    return None


def partitioning(layout: tuple[str, ...] | None, keys: Iterable[str]) -> str:
    """The PARTITION BY (and CLUSTER BY) of a table whose files have these partition keys:
    by day on its date (by month past MAX_DAY_PARTITIONS days); by year or month, an integer
    range per year of `ano`, months clustered."""
    if not layout:
        return ""
    if len(layout) < 3:
        cluster = f"CLUSTER BY {layout[1]} " if len(layout) == 2 else ""
        return f"PARTITION BY RANGE_BUCKET({layout[0]}, GENERATE_ARRAY(1900, 2200, 1)) {cluster}"
    date_key = layout[2]
    count = len({k.split(f"{date_key}=")[1].split("/")[0] for k in keys if date_key in k})
    if count <= MAX_DAY_PARTITIONS:
        return f"PARTITION BY {date_key} "
    return f"PARTITION BY DATE_TRUNC({date_key}, MONTH) "


def _partition_values(partition: str) -> list[str]:
    return [part.split("=", 1)[1] for part in partition.split("/") if "=" in part]


class BigQueryWarehouse(Warehouse):
    """Tables <dataset_id>.<table_id> in the BigQuery project of the settings.

    Args:
        settings: Read for PIPELINES_BIGQUERY_PROJECT, _LOCATION and _API_ENDPOINT.
        client: A google.cloud.bigquery.Client to use instead of one built from settings.
    """

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self.project = settings.require("PIPELINES_BIGQUERY_PROJECT")
        self.dataset_location = settings.require("PIPELINES_BIGQUERY_LOCATION")
        self.endpoint = settings.get("PIPELINES_BIGQUERY_API_ENDPOINT")
        self.public_project = settings.get("PIPELINES_PUBLIC_BIGQUERY_PROJECT")
        self._client = client
        from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY, DEFAULT_RETRY

        # An emulator is local: an error there is not worth BigQuery's 10 minutes of retries.
        seconds = 10.0 if self.endpoint else None
        self._api = {"retry": DEFAULT_RETRY.with_deadline(seconds) if seconds else DEFAULT_RETRY}
        job_retry = DEFAULT_JOB_RETRY.with_deadline(seconds) if seconds else DEFAULT_JOB_RETRY
        self._job = {**self._api, "job_retry": job_retry}

    @property
    def client(self) -> Any:
        if self._client is None:
            from google.cloud import bigquery

            if self.endpoint:  # an emulator: no Google credentials involved
                from google.api_core.client_options import ClientOptions
                from google.auth.credentials import AnonymousCredentials

                self._client = bigquery.Client(
                    project=self.project,
                    credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                    client_options=ClientOptions(api_endpoint=self.endpoint),
                )
            else:
                self._client = bigquery.Client(project=self.project)
        return self._client

    @property
    def location(self) -> str:
        return f"bigquery://{self.project}"

    @property
    def reads_from(self) -> type[Datalake]:
        from pipelines.utils.datalake.gcs import GCSDatalake

        return GCSDatalake

    def _table(self, dataset_id: str, table_id: str) -> str:
        return f"`{self.project}.{dataset_id}.{table_id}`"

    def _load(
        self, datalake: Datalake, files: TableFiles, partitions: list[str] | None
    ) -> LoadedTable:
        from google.api_core.exceptions import NotFound

        dataset_id, table_id, keys = files.dataset_id, files.table_id, files.keys
        layout = partition_layout(keys)
        staging = self._create_staging(
            datalake.uri(files.prefix), staging_dataset(dataset_id), table_id, layout,
            files.columns if files.format == "csv" else None, files.declared,
        )  # fmt: skip
        self._ensure_dataset(dataset_id)
        try:
            current = self.client.get_table(f"{self.project}.{dataset_id}.{table_id}", **self._api)
        except NotFound:
            current = None
        touched = list(partitions or [])
        same = current is not None and same_schema(current.schema, staging.schema)
        target, source = (
            self._table(dataset_id, table_id),
            self._table(staging.dataset_id, table_id),
        )
        if layout and touched and same:
            self.client.query_and_wait(
                self._replace_partitions(target, source, staging, layout, touched), **self._job
            )
        else:
            partition_by = partitioning(layout, keys)
            self.client.query_and_wait(
                f"CREATE OR REPLACE TABLE {target} {partition_by}AS SELECT * FROM {source}",
                **self._job,
            )
        rows = self.row_count(dataset_id, table_id)
        name = f"{dataset_id}.{table_id}"
        return LoadedTable(
            table=name,
            location=(
                f"BigQuery table {self.project}.{name} ({rows} rows), over the external table "
                f"{self.project}.{dataset_id}_staging.{table_id}"
            ),
            rows=rows,
        )

    def publish(self, dataset_id: str, table_id: str) -> str:
        from google.cloud import bigquery

        public = self.public_project
        if not public:
            raise MissingSettingError(
                "PIPELINES_PUBLIC_BIGQUERY_PROJECT is unset: it names the open-data project "
                "publish=True copies tables to.",
                "PIPELINES_PUBLIC_BIGQUERY_PROJECT",
            )
        check_table_name("dataset_id", dataset_id)
        check_table_name("table_id", table_id)
        dataset = bigquery.Dataset(f"{public}.{dataset_id}")
        dataset.location = self.dataset_location
        self.client.create_dataset(dataset, exists_ok=True, **self._api)
        target, source = f"`{public}.{dataset_id}.{table_id}`", self._table(dataset_id, table_id)
        self.client.query_and_wait(
            f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {source}", **self._job
        )
        return f"BigQuery table {public}.{dataset_id}.{table_id}"

    def _ensure_dataset(self, dataset_id: str) -> None:
        from google.cloud import bigquery

        dataset = bigquery.Dataset(f"{self.project}.{dataset_id}")
        dataset.location = self.dataset_location
        self.client.create_dataset(dataset, exists_ok=True, **self._api)

    def _create_staging(
        self,
        uri: str,
        dataset_id: str,
        table_id: str,
        layout: tuple[str, ...] | None,
        csv_columns: dict[str, str] | None,
        declared: dict[str, str] | None = None,
    ) -> Any:
        """(Re)create the external table over the folder; returns it, schema included.

        Its schema is the table's declared one when the datalake keeps it (so files of an
        older schema read as NULL in newer columns), else CSV's declared types, else the one
        BigQuery detects from a file."""
        from google.cloud import bigquery

        self._ensure_dataset(dataset_id)
        config = bigquery.ExternalConfig("CSV" if csv_columns is not None else "PARQUET")
        config.source_uris = [f"{uri}/*"]
        if layout:
            hive = bigquery.HivePartitioningOptions()
            hive.mode = "CUSTOM"
            kinds = ("INTEGER", "INTEGER", "DATE")
            hive.source_uri_prefix = uri + "".join(
                f"/{{{name}:{kind}}}" for name, kind in zip(layout, kinds, strict=False)
            )
            config.hive_partitioning = hive
        table = bigquery.Table(f"{self.project}.{dataset_id}.{table_id}")
        if csv_columns is not None:
            options = bigquery.CSVOptions()
            options.skip_leading_rows = 1  # the header
            config.csv_options = options
        # Nested types (lists, structs) have no declared form here: BigQuery detects those.
        columns = declared if declared and all(_scalar(k) for k in declared.values()) else None
        columns = columns or csv_columns
        if columns is not None:
            table.schema = [
                bigquery.SchemaField(name, csv_column_type(kind))
                for name, kind in columns.items()
                if not layout or name not in layout
            ]
        table.external_data_configuration = config
        self.client.delete_table(table, not_found_ok=True, **self._api)
        return self.client.create_table(table, **self._api)

    @staticmethod
    def _replace_partitions(
        target: str, source: str, staging: Any, layout: tuple[str, ...], partitions: list[str]
    ) -> str:
        """One MERGE that replaces the rows of the given partitions (days, months or years):
        atomic, so a rerun or a failure never leaves a partition half-replaced or doubled."""
        keys = [f"`{name}`" for name in layout]
        tests, days, years = [], [], []
        for partition in partitions:
            values = _partition_values(partition)
            if not values or "__HIVE_DEFAULT_PARTITION__" in values:
                tests.append(f"{{t}}.{keys[0]} IS NULL")
            elif len(layout) == 3:
                days.append(f"DATE '{dt.date.fromisoformat(values[2]).isoformat()}'")
            elif len(layout) == 1:
                years.append(str(int(values[0])))
            else:
                year, month = int(values[0]), int(values[1])
                tests.append(f"({{t}}.{keys[0]} = {year} AND {{t}}.{keys[1]} = {month})")
        if days:
            tests.insert(0, f"{{t}}.{keys[2]} IN ({', '.join(sorted(days))})")
        if years:
            tests.insert(0, f"{{t}}.{keys[0]} IN ({', '.join(sorted(years))})")
        where = " OR ".join(dict.fromkeys(tests))
        names = ", ".join(f"`{field.name}`" for field in staging.schema)
        return (
            f"MERGE {target} T USING (SELECT * FROM {source} S WHERE "
            f"{where.format(t='S')}) S ON FALSE "
            f"WHEN NOT MATCHED BY SOURCE AND ({where.format(t='T')}) THEN DELETE "
            f"WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({names})"
        )

    def query(self, sql: str) -> pd.DataFrame:
        result = self.client.query_and_wait(sql, **self._job)
        return result.to_arrow(create_bqstorage_client=False).to_pandas()

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(row.values()) for row in self.client.query_and_wait(sql, **self._job)]

    def preview(self, sql: str, limit: int) -> Preview:
        # max_results: the API sends these rows only; the rest stays in the job's result.
        result = self.client.query(sql, **self._job).result(max_results=limit + 1)
        rows = [tuple(row.values()) for row in result]
        columns = [field.name for field in result.schema]
        return Preview(columns, rows[:limit], len(rows) > limit)

    def row_count(self, dataset_id: str, table_id: str) -> int:
        check_table_name("dataset_id", dataset_id)
        check_table_name("table_id", table_id)
        (row,) = self.client.query_and_wait(
            f"SELECT count(*) AS n FROM {self._table(dataset_id, table_id)}", **self._job
        )
        return int(row["n"])

    def record_builds(self, tables: Iterable[str], when: dt.datetime) -> None:
        """Nothing to note: a model's table shows its own change time in INFORMATION_SCHEMA."""

    def load_times(self, tables: Iterable[str]) -> dict[str, dt.datetime]:
        """One query per dataset: the newest partition change of each of its tables.

        Raises:
            ServiceUnreachableError: BigQuery did not answer, after its retries.
        """
        import requests
        from google.api_core.exceptions import NotFound, RetryError

        by_dataset: dict[str, set[str]] = {}
        for name in tables:
            dataset_id, table_id = name.split(".", 1)
            check_table_name("dataset_id", dataset_id)
            check_table_name("table_id", table_id)
            by_dataset.setdefault(dataset_id, set()).add(table_id)
        found: dict[str, dt.datetime] = {}
        for dataset_id, wanted in sorted(by_dataset.items()):
            source = f"`{self.project}.{dataset_id}.INFORMATION_SCHEMA.PARTITIONS`"
            try:
                rows = self.client.query_and_wait(
                    f"SELECT table_name, MAX(last_modified_time) AS loaded FROM {source} "
                    "GROUP BY table_name",
                    **self._job,
                )
            except NotFound:  # a dataset not made yet holds no table
                continue
            except (RetryError, requests.ConnectionError, requests.Timeout) as error:
                where = self.endpoint or "the BigQuery API"
                raise ServiceUnreachableError(
                    f"BigQuery ({where}, project {self.project}) did not answer "
                    f"({type(error).__name__}): check PIPELINES_BIGQUERY_PROJECT, the Google "
                    "credentials and the network (PIPELINES_BIGQUERY_API_ENDPOINT for an "
                    "emulator)."
                ) from error
            for row in rows:
                if row["table_name"] in wanted and row["loaded"] is not None:
                    loaded = row["loaded"]
                    found[f"{dataset_id}.{row['table_name']}"] = loaded.astimezone(dt.UTC)
        return found

    def check_select(self, sql: str) -> None:
        """Refuse anything BigQuery itself does not call a SELECT (a dry run: nothing runs).

        Raises:
            WarehouseError: The statement is not a SELECT.
        """
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(dry_run=True)
        job = self.client.query(sql, job_config=config, **self._job)
        kind = job.statement_type or "unknown"
        if kind != "SELECT":
            raise WarehouseError(
                f"query is read-only and BigQuery reads this as a {kind} statement; it runs "
                "SELECT only. Write data with a flow."
            )

    def estimate_csv_bytes(self, sql: str) -> int:
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(dry_run=True, use_query_cache=False)
        job = self.client.query(sql, job_config=config, **self._job)
        return int(job.total_bytes_processed or 0)

    def export_csv(self, sql: str, path: Path) -> int:
        # Page by page: memory holds one page of rows, whatever the result's size.
        result = self.client.query_and_wait(sql, page_size=10_000, **self._job)
        count = 0
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([field.name for field in result.schema])
            for row in result:
                writer.writerow([_csv_value(value) for value in row.values()])
                count += 1
        return count


def _csv_value(value: Any) -> Any:
    """A value as CSV text: NULL empty, instants in ISO 8601, bytes as hex."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, bytes):
        return value.hex()
    return value
