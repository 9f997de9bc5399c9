"""get_secret on a real OpenBao dev server (Vault's API) and from settings locally."""

from __future__ import annotations

import time
import uuid

import pytest

from pipelines.errors import (
    SecretAccessDeniedError,
    SecretNotFoundError,
    SecretStoreUnreachableError,
)
from pipelines.settings import load_settings
from pipelines.utils.secrets import clear_cache, get_secret, setting_for


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def vault_settings(server, tmp_path, **extra: str):
    values = {
        "PIPELINES_SECRETS_BACKEND": "vault",
        "PIPELINES_VAULT_ADDR": server.address,
        "PIPELINES_VAULT_AUTH": "token",
        "PIPELINES_VAULT_TOKEN": server.root_token,
        **extra,
    }
    return load_settings(values, root=tmp_path)


def put(server, path: str, **values: str) -> None:
    server.client().secrets.kv.v2.create_or_update_secret(path=path, secret=values)


def test_reads_a_secret_and_one_key(openbao, tmp_path):
    path = f"sme/pg-{uuid.uuid4().hex[:6]}"
    put(openbao, path, user="reader", password="s3cr3t-pw")
    settings = vault_settings(openbao, tmp_path)
    assert get_secret(path, settings=settings) == {"user": "reader", "password": "s3cr3t-pw"}
    assert get_secret(path, "password", settings=settings) == "s3cr3t-pw"


def test_a_prefix_from_settings_is_prepended(openbao, tmp_path):
    put(openbao, "pipelines/team/api", token="tok-123")
    settings = vault_settings(openbao, tmp_path, PIPELINES_VAULT_PREFIX="pipelines/")
    assert get_secret("team/api", "token", settings=settings) == "tok-123"


def test_missing_path_and_missing_key_name_the_path_not_values(openbao, tmp_path):
    settings = vault_settings(openbao, tmp_path)
    with pytest.raises(
        SecretNotFoundError, match=r"No secret 'nope/missing' \(secret/nope/missing"
    ):
        get_secret("nope/missing", settings=settings)
    put(openbao, "sme/keys", user="u1", password="hidden-value")
    with pytest.raises(SecretNotFoundError) as error:
        get_secret("sme/keys", "token", settings=settings)
    assert str(error.value) == "Secret 'sme/keys' has no key 'token'; its keys: password, user."


def test_a_token_without_the_policy_is_denied(openbao, tmp_path):
    put(openbao, "sme/locked", password="do-not-read")
    root = openbao.client()
    root.sys.create_or_update_policy(
        "other", 'path "secret/data/other/*" { capabilities = ["read"] }'
    )
    token = root.auth.token.create(policies=["other"], ttl="1h")["auth"]["client_token"]
    settings = vault_settings(openbao, tmp_path, PIPELINES_VAULT_TOKEN=token)
    with pytest.raises(SecretAccessDeniedError) as error:
        get_secret("sme/locked", settings=settings)
    assert "Reading secret 'sme/locked'" in str(error.value)
    assert "no policy of this login allows reading it" in str(error.value)


def _reader_policy(server) -> None:
    server.client().sys.create_or_update_policy(
        "reader", 'path "secret/data/*" { capabilities = ["read"] }'
    )


def test_an_expired_token_mid_run_is_named_as_such(openbao, tmp_path):
    _reader_policy(openbao)
    put(openbao, "run/a", v="first-value")
    put(openbao, "run/b", v="second-value")
    token = openbao.client().auth.token.create(policies=["reader"], ttl="2s", renewable=False)
    settings = vault_settings(
        openbao, tmp_path, PIPELINES_VAULT_TOKEN=token["auth"]["client_token"]
    )
    assert get_secret("run/a", "v", settings=settings) == "first-value"
    time.sleep(3)
    with pytest.raises(SecretAccessDeniedError, match="the token has expired"):
        get_secret("run/b", settings=settings)


