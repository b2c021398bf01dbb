"""Modules of the Basic OP plan (and the Form Post OP plan) about the SSO session: ``prompt``,
``max_age`` and ``id_token_hint``, most of them two authorizations in one browser whose ID
tokens are compared. Time moves on the provider's clock (the suite waits instead)."""

from __future__ import annotations

import httpx
from tests.conformance.checks import SKEW_S, check_error, check_server_configuration
from tests.conformance.flows import complete, happy, second_authorization
from tests.conformance.harness import Op
from tests.conformance.rp import authorization_request, authorize, is_login_page, proceed

# CheckErrorFromAuthorizationEndpointIsOneThatRequiredAUserInterface (OIDC Core 3.1.2.6).
UI_REQUIRED = {"login_required", "interaction_required", "consent_required",
               "account_selection_required"}


def _second_login(op: Op, browser: httpx.Client, mode: str, **extra: str) -> dict[str, int]:
    """A second authorization that must show the sign-in page again (ExpectSecondLoginPage);
    the person signs in again. Returns the new ID token's claims."""
    request = {**authorization_request(op, mode), **extra}
    start = authorize(op, browser, request, sign_in=False).response
    assert is_login_page(start), "the sign-in page was not shown again"
    result = complete(op, proceed(op, browser, request, start), mode)
    return result.claims


def oidcc_prompt_login(op: Op, browser: httpx.Client, mode: str) -> None:
    """CheckIdTokenAuthTimeClaimsDifferIfPresent: prompt=login re-authenticates."""
    first = happy(op, browser, mode).claims
    op.clock.advance(5)  # the person comes back a few seconds later
    second = _second_login(op, browser, mode, prompt="login")
    assert "auth_time" in first
    assert "auth_time" in second
    assert second["auth_time"] != first["auth_time"]
    assert second["sub"] == first["sub"]


def oidcc_prompt_none_not_logged_in(op: Op, browser: httpx.Client, mode: str) -> None:
    """A fresh browser, prompt=none, a 128-character state that must come back intact."""
    check_server_configuration(op, op.client)
    request = authorization_request(op, mode, state_length=128, prompt="none")
    assert len(request["state"]) == 128
    flow = authorize(op, browser, request, sign_in=False)
    check_error(op, flow, mode, UI_REQUIRED)


def _same_authentication(first: dict[str, int], second: dict[str, int]) -> None:
    # CheckIdTokenAuthTimeClaimsSameIfPresent, CheckIdTokenSubConsistentForSecondAuthorization.
    assert second.get("auth_time") == first.get("auth_time")
    assert second["sub"] == first["sub"]


def oidcc_prompt_none_logged_in(op: Op, browser: httpx.Client, mode: str) -> None:
    first = happy(op, browser, mode)
    second = second_authorization(op, browser, mode, sign_in=False, prompt="none")
    assert not second.flow.signed_in
    _same_authentication(first.claims, second.claims)


def oidcc_max_age_1(op: Op, browser: httpx.Client, mode: str) -> None:
    """WaitFor2Seconds, then max_age=1: the sign-in page again, and the second ID token's
    auth_time is present (CheckIdTokenAuthTimeClaimPresentDueToMaxAge), later than the first
    (CheckSecondIdTokenAuthTimeIsLaterIfPresent) and recent
    (CheckIdTokenAuthTimeIsRecentIfPresent)."""
    first = happy(op, browser, mode).claims
    op.clock.advance(2)
    second = _second_login(op, browser, mode, max_age="1")
    assert "auth_time" in second
    assert second["auth_time"] > first["auth_time"]
    assert abs(op.clock() - second["auth_time"]) <= SKEW_S


def oidcc_max_age_10000(op: Op, browser: httpx.Client, mode: str) -> None:
    """max_age=15000 then max_age=10000: no second sign-in, auth_time in both and equal."""
    first = happy(op, browser, mode, max_age="15000")
    assert "auth_time" in first.claims
    second = second_authorization(op, browser, mode, sign_in=False, max_age="10000")
    assert not second.flow.signed_in
    assert "auth_time" in second.claims
    _same_authentication(first.claims, second.claims)


def oidcc_id_token_hint(op: Op, browser: httpx.Client, mode: str) -> None:
    """prompt=none with the first ID token as id_token_hint: answered at once."""
    first = happy(op, browser, mode)
    second = second_authorization(op, browser, mode, sign_in=False, prompt="none",
                                  id_token_hint=first.tokens["id_token"])
    assert not second.flow.signed_in
    _same_authentication(first.claims, second.claims)
