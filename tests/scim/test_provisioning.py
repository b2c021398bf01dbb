"""/scim/v2 over real HTTP on a live provider, with provisioning clients' tokens from its own
/token: who may call, the error format, externalId per client, filters, paging, PATCH, PUT,
DELETE, ETags, passwords, and deprovisioning (``active: false``) with each of its effects seen
from outside: a refresh refused at /token, a trusted browser that no longer skips the code, a
session cookie that no longer signs in."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from idp.scim import PREFIX
from idp.users import method_user
from tests.oidc.helpers import (
    PASSWORD,
    REDIRECT,
    TOTP_SECRET,
    Env,
    add_client,
    authorize,
    authorize_query,
    exchange,
    form_with,
    journey,
    pkce,
    provider_env,
    query_of,
)
from tests.scim.helpers import SCIM_JSON, add_provisioner, scim_http, token

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# A primary and a backup method (E2), as tests/oidc/helpers.make_user enrolls them.
METHODS = [("totp", "primary", {"secret": TOTP_SECRET}),
           ("sms", "backup", {"phone": "+819012345678"})]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with provider_env(tmp_path_factory.mktemp("scim")) as running:
        add_client(running)  # "rp": a relying party the people sign in to
        add_provisioner(running, "dir-a")
        add_provisioner(running, "dir-b")
        add_client(running, "ops", admin_scopes=["admin:users:read"],
                   grant_types=["client_credentials"], redirect_uris=[],
                   post_logout_redirect_uris=[])
        yield running


@pytest.fixture(scope="module")
def a(env: Env) -> Iterator[httpx.Client]:
    with scim_http(env, token(env, "dir-a")) as http:
        yield http


@pytest.fixture(scope="module")
def b(env: Env) -> Iterator[httpx.Client]:
    with scim_http(env, token(env, "dir-b")) as http:
        yield http


def new_user(http: httpx.Client, **extra: Any) -> dict[str, Any]:
    tag = secrets.token_hex(4)
    body = {"schemas": [USER_SCHEMA], "userName": f"seller-{tag}",
            "emails": [{"value": f"seller-{tag}@example.com", "primary": True,
                        "type": "work"}],
            "displayName": f"Seller {tag}", **extra}
    created = http.post("/Users", json=body)
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith(SCIM_JSON)
    data: dict[str, Any] = created.json()
    return data


def patch(http: httpx.Client, user_id: str, *operations: dict[str, Any],
          headers: dict[str, str] | None = None) -> httpx.Response:
    return http.patch(f"/Users/{user_id}", json={"schemas": [PATCH_SCHEMA],
                                                 "Operations": list(operations)},
                      headers=headers)


def assert_error(answer: httpx.Response, status: int, scim_type: str | None = None) -> None:
    """RFC 7644 3.12: the Error schema, status as a string, scimType where one applies."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert "Traceback" not in answer.text


# -- who may call ---------------------------------------------------------------------------


def test_the_configuration_needs_no_token_but_users_do(env: Env) -> None:
    config = httpx.get(env.url(PREFIX + "/ServiceProviderConfig"))
    assert config.status_code == 200
    schemes = config.json()["authenticationSchemes"]
    assert [s["type"] for s in schemes] == ["oauthbearertoken"]
    refused = httpx.get(env.url(PREFIX + "/Users"))
    assert_error(refused, 401)
    assert refused.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("how", ["not ours", "no scim scope", "scope not asked", "basic"])
def test_refused_without_a_provisioning_token_and_nothing_changes(env: Env, how: str) -> None:
    before = sorted(u.id for u in env.services.accounts.all())
    headers = {"Content-Type": SCIM_JSON}
    if how == "not ours":
        headers["Authorization"] = "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
    elif how == "no scim scope":  # a client the operator gave another admin scope only
        headers["Authorization"] = f"Bearer {token(env, 'ops', 'admin:users:read')}"
    elif how == "scope not asked":  # granted, but the token was not issued with it
        headers["Authorization"] = f"Bearer {token(env, 'dir-a', '')}"
    else:
        headers["Authorization"] = "Basic ZGlyLWE6eA=="
    answer = httpx.post(env.url(PREFIX + "/Users"), headers=headers, json={
        "schemas": [USER_SCHEMA], "userName": "intruder",
        "emails": [{"value": "intruder@example.com"}]})
    expected = 403 if how in ("no scim scope", "scope not asked") else 401
    assert_error(answer, expected)
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert sorted(u.id for u in env.services.accounts.all()) == before


