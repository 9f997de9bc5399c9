"""Tasks of the template_pipeline project: the transform that is specific to it."""

import pandas as pd
import prefect
from prefect import task


@task
def rain_per_hour(readings: pd.DataFrame) -> pd.DataFrame:
    """Sum 15-minute readings into hourly rain per station.

    Args:
        readings: Columns estacao, data_hora (timestamp) and chuva_15_min_mm.

    Returns:
        Columns estacao, hora (hour start), chuva_mm and leituras (readings in the hour).

    Raises:
        ValueError: A required column is missing.
    """
    required = {"estacao", "data_hora", "chuva_15_min_mm"}
    missing = sorted(required - set(readings.columns))
    if missing:
        raise ValueError(f"readings lack column(s): {', '.join(missing)}")
    hourly = (
        readings.assign(hora=readings["data_hora"].dt.floor("h"))
        .groupby(["estacao", "hora"], as_index=False)
        .agg(chuva_mm=("chuva_15_min_mm", "sum"), leituras=("chuva_15_min_mm", "count"))
        .sort_values(["estacao", "hora"], ignore_index=True)
    )
    hourly["chuva_mm"] = hourly["chuva_mm"].round(1)
    prefect.context.get("logger").info(
        "%s hourly rows for %s stations", len(hourly), hourly["estacao"].nunique()
    )
    return hourly
