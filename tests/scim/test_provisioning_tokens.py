"""Long-lived provisioning tokens (``idp clients scim-token``): for a directory that can be
configured with one static bearer token. Only their hash is kept; they work while their
client exists and still has ``scim:provision``; they end when revoked or expired."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from idp.scim.tokens import PREFIX, ProvisioningTokens
from tests.oidc.helpers import Env, add_client, provider_env
from tests.scim.helpers import SERVICE, add_provisioner, scim_http
from tests.test_cli import Idp, assert_one_clear_error


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with provider_env(tmp_path_factory.mktemp("scim-tokens")) as running:
        yield running


def tokens(env: Env) -> ProvisioningTokens:
    return ProvisioningTokens(env.services.store, env.services.audit)


def status(env: Env, bearer: str) -> tuple[int, str]:
    with scim_http(env, bearer) as http:
        answer = http.get("/Users")
    return answer.status_code, answer.headers.get("www-authenticate", "")


def test_a_token_works_until_revoked(env: Env) -> None:
    add_provisioner(env, "hr")
    token = tokens(env).issue("hr", 3600, actor="test")
    assert token.startswith(PREFIX)
    assert len(token) > len(PREFIX) + 40
    assert status(env, token)[0] == 200
    # One character off, or another random token of the same shape: refused alike.
    for wrong in (token[:-1] + ("A" if token[-1] != "A" else "B"), PREFIX + "x" * 43):
        code, challenge = status(env, wrong)
        assert (code, 'error="invalid_token"' in challenge) == (401, True)
    assert [info.client_id for info in tokens(env).listing("hr")] == ["hr"]
    assert tokens(env).revoke_all("hr", actor="test") == 1
    assert status(env, token)[0] == 401
    assert tokens(env).listing("hr") == []


def test_only_a_hash_is_stored(env: Env) -> None:
    add_provisioner(env, "hr-hash")
    token = tokens(env).issue("hr-hash", 3600, actor="test")
    store = env.services.store
    for key in store.scan("scim:"):
        assert token not in key
        value = store.get(key)
        members = store.smembers(key) if value is None else set()
        assert token.encode() not in (value or b"")
        assert all(token not in member for member in members)


def test_a_withdrawn_scope_or_a_deleted_client_ends_the_token(env: Env) -> None:
    add_provisioner(env, "hr-scope")
    token = tokens(env).issue("hr-scope", 3600, actor="test")
    assert status(env, token)[0] == 200
    clients = env.provider.clients
    clients.delete("hr-scope", actor="test")
    add_client(env, "hr-scope", admin_scopes=[], **SERVICE)  # the same id, no scope
    code, challenge = status(env, token)
    assert (code, 'error="insufficient_scope"' in challenge) == (403, True)
    clients.delete("hr-scope", actor="test")
    assert status(env, token)[0] == 401


def test_an_expired_token_is_refused(env: Env) -> None:
    add_provisioner(env, "hr-short")
    token = tokens(env).issue("hr-short", 1, actor="test")
    assert status(env, token)[0] == 200
    time.sleep(1.2)
    assert status(env, token)[0] == 401


def test_the_idp_command_issues_lists_and_revokes(tmp_path: Path) -> None:
    idp = Idp(tmp_path)
    assert idp("clients", "add", "web-tool", "--redirect-uri",
               "https://tool.example.com/cb").returncode == 0
    assert_one_clear_error(idp("clients", "scim-token", "web-tool"), "scim:provision")
    assert_one_clear_error(idp("clients", "scim-token", "nobody"), "no client")
    assert idp("clients", "add", "hr-directory", "--grant-type", "client_credentials",
               "--admin-scope", "scim:provision").returncode == 0
    issued = idp("clients", "scim-token", "hr-directory", "--days", "30")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert token.startswith(PREFIX)
    listed = idp("clients", "scim-token", "hr-directory", "--list")
    assert len(listed.stdout.splitlines()) == 1
    assert token not in listed.stdout
    assert token.encode() not in b"".join(p.read_bytes() for p in tmp_path.glob("store.db*"))
    revoked = idp("clients", "scim-token", "hr-directory", "--revoke")
    assert revoked.stdout.strip() == "revoked 1 token(s)"
    assert idp("clients", "scim-token", "hr-directory", "--list").stdout == ""
