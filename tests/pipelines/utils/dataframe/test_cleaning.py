"""clean and cast: column names, text, duplicates, and types that fail loudly."""

from __future__ import annotations

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
