"""dump_url against a local HTTP server serving CSV and Excel fixtures made by the test."""

from __future__ import annotations

import csv
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.settings import REPO_ROOT
from pipelines.utils.dump_url import create_dump_url_flow, download, download_url
from pipelines.utils.execution import run_local
from pipelines.utils.warehouse import get_warehouse

HEADER = ["Nome da Escola", "Código", "Observação"]
ROWS = [
    ["Escola A, Centro", "001", 'diz "olá"\nsegunda linha'],
    ["Escola B", "002", ""],
    ["Escola B", "002", ""],  # a real duplicate: both rows are kept
    ["None of the above", "NA", "ção 🚀"],
]


# 3 MB of one line, gzipped to a few KB: decompressed by the client as it arrives.
BOMB = __import__("gzip").compress(b"a,b\n" + b"1,2\n" * (3 * 2**18))


def hostile(handler) -> None:
    """What some servers do: a compressed body far larger than it looks, one byte at a time,
    or nothing at all after the headers."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/csv")
    if handler.path == "/bomb.csv":
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(BOMB)))
    handler.end_headers()
    try:
        if handler.path == "/bomb.csv":
            handler.wfile.write(BOMB)
        elif handler.path == "/trickle.csv":
            handler.wfile.write(b"a,b\n")
            for _ in range(600):
                handler.wfile.write(b"1")
                handler.wfile.flush()
                time.sleep(0.1)
        else:
            time.sleep(30)
    except OSError:
        return


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "www"
    folder.mkdir()
    with (folder / "escolas.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append(row)
    book.save(folder / "escolas.xlsx")
    (folder / "page.html").write_text("<html>log in</html>")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path in ("/bomb.csv", "/trickle.csv", "/stall.csv"):
                return hostile(self)
            if self.path == "/endless.csv":  # a download that goes on until it is stopped
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.end_headers()
                try:
                    self.wfile.write(b"a,b\n")
                    while True:
                        self.wfile.write(b"1,2\n" * 16384)
                        time.sleep(0.02)
                except OSError:
                    return
            if self.path != "/cut.csv":
                return super().do_GET()
            # A transfer that breaks: more bytes promised than sent.
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"a,b\n1,2\n")
            self.wfile.flush()
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=folder))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _local(local_env):
    return local_env


@pytest.mark.parametrize("file", ["escolas.csv", "escolas.xlsx"])
def test_a_file_at_a_url_lands_in_the_warehouse_with_every_row_and_value(served, file):
    flow = create_dump_url_flow("tests: dump_url", org="tests")
    state = run_local(
        flow, {"url": f"{served}/{file}", "dataset_id": "tests", "table_id": "escolas"}
    )
    assert state.is_successful(), state.message
    rows = get_warehouse().rows(
        "SELECT nome_da_escola, codigo, observacao FROM tests.escolas "
        "ORDER BY codigo, nome_da_escola"
    )
    expected = sorted(
        (tuple(None if v == "" else v for v in row) for row in ROWS), key=lambda r: (r[1], r[0])
    )
    assert rows == expected


def test_an_html_page_is_refused(served):
    flow = create_dump_url_flow("tests: dump_url", org="tests")
    state = run_local(flow, {"url": f"{served}/page.html", "dataset_id": "tests", "table_id": "x"})
    assert state.is_failed()
    failed = [s for t, s in state.result.items() if t.name == "download"][0]
    assert "returned an HTML page, not a file" in str(failed.result)


def test_a_missing_file_fails_with_the_http_status(served):
    flow = create_dump_url_flow("tests: dump_url", org="tests")
    state = run_local(flow, {"url": f"{served}/nope.csv", "dataset_id": "tests", "table_id": "x"})
    failed = [s for t, s in state.result.items() if t.name == "download"][0]
    assert "404" in str(failed.result)


@pytest.mark.parametrize(
    ("link", "direct"),
    [
        ("https://drive.google.com/file/d/1AbC-d_9/view?usp=sharing",
         "https://drive.google.com/uc?export=download&id=1AbC-d_9"),
        ("https://drive.google.com/open?id=1AbC", "https://drive.google.com/uc?export=download&id=1AbC"),
        ("https://docs.google.com/spreadsheets/d/1Sheet/edit#gid=42",
         "https://docs.google.com/spreadsheets/d/1Sheet/export?format=csv&gid=42"),
        ("https://docs.google.com/spreadsheets/d/1Sheet/edit",
         "https://docs.google.com/spreadsheets/d/1Sheet/export?format=csv"),
        ("https://docs.google.com/spreadsheets/d/1Sheet/export?format=xlsx",
         "https://docs.google.com/spreadsheets/d/1Sheet/export?format=xlsx"),
        ("https://data.rio/files/a.csv", "https://data.rio/files/a.csv"),
    ],
)  # fmt: skip
def test_share_links_become_direct_downloads(link, direct):
    assert download_url(link) == direct


def test_non_http_urls_are_refused():
    with pytest.raises(ValueError, match="is not an http"):
        download_url("file:///etc/passwd")


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    import tempfile

    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize(
    ("file", "format", "succeeds"),
    [("escolas.csv", "auto", True), ("escolas.csv", "excel", False), ("cut.csv", "auto", False)],
)
def test_the_downloaded_file_is_removed_whatever_the_outcome(
    served, temp_dir, file, format, succeeds
):
    flow = create_dump_url_flow("tests: dump_url", org="tests")
    parameters = {"url": f"{served}/{file}", "format": format}
    state = run_local(flow, {**parameters, "dataset_id": "tests", "table_id": "escolas"})
    assert state.is_successful() == succeeds
    assert [p.name for p in temp_dir.iterdir() if p.name.startswith("pipelines-url-")] == []


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Please log in</body></html>",
        b"<!DOCTYPE html>\n<html><head><title>Error 500</title></head></html>",
        b"\xef\xbb\xbf  \n<!doctype HTML><p>maintenance</p>",
        b"\n\n<HEAD><title>403</title></HEAD>",
        b"<?xml version='1.0'?><Error><Code>AccessDenied</Code></Error>",
        b"<!-- generated --><html></html>",
    ],
)
@pytest.mark.parametrize("content_type", ["text/csv", "text/plain", "application/octet-stream"])
def test_a_page_served_as_data_never_replaces_the_table(served, body, content_type, tmp_path):
    import http.server

    good = create_dump_url_flow("tests: dump_url", org="tests")
    parameters = {"url": f"{served}/escolas.csv", "dataset_id": "tests", "table_id": "escolas"}
    assert run_local(good, parameters).is_successful()
    before = get_warehouse().rows("SELECT * FROM tests.escolas ORDER BY ALL")

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/escolas.csv"
    try:
        state = run_local(good, {**parameters, "url": url})
    finally:
        server.shutdown()
        server.server_close()

    assert state.is_failed()
    failed = [s for t, s in state.result.items() if t.name == "download"][0]
    assert str(failed.result) == (
        f"{url} sent an HTML page (served as {content_type}), not the data: a login or error "
        "page? Nothing was published; the table is as it was."
    )
    assert get_warehouse().rows("SELECT * FROM tests.escolas ORDER BY ALL") == before


def test_a_bad_csv_names_the_url_and_the_line_not_a_temporary_file(served, tmp_path):
    www = tmp_path / "www"
    (www / "bad.csv").write_text('a,b\n1,2\n3,"unclosed\n4,5\n', encoding="utf-8")
    flow = create_dump_url_flow("tests: dump_url", org="tests")
    url = f"{served}/bad.csv"

    state = run_local(flow, {"url": url, "dataset_id": "tests", "table_id": "bad"})

    assert state.is_failed()
    failed = [s for t, s in state.result.items() if t.name == "to_parquet"][0]
    message = str(failed.result)
    assert message.startswith(f"{url} is not a CSV readable as given"), message
    assert "line" in message
    assert "pipelines-url-" not in message and "/tmp/" not in message
    # Only options dump_url has, and one line: not DuckDB's own advice.
    assert "\n" not in message
    for foreign in ("ignore_errors", "max_line_size", "strict_mode", "skip=", "compression"):
        assert foreign not in message


RUN_DUMP_URL = """
import sys
from pipelines.utils.dump_url import create_dump_url_flow
from pipelines.utils.execution import run_local
flow = create_dump_url_flow("tests: dump_url", org="tests")
run_local(flow, {"url": sys.argv[1], "dataset_id": "tests", "table_id": "escolas"})
"""


def _downloads(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("pipelines-url-"))


def _start_download(served, temp_dir):
    """A flow run in its own process, once its download has written something."""
    env = {**os.environ, "TMPDIR": str(temp_dir)}
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_DUMP_URL, f"{served}/endless.csv"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not any((temp_dir / n).stat().st_size > 1_000_000 for n in _downloads(temp_dir)):
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "the download never started"
        time.sleep(0.05)
    return process


def test_a_download_a_kill_left_behind_is_removed_by_the_next_run(served, temp_dir):
    process = _start_download(served, temp_dir)
    process.kill()  # SIGKILL: nothing in the process can clean up
    process.wait()
    (left,) = _downloads(temp_dir)
    assert left.startswith(f"pipelines-url-p{process.pid}-")

    flow = create_dump_url_flow("tests: dump_url", org="tests")
    parameters = {"url": f"{served}/escolas.csv", "dataset_id": "tests", "table_id": "escolas"}
    assert run_local(flow, parameters).is_successful()

    assert _downloads(temp_dir) == []


def test_ctrl_c_during_a_download_leaves_no_file(served, temp_dir):
    process = _start_download(served, temp_dir)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) != 0
    assert _downloads(temp_dir) == []


def test_ctrl_c_after_the_download_leaves_no_file(served, temp_dir, monkeypatch):
    from pipelines.utils.dump_url import tasks

    def interrupted(*args):
        raise KeyboardInterrupt  # Ctrl-C while converting: remove_download never runs

    monkeypatch.setattr(tasks, "csv_to_parquet", interrupted)
    flow = create_dump_url_flow("tests: dump_url", org="tests")
    parameters = {"url": f"{served}/escolas.csv", "dataset_id": "tests", "table_id": "escolas"}
    with pytest.raises(KeyboardInterrupt):
        run_local(flow, parameters)
    assert _downloads(temp_dir) == []


# How a city's departments export: ';' (Excel in a pt-BR locale), decimal commas, day-first
# dates, Latin-1; and a tab- and a pipe-separated file.
SEMICOLON_LATIN1 = (
    "Estação;Data;Valor (R$)\r\nCentro;04/03/2024;1.234,56\r\nMéier;05/03/2024;0,5\r\n"
)


@pytest.mark.parametrize(
    ("name", "body", "encoding", "separator"),
    [
        ("semicolon.csv", SEMICOLON_LATIN1, "latin-1", ";"),
        ("tabs.csv", "a\tb\tc\n1\t2,5\t3\n4\t5\t6\n", "utf-8", "\t"),
        ("pipes.csv", "a|b\n1|x,y\n2|z\n", "utf-8", "|"),
    ],
)
def test_the_separator_is_read_from_the_file_and_said(
    served, tmp_path, caplog, name, body, encoding, separator
):
    www = tmp_path / "www"
    (www / name).write_bytes(body.encode(encoding))
    flow = create_dump_url_flow("tests: dump_url", org="tests")
    table = name.split(".")[0]
    state = run_local(flow, {"url": f"{served}/{name}", "dataset_id": "tests",
                             "table_id": table, "encoding": encoding})  # fmt: skip
    assert state.is_successful(), state.message
    said = {";": "';'", "\t": "tab (\\t)", "|": "'|'"}[separator]
    assert f"Separator: {said} (read from the file; pass separator= to set it)" in caplog.text
    columns = get_warehouse().rows(
        "SELECT count(*) FROM information_schema.columns "
        f"WHERE table_schema = 'tests' AND table_name = '{table}'"
    )
    assert columns == [(len(body.splitlines()[0].split(separator)),)]


def test_a_one_column_read_whose_header_holds_another_separator_is_refused(served, tmp_path):
    (tmp_path / "www" / "semicolon.csv").write_bytes(SEMICOLON_LATIN1.encode("latin-1"))
    flow = create_dump_url_flow("tests: dump_url", org="tests")
    given = {"url": f"{served}/semicolon.csv", "dataset_id": "tests", "table_id": "one"}
    state = run_local(flow, {**given, "encoding": "latin-1", "separator": ","})
    assert state.is_failed()
    assert "the file read as one column, whose header holds ';': pass separator=';'" in str(
        [s.result for s in state.result.values() if s.is_failed()]
    )


@pytest.mark.parametrize(
    ("path", "limits", "message"),
    [
        ("bomb.csv", {"max_mb": 1}, "is larger than the download limit of 1 MB (after "
         "decompression); nothing was published. Raise max_mb= (or the setting "
         "PIPELINES_DOWNLOAD_MAX_MB)"),
        ("endless.csv", {"max_mb": 2}, "is larger than the download limit of 2 MB"),
        ("trickle.csv", {"timeout_s": 2}, "did not finish downloading within timeout_s=2 ("),
        ("stall.csv", {"timeout_s": 2, "stall_s": 1}, "did not finish downloading within "
         "timeout_s=2"),
    ],
)  # fmt: skip
def test_downloads_are_bounded_in_size_and_time(served, temp_dir, path, limits, message):
    from pipelines.errors import DumpUrlError
    from pipelines.utils.dump_url.tasks import download

    started = time.monotonic()
    with pytest.raises(DumpUrlError) as refused:
        download.run(f"{served}/{path}", **limits)
    assert message in str(refused.value)
    assert time.monotonic() - started < 30
    assert not list(temp_dir.glob("pipelines-url-*"))  # no partial file left


def test_the_flow_takes_timeout_s_and_max_mb(served):
    flow = create_dump_url_flow("tests: dump_url", org="tests")
    names = {p.name for p in flow.parameters()}
    assert {"timeout_s", "max_mb"} <= names
    state = run_local(flow, {"url": f"{served}/bomb.csv", "dataset_id": "tests",
                             "table_id": "bomb", "max_mb": 1})  # fmt: skip
    assert state.is_failed()


def test_a_disk_that_fills_names_the_folder_and_the_size(served, temp_dir, monkeypatch):
    """The download's file lands on /dev/full, which fails every write with ENOSPC, as a
    full disk does."""
    from pipelines.errors import DumpUrlError
    from pipelines.utils.dump_url import tasks

    def on_a_full_disk(prefix, suffix=""):
        path = temp_dir / f"{prefix}full{suffix}"
        path.symlink_to("/dev/full")
        return path

    monkeypatch.setattr(tasks, "scratch_file", on_a_full_disk)
    size = (temp_dir.parent / "www" / "escolas.csv").stat().st_size
    with pytest.raises(DumpUrlError) as refused:
        download.run(f"{served}/escolas.csv")
    assert str(refused.value) == (
        f"the disk holding {temp_dir} filled after {size:,} bytes of {served}/escolas.csv (the "
        f"server announced {size:,} bytes); free space there (or point TMPDIR elsewhere), then "
        "run again. Nothing was published."
    )
    assert list(temp_dir.iterdir()) == []  # nothing left behind
