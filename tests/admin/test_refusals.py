"""Every operation of /admin/api/v1, taken from the OpenAPI document (a new route is covered
by being described), refused five ways: no token, a token lacking the scope, an expired
token, a token not ours, another admin scope. Each answer is a problem the document
describes, nothing changes, and the refusal is one audit event."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from idp.admin.openapi import DOCUMENT
from idp.users import method_user
from idp.users.directory import etag
from tests.admin.harness import admin_env, audit_since, call, token
from tests.admin.openapi_check import checked
from tests.oidc.helpers import REDIRECT, Env, add_client, make_user, sign_in

# A body each operation would accept, so that only the token stands in the way.
BODIES: dict[str, dict[str, Any]] = {
    "createUser": {"email": "x@example.com"},
    "updateUser": {"display_name": "x"},
    "resetMfa": {"reason": "identity checked"},
    "removeMethod": {"force": True, "reason": "lost phone"},
    "createClient": {"client_id": "new-tool", "redirect_uris": [REDIRECT]},
    "updateClient": {"client_name": "x"},
    "rotateClientSecret": {"overlap_s": 60},
}


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    operation_id: str
    scope: str

    def path(self, params: dict[str, str]) -> str:
        path = self.template
        for name, value in params.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, f"no value for a parameter of {self.template}"
        return path


ROUTES = [Route(method.upper(), template, operation["operationId"],
                operation["security"][0]["nidan"][0])
          for template, item in DOCUMENT["paths"].items() for method, operation in item.items()]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with admin_env(tmp_path_factory.mktemp("refusals")) as running:
        yield running


@pytest.fixture(scope="module")
def victim(env: Env) -> dict[str, str]:
    """Path parameters naming things that exist: an enrolled person with a session, one of
    their methods, and a client."""
    person = make_user(env, "victim@example.com", enroll=True)
    session = sign_in(env, httpx.Client(), person)
    views = env.services.methods.credentials(method_user(person))
    add_client(env, "victim-tool")
    return {"user_id": person.id, "method_id": views["primary"].id, "sid": session.sid,
            "client_id": "victim-tool"}


def snapshot(env: Env, victim: dict[str, str]) -> dict[str, Any]:
    services = env.services
    person = services.accounts.get(victim["user_id"])
    assert person is not None
    return {
        "users": sorted((u.public() for u in services.accounts.all()), key=lambda u: u["id"]),
        "methods": sorted(v.id for v in services.methods.credentials(
            method_user(person)).values()),
        "sessions": [s.sid for s in services.sessions.of_user(person.id)],
        "browsers": [b.device_id for b in services.devices.list(person)],
        "clients": [c.config.model_dump() for c in services.oidc.clients.all()],
    }


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.template}")
@pytest.mark.parametrize("how", ["no token", "lacking scope", "expired", "not ours",
                                 "another admin scope"])
def test_refused_without_the_right_token_and_nothing_changes(
        env: Env, victim: dict[str, str], route: Route, how: str) -> None:
    person = env.services.accounts.get(victim["user_id"])
    assert person is not None
    tag = etag(person)
    actor = "anonymous"
    if how == "no token":
        bearer, expected = None, 401
    elif how == "lacking scope":
        # reader has only admin:users:read; plain has no admin scope at all.
        client = "reader" if route.scope != "admin:users:read" else "plain"
        bearer = token(env, client, "admin:users:read" if client == "reader" else "")
        expected, actor = 403, f"client:{client}"
    elif how == "expired":
        bearer, expected = token(env, "brief", route.scope), 401
        env.clock.advance(61)
    elif how == "not ours":
        bearer, expected = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", 401
    else:
        other = "admin:users:read" if route.scope != "admin:users:read" else "admin:audit:read"
        bearer, expected, actor = token(env, "ops", other), 403, "client:ops"
    before, seq = snapshot(env, victim), env.services.audit_log.last_seq()
    answer = call(env, route.method, route.path(victim), bearer,
                  json=BODIES.get(route.operation_id),
                  headers={"If-Match": tag, "Idempotency-Key": secrets.token_hex(8)})
    checked(answer, route.method, route.template)
    assert answer.status_code == expected, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert snapshot(env, victim) == before
    events = audit_since(env, seq)
    assert [e["action"] for e in events] == ["admin.refused"], events
    event = events[0]
    assert event["result"] == "failure"
    assert event["actor"] == actor
    assert event["details"]["operation"] == route.operation_id
    assert event["details"]["status"] == expected
    assert event["reason"] in ("unauthorized", "invalid-token", "insufficient-scope")
    assert event["address"] == "127.0.0.1"
    assert event["target"] == (victim.get("user_id") if "{user_id}" in route.template
                               else victim["client_id"] if "{client_id}" in route.template
                               else None)


def test_every_operation_has_a_body_when_it_takes_one() -> None:
    for route in ROUTES:
        operation = DOCUMENT["paths"][route.template][route.method.lower()]
        if operation.get("requestBody", {}).get("required"):
            assert route.operation_id in BODIES, route.operation_id
