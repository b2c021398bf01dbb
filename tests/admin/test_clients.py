"""Clients over /admin/api/v1 and ``idp clients rotate-secret --overlap``: add, show, change,
delete; a secret shown once, never its hash; rotation with an overlap where both secrets
work at /token until the time and only the new one after; no caller reaches a client that
could do more than it can."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from idp.observability import Audit
from idp.oidc.clients import Clients, hash_secret
from idp.settings import StoreSettings
from idp.store import open_store
from tests.admin.harness import HTTP, SERVICE, admin_env, api, audit_since, token
from tests.oidc.helpers import REDIRECT, Env, add_client
from tests.test_cli import Idp

ONE = "/clients/{client_id}"
ROTATE = "/clients/{client_id}/secret:rotate"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with admin_env(tmp_path_factory.mktemp("clients")) as running:
        # Holds admin:clients:write and nothing more.
        add_client(running, "registrar", admin_scopes=["admin:clients:write"], **SERVICE)
        yield running


def token_status(env: Env, client_id: str, secret: str) -> int:
    answer = HTTP.post(env.url("/token"), data={"grant_type": "client_credentials"},
                       auth=(client_id, secret))
    return answer.status_code


def test_client_lifecycle(env: Env) -> None:
    bearer = token(env)
    created = api(env, "POST", "/clients", bearer, json={
        "client_id": "orders", "client_name": "Orders", "redirect_uris": [REDIRECT]})
    assert created.status_code == 201, created.text
    secret = created.json()["client_secret"]
    assert len(secret) >= 43
    assert created.headers["location"] == "/admin/api/v1/clients/orders"
    assert created.json()["client"]["has_secret"] is True
    shown = api(env, "GET", ONE, bearer, params={"client_id": "orders"})
    listed = api(env, "GET", "/clients", bearer)
    for answer in (created, shown, listed):
        assert hash_secret(secret).removeprefix("sha256:") not in answer.text
        assert "secret_hash" not in answer.text
    assert secret not in shown.text + listed.text
    assert "orders" in [c["client_id"] for c in listed.json()["items"]]

    changed = api(env, "PATCH", ONE, bearer, params={"client_id": "orders"},
                  json={"client_name": "Orders v2", "skip_consent": True})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["client_name"], changed.json()["skip_consent"]) == ("Orders v2", True)
    seq = env.services.audit_log.last_seq()
    for body in ({"secret_hash": "sha256:x"}, {"redirect_uris": ["http://evil.example/cb"]},
                 {"client_id": "other"}, {"colour": "red"}):
        bad = api(env, "PATCH", ONE, bearer, params={"client_id": "orders"}, json=body)
        assert bad.status_code == 422, (body, bad.text)
    assert [e["action"] for e in audit_since(env, seq)] == ["admin.refused"] * 4
    assert env.services.oidc.clients.get("orders").config.client_name == "Orders v2"  # type: ignore[union-attr]
    taken = api(env, "POST", "/clients", bearer, json={"client_id": "orders",
                                                      "redirect_uris": [REDIRECT]})
    assert taken.status_code == 409
    public = api(env, "POST", "/clients", bearer, json={
        "client_id": "spa", "token_endpoint_auth_method": "none", "redirect_uris": [REDIRECT]})
    assert public.json()["client_secret"] is None

    assert api(env, "DELETE", ONE, bearer, params={"client_id": "orders"}).status_code == 204
    assert env.services.oidc.clients.get("orders") is None
    assert api(env, "GET", ONE, bearer, params={"client_id": "orders"}).status_code == 404


def test_rotation_with_an_overlap(env: Env) -> None:
    bearer = token(env)
    created = api(env, "POST", "/clients", bearer, json={"client_id": "batch", **SERVICE})
    old = created.json()["client_secret"]
    assert token_status(env, "batch", old) == 200
    rotated = api(env, "POST", ROTATE, bearer, params={"client_id": "batch"},
                  json={"overlap_s": 300})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["client_secret"]
    until = rotated.json()["previous_secret_valid_until"]
    assert new != old
    assert until == pytest.approx(env.clock() + 300, abs=5)
    # During the overlap both work; the secret is hashed at rest, both of them.
    assert token_status(env, "batch", old) == 200
    assert token_status(env, "batch", new) == 200
    stored = env.services.oidc.clients.get("batch")
    assert stored is not None
    assert stored.config.previous_secret_hash == hash_secret(old)
    assert api(env, "GET", ONE, bearer, params={"client_id": "batch"}).json()[
        "previous_secret_valid_until"] == until
    env.clock.advance(301)
    assert token_status(env, "batch", old) == 401
    assert token_status(env, "batch", new) == 200
    # Without an overlap the old one stops at once.
    bearer = token(env)
    again = api(env, "POST", ROTATE, bearer, params={"client_id": "batch"})
    assert again.json()["previous_secret_valid_until"] is None
    assert token_status(env, "batch", new) == 401
    assert token_status(env, "batch", again.json()["client_secret"]) == 200
    for overlap in (-1, 8 * 24 * 3600, "60", True):
        bad = api(env, "POST", ROTATE, bearer, params={"client_id": "batch"},
                  json={"overlap_s": overlap})
        assert bad.status_code == 422, overlap
    public = api(env, "POST", ROTATE, bearer, params={"client_id": "spa2"})
    assert public.status_code == 404


def test_no_reach_beyond_the_callers_own_scopes(env: Env) -> None:
    bearer = token(env, "registrar", "admin:clients:write")
    grab = api(env, "POST", "/clients", bearer, json={
        "client_id": "sneaky", "admin_scopes": ["admin:users:write"], **SERVICE})
    assert grab.status_code == 403
    assert grab.json()["type"] == "urn:nidan:admin:beyond-caller-scopes"
    assert env.services.oidc.clients.get("sneaky") is None
    for method, template, body in (("POST", ROTATE, None), ("DELETE", ONE, None),
                                   ("PATCH", ONE, {"client_name": "mine now"})):
        refused = api(env, method, template, bearer, params={"client_id": "ops"}, json=body)
        assert refused.status_code == 403, (method, template)
    assert token_status(env, "ops", env.secrets["ops"]) == 200
    mine = api(env, "POST", "/clients", bearer, json={
        "client_id": "helper", "admin_scopes": ["admin:clients:write"], **SERVICE})
    assert mine.status_code == 201
    more = api(env, "PATCH", ONE, bearer, params={"client_id": "helper"},
               json={"admin_scopes": ["admin:clients:write", "admin:audit:read"]})
    assert more.status_code == 403


def test_cli_rotate_secret_with_an_overlap(tmp_path: Path) -> None:
    idp = Idp(tmp_path)
    added = idp("clients", "add", "svc", "--grant-type", "client_credentials")
    assert added.returncode == 0, added.stderr
    found = re.search(r"store it now\): (\S+)", added.stdout)
    assert found is not None
    old = found.group(1)
    rotated = idp("clients", "rotate-secret", "svc", "--overlap", "600")
    assert rotated.returncode == 0, rotated.stderr
    assert "the old secret stays valid until" in rotated.stdout
    found = re.search(r"store it now\): (\S+)", rotated.stdout)
    assert found is not None
    new = found.group(1)
    store = open_store(StoreSettings(url=f"sqlite:///{tmp_path / 'store.db'}"))
    try:
        now = Clients(store, Audit()).get("svc")
        later = Clients(store, Audit(), clock=lambda: time.time() + 601).get("svc")
        assert now is not None
        assert later is not None
        assert now.check_client_secret(old)
        assert now.check_client_secret(new)
        assert later.check_client_secret(new)
        assert not later.check_client_secret(old)
    finally:
        store.close()
    too_long = idp("clients", "rotate-secret", "svc", "--overlap", str(8 * 24 * 3600))
    assert too_long.returncode != 0
