"""Deleting a person (``idp users delete``, the admin API, SCIM): their secrets at rest go
with the account, and nothing signed in before keeps working."""

from __future__ import annotations

from idp.resets import delete_person
from idp.users import method_user
from tests.login.helpers import Enrolled, HttpBrowser, Site
from tests.login.test_trusted import trust


def keys_naming(site: Site, user_id: str) -> set[str]:
    # Audit events keep naming the person (the trail outlives the account, by design).
    return {key for key in site.services.store.scan("") if user_id in key
            and not key.startswith("audit")}


def test_deleting_a_person_removes_their_methods_codes_and_sessions(
    site: Site, visitor: HttpBrowser, person: Enrolled
) -> None:
    # covers C3
    trust(visitor, person)  # signed in, with a trusted-browser record
    before = keys_naming(site, person.user.id)
    assert before, "an enrolled, signed-in person has records that name them"
    assert site.services.methods.recovery_codes_left(person.user.id) > 0
    delete_person(site.services, person.user, actor="test")
    left = keys_naming(site, person.user.id)
    # Only markers without secrets stay: the closed re-enrollment gate, and short-lived
    # used-code marks and send counters that expire on their own.
    leftover = ("methods:reenroll-gate:", "methods:used:", "methods:sends:")
    assert all(key.startswith(leftover) for key in left), sorted(left)
    assert any(key.startswith(("activity:", "known-browsers:")) for key in before)
    assert site.services.accounts.get(person.user.id) is None
    assert site.services.methods.recovery_codes_left(person.user.id) == 0
    assert site.services.methods.credentials(method_user(person.user)) == {}
    page = visitor.go("/account")
    assert "/login" in str(page.url)
