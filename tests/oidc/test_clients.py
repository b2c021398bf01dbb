"""Clients: the operator's file, the store, and ``idp clients ...`` as an operator runs it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tests.test_cli import Idp

from idp.observability import Audit
from idp.oidc.clients import (
    ClientConfig,
    ClientConfigError,
    ClientError,
    Clients,
    hash_secret,
    load_clients_file,
    new_secret,
)
from idp.store import Store

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "clients.toml"
GOOD = """
[[client]]
client_id = "orders"
secret_hash = "{hash}"
redirect_uris = ["https://orders.example.com/cb"]

[[client]]
client_id = "app"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1:8765/cb"]
"""


def test_the_example_file_loads_and_its_examples_are_valid(tmp_path: Path) -> None:
    assert load_clients_file(EXAMPLE, required=True) == []  # all examples are commented out
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    uncommented = "\n".join(line.removeprefix("# ") for line in lines
                            if line.startswith("# [[client]]") or re.match(r"# [a-z_]+ = ", line))
    uncommented = uncommented.replace("REPLACE-WITH-THE-LINE-FROM-idp-clients-new-secret", "x")
    path = tmp_path / "clients.toml"
    path.write_text(uncommented, encoding="utf-8")
    ids = [client.client_id for client in load_clients_file(path)]
    assert ids == ["orders", "iam-broker", "shop-app", "reports"]


def test_file_and_store_clients_are_one_registry(tmp_path: Path, store: Store) -> None:
    secret = new_secret()
    path = tmp_path / "clients.toml"
    path.write_text(GOOD.format(hash=hash_secret(secret)), encoding="utf-8")
    clients = Clients(store, Audit(), path)
    orders = clients.get("orders")
    assert orders is not None
    assert orders.check_client_secret(secret)
    assert not orders.check_client_secret(secret + "x")
    app = clients.get("app")
    assert app is not None
    assert app.is_public
    assert app.config.require_pkce
    stored = clients.add(ClientConfig(client_id="tool", redirect_uris=["https://t.example/cb"],
                                      secret_hash=hash_secret("s" * 40)))
    assert [c.client_id for c in clients.all()] == ["orders", "app", "tool"]
    assert stored.source == "store"
    with pytest.raises(ClientError, match="declared in the clients file"):
        clients.add(ClientConfig(client_id="orders", redirect_uris=["https://x.example/cb"],
                                 secret_hash=hash_secret("s" * 40)))
    with pytest.raises(ClientError, match="already exists"):
        clients.add(stored.config)
    # An id taken in the store can't also appear in the file.
    path.write_text(GOOD.format(hash="sha256:x") + '\n[[client]]\nclient_id = "tool"\n'
                    'secret_hash = "sha256:y"\nredirect_uris = ["https://t.example/cb"]\n')
    with pytest.raises(ClientConfigError, match="also exist in the store"):
        Clients(store, Audit(), path)


@pytest.mark.parametrize(("body", "expected"), [
    ('[[client]]\nclient_id = "a"\nredirect_uris = ["https://a.example/cb"]\n',
     "needs secret_hash"),
    ('[[client]]\nclient_id = "a"\nsecret_hash = "sha256:x"\n'
     'redirect_uris = ["http://a.example/cb"]\n', "plain http is allowed only on loopback"),
    ('[[client]]\nclient_id = "a"\nsecret_hash = "sha256:x"\n'
     'redirect_uris = ["https://a.example/cb#x"]\n', "fragment"),
    ('[[client]]\nclient_id = "a"\ntoken_endpoint_auth_method = "none"\nrequire_pkce = false\n'
     'redirect_uris = ["https://a.example/cb"]\n', "must use PKCE"),
    ('[[client]]\nclient_id = "a"\nsecret_hash = "sha256:x"\ncolour = "red"\n'
     'redirect_uris = ["https://a.example/cb"]\n', "unknown setting"),
    ('[[client]]\nclient_id = "a"\nsecret_hash = "sha256:x"\nscopes = ["openid", "phone"]\n'
     'redirect_uris = ["https://a.example/cb"]\n', "unknown scope"),
    ('[[client]]\nclient_id = "a b"\nsecret_hash = "sha256:x"\n'
     'redirect_uris = ["https://a.example/cb"]\n', "client_id"),
    ('[[client]]\nclient_id = "a"\nsecret_hash = "sha256:x"\n'
     'redirect_uris = ["https://a.example/cb"]\n' * 2, "repeated"),
    ("[[client]\n", "not valid TOML"),
    ('[clients]\nx = 1\n', "unknown table"),
])
def test_a_bad_clients_file_names_the_problem(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "clients.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ClientConfigError, match=re.escape(expected)):
        load_clients_file(path)


def test_clients_commands(tmp_path: Path) -> None:
    idp = Idp(tmp_path)
    added = idp("clients", "add", "tool", "--redirect-uri", "https://tool.example.com/cb",
                "--redirect-uri", "https://tool.example.com/cb2", "--name", "Seller tool",
                "--post-logout-redirect-uri", "https://tool.example.com/bye",
                "--backchannel-logout-uri", "https://tool.example.com/bcl", "--skip-consent")
    assert added.returncode == 0, added.stderr
    secret = re.search(r"shown once; store it now\): (\S+)", added.stdout)
    assert secret is not None
    assert len(secret.group(1)) >= 43
    shown = json.loads(idp("clients", "show", "tool", "--json").stdout)
    assert shown["redirect_uris"] == ["https://tool.example.com/cb",
                                      "https://tool.example.com/cb2"]
    assert shown["has_secret"] is True
    assert shown["skip_consent"] is True
    assert shown["require_pkce"] is True
    assert "secret_hash" not in shown
    assert secret.group(1) not in json.dumps(shown)
    assert idp("clients", "add", "app", "--public", "--redirect-uri",
               "http://127.0.0.1:9/cb").returncode == 0
    listed = [json.loads(line) for line in idp("clients", "list", "--json").stdout.splitlines()]
    assert [(c["client_id"], c["token_endpoint_auth_method"]) for c in listed] == [
        ("app", "none"), ("tool", "client_secret_basic")]
    rotated = idp("clients", "rotate-secret", "tool")
    assert rotated.returncode == 0
    assert secret.group(1) not in rotated.stdout
    assert idp("clients", "delete", "tool", "--yes").returncode == 0
    assert "tool" not in idp("clients", "list").stdout


def test_clients_commands_refuse_clearly(tmp_path: Path) -> None:
    from tests.test_cli import assert_one_clear_error

    idp = Idp(tmp_path)
    assert idp("clients", "add", "tool", "--redirect-uri", "https://t.example/cb").returncode == 0
    assert_one_clear_error(
        idp("clients", "add", "tool", "--redirect-uri", "https://t.example/cb"), "already exists")
    assert_one_clear_error(
        idp("clients", "add", "x", "--secret-stdin", "--redirect-uri", "https://t.example/cb",
            stdin="short\n"), "at least 32 characters")
    assert_one_clear_error(
        idp("clients", "add", "y", "--redirect-uri", "http://t.example/cb"), "loopback")
    assert_one_clear_error(idp("clients", "show", "nobody"), "no client")
    # A broker that sends no PKCE (Keycloak's default) may be let in; a public client never.
    assert idp("clients", "add", "broker", "--no-require-pkce", "--redirect-uri",
               "https://kc.example/cb").returncode == 0
    assert json.loads(idp("clients", "show", "broker", "--json").stdout)["require_pkce"] is False
    assert_one_clear_error(
        idp("clients", "add", "spa", "--public", "--no-require-pkce", "--redirect-uri",
            "https://spa.example/cb"), "PKCE")
    given = idp("clients", "add", "z", "--secret-stdin", "--redirect-uri",
                "https://t.example/cb", stdin="a-secret-long-enough-for-a-client-0123456789\n")
    assert given.returncode == 0
    assert "shown once" not in given.stdout
    line = idp("clients", "new-secret").stdout.splitlines()[1]
    assert line.startswith('secret_hash = "sha256:')
