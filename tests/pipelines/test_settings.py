"""Settings: environment over .env over defaults; every key documented in .env.example."""

from __future__ import annotations

import re

import pytest

from pipelines.settings import (
    CHOICES,
    ENVIRONMENT_REQUIRES,
    NUMBERS,
    POD_SETTINGS,
    SETTINGS,
    SettingsError,
    env_example,
    load_settings,
    read_dotenv,
    setting_names_block,
    settings_table,
)
from tests.conftest import REPO_ROOT


def test_environment_wins_over_dotenv_which_wins_over_defaults(tmp_path):
    (tmp_path / ".env").write_text(
        "# comment\nPIPELINES_DEFAULT_ORG=sme\nexport PIPELINES_DATA_DIR='/srv/x'\n"
    )
    settings = load_settings({"PIPELINES_DATA_DIR": "rel"}, root=tmp_path)
    assert settings.default_org == "sme"
    assert settings.data_dir == tmp_path / "rel"
    assert settings.get("PIPELINES_DEV_PROJECT") == "staging"
    assert settings.env == "local"


def test_missing_setting_names_it_and_its_purpose(tmp_path):
    with pytest.raises(SettingsError) as error:
        load_settings({}, root=tmp_path).require("PIPELINES_FLOWS_BUCKET")
    assert str(error.value) == (
        "Missing setting PIPELINES_FLOWS_BUCKET: GCS bucket where registered flows are stored. "
        "Set it in the environment or .env."
    )


def test_unknown_environment_is_refused(tmp_path):
    with pytest.raises(
        SettingsError,
        match=r"PIPELINES_ENV='staging' \(the environment\) is not one of local, dev, prod",
    ):
        _ = load_settings({"PIPELINES_ENV": "staging"}, root=tmp_path).env


def test_malformed_dotenv_line_is_reported_with_its_number(tmp_path):
    (tmp_path / ".env").write_text("A=1\nthis is wrong\n")
    with pytest.raises(SettingsError, match=r"\.env:2: this has no '=': write this=VALUE"):
        read_dotenv(tmp_path / ".env")


def test_env_example_is_written_from_the_declarations():
    """.env.example is the settings' declarations as text: a setting added, renamed or
    changed in pipelines/settings.py and not written out fails here, naming the command."""
    text = (REPO_ROOT / ".env.example").read_text()
    assert text == env_example(), (
        ".env.example is out of step: python manage.py settings --example > .env.example"
    )
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.M))
    assert {s.name for s in SETTINGS} <= documented


def test_the_docs_table_is_written_from_the_declarations():
    page = (REPO_ROOT / "docs" / "settings.md").read_text()
    table = page.split("<!-- settings-table -->\n", 1)[1].split("<!-- /settings-table -->", 1)[0]
    assert table == settings_table(), "docs/settings.md's table is out of step with SETTINGS"


def test_the_setting_name_type_is_written_from_the_declarations():
    """SettingName lets mypy refuse settings.get("PIPELINES_TYPO"): it must name exactly the
    declared settings (the message gives the block to paste)."""
    source = (REPO_ROOT / "pipelines" / "settings.py").read_text()
    block = source.split("# <setting-names>", 1)[1].split("# </setting-names>", 1)[0]
    expected = setting_names_block()
    assert f"# <setting-names>{block}# </setting-names>" == expected, (
        f"pipelines/settings.py's SettingName is out of step with SETTINGS; paste:\n{expected}"
    )


