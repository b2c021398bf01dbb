"""Attacks 1-3: guessing the second factor with the password known, from many addresses, in
races on one challenge across workers, and replaying a TOTP code. What counts is what the
*server* evaluated: every call of a method's check is audited (``method.verify.*`` with a
``reason``, or ``succeeded``), and the audit lines of every worker are read back."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.attacks._flows import (
    Journey,
    Person,
    begin,
    finish,
    make_client,
    make_person,
    password,
    signed_in,
    submit_code,
    totp_now,
    wrong_code,
)
from tests.attacks._servers import Served

ADDRESSES = 50
TRIES = 5  # [limits] code_tries: per method, per code lifetime window


def evaluations(deployment: Served, person: Person) -> list[dict[str, Any]]:
    """Every time a method's check ran for ``person`` (a refusal before it is not one)."""
    return [e for e in deployment.audit()
            if e.get("user_id") == person.user.id and (
                e["event"] == "method.verify.succeeded"
                or (e["event"] == "method.verify.failed" and "reason" in e))]


def issued(deployment: Served, person: Person) -> int:
    return sum(1 for e in deployment.audit("oidc.code_issued") if e["user_id"] == person.user.id)


def copy_browser(source: httpx.Client, target: httpx.Client) -> None:
    for cookie in source.cookies.jar:
        target.cookies.set(cookie.name, cookie.value or "", domain=cookie.domain,
                           path=cookie.path)


def test_guessing_from_fifty_addresses_stays_within_the_accounts_tries(
    deployment: Served,
) -> None:
    # covers S5, S4
    victim, client = make_person(deployment, "guess"), make_client(deployment)
    # The person trusts their own browser beforehand (T1): it will stand in for the code.
    with deployment.client(ADDRESSES + 1) as own:
        journey = begin(deployment, own, client)
        assert password(journey, victim).status_code == 303
        assert finish(deployment, journey,
                      submit_code(journey, totp_now(victim), trust=True)) is not None
        deployment.mark()
        answers: Counter[int] = Counter()
        lock = threading.Lock()

        def attacker(n: int) -> None:
            with deployment.client(n) as http:
                for _ in range(2):  # a new challenge, then guesses until refused
                    journey = begin(deployment, http, client)
                    if password(journey, victim).status_code != 303 or (
                        journey.code_form is None
                    ):
                        continue
                    for _ in range(3):
                        response = submit_code(journey, wrong_code(totp_now(victim)))
                        with lock:
                            answers[response.status_code] += 1
                        if response.status_code == 429:
                            break

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(attacker, range(1, ADDRESSES + 1)))
        # Meanwhile the person signs in from their trusted browser: password only (the SSO
        # session ended; the trusted-browser cookie stays).
        for name in [c.name for c in own.cookies.jar if c.name.endswith("nidan_sid")]:
            own.cookies.delete(name)
        journey = begin(deployment, own, client)
        response = password(journey, victim)
        assert finish(deployment, journey, response) is not None
    checked = evaluations(deployment, victim)
    by_credential = Counter(e["credential_id"] for e in checked)
    assert sum(answers.values()) >= ADDRESSES  # every address got to guess
    assert all(count <= TRIES for count in by_credential.values()), by_credential
    assert sum(by_credential.values()) <= 2 * TRIES
    assert not [e for e in checked if e["event"] == "method.verify.succeeded"]
    assert issued(deployment, victim) == 1  # the person's own sign-in, nothing else
    print(f"attack 1 [{deployment.store_url.split(':')[0]}]: {sum(answers.values())} guesses"
          f" from {ADDRESSES} addresses, {len(checked)} evaluated, 0 tokens")


def at_code_step(deployment: Served, http: httpx.Client, person: Person) -> Journey:
    journey = begin(deployment, http, make_client(deployment))
    assert password(journey, person).status_code == 303
    assert journey.code_form is not None
    return journey


def test_a_race_of_wrong_codes_and_the_right_one_on_one_challenge(deployment: Served) -> None:
    # covers S5
    wrong_per_round, rounds = 60, 3
    for _ in range(rounds):
        person = make_person(deployment, "race")
        deployment.mark()
        with deployment.client(1) as http:
            journey = at_code_step(deployment, http, person)
            clients = [deployment.client(2 + i % ADDRESSES) for i in range(wrong_per_round + 1)]
            for other in clients:
                copy_browser(http, other)
            barrier = threading.Barrier(len(clients))

            def send(index: int, journey: Journey = journey,
                     clients: list[httpx.Client] = clients,
                     barrier: threading.Barrier = barrier, person: Person = person
                     ) -> httpx.Response:
                code = totp_now(person) if index == 0 else wrong_code(totp_now(person))
                barrier.wait(timeout=30)
                return submit_code(journey, code, http=clients[index])

            with ThreadPoolExecutor(len(clients)) as pool:
                responses = list(pool.map(send, range(len(clients))))
            for other in clients:
                other.close()
        checked = evaluations(deployment, person)
        successes = [e for e in checked if e["event"] == "method.verify.succeeded"]
        assert len(successes) <= 1
        assert sum(1 for r in responses if signed_in(r)) <= 1
        assert len(checked) <= TRIES, Counter(e.get("reason", "ok") for e in checked)


def test_a_totp_code_is_accepted_once_in_sequence_and_in_parallel(deployment: Served) -> None:
    # covers S5
    person = make_person(deployment, "totp")
    with deployment.client(1) as first, deployment.client(2) as second:
        one, two = at_code_step(deployment, first, person), at_code_step(deployment, second,
                                                                         person)
        code = totp_now(person)
        assert submit_code(one, code).status_code == 303
        reused = submit_code(two, code)  # from another browser, right after
        wrong = submit_code(two, wrong_code(code))
        assert reused.status_code == wrong.status_code == 400
        # The same answer as a wrong code (tries left differ by one, nothing else).
        assert reused.text.count("That code is not right") == wrong.text.count(
            "That code is not right") == 1
    # Fifty browsers at the code step, one code, all at once: one acceptance.
    person = make_person(deployment, "totp-par")
    deployment.mark()
    browsers = [deployment.client(1 + i) for i in range(50)]
    try:
        journeys = [at_code_step(deployment, http, person) for http in browsers]
        code = totp_now(person)
        barrier = threading.Barrier(len(journeys))

        def send(journey: Journey) -> httpx.Response:
            barrier.wait(timeout=30)
            return submit_code(journey, code)

        with ThreadPoolExecutor(len(journeys)) as pool:
            responses = list(pool.map(send, journeys))
    finally:
        for http in browsers:
            http.close()
    accepted = [e for e in evaluations(deployment, person)
                if e["event"] == "method.verify.succeeded"]
    assert len(accepted) == 1
    assert sum(1 for r in responses if signed_in(r)) == 1
