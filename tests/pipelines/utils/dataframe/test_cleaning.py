"""clean and cast: column names, text, duplicates, and types that fail loudly."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from pipelines.utils.dataframe.cleaning import cast, clean, snake_case


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Chuva 15 min (mm)", "chuva_15_min_mm"),
        ("Estação", "estacao"),
        ("Data/Hora", "data_hora"),
        ("camelCase", "camel_case"),
        ("???", "column"),
        ("2021", "_2021"),  # a leading digit needs quoting in SQL: prefixed
        ("1º Trimestre", "_1o_trimestre"),
        ("Código INEP", "codigo_inep"),
        ("  Valor (R$)  ", "valor_r"),
        ("nomeDaEscola", "nome_da_escola"),
    ],
)
def test_snake_case(raw, expected):
    assert snake_case(raw) == expected


def test_clean_trims_text_drops_empty_and_duplicate_rows_and_keeps_none_text():
    frame = pd.DataFrame(
        {"Nome": [" a ", "a", None, "None of the above", ""], "Valor": ["1", "1", None, "2", " "]}
    )
    cleaned, dropped = clean(frame)
    assert list(cleaned.columns) == ["nome", "valor"]
    assert cleaned.to_dict("list") == {"nome": ["a", "None of the above"], "valor": ["1", "2"]}
    assert dropped == {"empty_rows": 2, "duplicate_rows": 1}


def test_clean_refuses_columns_that_collide():
    with pytest.raises(ValueError, match="collide after snake_case: a_b"):
        clean(pd.DataFrame({"A B": [1], "a-b": [2]}))


def test_cast_types_and_reads_naive_timestamps_in_sao_paulo():
    frame = pd.DataFrame(
        {
            "n": ["1", None],
            "x": ["1.5", "2"],
            "ok": ["sim", "false"],
            "at": ["2024-01-01 10:00", None],
        }
    )
    typed = cast(frame, {"n": "int", "x": "float", "ok": "bool", "at": "timestamp"})
    assert typed["n"].tolist()[0] == 1 and pd.isna(typed["n"].tolist()[1])
    assert typed["ok"].tolist() == [True, False]
    assert str(typed["at"].dt.tz) == "America/Sao_Paulo"
    assert typed["at"].iloc[0].isoformat() == "2024-01-01T10:00:00-03:00"


def test_cast_fails_on_values_that_do_not_parse_with_examples():
    with pytest.raises(ValueError, match=r"column 'x': 1 value\(s\) are not float, e.g. 'abc'"):
        cast(pd.DataFrame({"x": ["1", "abc"]}), {"x": "float"})


def test_cast_names_unknown_types_and_missing_columns():
    with pytest.raises(ValueError, match="unknown type"):
        cast(pd.DataFrame({"x": ["1"]}), {"x": "decimal"})
    with pytest.raises(ValueError, match="cannot cast missing column"):
        cast(pd.DataFrame({"x": ["1"]}), {"y": "int"})


def test_a_day_first_date_is_refused_without_its_format_whatever_the_first_row():
    for values in (["04/03/2024 00:00", "13/03/2024 10:00"], ["13/03/2024 10:00", "04/03/2024"]):
        with pytest.raises(ValueError) as refused:
            cast(pd.DataFrame({"d": values}), {"d": "timestamp"})
        assert str(refused.value).startswith("column 'd': 2 value(s) are not timestamp, e.g. ")
        assert "give the column's form, e.g. formats={'d': '%d/%m/%Y %H:%M'}" in str(refused.value)


def test_formats_read_day_first_dates_and_name_the_row_that_does_not_match():
    frame = pd.DataFrame({"d": ["04/03/2024", "05/03/2024", None], "t": ["04/03/2024 10:30"] * 3})
    typed = cast(frame, {"d": "date", "t": "timestamp"},
                 formats={"d": "%d/%m/%Y", "t": "%d/%m/%Y %H:%M"})  # fmt: skip
    assert typed["d"].tolist()[:2] == [dt.date(2024, 3, 4), dt.date(2024, 3, 5)]
    assert typed["t"].iloc[0].isoformat() == "2024-03-04T10:30:00-03:00"
    with pytest.raises(ValueError, match=r"row 1 \('2024-03-05'\) does not match "
                                         r"formats\['d'\]='%d/%m/%Y'"):  # fmt: skip
        cast(pd.DataFrame({"d": ["04/03/2024", "2024-03-05"]}), {"d": "date"},
             formats={"d": "%d/%m/%Y"})  # fmt: skip


def test_iso_dates_need_no_help_and_date_objects_pass():
    typed = cast(pd.DataFrame({"d": ["2024-03-04", "2024-03-05T10:00"]}), {"d": "timestamp"})
    assert [t.day for t in typed["d"]] == [4, 5]
    objects = pd.DataFrame({"d": [dt.date(2024, 3, 4), None]})
    assert cast(objects, {"d": "date"})["d"].tolist()[0] == dt.date(2024, 3, 4)


@pytest.mark.parametrize(
    ("values", "kind", "expected"),
    [
        (["1.234,56", "-0,5", "7"], "float", [1234.56, -0.5, 7.0]),
        (["1.234", "12"], "int", [1234, 12]),
    ],
)
def test_a_decimal_comma_is_read_when_asked(values, kind, expected):
    typed = cast(pd.DataFrame({"x": values}), {"x": kind}, decimal=",")
    assert typed["x"].tolist() == expected


@pytest.mark.parametrize("value", ["1.234,56", "0,5"])
def test_a_decimal_comma_is_refused_without_decimal_never_misread(value):
    with pytest.raises(ValueError, match=r"For a decimal comma \(1.234,56\), pass decimal=','"):
        cast(pd.DataFrame({"x": [value]}), {"x": "float"})


def test_with_decimal_comma_a_point_decimal_is_refused_not_read_as_thousands():
    with pytest.raises(ValueError, match="are not float"):
        cast(pd.DataFrame({"x": ["1.5"]}), {"x": "float"}, decimal=",")
