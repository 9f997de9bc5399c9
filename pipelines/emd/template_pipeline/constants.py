"""Constants of the template_pipeline project."""

ORG = "emd"

# Flow names are unique across the repo: `python manage.py check` verifies it.
FLOW_NAME = "emd: template_pipeline"

# People alerted when a run of this project's flow fails.
CODE_OWNERS: list[str] = ["data-office"]

# Shipped with the repo: two days of 15-minute rain-gauge readings, with the dirt of a real
# export (padded names, duplicates, a blank line, "ND" for an offline gauge).
SOURCE = "pipelines/emd/template_pipeline/data/rain_gauges.csv"
NA_VALUES = ["ND"]
COLUMN_TYPES = {"estacao": "string", "data_hora": "timestamp", "chuva_15_min_mm": "float"}
# The gauges' export writes day-first times (12/02/2024 00:15): a date is never guessed, so
# its form is given (only ISO 8601 is read without one).
COLUMN_FORMATS = {"data_hora": "%d/%m/%Y %H:%M"}

DATASET_ID = "template_pipeline"
TABLE_ID = "rain_per_hour"
# The dbt model built after the load: queries/models/template_pipeline/rain_per_station_day.sql.
MODEL_TABLE_ID = "rain_per_station_day"
