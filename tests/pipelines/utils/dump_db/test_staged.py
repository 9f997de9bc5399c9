"""Rows counted back from staged files: a CSV row holding a value longer than a parse block
(a document's text of tens of MB) is counted, not a raw reader error."""

from __future__ import annotations

import csv

from pipelines.utils.dump_db import staged
from pipelines.utils.dump_db.staged import count_written, csv_rows


def test_a_csv_value_longer_than_a_block_is_counted(tmp_path, monkeypatch):
    # A 1 MB block stands for the 16 MB one: a value of 3 MB straddles it, as a 100 MB value
    # straddled pyarrow's default block in a MariaDB dump to CSV.
    monkeypatch.setattr(staged, "CSV_BLOCK", 1 << 20)
    path = tmp_path / "part.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "doc"])
        writer.writerow([1, "x" * (3 << 20)])
        writer.writerow([2, "line one\nline two"])
        writer.writerow([3, ""])
    assert csv_rows(path) == 3
    assert count_written({"": [path]}, "csv") == {"": 3}
