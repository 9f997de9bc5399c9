"""The two datalakes behave the same: local folder and GCS (real client, fake-gcs-server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.utils.datalake import LocalDatalake
from pipelines.utils.datalake.gcs import GCSDatalake


@pytest.fixture(params=["local", "gcs"])
def datalake(request, tmp_path):
    if request.param == "local":
        return LocalDatalake(tmp_path / "lake")
    client, bucket = request.getfixturevalue("gcs_bucket")
    return GCSDatalake(bucket, client=client)


def make_files(folder: Path, **contents: str) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, text in contents.items():
        (folder / name).write_text(text)
        files[name] = folder / name
    return files


def test_replace_prefix_swaps_the_whole_partition(datalake, tmp_path):
    prefix = "ds/tbl/ano=2024/mes=01/data=2024-01-01"
    datalake.replace_prefix(prefix, make_files(tmp_path / "a", **{"a.txt": "1", "b.txt": "2"}))
    datalake.replace_prefix(prefix, make_files(tmp_path / "b", **{"c.txt": "3"}))

    assert datalake.list_keys(prefix) == [f"{prefix}/c.txt"]
    assert datalake.read_bytes(f"{prefix}/c.txt") == b"3"


def test_other_prefixes_are_untouched_and_delete_counts(datalake, tmp_path):
    datalake.replace_prefix("ds/tbl/p1", make_files(tmp_path / "a", **{"x.txt": "1"}))
    datalake.replace_prefix("ds/tbl/p2", make_files(tmp_path / "b", **{"y.txt": "2"}))
    datalake.put("ds/tbl/p2/z.txt", make_files(tmp_path / "c", **{"z.txt": "3"})["z.txt"])

    assert datalake.list_keys("ds/tbl") == ["ds/tbl/p1/x.txt", "ds/tbl/p2/y.txt", "ds/tbl/p2/z.txt"]
    assert datalake.delete_prefix("ds/tbl/p2") == 2
    assert datalake.list_keys("ds/tbl") == ["ds/tbl/p1/x.txt"]
    assert datalake.list_keys("nothing/here") == []


def test_uri_and_location(datalake):
    if isinstance(datalake, GCSDatalake):
        assert datalake.uri("a/b") == f"gs://{datalake.bucket_name}/a/b"
    else:
        assert datalake.uri("a/b").endswith("lake/a/b")


def test_local_keys_cannot_escape_the_root(tmp_path):
    with pytest.raises(ValueError, match="outside the datalake"):
        LocalDatalake(tmp_path / "lake").read_bytes("../secret")


def test_a_killed_local_swap_leaves_the_old_partition_readable(tmp_path):
    lake = LocalDatalake(tmp_path / "lake")
    lake.replace_prefix("ds/t/p", make_files(tmp_path / "a", **{"old.txt": "old"}))
    # What a run killed while staging leaves behind: a hidden .tmp- folder.
    leftover = tmp_path / "lake/ds/t/.tmp-p-dead"
    make_files(leftover, **{"half.parquet": "partial"})

    assert lake.list_keys("ds/t") == ["ds/t/p/old.txt"]


def test_what_a_killed_local_swap_left_goes_with_the_next_swap(tmp_path):
    import subprocess
    import sys

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    lake = LocalDatalake(tmp_path / "lake")
    lake.replace_prefix("ds/t/p", make_files(tmp_path / "a", **{"old.txt": "old"}))
    for leftover in (f".tmp-p-p{ended.pid}-ab12", f".tmp-old-p-p{ended.pid}-cd34"):
        make_files(tmp_path / "lake/ds/t" / leftover, **{"half.parquet": "partial"})

    lake.replace_prefix("ds/t/p", make_files(tmp_path / "b", **{"new.txt": "new"}))

    assert sorted(p.name for p in (tmp_path / "lake/ds/t").iterdir()) == ["p"]
    assert lake.list_keys("ds/t") == ["ds/t/p/new.txt"]


def test_size_reads_metadata_and_names_a_missing_key(datalake, tmp_path):
    datalake.put("ds/tbl/a.bin", make_files(tmp_path / "a", **{"a.bin": "12345"})["a.bin"])
    assert datalake.size("ds/tbl/a.bin") == 5
    with pytest.raises(FileNotFoundError):
        datalake.size("ds/tbl/missing.bin")


def test_reading_a_missing_key_is_file_not_found_on_both(datalake, tmp_path):
    datalake.put("ds/tbl/a.bin", make_files(tmp_path / "a", **{"a.bin": "12345"})["a.bin"])
    assert datalake.read_bytes("ds/tbl/a.bin") == b"12345"
    with pytest.raises(FileNotFoundError):
        datalake.read_bytes("ds/tbl/missing.bin")


@pytest.mark.parametrize(
    ("dataset_id", "table_id"),
    [("ds", ""), ("", "t"), ("d-s", "t"), ("ds", "t/x"), ("ds", ".."), ("1ds", "t"), ("ds", "a b")],
)
def test_one_naming_rule_for_datasets_and_tables(dataset_id, table_id):
    from pipelines.errors import TableNameError
    from pipelines.utils.datalake.base import table_prefix

    with pytest.raises(TableNameError, match="is not a valid table or dataset name"):
        table_prefix(dataset_id, table_id)
    assert table_prefix("ds1", "_Tbl_2") == "ds1/_Tbl_2"  # tables may start with "_"
