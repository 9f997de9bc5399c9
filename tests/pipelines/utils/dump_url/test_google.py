"""Google Sheets and Drive links, public and private, against a local fake of Google's token
and export endpoints that checks the service account's signed JWT and bearer token."""

from __future__ import annotations

import io

import pytest

from pipelines.errors import DumpUrlError
from pipelines.utils.dump_url import create_dump_url_flow
from pipelines.utils.dump_url.tasks import download
from pipelines.utils.execution import run_local
from pipelines.utils.warehouse import get_warehouse
from tests.support import google_files
from tests.support.google_files import ACCOUNT, StoredFile

SHEET = "https://docs.google.com/spreadsheets/d/{id}/edit#gid={gid}"
GOALS = b"Meta;Valor\nreduzir filas;10\n"  # the link's own tab (gid 7)


def _workbook() -> bytes:
    """Two tabs, the second with a title row above its header."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Resumo"
    book.active.append(["x"])
    tab = book.create_sheet("Metas 2024")
    tab.append(["Metas da cidade, 2024"])
    tab.append(["Meta", "Secretaria", "Valor"])
    tab.append(["vacinar", "SMS", "95"])
    tab.append(["plantar árvores", "SMAC", "1000"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def google(tmp_path, monkeypatch, local_env):
    keys: dict[str, str] = {}
    server, fake = google_files.start(keys)
    key = tmp_path / "reader.json"
    keys[ACCOUNT] = google_files.service_account_key(key, f"{fake.url}/token")
    workbook = _workbook()
    fake.files["public"] = StoredFile(public=True, tabs={"7": GOALS}, workbook=workbook)
    fake.files["private"] = StoredFile(shared_with={ACCOUNT}, tabs={"7": GOALS},
                                       workbook=workbook)  # fmt: skip
    fake.files["someone-elses"] = StoredFile(tabs={"7": GOALS})
    fake.files["drive-private"] = StoredFile(shared_with={ACCOUNT}, media=workbook)
    monkeypatch.setenv("PIPELINES_GOOGLE_API_ENDPOINT", fake.url)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    fake.key = key
    yield fake
    server.shutdown()
    server.server_close()


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def test_a_public_sheet_needs_no_credentials(google):
    path = download.run(SHEET.format(id="public", gid=7))
    assert _read(path) == GOALS
    assert google.requests == [("/spreadsheets/d/public/export", "")]


def test_a_private_sheet_is_read_as_the_service_account(google, monkeypatch, caplog):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(google.key))
    path = download.run(SHEET.format(id="private", gid=7))
    assert _read(path) == GOALS
    # Anonymous first (a public link needs no token), then with the account's bearer token.
    assert google.requests[0] == ("/spreadsheets/d/private/export", "")
    assert google.requests[-1] == ("/spreadsheets/d/private/export", ACCOUNT)
    assert f"is not public: reading it as the service account {ACCOUNT}" in caplog.text
    assert not any(token in caplog.text for token in google.tokens)


def test_a_private_drive_file_is_read_through_the_drive_api(google, monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(google.key))
    path = download.run("https://drive.google.com/file/d/drive-private/view?usp=sharing")
    assert _read(path) == google.files["drive-private"].media
    assert google.requests[-1] == ("/drive/v3/files/drive-private", ACCOUNT)


def test_a_private_sheet_without_credentials_says_what_to_do(google):
    with pytest.raises(DumpUrlError) as refused:
        download.run(SHEET.format(id="private", gid=7))
    assert str(refused.value) == (
        "https://docs.google.com/spreadsheets/d/private/edit#gid=7 is not shared publicly and "
        "GOOGLE_APPLICATION_CREDENTIALS is unset: share it as 'Anyone with the link', or set "
        "GOOGLE_APPLICATION_CREDENTIALS to the key of a service account the file is shared with."
    )


def test_a_sheet_not_shared_with_the_account_names_the_account(google, monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(google.key))
    with pytest.raises(DumpUrlError) as refused:
        download.run(SHEET.format(id="someone-elses", gid=7))
    assert f"the service account {ACCOUNT} cannot read " in str(refused.value)
    assert f"(HTTP 403): share the file with {ACCOUNT} (Viewer is enough)" in str(refused.value)


def test_a_key_google_does_not_know_is_refused_by_the_account_name(google, monkeypatch, tmp_path):
    # Same account, another key: the token endpoint checks the JWT's signature.
    stranger = tmp_path / "stranger.json"
    google_files.service_account_key(stranger, f"{google.url}/token")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(stranger))
    with pytest.raises(DumpUrlError) as refused:
        download.run(SHEET.format(id="private", gid=7))
    assert str(refused.value).startswith(
        f"Google refused the key of the service account {ACCOUNT} "
        f"(GOOGLE_APPLICATION_CREDENTIALS={stranger}): invalid_grant"
    )
    assert "PRIVATE KEY" not in str(refused.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file; point it at the service account's JSON key."),
        ('{"type": "authorized_user"}', "is not a service account's JSON key"),
    ],
)
def test_a_bad_key_file_is_named(google, monkeypatch, tmp_path, content, message):
    key = tmp_path / "key.json"
    if content is not None:
        key.write_text(content)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    with pytest.raises(DumpUrlError, match=message):
        download.run(SHEET.format(id="private", gid=7))


@pytest.mark.parametrize("sheet_id", ["public", "private"])
def test_a_clock_names_the_tab_and_range_of_a_sheet(google, monkeypatch, sheet_id):
    """The tab the link shows is not the one read: the clock's sheet= and range= are."""
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(google.key))
    flow = create_dump_url_flow("tests: metas", org="tests")
    state = run_local(
        flow,
        {
            "url": SHEET.format(id=sheet_id, gid=7),
            "dataset_id": "tests",
            "table_id": "metas",
            "sheet": "Metas 2024",
            "range": "A2:B100",
        },
    )
    assert state.is_successful(), state.message
    rows = get_warehouse().rows("SELECT meta, secretaria FROM tests.metas ORDER BY meta")
    assert rows == [("plantar árvores", "SMAC"), ("vacinar", "SMS")]
    assert f"/spreadsheets/d/{sheet_id}/export" in {path for path, _ in google.requests}


def test_range_on_a_csv_is_refused_not_ignored(tmp_path):
    from pipelines.utils.dump_url.tasks import to_parquet

    csv = tmp_path / "a.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(DumpUrlError, match="range= and header_row= read Excel sheets"):
        to_parquet.run(str(csv), range="A2:B9")
