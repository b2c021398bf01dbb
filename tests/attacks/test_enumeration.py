"""Attack 10: the password step answers an existing and an unknown email alike, against the
multi-worker deployments: same status, same page once the per-request values (form ids,
tokens, the echoed email) are blanked, the same cookie names and attributes. Timing is not
asserted here (noisy on a shared machine): ``bench/attack_enumeration.py`` measures it."""

from __future__ import annotations

import re
import secrets

import httpx

from tests.attacks._flows import begin, make_client, make_person
from tests.attacks._servers import Served
from tests.oidc.helpers import form_with

ROUNDS = 3  # interleaved rounds of every case

_VALUES = re.compile(r'(value|content|nonce|href|action)="[^"]*"')


def shape(body: str, email: str) -> str:
    """The page with everything that differs per request blanked."""
    body = body.replace(email, "EMAIL")
    body = _VALUES.sub(r'\1=""', body)
    return re.sub(r"[A-Za-z0-9_-]{20,}", "TOKEN", body)


def cookie_shape(response: httpx.Response) -> list[str]:
    return sorted(re.sub(r"=[^;]*", "=", header, count=1)
                  for header in response.headers.get_list("set-cookie"))


def attempt(deployment: Served, n: int, email: str, password: str) -> tuple[int, str,
                                                                            list[str]]:
    with deployment.client(n) as http:
        journey = begin(deployment, http, make_client(deployment))
        fields = form_with(http.get(journey.start).text, "/login")
        fields.update(email=email, password=password)
        response = http.post("/login", data=fields)
        return response.status_code, shape(response.text, email), cookie_shape(response)


def test_an_existing_and_an_unknown_email_get_the_same_answer(deployment: Served) -> None:
    # covers S4
    existing = make_person(deployment, "enum").email
    unknown = f"nobody-{secrets.token_hex(4)}@example.com"
    answers: dict[tuple[str, str], set[tuple[int, str, tuple[str, ...]]]] = {}
    for round_ in range(ROUNDS):
        for kind in ("wrong", "empty"):
            for who, email in (("existing", existing), ("unknown", unknown)):
                password = "" if kind == "empty" else f"not-it-{round_}"
                status, body, cookies = attempt(deployment, 1 + round_ % 3, email, password)
                answers.setdefault((kind, who), set()).add((status, body, tuple(cookies)))
    for kind in ("wrong", "empty"):
        assert answers[(kind, "existing")] == answers[(kind, "unknown")], kind
        statuses = {status for status, _, _ in answers[(kind, "existing")]}
        assert statuses, kind
        assert statuses <= {400, 401, 200}, statuses
    print(f"attack 10 [{deployment.store_url.split(':')[0]}]: {ROUNDS * 4} sign-ins, existing"
          " and unknown emails answered alike (status, page shape, cookies)")
