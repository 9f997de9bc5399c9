"""The streamed CSV -> Parquet conversion reads files as pandas' text-only read_csv does."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines.errors import DumpUrlError
from pipelines.utils.dump_url.convert import csv_to_parquet

TRICKY = (
    "Nome da Escola,Código,Observação\n"
    '"Escola A, Centro",001,"diz ""olá""\nsegunda linha"\n'
    "Escola B,002,\n"
    "\n"
    "None of the above,NA,ção 🚀\n"
    'x,"""""",  pad \n'
    'short,""\n'
)


def _pandas(path: Path, separator: str = ",", encoding: str = "utf-8") -> list[list]:
    frame = pd.read_csv(
        path, sep=separator, encoding=encoding, dtype=str, keep_default_na=False, na_values=[""]
    )
    return [[None if pd.isna(v) else v for v in row] for row in frame.values.tolist()]


def _parquet(path: Path) -> list[list]:
    return [list(row.values()) for row in pq.read_table(path).to_pylist()]


@pytest.mark.parametrize(
    ("encoding", "separator"),
    [("utf-8", ","), ("latin-1", ";"), ("cp1252", "\t"), ("utf-16", ",")],
)
def test_values_match_pandas_text_only_read(tmp_path: Path, encoding: str, separator: str):
    text = TRICKY if encoding in ("utf-8", "utf-16") else TRICKY.replace(" 🚀", "")
    source = tmp_path / "in.csv"
    source.write_bytes(text.replace(",", separator).encode(encoding))
    out = tmp_path / "out.parquet"

    converted = csv_to_parquet(source, out, separator, encoding)

    assert converted["columns"] == ["nome_da_escola", "codigo", "observacao"]
    assert converted["rows"] == 5 == pq.read_metadata(out).num_rows
    assert _parquet(out) == _pandas(source, separator, encoding)
    assert all(str(t) == "string" for t in pq.read_schema(out).types)


@pytest.mark.parametrize(
    ("text", "separator", "encoding", "message"),
    [
        ("A b,a_b\n1,2\n", ",", "utf-8", "columns collide after snake_case: a_b: rename them"),
        ("a,b\n1,2\n", ";;", "utf-8", "separator=';;' must be one character."),
        ("a,b\n1,2\n", ",", "klingon", "encoding='klingon' is not a text encoding Python knows."),
        ('a,b\n"1,2\n', ",", "utf-8", "in.csv is not a CSV readable as given"),
        ("\n\n", ",", "utf-8", "in.csv is empty: it has no header row."),
        (
            "a,b\n1,2\n3,4,5,6\n",
            ",",
            "utf-8",
            "in.csv: rows have 4 fields but the header names 2: check the separator "
            "(separator=',') or fix the file.",
        ),
    ],
)
def test_bad_files_and_settings_are_refused_by_name(
    tmp_path: Path, text: str, separator: str, encoding: str, message: str
):
    source = tmp_path / "in.csv"
    source.write_text(text)
    out = tmp_path / "out.parquet"
    with pytest.raises(DumpUrlError, match="^" + re.escape(message)):
        csv_to_parquet(source, out, separator, encoding)