def test_mypy_refuses_a_setting_name_no_setting_declares(tmp_path):
    import subprocess
    import sys

    probe = tmp_path / "probe.py"
    probe.write_text(
        "from pipelines.settings import load_settings\n"
        "settings = load_settings({})\n"
        "settings.get('PIPELINES_DATA_DIR')\n"
        "settings.whole('PIPELINES_DUMP_MEMORY_MB')\n"
        "settings.get('PIPELINES_DATA_DIRR')\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=silent", str(probe)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and "probe.py:5:" in errors[0], result.stdout


def test_each_rule_of_a_setting_comes_from_its_one_declaration():
    by_name = {s.name: s for s in SETTINGS}
    assert CHOICES["PIPELINES_EXECUTOR"] == by_name["PIPELINES_EXECUTOR"].choices
    assert NUMBERS["PIPELINES_DUMP_MEMORY_MB"] == by_name["PIPELINES_DUMP_MEMORY_MB"].minimum
    assert set(POD_SETTINGS) == {s.name for s in SETTINGS if s.pod}
    # Nothing secret ever goes to a pod as a value.
    assert not {s.name for s in SETTINGS if s.secret} & set(POD_SETTINGS)
    assert ENVIRONMENT_REQUIRES["dev"] == (
        "PIPELINES_DATALAKE_BUCKET",
        "PIPELINES_BIGQUERY_PROJECT",
    )
    # The executors settings accept are the ones run_local can make, and no other.
    from pipelines.utils.context import ENVIRONMENTS as STORES
    from pipelines.utils.execution.executors import EXECUTORS

    assert set(EXECUTORS) == set(CHOICES["PIPELINES_EXECUTOR"])
    assert set(STORES) == set(CHOICES["PIPELINES_ENV"])


def test_flows_and_tasks_never_read_os_environ():
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for path in (REPO_ROOT / "pipelines").rglob("*.py")
        if path.name != "settings.py" and re.search(r"os\.environ|os\.getenv", path.read_text())
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("KEY=value # comment", "value"),
        ('KEY="value" # comment', "value"),
        ("KEY='value with # inside'", "value with # inside"),
        ('KEY="a b"', "a b"),
        ("KEY=a#b", "a#b"),
        ("export KEY=value", "value"),
        ("KEY=", ""),
        ("KEY = spaced ", "spaced"),
        ("KEY=postgresql://u:p@h/db?x=1", "postgresql://u:p@h/db?x=1"),
    ],
)
def test_dotenv_values(tmp_path, line, value):
    (tmp_path / ".env").write_text(f"# settings\n{line}\n", encoding="utf-8")
    assert read_dotenv(tmp_path / ".env") == {"KEY": value}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'A=1\nKEY="open\n', '.env:2: KEY: the value opens a " quote that never closes'),
        (b"A=1\nKEY='x' y\n", ".env:2: KEY: text follows the closing ' quote"),
        (b"A=1\nB=2\nKEY=caf\xe9\n", ".env:3: not UTF-8 (byte 0xe9); save the file as UTF-8."),
    ],
)
def test_dotenv_errors_name_the_line(tmp_path, content, message):
    (tmp_path / ".env").write_bytes(content)
    with pytest.raises(SettingsError) as error:
        read_dotenv(tmp_path / ".env")
    assert message in str(error.value)


SECRET_TEXT = "Zk4-dotenv-secret"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # A multi-line JSON key: its second line is no KEY=VALUE.
        (
            f'GOOGLE_KEY={{\n  "private_key": "-----BEGIN PRIVATE KEY-----{SECRET_TEXT}"\n}}\n',
            ".env:2: expected KEY=VALUE, one per line (a value spanning lines, such as a JSON "
            "key, must be one line, or a file path) (the line is not shown).",
        ),
        (
            f"PIPELINES_VAULT_TOKEN {SECRET_TEXT}\n",
            ".env:1: PIPELINES_VAULT_TOKEN has no '=': write PIPELINES_VAULT_TOKEN=VALUE (the "
            "line is not shown).",
        ),
        (
            f"PIPELINES_DB-Y=postgresql://u:{SECRET_TEXT}@h/db\n",
            ".env:1: 'PIPELINES_DB-Y' is not a valid name: use letters, digits and _ (e.g. "
            "PIPELINES_DB_Y) (the line is not shown).",
        ),
        (
            f'PIPELINES_DB_X="postgresql://u:{SECRET_TEXT}@h/db\n',
            '.env:1: PIPELINES_DB_X: the value opens a " quote that never closes',
        ),
        (
            f'PIPELINES_DB_X="postgresql://u:p@h/db"{SECRET_TEXT}\n',
            '.env:1: PIPELINES_DB_X: text follows the closing " quote',
        ),
    ],
)
def test_dotenv_errors_name_the_key_and_the_rule_never_the_value(tmp_path, content, message):
    (tmp_path / ".env").write_text(content)
    with pytest.raises(SettingsError) as error:
        read_dotenv(tmp_path / ".env")
    assert message in str(error.value)
    assert SECRET_TEXT not in str(error.value) and "BEGIN" not in str(error.value)


