"""Unused registered clients go: a client that got no token for ``prune_after_days`` is
removed, by the prune (hourly on registration, at once when the cap is reached, or
``idp clients registration-prune``); one that got a token lately stays."""

from __future__ import annotations

from pathlib import Path

import httpx

from idp.registration import Registration
from tests.oidc.helpers import make_user
from tests.registration.conftest import mcp_metadata, register, registration_env, token_for

DAY = 24 * 3600


def test_an_unused_client_is_pruned_and_a_used_one_kept(tmp_path: Path) -> None:
    with (registration_env(tmp_path, mode="open", prune_after_days=30) as env,
          httpx.Client(timeout=10) as agent):
        user = make_user(env, enroll=True)
        unused = register(env, mcp_metadata()).json()
        used = register(env, mcp_metadata()).json()
        env.clock.advance(20 * DAY)
        token_for(env, agent, used["client_id"], "http://127.0.0.1:41234/callback", user.email)
        env.clock.advance(15 * DAY)

        removed = Registration(env.services).prune()

        assert removed == [unused["client_id"]]
        assert env.provider.clients.get(unused["client_id"]) is None
        assert env.provider.clients.get(used["client_id"]) is not None
        gone = httpx.get(unused["registration_client_uri"], headers={
            "Authorization": "Bearer " + unused["registration_access_token"]})
        assert gone.status_code == 401
        pruned = [e for e in env.services.audit_log.events()
                  if e["action"] == "registration.client_pruned"]
        assert [e["details"]["client_id"] for e in pruned] == [unused["client_id"]]


def test_a_registration_at_the_cap_prunes_first(tmp_path: Path) -> None:
    with registration_env(tmp_path, mode="open", max_clients=2, prune_after_days=7) as env:
        old = [register(env, mcp_metadata()).json()["client_id"] for _ in range(2)]
        assert register(env, mcp_metadata()).status_code == 403
        env.clock.advance(8 * DAY)
        fresh = register(env, mcp_metadata())
        assert fresh.status_code == 201
        assert all(env.provider.clients.get(client_id) is None for client_id in old)


def test_a_client_the_operator_deleted_is_forgotten(tmp_path: Path) -> None:
    with registration_env(tmp_path, mode="open") as env:
        info = register(env, mcp_metadata()).json()
        env.provider.clients.delete(info["client_id"], actor="test")
        assert Registration(env.services).prune() == [info["client_id"]]
        assert not env.services.store.smembers("registration:clients")
