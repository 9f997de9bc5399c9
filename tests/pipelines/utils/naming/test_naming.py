"""The staging dataset's name, one rule for both warehouses, lineage and dbt sources."""

from pipelines.utils.naming import raw_table_of, staging_dataset


def test_a_staging_dataset_names_its_raw_table_and_back():
    assert staging_dataset("rain") == "rain_staging"
    assert raw_table_of(staging_dataset("rain"), "gauges") == "rain.gauges"
    assert raw_table_of("rain", "gauges") == "rain.gauges"  # not a staging name: itself
    assert raw_table_of("_staging", "t") == "_staging.t"  # the suffix alone is a name
