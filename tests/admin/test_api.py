"""/admin/api/v1 over real HTTP on a live provider, with tokens from its own /token: the
document, authentication, users and the audit stream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from idp.admin import OPERATIONS, routes
from idp.admin.openapi import DOCUMENT
from idp.oidc.clients import ClientConfig
from tests.admin.harness import SERVICE, admin_env, audit_since, call, new_user, token
from tests.admin.openapi_check import PREFIX, checked
from tests.oidc.helpers import Env, add_client, make_user, sign_in, tokens_for


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with admin_env(tmp_path_factory.mktemp("admin")) as running:
        yield running


def snapshot(env: Env) -> tuple[list[dict[str, Any]], int]:
    users = sorted((u.public() for u in env.services.accounts.all()), key=lambda u: u["id"])
    return users, env.services.audit_log.last_seq()


def test_a_persons_access_token_is_refused(env: Env) -> None:
    add_client(env, "rp")
    with httpx.Client(timeout=10) as agent:
        sign_in(env, agent, make_user(env, "person@example.com"))
        person = tokens_for(env, agent)["access_token"]
    refused = checked(call(env, "GET", "/users", person), "GET", "/users")
    assert refused.status_code == 401
    assert "client_credentials" in refused.json()["detail"]


def test_every_route_is_in_the_document_and_every_operation_is_tested() -> None:
    served = {(method, route.path) for mount in routes()
              for route in mount.routes  # type: ignore[attr-defined]
              for method in (route.methods or ()) if method != "HEAD"
              and route.path not in ("/openapi.json", "/{rest:path}")}
    documented = {(method.upper(), template) for template, item in DOCUMENT["paths"].items()
                  for method in item}
    assert served == documented
    by_id = {operation["operationId"]: (method.upper(), template)
             for template, item in DOCUMENT["paths"].items()
             for method, operation in item.items()}
    assert by_id == {op.operation_id: (op.method, op.path) for op in OPERATIONS}
    for op in OPERATIONS:  # the scope the document names is the one the route checks
        method, template = by_id[op.operation_id]
        assert DOCUMENT["paths"][template][method.lower()]["security"] == [
            {"nidan": [op.scope]}]
    assert len(OPERATIONS) == 20


def test_the_document_is_served_and_its_schemas_are_valid(env: Env) -> None:
    served = httpx.get(env.url(PREFIX + "/openapi.json"))
    assert served.status_code == 200
    assert served.json() == DOCUMENT
    assert DOCUMENT["openapi"].startswith("3.1")
    for schema in DOCUMENT["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)  # raises on an invalid schema


def test_admin_scopes_only_for_what_the_operator_granted(env: Env) -> None:
    refused = httpx.post(env.url("/token"), data={"grant_type": "client_credentials",
                                                  "scope": "admin:users:read"},
                         auth=("plain", env.secrets["plain"]))
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"
    more = httpx.post(env.url("/token"), data={"grant_type": "client_credentials",
                                               "scope": "admin:users:write"},
                      auth=("reader", env.secrets["reader"]))
    assert more.json()["error"] == "invalid_scope"
    with pytest.raises(ValueError, match="client_credentials client only"):
        ClientConfig.model_validate({"client_id": "rp2", "secret_hash": "sha256:x",
                                     "redirect_uris": ["https://a.example/cb"],
                                     "admin_scopes": ["admin:users:read"]})
    with pytest.raises(ValueError, match="unknown admin scope"):
        ClientConfig.model_validate({"client_id": "svc2", "secret_hash": "sha256:x",
                                     **SERVICE, "admin_scopes": ["admin:everything"]})


# -- users --------------------------------------------------------------------------------


def test_user_lifecycle_with_etags(env: Env) -> None:
    created = new_user(env, "Lifecycle@Example.com")
    assert created.status_code == 201
    user_id, tag = created.json()["id"], created.headers["etag"]
    assert created.headers["location"] == f"{PREFIX}/users/{user_id}"
    assert created.json()["has_password"] is False
    bearer = token(env)
    got = checked(call(env, "GET", f"/users/{user_id}", bearer), "GET", "/users/{user_id}")
    assert got.json()["email"] == "Lifecycle@Example.com"
    assert got.headers["etag"] == tag

    template = "/users/{user_id}"
    missing = checked(call(env, "PATCH", f"/users/{user_id}", bearer,
                           json={"display_name": "New"}), "PATCH", template)
    assert missing.status_code == 428
    changed = checked(call(env, "PATCH", f"/users/{user_id}", bearer,
                           json={"display_name": " New ", "locale": "ja"},
                           headers={"If-Match": tag}), "PATCH", template)
    assert changed.status_code == 200, changed.text
    assert changed.json()["display_name"] == "New"
    assert changed.json()["locale"] == "ja"
    new_tag = changed.headers["etag"]
    assert new_tag != tag
    stale = checked(call(env, "PATCH", f"/users/{user_id}", bearer, json={"locale": "en"},
                         headers={"If-Match": tag}), "PATCH", template)
    assert stale.status_code == 412
    assert stale.headers["etag"] == new_tag
    assert env.services.accounts.get(user_id).locale == "ja"  # type: ignore[union-attr]

    disabled = checked(call(env, "POST", f"/users/{user_id}:disable", bearer,
                            headers={"If-Match": new_tag}), "POST", "/users/{user_id}:disable")
    assert disabled.status_code == 200
    assert disabled.json()["status"] == "disabled"
    assert env.services.accounts.get(user_id).status == "disabled"  # type: ignore[union-attr]
    enabled = checked(call(env, "POST", f"/users/{user_id}:enable", bearer,
                           headers={"If-Match": disabled.headers["etag"]}),
                      "POST", "/users/{user_id}:enable")
    assert enabled.json()["status"] == "active"

    no_tag = checked(call(env, "DELETE", f"/users/{user_id}", bearer), "DELETE", template)
    assert no_tag.status_code == 428
    deleted = checked(call(env, "DELETE", f"/users/{user_id}", bearer,
                           headers={"If-Match": enabled.headers["etag"]}), "DELETE", template)
    assert deleted.status_code == 204
    assert env.services.accounts.get(user_id) is None
    gone = checked(call(env, "GET", f"/users/{user_id}", bearer), "GET", template)
    assert gone.status_code == 404


def test_bad_input_is_a_problem_and_stores_nothing(env: Env) -> None:
    bearer = token(env)
    before = snapshot(env)
    cases: list[tuple[Any, int]] = [
        ({"email": "not-an-address"}, 422), ({"display_name": "no email"}, 422),
        ({"email": "a@example.com", "admin": True}, 422), ({"email": 5}, 422),
        ({"email": "b@example.com", "password": "short"}, 422), (["a list"], 400),
    ]
    for body, status in cases:
        answer = checked(call(env, "POST", "/users", bearer, json=body), "POST", "/users")
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["status"] == status
    not_json = httpx.post(env.url(PREFIX + "/users"), content=b"email=x",
                          headers={"Authorization": f"Bearer {bearer}",
                                   "Content-Type": "application/x-www-form-urlencoded"})
    assert checked(not_json, "POST", "/users").status_code == 415
    users, _ = snapshot(env)
    assert users == before[0]
    # Nothing stored but the audit of each refusal (4xx), with the problem's kind.
    refused = audit_since(env, before[1])
    assert [(e["action"], e["result"]) for e in refused] == [("admin.refused", "failure")] * 7
    assert {e["reason"] for e in refused} == {"invalid-email", "invalid-body",
                                              "password-too-short", "not-json"}, refused
    new_user(env, "taken@example.com")
    taken = checked(call(env, "POST", "/users", bearer, json={"email": "TAKEN@example.com"}),
                    "POST", "/users")
    assert taken.status_code == 409


def test_list_search_and_cursor_paging(env: Env) -> None:
    for n in range(3):
        new_user(env, f"paging{n}@shop.example")
    bearer = token(env)
    seen: list[str] = []
    cursor: str | None = ""
    pages = 0
    while cursor is not None and pages < 10:
        page = checked(call(env, "GET", f"/users?q=SHOP.example&limit=2&cursor={cursor}",
                            bearer), "GET", "/users")
        seen += [user["email"] for user in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        pages += 1
    assert sorted(seen) == [f"paging{n}@shop.example" for n in range(3)]
    assert pages == 2
    bad = checked(call(env, "GET", "/users?limit=0", bearer), "GET", "/users")
    assert bad.status_code == 400
    # The CLI's listing uses the same search.
    from idp.users.directory import search
    assert {u.email for u in search(env.services.accounts, "shop.EXAMPLE")} == set(seen)


# -- audit --------------------------------------------------------------------------------


def test_audit_read_with_cursor_and_since(env: Env) -> None:
    bearer = token(env)
    start = env.services.audit_log.last_seq()
    created = checked(call(env, "POST", "/users", bearer, json={"email": "audited@example.com"},
                           headers={"X-Request-Id": "req-42"}), "POST", "/users")
    user_id = created.json()["id"]
    page = checked(call(env, "GET", f"/audit?cursor={start}&limit=200", bearer),
                   "GET", "/audit")
    event = next(e for e in page.json()["items"] if e["action"] == "user.created"
                 and e["target"] == user_id)
    assert event["actor"] == "client:ops"
    assert event["result"] == "success"
    assert event["request_id"] == "req-42"
    assert event["address"] == "127.0.0.1"

    everything: list[int] = []
    cursor: str | None = "0"
    for _ in range(1000):
        if cursor is None:
            break
        answer = checked(call(env, "GET", f"/audit?limit=50&cursor={cursor}", bearer),
                         "GET", "/audit")
        everything += [e["seq"] for e in answer.json()["items"]]
        cursor = answer.json()["next_cursor"]
    assert everything == list(range(1, env.services.audit_log.last_seq() + 1))

    later = checked(call(env, "GET", f"/audit?since={event['at']}", bearer), "GET", "/audit")
    assert all(e["at"] >= event["at"] for e in later.json()["items"])
    assert event["seq"] in [e["seq"] for e in later.json()["items"]]
    iso = checked(call(env, "GET", "/audit?since=2999-01-01T00:00:00%2B00:00", bearer),
                  "GET", "/audit")
    assert iso.json() == {"items": [], "next_cursor": None}
    for bad in ("since=yesterday", "since=2026-01-01T00:00:00", "cursor=abc"):
        refused = checked(call(env, "GET", f"/audit?{bad}", bearer), "GET", "/audit")
        assert refused.status_code == 400
    assert env.services.audit_log.verify()[1] is None


def test_unknown_admin_paths_are_problems(env: Env) -> None:
    for method in ("GET", "PUT"):
        answer = call(env, method, "/nothing-here", token(env))
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"


