"""Plain functions behind the DataFrame tasks, testable without Prefect."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from pipelines.constants import TIMEZONE

TYPES = ("string", "int", "float", "bool", "date", "timestamp")
_TRUE = {"true", "t", "1", "yes", "y", "sim", "s"}
_FALSE = {"false", "f", "0", "no", "n", "nao", "não"}


def snake_case(name: str) -> str:
    """'Chuva 15 min (mm)' -> 'chuva_15_min_mm'; 'Estação' -> 'estacao'."""
    ascii_name = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", ascii_name)
    return "_".join(re.findall(r"[a-z0-9]+", ascii_name.lower())) or "column"


def snake_case_names(columns) -> list[str]:
    """snake_case every column name; two names that become one are refused."""
    renamed = [snake_case(c) for c in columns]
    duplicated = sorted({c for c in renamed if renamed.count(c) > 1})
    if duplicated:
        raise ValueError(f"columns collide after snake_case: {', '.join(duplicated)}")
    return renamed


def clean(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Snake-case the columns, trim text, blank text to NA, drop empty and duplicate rows."""
    result = frame.copy()
    result.columns = snake_case_names(frame.columns)
    for column in result.columns:
        if pd.api.types.is_object_dtype(result[column]) or pd.api.types.is_string_dtype(
            result[column]
        ):
            stripped = result[column].map(lambda v: v.strip() if isinstance(v, str) else v)
            result[column] = stripped.mask(stripped.eq(""))
    before = len(result)
    result = result.dropna(how="all")
    empty = before - len(result)
    result = result.drop_duplicates(ignore_index=True)
    return result, {"empty_rows": empty, "duplicate_rows": before - empty - len(result)}


def cast(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """Convert columns to types, failing on values that do not parse (never silently NA).

    Timestamps without an offset are read in America/Sao_Paulo.
    """
    unknown = {c: t for c, t in types.items() if t not in TYPES}
    if unknown:
        raise ValueError(f"unknown type(s) {unknown}; use one of {', '.join(TYPES)}.")
    missing = sorted(set(types) - set(frame.columns))
    if missing:
        raise ValueError(
            f"cannot cast missing column(s) {', '.join(missing)}; "
            f"columns: {', '.join(frame.columns)}."
        )
    result = frame.copy()
    for column, kind in types.items():
        values = result[column]
        converted = _convert(values, kind)
        bad = values.notna() & converted.isna()
        if bad.any():
            samples = ", ".join(repr(v) for v in values[bad].unique()[:5])
            raise ValueError(
                f"column {column!r}: {int(bad.sum())} value(s) are not {kind}, e.g. {samples}."
            )
        result[column] = converted
    return result


def _convert(values: pd.Series, kind: str) -> pd.Series:
    if kind == "string":
        return values.astype("string")
    if kind == "int":
        return pd.to_numeric(values, errors="coerce").astype("Int64")
    if kind == "float":
        return pd.to_numeric(values, errors="coerce").astype("Float64")
    if kind == "bool":
        lowered = values.map(lambda v: str(v).strip().lower() if pd.notna(v) else v)
        return lowered.map(
            lambda v: True if v in _TRUE else False if v in _FALSE else pd.NA
        ).astype("boolean")
    parsed = pd.to_datetime(values, errors="coerce")
    if kind == "date":
        return parsed.dt.date.where(parsed.notna(), None)
    if parsed.dt.tz is None:
        return parsed.dt.tz_localize(TIMEZONE, ambiguous="NaT", nonexistent="NaT")
    return parsed.dt.tz_convert(TIMEZONE)
