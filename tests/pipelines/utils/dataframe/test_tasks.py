"""The DataFrame tasks as a flow runs them: read_csv reads its separator from the file."""

from __future__ import annotations

import pytest

from pipelines.utils.dataframe import read_csv
from pipelines.utils.dataframe.separators import sniff_separator


@pytest.mark.parametrize(
    ("sample", "separator"),
    [
        ("a,b\n1,2\n", ","),
        ("Estação;Data;Valor\nCentro;04/03/2024;1.234,56\n", ";"),  # commas inside values
        ("a\tb\n1\t2,5\n", "\t"),
        ('a|b\n"x|y"|2\n', "|"),
        ("only\n1\n2\n", None),
        ("a;b\n1;2\n3;4", ";"),  # cut mid-line: the last line is not counted
    ],
)
def test_sniff_separator(sample, separator):
    assert sniff_separator(sample) == separator


def test_read_csv_reads_a_semicolon_file_and_says_so(tmp_path, caplog, local_env):
    path = tmp_path / "export.csv"
    path.write_text("Estação;Data;Valor\r\nCentro;04/03/2024;1.234,56\r\n", encoding="utf-8")
    frame = read_csv.run(str(path))
    assert list(frame.columns) == ["Estação", "Data", "Valor"]
    assert frame.iloc[0].tolist() == ["Centro", "04/03/2024", "1.234,56"]
    assert "Separator: ';' (read from the file; pass separator= to set it)" in caplog.text


def test_read_csv_refuses_one_column_whose_header_holds_another_separator(tmp_path, local_env):
    path = tmp_path / "export.csv"
    path.write_text("Estação;Data;Valor\r\nCentro;04/03/2024;1.234\r\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"export.csv: the file read as one column, whose "
                                         r"header holds ';': pass separator=';'"):  # fmt: skip
        read_csv.run(str(path), separator=",")
