"""How a raw table and the warehouse's view over its files are named, for every warehouse."""

from __future__ import annotations

# `<dataset_id>_staging.<table_id>` is the view (DuckDB) or external table (BigQuery) over
# the raw files a flow writes as `<dataset_id>.<table_id>`; dbt reads it as a source.
STAGING_SUFFIX = "_staging"


def staging_dataset(dataset_id: str) -> str:
    """The dataset holding the views over `dataset_id`'s raw files."""
    return f"{dataset_id}{STAGING_SUFFIX}"


def raw_table_of(dataset: str, table_id: str) -> str:
    """`<dataset_id>.<table_id>` for a table named in a staging dataset (or any other)."""
    if dataset.endswith(STAGING_SUFFIX) and len(dataset) > len(STAGING_SUFFIX):
        dataset = dataset[: -len(STAGING_SUFFIX)]
    return f"{dataset}.{table_id}"
