"""Signing keys: in the store, encrypted, rotated with pre-publication, retired after the
longest token lifetime; and ``idp keys list|rotate`` as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from tests.oidc.helpers import Env, header_of, make_user, oidc_test_settings, sign_in, tokens_for
from tests.test_cli import Idp

from idp.crypto import DataKeys
from idp.oidc.keys import RECORD_KEY, REFRESH_S
from idp.oidc.provider import OidcProvider
from idp.store import load_record


def published(env: Env) -> set[str]:
    return {key["kid"] for key in httpx.get(env.url("/jwks.json")).json()["keys"]}


def test_rotation_prepublishes_then_switches_then_retires(env: Env,
                                                         agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    old = tokens_for(env, agent)["id_token"]
    old_kid = header_of(old)["kid"]
    new = {info.alg: info.kid for info in env.provider.keys.rotate(3600, actor="test")}
    # Published at once, not yet signing.
    assert new["RS256"] in published(env)
    assert old_kid in published(env)
    assert header_of(tokens_for(env, agent)["id_token"])["kid"] == old_kid
    env.clock.advance(3601)
    fresh = tokens_for(env, agent)["id_token"]
    assert header_of(fresh)["kid"] == new["RS256"]
    # The old key still verifies what it signed until those tokens have all expired...
    assert old_kid in published(env)
    env.clock.advance(env.provider.longest_token_lifetime() + 1)
    # ...then it is retired.
    assert old_kid not in published(env)
    assert new["RS256"] in published(env)
    assert new["ES256"] in published(env)


def test_private_keys_are_encrypted_at_rest(env: Env) -> None:
    env.provider.keys.jwks_json()
    raw = env.services.store.get(RECORD_KEY)
    assert raw is not None
    record = load_record(raw)
    assert record is not None
    data_keys = DataKeys.from_settings(env.settings.secrets)
    for item in record["keys"]:
        assert item["private"].startswith("g1.")
        assert '"d"' not in json.dumps(item["public"])
        plain = json.loads(data_keys.decrypt(item["private"],
                                             f"nidan:oidc-signing-key:{item['kid']}".encode()))
        assert "d" in plain


def test_another_replica_sees_a_rotation_within_its_refresh(env: Env) -> None:
    services = env.services
    replica = OidcProvider(env.settings, services.store, services.audit, services.accounts,
                           services.sessions, oidc=oidc_test_settings(), clock=env.clock)
    before = json.loads(replica.keys.jwks_json())["keys"]
    created = env.provider.keys.rotate(0, actor="test")
    env.clock.advance(REFRESH_S + 1)
    after = {key["kid"] for key in json.loads(replica.keys.jwks_json())["keys"]}
    assert {info.kid for info in created} <= after
    assert replica.keys.signing_key("RS256")[0] in {info.kid for info in created}
    assert len(after) == len(before) + 2


def test_keys_commands(tmp_path: Path) -> None:
    idp = Idp(tmp_path)
    first = idp("keys", "list", "--json")
    assert first.returncode == 0, first.stderr
    keys = [json.loads(line) for line in first.stdout.splitlines()]
    assert sorted((k["alg"], k["state"]) for k in keys) == [("ES256", "current"),
                                                            ("RS256", "current")]
    rotated = idp("keys", "rotate", "--prepublish-s", "600")
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.count("published now") == 2
    after = [json.loads(line) for line in idp("keys", "list", "--json").stdout.splitlines()]
    states = sorted((k["alg"], k["state"]) for k in after)
    assert states == [("ES256", "current"), ("ES256", "next"), ("RS256", "current"),
                      ("RS256", "next")]
    assert len({k["kid"] for k in after}) == 4
    assert all(k["retires_at"] is not None for k in after if k["state"] == "current")
    # The data-key commands still live beside them.
    assert idp("keys", "new-data-key", "--id", "k1").stdout.startswith("k1:")