def test_dotenv_with_a_byte_order_mark_is_read(tmp_path):
    (tmp_path / ".env").write_bytes(b"\xef\xbb\xbfKEY=value\n")
    assert read_dotenv(tmp_path / ".env") == {"KEY": "value"}


def test_an_unknown_setting_name_fails_at_once(tmp_path):
    settings = load_settings({"PIPELINES_DB_SME": "postgresql://h/db"}, root=tmp_path)
    assert settings.get("PIPELINES_DB_SME") == "postgresql://h/db"  # a documented family
    with pytest.raises(KeyError, match="PIPELINES_DATALAKE_BUKET is not a setting"):
        settings.get("PIPELINES_DATALAKE_BUKET")


def test_each_default_lives_in_settings_only(tmp_path):
    settings = load_settings({}, root=tmp_path)
    assert (settings.env, settings.default_org) == ("local", "emd")
    assert settings.data_dir == tmp_path / "data"
    assert settings.require("PIPELINES_EXECUTOR") == "local"


@pytest.mark.parametrize(
    ("name", "nearest"),
    [
        ("PIPELINES_EXECUTR", "PIPELINES_EXECUTOR"),
        ("PIPELINES_DATALAKE_BUKET", "PIPELINES_DATALAKE_BUCKET"),
        ("PIPELINES_ALERT_INTERVAL", "PIPELINES_ALERT_INTERVAL_MIN"),
        ("PIPELINES_VAULT_ADRESS", "PIPELINES_VAULT_ADDR"),
    ],
)
def test_a_typo_in_a_settings_name_is_an_error_naming_the_nearest(tmp_path, name, nearest):
    with pytest.raises(SettingsError) as raised:
        load_settings({name: "x"}, root=tmp_path)
    assert (
        str(raised.value) == f"{name} (the environment) is not a setting: did you mean {nearest}?"
    )
    (tmp_path / ".env").write_text(f"{name}=x\n")
    with pytest.raises(SettingsError, match=rf"{name} \({tmp_path / '.env'}\) is not a setting"):
        load_settings({}, root=tmp_path)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PIPELINES_ALERT_INTERVAL_MIN", "abc", "must be a number of at least 0"),
        ("PIPELINES_ALERT_INTERVAL_MIN", "-5", "must be a number of at least 0"),
        ("PIPELINES_ALERT_INTERVAL_MIN", "nan", "must be a number of at least 0"),
        ("PIPELINES_DUMP_TO_GCS_MAX_MB", "0", "must be a number of at least 1"),
        ("PIPELINES_DUMP_TO_GCS_MAX_MB", "1 GB", "must be a number of at least 1"),
        ("PIPELINES_ENV", "staging", "is not one of local, dev, prod"),
        ("PIPELINES_EXECUTOR", "dask", "is not one of local, local_dask"),
        ("PIPELINES_SECRETS_BACKEND", "aws", "is not one of local, vault"),
        ("PIPELINES_VAULT_AUTH", "password", "is not one of token, approle, kubernetes"),
        ("PIPELINES_DASK_ADDRESS", "localhost", "is not a Dask scheduler address"),
        ("PIPELINES_DASK_ADDRESS", "tcp://localhost", "is not a Dask scheduler address"),
        ("PIPELINES_DASK_ADDRESS", "http://h:8786", "is not a Dask scheduler address"),
    ],
)
def test_a_value_that_breaks_its_settings_rule_fails_before_anything_runs(
    tmp_path, name, value, message
):
    with pytest.raises(SettingsError) as raised:
        load_settings({name: value}, root=tmp_path)
    assert str(raised.value).startswith(f"{name}={value!r} (the environment) ")
    assert message in str(raised.value)


def test_every_problem_is_listed_at_once_and_good_values_pass(tmp_path):
    with pytest.raises(SettingsError) as raised:
        load_settings({"PIPELINES_EXECUTR": "x", "PIPELINES_ENV": "qa"}, root=tmp_path)
    assert len(str(raised.value).splitlines()) == 2
    good = {
        "PIPELINES_ALERT_INTERVAL_MIN": "0.5",
        "PIPELINES_DASK_ADDRESS": "tcp://10.0.0.5:8786",
        "PIPELINES_EXECUTOR": "local_dask",
        "PIPELINES_ENV": "",
        "HOME": "/root",
    }
    assert load_settings(good, root=tmp_path).env == "local"
