"""What the multi-replica tests show, written once and run on standalone Redis and Sentinel."""

from __future__ import annotations

import itertools

from idp.login import ACR_2SV
from tests.replicas.deployment import BYE, Deployment
from tests.replicas.journey import (
    Browser,
    authorize,
    exchange,
    logout,
    query_of,
    refresh,
    tokens_of,
    userinfo,
    walk,
)

# Figures the tests measured, printed at the end of the run (pytest -s, or -rA).
FIGURES: dict[str, object] = {}


def journey_hopping_replicas(dep: Deployment) -> None:
    """Authorize, password, code, consent, token, refresh, userinfo, logout: every request
    on another replica than the one before, through the balancer's round robin."""
    person = dep.person()
    browser = Browser(dep)
    first = len(dep.balancer.routed)
    try:
        start, verifier = authorize(browser)
        code = walk(browser, person, start)
        tokens = exchange(browser, code, verifier)
        assert tokens.claims["acr"] == ACR_2SV
        assert {"pwd", "otp", "mfa"} <= set(tokens.claims["amr"])
        assert tokens.claims["iss"] == dep.issuer
        refreshed = refresh(browser, tokens)
        assert refreshed.status_code == 200, refreshed.text
        renewed = tokens_of(refreshed)
        assert renewed.refresh_token != tokens.refresh_token
        assert renewed.claims["auth_time"] == tokens.claims["auth_time"]
        info = userinfo(browser, renewed)
        assert info.status_code == 200
        assert info.json()["sub"] == person.user.id
        bye = logout(browser, renewed)
        assert bye.status_code == 303
        assert bye.headers["location"].startswith(BYE)
        assert query_of(bye.headers["location"]) == {"state": "bye"}
        # The session ended everywhere: its refresh token too (no offline_access).
        assert refresh(browser, renewed).json()["error"] == "invalid_grant"
    finally:
        browser.close()
    hops = dep.balancer.replicas_since(first)
    paths = [routed.path for routed in dep.balancer.routed[first:]]
    assert {"/authorize", "/login", "/login/code", "/authorize/consent", "/token",
            "/userinfo", "/logout"} <= set(paths)
    assert browser.retries == 0
    assert set(hops) == set(range(len(dep.replicas)))
    assert all(a != b for a, b in itertools.pairwise(hops)), hops
    FIGURES.setdefault("journeys", 0)
    FIGURES["journeys"] = int(str(FIGURES["journeys"])) + 1
