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
    """The one column-name rule of every shared flow (docs/shared-flows.md, "Column names"):
    'Chuva 15 min (mm)' -> 'chuva_15_min_mm'; 'Estação' -> 'estacao'; '2021' -> '_2021' (a
    name starting with a digit needs quoting in every SQL engine)."""
    ascii_name = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", ascii_name)
    words = "_".join(re.findall(r"[a-z0-9]+", ascii_name.lower())) or "column"
    return f"_{words}" if words[0].isdigit() else words


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


def cast(
    frame: pd.DataFrame,
    types: dict[str, str],
    formats: dict[str, str] | None = None,
    decimal: str = ".",
) -> pd.DataFrame:
    """Convert columns to types, failing on values that do not parse (never silently NA,
    never guessed).

    Dates and timestamps given as text must be ISO 8601 (2024-03-04, 2024-03-04 10:00) unless
    `formats` gives the column's form ("%d/%m/%Y"): 04/03/2024 is never read as a month first.
    Timestamps without an offset are read in America/Sao_Paulo. Numbers given as text use
    `decimal` as their decimal mark; with decimal=",", "1.234,56" is 1234.56.
    """
    formats = dict(formats or {})
    unknown = {c: t for c, t in types.items() if t not in TYPES}
    if unknown:
        raise ValueError(f"unknown type(s) {unknown}; use one of {', '.join(TYPES)}.")
    missing = sorted(set(types) - set(frame.columns))
    if missing:
        raise ValueError(
            f"cannot cast missing column(s) {', '.join(missing)}; "
            f"columns: {', '.join(frame.columns)}."
        )
    if decimal not in (".", ","):
        raise ValueError(f"decimal={decimal!r} must be '.' or ','.")
    stray = sorted(c for c in formats if types.get(c) not in ("date", "timestamp"))
    if stray:
        raise ValueError(
            f"formats= names column(s) {', '.join(stray)}, which are not cast to date or "
            "timestamp: formats apply to those only."
        )
    result = frame.copy()
    for column, kind in types.items():
        values = result[column]
        converted = _convert(values, kind, formats.get(column), decimal)
        bad = values.notna() & converted.isna()
        if bad.any():
            raise ValueError(_refusal(column, kind, values, bad, formats.get(column), decimal))
        result[column] = converted
    return result


def _refusal(
    column: str, kind: str, values: pd.Series, bad: pd.Series, form: str | None, decimal: str
) -> str:
    """Why a column's values do not parse, and the option that would read them."""
    samples = ", ".join(repr(v) for v in values[bad].unique()[:5])
    text = f"column {column!r}: {int(bad.sum())} value(s) are not {kind}, e.g. {samples}"
    if kind in ("date", "timestamp") and form:
        row = values[bad].index[0]
        return f"{text}: row {row} ({values[row]!r}) does not match formats[{column!r}]={form!r}."
    if kind in ("date", "timestamp"):
        example = "%d/%m/%Y" if kind == "date" else "%d/%m/%Y %H:%M"
        return (
            f"{text}. Only ISO 8601 (2024-03-04, 2024-03-04 10:00) is read without help: "
            f"give the column's form, e.g. formats={{{column!r}: {example!r}}}."
        )
    if (
        kind in ("int", "float")
        and decimal == "."
        and values[bad].astype(str).str.contains(",").any()
    ):
        return f"{text}. For a decimal comma (1.234,56), pass decimal=','."
    return f"{text}."


# With decimal=",": digits, '.' only between groups of three, one ',' before the fraction.
_COMMA_NUMBER = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$")


def _numbers(values: pd.Series, decimal: str) -> pd.Series:
    """Text values as numbers written with `decimal` as their decimal mark (others as they
    are); a value that breaks the form becomes NA, to be refused."""
    if decimal == ".":
        return pd.to_numeric(values, errors="coerce")

    def one(value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not _COMMA_NUMBER.match(text):
            return None
        return text.replace(".", "").replace(",", ".")

    return pd.to_numeric(values.map(one), errors="coerce")


def _convert(
    values: pd.Series, kind: str, form: str | None = None, decimal: str = "."
) -> pd.Series:
    if kind == "string":
        return values.astype("string")
    if kind == "int":
        numbers = _numbers(values, decimal)
        whole = numbers.isna() | (numbers == numbers.round())
        return numbers.where(whole).astype("Float64").astype("Int64")
    if kind == "float":
        return _numbers(values, decimal).astype("Float64")
    if kind == "bool":
        lowered = values.map(lambda v: str(v).strip().lower() if pd.notna(v) else v)
        return lowered.map(
            lambda v: True if v in _TRUE else False if v in _FALSE else pd.NA
        ).astype("boolean")
    parsed = _datetimes(values, form)
    if kind == "date":
        return parsed.dt.date.where(parsed.notna(), None)
    if parsed.dt.tz is None:
        return parsed.dt.tz_localize(TIMEZONE, ambiguous="NaT", nonexistent="NaT")
    return parsed.dt.tz_convert(TIMEZONE)


def _datetimes(values: pd.Series, form: str | None) -> pd.Series:
    """Dates and times: text by `form`, else only ISO 8601; date and datetime objects as
    they are."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    present = values.dropna()
    if present.map(lambda v: isinstance(v, str)).all():  # the usual case: read from a file
        stripped = values.map(lambda v: v.strip() if isinstance(v, str) else v)
        return pd.to_datetime(stripped, format=form or "ISO8601", errors="coerce")
    if not present.map(lambda v: isinstance(v, str)).any():
        return pd.to_datetime(values, errors="coerce")
    raise ValueError(  # text beside date objects: no one reading applies to both
        "a column mixes text with date or time objects; convert it to one kind first."
    )