def test_approle_logs_in_again_when_its_token_expires_mid_run(openbao, tmp_path):
    _reader_policy(openbao)
    root = openbao.client()
    if "approle/" not in root.sys.list_auth_methods():
        root.sys.enable_auth_method("approle")
    root.auth.approle.create_or_update_approle(
        "pipelines", token_policies=["reader"], token_ttl="2s", token_max_ttl="2s"
    )
    role_id = root.auth.approle.read_role_id("pipelines")["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id("pipelines")["data"]["secret_id"]
    put(openbao, "run/c", v="third-value")
    put(openbao, "run/d", v="fourth-value")
    settings = vault_settings(
        openbao, tmp_path, PIPELINES_VAULT_AUTH="approle",
        PIPELINES_VAULT_ROLE_ID=role_id, PIPELINES_VAULT_SECRET_ID=secret_id,
    )  # fmt: skip
    assert get_secret("run/c", "v", settings=settings) == "third-value"
    time.sleep(3)
    assert get_secret("run/d", "v", settings=settings) == "fourth-value"


def test_a_server_stopped_mid_run_is_unreachable_after_retries(own_openbao, tmp_path):
    put(own_openbao, "run/e", v="fifth-value")
    settings = vault_settings(own_openbao, tmp_path)
    assert get_secret("run/e", "v", settings=settings) == "fifth-value"
    own_openbao.stop()
    assert get_secret("run/e", "v", settings=settings) == "fifth-value"  # read once per run
    with pytest.raises(SecretStoreUnreachableError) as error:
        get_secret("run/f", settings=settings)
    assert (
        f"Could not read secret 'run/f': secret/run/f at {own_openbao.address} did not answer"
        in str(error.value)
    )


def test_locally_secrets_come_from_settings(tmp_path):
    path = "sme/postgres"
    assert setting_for(path) == "PIPELINES_SECRET_SME_POSTGRES"
    (tmp_path / ".env").write_text(
        'PIPELINES_SECRET_SME_POSTGRES={"url": "postgresql://u:pw-local@h/db"}\n'
        "PIPELINES_SECRET_WEBHOOK=https://hooks.example/abc\n"
    )
    settings = load_settings({}, root=tmp_path)
    assert get_secret(path, "url", settings=settings) == "postgresql://u:pw-local@h/db"
    assert get_secret("webhook", settings=settings) == {"value": "https://hooks.example/abc"}
    with pytest.raises(SecretNotFoundError, match="set PIPELINES_SECRET_NOPE in .env"):
        get_secret("nope", settings=settings)


def test_a_path_that_is_not_a_path_is_refused_before_any_read(tmp_path):
    with pytest.raises(ValueError, match="is not a path"):
        get_secret("postgresql://u:p@h/db", settings=load_settings({}, root=tmp_path))


PASSWORD = "pw-Zq81-never-shown"


def _pg_table(name: str) -> None:
    from tests.conftest import connect_postgres

    with connect_postgres() as conn:
        conn.execute(f"CREATE TABLE {name} (id int, label text)")
        conn.execute(f"INSERT INTO {name} VALUES (1, 'a'), (2, 'b')")


def _drop(name: str) -> None:
    from tests.conftest import connect_postgres

    with connect_postgres() as conn:
        conn.execute(f"DROP TABLE IF EXISTS {name}")


def _dump(table: str):
    from pipelines.utils.dump_db import create_dump_db_flow
    from pipelines.utils.execution import run_local

    flow = create_dump_db_flow("tests: dump_db", org="tests")
    return run_local(flow, dict(connection="pg", dataset_id="tests", table_id=table, table=table))


def _messages(state) -> str:
    return "\n".join(str(s.message) for s in [state, *state.result.values()])


def test_a_dump_whose_connection_is_a_vault_secret_never_shows_the_password(
    openbao, postgres_url, local_env, monkeypatch, capsys, caplog
):
    put(openbao, "sme/pg", dialect="postgresql", host="127.0.0.1", port="5432",
        user="postgres", password=PASSWORD, database="test")  # fmt: skip
    for name, value in {
        "PIPELINES_SECRETS_BACKEND": "vault", "PIPELINES_VAULT_ADDR": openbao.address,
        "PIPELINES_VAULT_AUTH": "token", "PIPELINES_VAULT_TOKEN": openbao.root_token,
        "PIPELINES_DB_PG": "secret:sme/pg",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    table = f"sec_{uuid.uuid4().hex[:8]}"
    _pg_table(table)
    try:
        good = _dump(table)
        bad = _dump(f"{table}_missing")  # fails inside the driver, which echoes its URL
    finally:
        _drop(table)
    from pipelines.utils.warehouse import get_warehouse

    assert good.is_successful() and get_warehouse().row_count("tests", table) == 2
    assert bad.is_failed()
    seen = capsys.readouterr()
    everything = seen.out + seen.err + caplog.text + _messages(good) + _messages(bad)
    assert PASSWORD not in everything
    assert "sme/pg" in everything or table in everything


def test_locally_the_same_flow_runs_from_env_without_code_changes(
    postgres_url, local_env, monkeypatch
):
    monkeypatch.setenv("PIPELINES_SECRET_SME_PG", '{"url": "' + postgres_url + '"}')
    monkeypatch.setenv("PIPELINES_DB_PG", "secret:sme/pg")
    table = f"sec_{uuid.uuid4().hex[:8]}"
    _pg_table(table)
    try:
        assert _dump(table).is_successful()
        monkeypatch.setenv("PIPELINES_DB_PG", postgres_url)  # or the URL itself, as before
        clear_cache()
        assert _dump(table).is_successful()
    finally:
        _drop(table)


def test_pods_log_in_with_the_kubernetes_method_from_settings(openbao, tmp_path):
    root = openbao.client()
    if "kubernetes/" not in root.sys.list_auth_methods():
        root.sys.enable_auth_method("kubernetes")
    jwt = tmp_path / "token"
    jwt.write_text("eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n")
    settings = vault_settings(
        openbao, tmp_path, PIPELINES_VAULT_AUTH="kubernetes",
        PIPELINES_VAULT_K8S_ROLE="pipelines", PIPELINES_VAULT_K8S_JWT_PATH=str(jwt),
    )  # fmt: skip
    # No cluster answers the server's TokenReview here: the login reaches the method and the
    # role from settings, and the refusal is an access error naming the method.
    with pytest.raises(SecretAccessDeniedError, match="refused the kubernetes login"):
        get_secret("sme/anything", settings=settings)
    logins = [r for r in root.sys.list_auth_methods() if r == "kubernetes/"]
    assert logins == ["kubernetes/"]
