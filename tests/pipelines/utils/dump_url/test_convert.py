"""The streamed CSV -> Parquet conversion reads files as pandas' text-only read_csv does."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines.errors import DumpUrlError
from pipelines.utils.dump_url.convert import csv_to_parquet, excel_to_parquet

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
            "in.csv: line 3 has 4 fields where the header has 2 (expected at most 2; the first "
            "without a name is field 3): check separator= (it is ',') or the quotes on that line.",
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


# A city export: ';'-separated Latin-1 with a title row's worth of lines before the damage.
CITY = "escola;bairro;nota\n" + "".join(f"Escola {i};Centro;{i},5\n" for i in range(2, 40))


@pytest.mark.parametrize(
    ("data", "encoding", "message"),
    [
        ((CITY + 'Escola X;"Centro;7,0\nEscola Y;Maré;8\n').encode("latin-1"), "latin-1",
         "line 40, column 'bairro' (field 2): a quoted field never closes (expected a closing "
         '" before the end of its field); fix the quote in the file, or check separator= (it '
         "is ';')."),
        ((CITY + "Escola Z;Maré;8\n").encode("latin-1"), "utf-8",
         "line 40, column 'bairro' (field 2): the bytes b'\\xe9' are not utf-8 text; pass the "
         "file's encoding= (e.g. encoding='latin-1' for an export from a Brazilian Excel)."),
        ((CITY + '"Escola A"B;Centro;1\n').encode("latin-1"), "latin-1",
         "line 40: expected ';' after a closing quote; a quote inside a field must be doubled "
         '(""), or check separator= (it is \';\').'),
        ((CITY + "Escola W;Centro;1;extra\n").encode("latin-1"), "latin-1",
         "line 40 has 4 fields where the header has 3 (expected at most 3; the first without a "
         "name is field 4): check separator= (it is ';') or the quotes on that line."),
    ],
)  # fmt: skip
def test_csv_errors_name_the_line_the_column_and_the_option(tmp_path, data, encoding, message):
    source = tmp_path / "in.csv"
    source.write_bytes(data)
    with pytest.raises(DumpUrlError) as refused:
        csv_to_parquet(source, tmp_path / "out.parquet", ";", encoding)
    text = str(refused.value)
    assert text.endswith(message), text
    assert "\n" not in text
    for foreign in ("ignore_errors", "max_line_size", "strict_mode", "skip=", "compression"):
        assert foreign not in text


@pytest.fixture
def goals_workbook(tmp_path: Path) -> Path:
    """As a department lays a sheet out: two title rows above the header, a second tab, and a
    formula written by a program (so saved with no value)."""
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    first.title = "Resumo"
    first.append(["Relação de metas por área"])
    first.append(["Atualizado em 04/03/2024"])
    first.append(["Área", "Meta", "Valor", "Fora"])
    first.append(["Saúde", "Leitos", "120", "x"])
    first.append(["Educação", "Vagas", "300", "y"])
    second = book.create_sheet("Metas 2024")
    second.append(["Área", "Total"])
    second.append(["Saúde", "=1+1"])
    path = tmp_path / "metas.xlsx"
    book.save(path)
    return path


@pytest.mark.parametrize(
    ("options", "columns", "rows"),
    [
        ({"header_row": 3}, ["area", "meta", "valor", "fora"], 2),
        ({"cells": "A3:C5"}, ["area", "meta", "valor"], 2),
        ({"cells": "A3:C4"}, ["area", "meta", "valor"], 1),
    ],
)
def test_a_sheet_with_title_rows_is_read_from_its_header(goals_workbook, tmp_path, options,
                                                          columns, rows):  # fmt: skip
    out = tmp_path / "out.parquet"
    converted = excel_to_parquet(goals_workbook, out, "Resumo", **options)
    assert converted["columns"] == columns and converted["rows"] == rows
    assert pq.read_table(out).column("area").to_pylist()[0] == "Saúde"


def test_without_a_header_row_the_title_becomes_the_header_as_before(goals_workbook, tmp_path):
    converted = excel_to_parquet(goals_workbook, tmp_path / "out.parquet", 0)
    assert converted["columns"][0] == "relacao_de_metas_por_area"


@pytest.mark.parametrize(
    ("sheet", "options", "message"),
    [
        ("Metas 2024", {}, "metas.xlsx, sheet 'Metas 2024': formula cell(s) B2 were saved "
         "without their value"),
        (1, {}, "metas.xlsx, sheet 'Metas 2024': formula cell(s) B2 were saved without"),
        ("Nope", {}, "metas.xlsx has no sheet 'Nope'; its sheets: Resumo, Metas 2024."),
        (0, {"cells": "A3:C"}, None),
        (0, {"cells": "3:C5"}, "range='3:C5' is not a range such as 'A2:I1000'"),
        (0, {"cells": "A3:C5", "header_row": 3}, "Give range= (its first row is the header) or "
         "header_row=, not both."),
    ],
)  # fmt: skip
def test_sheets_ranges_and_uncomputed_formulas_are_checked(
    goals_workbook, tmp_path, sheet, options, message
):
    out = tmp_path / "out.parquet"
    if message is None:
        assert excel_to_parquet(goals_workbook, out, sheet, **options)["rows"] == 2
        return
    with pytest.raises(DumpUrlError, match="^" + re.escape(message)):
        excel_to_parquet(goals_workbook, out, sheet, **options)