def test_an_expired_token_is_refused(tmp_path_factory: pytest.TempPathFactory) -> None:
    # A provider of its own: its clock moves past the token's lifetime.
    with provider_env(tmp_path_factory.mktemp("scim-expired")) as env:
        add_client(env, "brief", admin_scopes=["scim:provision"], access_token_lifetime_s=60,
                   grant_types=["client_credentials"], redirect_uris=[],
                   post_logout_redirect_uris=[])
        with scim_http(env, token(env, "brief")) as http:
            assert http.get("/Users").status_code == 200
            env.clock.advance(61)
            refused = http.get("/Users")
    assert_error(refused, 401)
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


def test_a_persons_token_is_refused(env: Env) -> None:
    with httpx.Client(timeout=10) as agent:
        user = env.services.accounts.create(f"p-{secrets.token_hex(3)}@example.com",
                                            password=PASSWORD, actor="test")
        env.used_steps.clear()  # TOTP steps are spent per person
        env.services.methods.import_credentials(method_user(user), METHODS)
        verifier, challenge = pkce()
        start = authorize(env, agent, **authorize_query(code_challenge=challenge,
                                                        code_challenge_method="S256"))
        back = journey(env, agent, start, user.email)
        tokens = exchange(env, query_of(back.headers["location"])["code"], verifier).json()
    answer = httpx.get(env.url(PREFIX + "/Users"),
                       headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert_error(answer, 401)


# -- resources, errors ----------------------------------------------------------------------


def test_create_read_and_the_error_format(env: Env, a: httpx.Client) -> None:
    created = new_user(a, name={"givenName": "Hanako", "familyName": "Yamada"},
                       title="Buyer", **{ENTERPRISE: {"department": "Sales",
                                                      "employeeNumber": "701"}})
    assert created["schemas"] == [USER_SCHEMA, ENTERPRISE]
    assert created["active"] is True
    assert created["meta"]["resourceType"] == "User"
    assert created["meta"]["location"] == env.url(f"{PREFIX}/Users/{created['id']}")
    account = env.services.accounts.get(created["id"])
    assert account is not None
    assert account.email == created["emails"][0]["value"]
    assert account.display_name == created["displayName"]
    assert account.password_hash is None  # no password: docs/scim.md says how they start
    read = a.get(f"/Users/{created['id']}")
    assert read.json()[ENTERPRISE] == {"department": "Sales", "employeeNumber": "701"}
    assert read.headers["etag"] == created["meta"]["version"]
    assert_error(a.get("/Users/nobody"), 404)
    again = a.post("/Users", json={"schemas": [USER_SCHEMA], "userName": created["userName"],
                                   "emails": [{"value": "other@example.com"}]})
    assert_error(again, 409, "uniqueness")
    same_email = a.post("/Users", json={"schemas": [USER_SCHEMA], "userName": "someone-else",
                                        "emails": created["emails"]})
    assert_error(same_email, 409, "uniqueness")
    no_email = a.post("/Users", json={"schemas": [USER_SCHEMA], "userName": "no-address"})
    assert_error(no_email, 400, "invalidValue")
    assert_error(a.get("/Users", params={"filter": 'userName eq'}), 400, "invalidFilter")
    not_json = a.post("/Users", content=b"{", headers={"Content-Type": SCIM_JSON})
    assert_error(not_json, 400, "invalidSyntax")


def test_a_body_over_the_limit_is_refused(a: httpx.Client) -> None:
    huge = b'{"schemas": ["' + b"x" * (300 * 1024) + b'"]}'
    assert_error(a.post("/Users", content=huge), 413)


def test_a_user_of_the_idp_command_is_seen_with_their_email_as_user_name(
        env: Env, a: httpx.Client) -> None:
    user = env.services.accounts.create(f"cli-{secrets.token_hex(3)}@example.com",
                                        display_name="From the CLI", locale="en", actor="test")
    seen = a.get(f"/Users/{user.id}").json()
    assert seen["userName"] == user.email
    assert seen["emails"] == [{"value": user.email, "primary": True}]
    assert seen["locale"] == "en"
    # Nobody can take their email as a userName.
    taken = a.post("/Users", json={"schemas": [USER_SCHEMA], "userName": user.email.upper(),
                                   "emails": [{"value": "x-" + user.email}]})
    assert_error(taken, 409, "uniqueness")


# -- externalId belongs to its provisioning client -----------------------------------------


def test_external_id_is_scoped_per_provisioning_client(a: httpx.Client, b: httpx.Client) -> None:
    external = f"hr-{secrets.token_hex(4)}"
    created = new_user(a, externalId=external)
    assert created["externalId"] == external
    seen_by_b = b.get(f"/Users/{created['id']}").json()
    assert "externalId" not in seen_by_b
    found_by_b = b.get("/Users", params={"filter": f'externalId eq "{external}"'}).json()
    assert found_by_b["totalResults"] == 0
    found_by_a = a.get("/Users", params={"filter": f'externalId eq "{external}"'}).json()
    assert [r["id"] for r in found_by_a["Resources"]] == [created["id"]]
    # B gives the person its own externalId; A's stays A's.
    assert patch(b, created["id"], {"op": "add", "path": "externalId",
                                    "value": "b-7"}).json()["externalId"] == "b-7"
    assert a.get(f"/Users/{created['id']}").json()["externalId"] == external


# -- filters and paging ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def crowd(a: httpx.Client) -> list[dict[str, Any]]:
    """Five users of one batch (a shared prefix), the last one inactive."""
    batch = "crowd" + secrets.token_hex(3)
    made = []
    for index in range(5):
        made.append(new_user(a, userName=f"{batch}-{index}", externalId=f"{batch}-x{index}",
                             emails=[{"value": f"{batch}-{index}@shop.example",
                                      "primary": True}],
                             active=index != 4))
    return made


def ids(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return sorted(r["id"] for r in answer.json().get("Resources", []))


@pytest.mark.parametrize(("expression", "expected"), [
    ('userName eq "{batch}-1"', [1]),
    ('userName sw "{batch}"', [0, 1, 2, 3, 4]),
    ('emails co "{batch}-2@"', [2]),
    ('emails.value ew "{batch}-3@shop.example"', [3]),
    ('userName sw "{batch}" and active eq false', [4]),
    ('userName eq "{batch}-0" or externalId eq "{batch}-x3"', [0, 3]),
    ('userName sw "{batch}" and not (externalId eq "{batch}-x0")', [1, 2, 3, 4]),
    ('userName sw "{batch}" and externalId pr', [0, 1, 2, 3, 4]),
    ('userName sw "{batch}" and meta.lastModified gt "{since}"', [0, 1, 2, 3, 4]),
    ('userName sw "{batch}" and meta.lastModified lt "{since}"', []),
])
def test_filters(a: httpx.Client, crowd: list[dict[str, Any]], expression: str,
                 expected: list[int]) -> None:
    batch = crowd[0]["userName"].rsplit("-", 1)[0]
    since = (datetime.now(UTC) - timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    answer = a.get("/Users", params={"filter": expression.format(batch=batch, since=since)})
    assert ids(answer) == sorted(crowd[i]["id"] for i in expected)
    # The same search by POST /.search (RFC 7644 3.4.3).
    searched = a.post("/Users/.search", json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": expression.format(batch=batch, since=since)})
    assert ids(searched) == ids(answer)


def test_paging_with_start_index_and_count(a: httpx.Client, crowd: list[dict[str, Any]]
                                           ) -> None:
    batch = crowd[0]["userName"].rsplit("-", 1)[0]
    seen: list[str] = []
    for start in (1, 3, 5):
        page = a.get("/Users", params={"filter": f'userName sw "{batch}"',
                                       "sortBy": "userName", "startIndex": start,
                                       "count": 2}).json()
        assert page["totalResults"] == 5
        assert page["startIndex"] == start
        assert page["itemsPerPage"] == len(page["Resources"]) == (2 if start < 5 else 1)
        seen += [r["userName"] for r in page["Resources"]]
    assert seen == [f"{batch}-{i}" for i in range(5)]
    only_count = a.get("/Users", params={"filter": f'userName sw "{batch}"',
                                         "count": 0}).json()
    assert only_count["totalResults"] == 5
    assert only_count.get("Resources", []) == []


# -- PATCH, PUT, DELETE, ETags ---------------------------------------------------------------


def test_patch_add_replace_remove_with_paths(env: Env, a: httpx.Client) -> None:
    user = new_user(a, title="Clerk", name={"givenName": "Taro"},
                    emails=[{"value": f"w-{secrets.token_hex(3)}@example.com", "type": "work",
                             "primary": True}])
    new_address = f"new-{secrets.token_hex(3)}@example.com"
    answer = patch(a, user["id"],
                   {"op": "replace", "path": "displayName", "value": "Taro Y."},
                   {"op": "add", "path": "name.familyName", "value": "Yamada"},
                   {"op": "remove", "path": "title"},
                   {"op": "replace", "path": 'emails[type eq "work"].value',
                    "value": new_address},
                   {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Ops"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["displayName"] == "Taro Y."
    assert body["name"] == {"givenName": "Taro", "familyName": "Yamada"}
    assert "title" not in body
    assert body["emails"][0]["value"] == new_address
    assert body[ENTERPRISE]["department"] == "Ops"
    account = env.services.accounts.get(user["id"])
    assert account is not None
    assert (account.display_name, account.email) == ("Taro Y.", new_address)
    # The old address is free again; the new one is taken.
    assert env.services.accounts.find_by_email(user["emails"][0]["value"]) is None
    bad = patch(a, user["id"], {"op": "replace", "path": "nickName[value eq 1", "value": 1})
    assert_error(bad, 400, "invalidPath")


def test_a_refused_write_changes_nothing(env: Env, a: httpx.Client) -> None:
    one, other = new_user(a), new_user(a)
    wanted = one["userName"] + "-new"
    taken = patch(a, one["id"], {"op": "replace", "path": "userName", "value": wanted},
                  {"op": "replace", "path": "emails[primary eq true].value",
                   "value": other["emails"][0]["value"]})
    assert_error(taken, 409, "uniqueness")
    weak = patch(a, one["id"], {"op": "replace", "path": "displayName", "value": "Changed"},
                 {"op": "add", "path": "password", "value": "short"})
    assert_error(weak, 400, "invalidValue")
    again = a.get(f"/Users/{one['id']}")
    assert again.headers["etag"] == one["meta"]["version"]  # not a field changed
    assert (again.json()["userName"], again.json()["displayName"]) == (
        one["userName"], one["displayName"])
    # The userName the refused write asked for was not kept for it.
    new_user(a, userName=wanted)


def test_put_replaces_and_delete_removes(env: Env, a: httpx.Client) -> None:
    user = new_user(a, title="Clerk", externalId="put-1")
    replacement = {"schemas": [USER_SCHEMA], "userName": user["userName"] + "-renamed",
                   "emails": user["emails"], "displayName": "Renamed", "active": True}
    answer = a.put(f"/Users/{user['id']}", json=replacement)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["userName"] == user["userName"] + "-renamed"
    assert "title" not in body
    assert "externalId" not in body
    # The old userName can be taken by someone else now.
    new_user(a, userName=user["userName"])
    assert a.delete(f"/Users/{user['id']}").status_code == 204
    assert_error(a.get(f"/Users/{user['id']}"), 404)
    assert env.services.accounts.get(user["id"]) is None
    assert env.services.accounts.find_by_email(user["emails"][0]["value"]) is None
    assert_error(a.delete(f"/Users/{user['id']}"), 404)


def test_removing_active_disables_and_leaves_it_unassigned(env: Env, a: httpx.Client
                                                           ) -> None:
    """A PATCH that removes ``active`` withdraws the directory's word that the person may
    sign in: the account is disabled (fail closed) and ``active`` is unassigned until it is
    set again. A PUT without ``active`` keeps the status (directories send partial PUTs)."""
    user = new_user(a)
    removed = patch(a, user["id"], {"op": "remove", "path": "active"})
    assert removed.status_code == 200, removed.text
    assert "active" not in removed.json()
    account = env.services.accounts.get(user["id"])
    assert account is not None
    assert not account.active
    again = a.get(f"/Users/{user['id']}").json()
    assert "active" not in again
    # Another write that does not mention active keeps it unassigned and the account off.
    renamed = patch(a, user["id"], {"op": "replace", "path": "displayName", "value": "X"})
    assert "active" not in renamed.json()
    replacement = {"schemas": [USER_SCHEMA], "userName": user["userName"],
                   "emails": user["emails"], "displayName": "Y"}
    assert "active" not in a.put(f"/Users/{user['id']}", json=replacement).json()
    account = env.services.accounts.get(user["id"])
    assert account is not None
    assert not account.active
    # Set again: assigned and active.
    on = patch(a, user["id"], {"op": "replace", "path": "active", "value": True})
    assert on.json()["active"] is True
    account = env.services.accounts.get(user["id"])
    assert account is not None
    assert account.active
    # A PUT without active on an active user keeps it active.
    kept = a.put(f"/Users/{user['id']}", json=replacement).json()
    assert kept["active"] is True


def test_a_stale_if_match_gets_412_and_changes_nothing(env: Env, a: httpx.Client) -> None:
    user = new_user(a)
    first = user["meta"]["version"]
    changed = patch(a, user["id"], {"op": "replace", "path": "displayName", "value": "One"},
                    headers={"If-Match": first})
    assert changed.status_code == 200, changed.text
    current = changed.headers["etag"]
    assert current != first
    stale = patch(a, user["id"], {"op": "replace", "path": "displayName", "value": "Two"},
                  headers={"If-Match": first})
    assert_error(stale, 412)
    stale_put = a.put(f"/Users/{user['id']}", headers={"If-Match": first}, json={
        "schemas": [USER_SCHEMA], "userName": "x", "emails": user["emails"]})
    assert_error(stale_put, 412)
    assert_error(a.delete(f"/Users/{user['id']}", headers={"If-Match": first}), 412)
    account = env.services.accounts.get(user["id"])
    assert account is not None
    assert account.display_name == "One"
    assert a.get(f"/Users/{user['id']}", headers={"If-None-Match": current}
                 ).status_code == 304
    # An operator's change elsewhere moves the ETag too.
    env.services.accounts.update(user["id"], actor="test", display_name="By operator")
    assert_error(patch(a, user["id"], {"op": "replace", "path": "displayName", "value": "3"},
                       headers={"If-Match": current}), 412)


def test_concurrent_writers_with_one_etag_one_wins(env: Env, a: httpx.Client) -> None:
    """Rounds of twelve PATCHes at once, each with the same ``If-Match``: the check and the
    write are one step, so exactly one lands and the others get 412 (or 409 while it is
    written)."""
    with ThreadPoolExecutor(max_workers=12) as pool:
        for _round in range(8):
            user = new_user(a)
            tag = user["meta"]["version"]
            answers = list(pool.map(
                lambda n, user=user, tag=tag: patch(
                    a, user["id"], {"op": "replace", "path": "displayName", "value": f"W{n}"},
                    headers={"If-Match": tag}),
                range(12)))
            statuses = sorted(answer.status_code for answer in answers)
            assert statuses.count(200) == 1, statuses
            assert set(statuses) <= {200, 409, 412}, statuses
            winner = next(answer for answer in answers if answer.status_code == 200)
            account = env.services.accounts.get(user["id"])
            assert account is not None
            assert account.display_name == winner.json()["displayName"]
            assert a.get(f"/Users/{user['id']}").headers["etag"] == winner.headers["etag"]


def test_a_password_is_write_only_and_hashed_with_argon2id(env: Env, a: httpx.Client) -> None:
    user = new_user(a, password=PASSWORD)
    assert "password" not in user
    assert PASSWORD not in a.get(f"/Users/{user['id']}", params={"attributes": "password"}
                                 ).text
    account = env.services.accounts.get(user["id"])
    assert account is not None
    assert account.password_hash is not None
    assert account.password_hash.startswith("$argon2id$")
    assert env.services.accounts.check_password(account, PASSWORD)
    epoch = account.security_epoch
    changed = patch(a, user["id"], {"op": "replace", "path": "password",
                                    "value": PASSWORD + " again"})
    assert changed.status_code == 200
    assert "password" not in changed.json()
    after = env.services.accounts.get(user["id"])
    assert after is not None
    assert after.security_epoch == epoch + 1
    assert env.services.accounts.check_password(after, PASSWORD + " again")
    weak = patch(a, user["id"], {"op": "replace", "path": "password", "value": "short"})
    assert_error(weak, 400, "invalidValue")
    assert "short" not in weak.text


# -- deprovisioning: active false ends everything at once ---------------------------------


def provisioned_person(env: Env, a: httpx.Client) -> dict[str, Any]:
    """A person the directory created with a password, who then enrolled two methods."""
    user = new_user(a, password=PASSWORD)
    env.used_steps.clear()  # TOTP steps are spent per person; this one has spent none
    account = env.services.accounts.get(user["id"])
    assert account is not None
    env.services.methods.import_credentials(method_user(account), METHODS)
    return user


def deactivate_and_reactivate(a: httpx.Client, user: dict[str, Any]) -> None:
    """``active: false`` (as Entra sends it: no path), then true again, so what the test
    sees next is the effect of the deprovisioning, not of a disabled account."""
    off = patch(a, user["id"], {"op": "Replace", "value": {"active": False}})
    assert off.status_code == 200, off.text
    assert off.json()["active"] is False
    # Entra ID sends the boolean as a string; it is read as one.
    on = patch(a, user["id"], {"op": "replace", "path": "active", "value": "True"})
    assert on.status_code == 200, on.text
    assert on.json()["active"] is True


def test_deprovisioning_refuses_the_refresh_token(env: Env, a: httpx.Client) -> None:
    user = provisioned_person(env, a)
    with httpx.Client(timeout=10) as agent:
        tokens = signed_in(env, agent, user["emails"][0]["value"])

    def refresh(value: str) -> httpx.Response:
        return httpx.post(env.url("/token"), data={"grant_type": "refresh_token",
                                                   "refresh_token": value},
                          auth=("rp", env.secrets["rp"]), timeout=10)

    working = refresh(tokens["refresh_token"])
    assert working.status_code == 200, working.text  # it worked until now
    deactivate_and_reactivate(a, user)
    refused = refresh(working.json()["refresh_token"])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"


def password_step(env: Env, agent: httpx.Client, email: str) -> tuple[httpx.Response, str]:
    """Start a sign-in at /authorize and send the password; the answer says what is next
    (and the PKCE verifier finishes it)."""
    verifier, challenge = pkce()
    start = authorize(env, agent, **authorize_query(code_challenge=challenge,
                                                    code_challenge_method="S256"))
    assert start.headers["location"].startswith("/login"), start.headers["location"]
    page = agent.get(env.url(start.headers["location"]))
    fields = form_with(page.text, "/login")
    fields.update(email=email, password=PASSWORD)
    answer = agent.post(env.url("/login"), data=fields)
    for _ in range(5):  # through /authorize/resume, up to the code page or the client
        assert answer.status_code == 303, answer.text[:300]
        location = answer.headers["location"]
        if not location.startswith("/authorize"):
            break
        answer = agent.get(env.url(location))
    return answer, verifier


def signed_in(env: Env, agent: httpx.Client, email: str, *, trust: bool = False
              ) -> dict[str, Any]:
    """The whole journey (password, then a TOTP code); the client's tokens."""
    verifier, challenge = pkce()
    start = authorize(env, agent, **authorize_query(code_challenge=challenge,
                                                    code_challenge_method="S256"))
    back = journey(env, agent, start, email, trust=trust)
    answer = exchange(env, query_of(back.headers["location"])["code"], verifier)
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def sign_out(env: Env, agent: httpx.Client, tokens: dict[str, Any]) -> None:
    """RP-initiated logout with the ID token: the session ends, the trusted browser stays."""
    ended = agent.get(env.url("/logout"), params={"id_token_hint": tokens["id_token"]})
    assert ended.status_code in (200, 303), ended.text[-1500:]


def test_deprovisioning_ends_trusted_browsers(env: Env, a: httpx.Client) -> None:
    user = provisioned_person(env, a)
    email = user["emails"][0]["value"]
    with httpx.Client(timeout=10) as agent:
        sign_out(env, agent, signed_in(env, agent, email, trust=True))
        # Trusted: the password alone leads back to the client (no code page).
        skipped, verifier = password_step(env, agent, email)
        assert skipped.headers["location"].startswith(REDIRECT), skipped.headers["location"]
        tokens = exchange(env, query_of(skipped.headers["location"])["code"], verifier)
        sign_out(env, agent, tokens.json())
        account = env.services.accounts.get(user["id"])
        assert account is not None
        assert env.services.devices.count(account) == 1
        deactivate_and_reactivate(a, user)
        account = env.services.accounts.get(user["id"])
        assert account is not None
        assert env.services.devices.count(account) == 0
        asked, _ = password_step(env, agent, email)
        assert asked.headers["location"].startswith("/login/code"), asked.headers["location"]


def test_deprovisioning_ends_the_session(env: Env, a: httpx.Client) -> None:
    user = provisioned_person(env, a)
    with httpx.Client(timeout=10) as agent:
        signed_in(env, agent, user["emails"][0]["value"])
        # The session cookie signs in to the client without a question.
        again = authorize(env, agent, **authorize_query(code_challenge=pkce()[1],
                                                        code_challenge_method="S256"))
        assert again.headers["location"].startswith(REDIRECT), again.headers["location"]
        assert agent.get(env.url("/account")).status_code == 200
        deactivate_and_reactivate(a, user)
        after = authorize(env, agent, **authorize_query(code_challenge=pkce()[1],
                                                        code_challenge_method="S256"))
        assert after.status_code == 303
        assert after.headers["location"].startswith("/login"), after.headers["location"]
        assert agent.get(env.url("/account")).status_code != 200
