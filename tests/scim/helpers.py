"""What the SCIM tests share: a live provider on loopback (tests/oidc/helpers.provider_env:
real HTTP, the real app), provisioning clients with ``scim:provision``, and their tokens from
the provider's own /token."""

from __future__ import annotations

from typing import Any

import httpx

from idp.scim import PREFIX, SCOPE
from tests.oidc.helpers import Env, add_client

SERVICE: dict[str, Any] = {"grant_types": ["client_credentials"], "redirect_uris": [],
                           "post_logout_redirect_uris": []}
SCIM_JSON = "application/scim+json"


def add_provisioner(env: Env, client_id: str, *, scopes: tuple[str, ...] = (SCOPE,)) -> None:
    add_client(env, client_id, admin_scopes=list(scopes), **SERVICE)


def token(env: Env, client_id: str, scope: str = SCOPE) -> str:
    answer = httpx.post(env.url("/token"), data={"grant_type": "client_credentials",
                                                 "scope": scope},
                        auth=(client_id, env.secrets[client_id]), timeout=10)
    assert answer.status_code == 200, answer.text
    value: str = answer.json()["access_token"]
    return value


def scim_http(env: Env, bearer: str) -> httpx.Client:
    """An HTTP client for /scim/v2 with a provisioning client's token."""
    return httpx.Client(base_url=env.url(PREFIX), timeout=10,
                        headers={"Authorization": f"Bearer {bearer}",
                                 "Content-Type": SCIM_JSON, "Accept": SCIM_JSON})
