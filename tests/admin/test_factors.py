"""Second factors over /admin/api/v1: listing (never a secret), the MFA reset a support desk
makes (BEHAVIOUR C3) with its Idempotency-Key, and removing one method (E2/E3)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from idp.users import method_user
from tests.admin.harness import HTTP, admin_env, api, audit_since, sign_in_to_rp, token
from tests.oidc.helpers import (
    TOTP_SECRET,
    Env,
    add_client,
    authorize,
    authorize_query,
    form_with,
    journey,
    make_user,
    pkce,
)

METHODS = "/users/{user_id}/methods"
RESET = "/users/{user_id}/mfa:reset"
ONE = "/users/{user_id}/methods/{method_id}"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with admin_env(tmp_path_factory.mktemp("factors")) as running:
        add_client(running, "rp")
        yield running


@pytest.fixture
def agent() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def test_methods_are_described_never_secret(env: Env) -> None:
    person = make_user(env, "described@example.com", enroll=True)
    listed = api(env, "GET", METHODS, token(env), params={"user_id": person.id})
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [(m["role"], m["kind"], m["channel"]) for m in items] == [
        ("primary", "totp", "app"), ("backup", "sms", "phone")]
    assert listed.json()["enrolled"] is True
    assert TOTP_SECRET not in listed.text
    assert "9012345678" not in listed.text  # the number is masked
    assert "5678" in items[1]["description"]
    missing = api(env, "GET", METHODS, token(env), params={"user_id": "nobody"})
    assert missing.status_code == 404


def test_mfa_reset_ends_everything_and_needs_the_enrollment_code(
        env: Env, agent: httpx.Client) -> None:
    person = make_user(env, "reset@example.com", enroll=True)
    tokens = sign_in_to_rp(env, agent, person.email, trust=True)
    assert "refresh_token" in tokens
    # The trusted browser works before the reset: without a session, no code is asked.
    agent.cookies.delete("nidan_sid")
    sign_in_to_rp(env, agent, person.email, code=False)
    agent.cookies.delete("nidan_sid")
    assert len(env.services.devices.list(person)) == 1

    key = secrets.token_urlsafe(16)
    bearer = token(env)
    params = {"user_id": person.id}
    seq = env.services.audit_log.last_seq()
    body = {"reason": "identity checked by video call, ticket 4711"}
    done = api(env, "POST", RESET, bearer, params=params, json=body,
               headers={"Idempotency-Key": key})
    assert done.status_code == 200, done.text
    result = done.json()
    assert result["methods_removed"] == 2
    # (Already gone with the methods, C4: the count says what revoke_all found left.)
    assert env.services.devices.list(person) == []
    assert env.services.sessions.of_user(person.id) == []
    code = result["enrollment_code"]
    assert "idempotent-replayed" not in done.headers

    # The same key again: the first answer, and nothing happens a second time.
    again = api(env, "POST", RESET, bearer, params=params, json=body,
                headers={"Idempotency-Key": key})
    assert again.status_code == 200
    assert again.json() == result
    assert again.headers["idempotent-replayed"] == "true"
    events = audit_since(env, seq)
    resets = [e for e in events if e["action"] == "user.reset_2sv"]
    assert len(resets) == 1
    assert resets[0]["reason"] == body["reason"]
    assert resets[0]["actor"] == "client:ops"
    assert len([e for e in events if e["action"] == "method.enrollment_code.issued"]) == 1
    # Another request under the same key is refused; no key at all too.
    other = api(env, "POST", RESET, bearer, params=params, json={"reason": "another"},
                headers={"Idempotency-Key": key})
    assert other.status_code == 422
    assert other.json()["type"] == "urn:nidan:admin:idempotency-key-reused"
    keyless = api(env, "POST", RESET, bearer, params=params, json=body)
    assert keyless.status_code == 400
    # The code is in no log line, no audit event, and not in clear in the store.
    assert all(code not in str(e) for e in env.services.audit_log.events())
    stored = [env.services.store.get(k) or b"" for k in env.services.store.scan("admin-idem:")]
    assert stored
    assert all(code.encode() not in raw for raw in stored)
    assert all(key.encode() not in raw for raw in stored)

    # The old refresh token is refused.
    refreshed = HTTP.post(env.url("/token"), data={"grant_type": "refresh_token",
                                                   "refresh_token": tokens["refresh_token"]},
                          auth=("rp", env.secrets["rp"]))
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    # The next sign-in ignores the trusted-browser cookie and lands on the enrollment gate:
    # the password alone does not set up new methods.
    start = authorize(env, agent, **authorize_query(code_challenge=pkce()[1],
                                                    code_challenge_method="S256"))
    page = journey(env, agent, start, person.email, code=False)
    assert page.status_code == 200
    assert page.url.path == "/login/recovery"
    fields = form_with(page.text, "/login/recovery")
    wrong = agent.post(env.url("/login/recovery"), data={**fields, "code": "AAAAA-AAAAA"})
    assert wrong.status_code == 400
    fields = form_with(wrong.text, "/login/recovery")
    right = agent.post(env.url("/login/recovery"), data={**fields, "code": code})
    assert right.status_code == 303
    assert right.headers["location"] == "/login/enroll"


def test_removing_a_method_keeps_the_pair_unless_forced(env: Env) -> None:
    person = make_user(env, "remove@example.com", enroll=True)
    bearer = token(env)
    views = env.services.methods.credentials(method_user(person))
    params = {"user_id": person.id, "method_id": views["primary"].id}
    refused = api(env, "DELETE", ONE, bearer, params=params)
    assert refused.status_code == 409
    assert refused.json()["type"] == "urn:nidan:admin:too-few-methods"
    no_reason = api(env, "DELETE", ONE, bearer, params=params, json={"force": True})
    assert no_reason.status_code == 422
    assert len(env.services.methods.credentials(method_user(person))) == 2
    unknown = api(env, "DELETE", ONE, bearer, params={**params, "method_id": "nope"})
    assert unknown.status_code == 404

    seq = env.services.audit_log.last_seq()
    forced = api(env, "DELETE", ONE, bearer, params=params,
                 json={"force": True, "reason": "phone stolen, ticket 99"})
    assert forced.status_code == 204
    left = env.services.methods.credentials(method_user(person))
    assert list(left) == ["backup"]
    event = next(e for e in audit_since(env, seq) if e["action"] == "admin.method_removed")
    assert (event["actor"], event["target"], event["reason"]) == (
        "client:ops", person.id, "phone stolen, ticket 99")
    assert event["details"]["forced"] is True
    listed = api(env, "GET", METHODS, bearer, params={"user_id": person.id})
    assert listed.json()["enrolled"] is False
