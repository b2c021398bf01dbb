"""Attack 9: trusted-browser cookies that must never stand in for the second factor, against
the multi-worker deployments: another person's, revoked, expired, after a password change,
tampered. A fresh cookie of the person's own is the control (it does skip the code), and a
revocation holds on the very next request, whichever worker answers it."""

from __future__ import annotations

import time

from tests.attacks._flows import Client, Person, begin, make_client, make_person, password
from tests.attacks._servers import Served

DAY = 24 * 3600
NEXT_REQUESTS = 6  # fresh connections after a revocation: both workers answer some


def code_asked(deployment: Served, person: Person, client: Client, cookie: tuple[str, str],
               n: int = 1) -> bool:
    """Sign in with the password from a new browser that holds only ``cookie``: ``True``
    if the code step came next, ``False`` if the sign-in went on without it."""
    with deployment.client(n) as http:
        http.cookies.set(*cookie)
        response = password(begin(deployment, http, client), person)
        assert response.status_code == 303, response.text[:300]
        return bool(response.headers["location"] == "/login/code")


def trusted(deployment: Served, person: Person, *, now: float | None = None) -> tuple[str, str]:
    services = deployment.services
    assert services is not None
    issued = services.devices.trust(person.user, user_agent="attack-test", ip="127.0.0.2",
                                    now=now)
    return services.devices.cookie_name(person.user.id), issued.value


def tampered(value: str) -> str:
    at = 1 if value.startswith(".") else 0  # "." marks a compressed payload
    return value[:at] + ("x" if value[at] != "x" else "y") + value[at + 1:]


def test_no_cookie_but_the_persons_own_active_one_skips_the_code(deployment: Served) -> None:
    # covers T4, T1
    services = deployment.services
    assert services is not None
    client = make_client(deployment)
    victim, other = make_person(deployment, "tb-victim"), make_person(deployment, "tb-other")
    own = trusted(deployment, victim)
    assert not code_asked(deployment, victim, client, own)  # the control: trust works
    name, value = own
    theirs = trusted(deployment, other)
    cases = {
        "another person's under the victim's name": (name, theirs[1]),
        "another person's under its own name": theirs,
        "tampered": (name, tampered(value)),
        "expired": trusted(deployment, victim, now=time.time() - 31 * DAY),
    }
    skipped = [case for case, cookie in cases.items()
               if not code_asked(deployment, victim, client, cookie)]
    assert skipped == []
    # Revoked: every next request, on fresh connections (so on both workers), asks the code.
    services.devices.revoke_all(victim.user.id, actor="test")
    after_revoke = [code_asked(deployment, victim, client, own, n=2 + i)
                    for i in range(NEXT_REQUESTS)]
    assert all(after_revoke), after_revoke
    # A password change ends every trust of the person (T4).
    again = trusted(deployment, victim)
    assert not code_asked(deployment, victim, client, again)
    services.accounts.set_password(victim.user.id, "correct horse battery staple",
                                   actor="test")
    assert code_asked(deployment, victim, client, again)
    print(f"attack 9 [{deployment.store_url.split(':')[0]}]: {len(cases) + NEXT_REQUESTS + 1}"
          " refused cookies, 0 skipped second factors")


def test_a_trusted_cookie_alone_never_makes_a_session(deployment: Served) -> None:
    # covers T1
    victim, client = make_person(deployment, "tb-alone"), make_client(deployment)
    with deployment.client(3) as http:
        http.cookies.set(*trusted(deployment, victim))
        for path in ("/account", "/login/code"):
            response = http.get(path)
            assert response.status_code in (303, 400, 401, 403), (path, response.status_code)
            assert "Sign out" not in response.text
        journey = begin(deployment, http, client)
        assert isinstance(journey.start, str)
        assert journey.start.startswith("/login")
        response = http.get(journey.start)
        assert response.status_code == 200
        assert 'name="password"' in response.text
