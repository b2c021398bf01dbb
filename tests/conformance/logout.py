"""What the logout plans' modules share (``AbstractOIDCCRpInitiatedLogout``): a signed-in
browser and its ID token, the request to the end-session endpoint, and the checks on what
comes back - the post-logout redirect, an error or confirmation page, the session gone."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import httpx
from tests.conformance.basic_session import UI_REQUIRED
from tests.conformance.checks import check_error, check_server_configuration
from tests.conformance.flows import Result, complete
from tests.conformance.harness import POST_LOGOUT, Op
from tests.conformance.rp import QUERY, authorization_request, authorize, sends_browser_to
from tests.oidc.helpers import csrf_form, query_of

__all__ = ["check_logged_out", "check_post_logout_redirect", "check_refused",
           "check_signed_out_page", "check_still_signed_in", "confirm_logout", "end_session",
           "end_session_request", "signed_in"]


def signed_in(op: Op, agent: httpx.Client) -> Result:
    """The first authorization of every logout module (a 128-character state)."""
    check_server_configuration(op, op.client)
    request = authorization_request(op, QUERY, state_length=128)
    return complete(op, authorize(op, agent, request), QUERY)


def end_session_request(result: Result) -> dict[str, str]:
    """CreateRandomEndSessionState, CreateEndSessionEndpointRequest."""
    return {"id_token_hint": result.tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT,
            "state": secrets.token_urlsafe(16)}


def end_session(op: Op, agent: httpx.Client, params: dict[str, str]) -> httpx.Response:
    """BuildRedirectToEndSessionEndpoint: the browser goes there."""
    return agent.get(op.endpoint("end_session_endpoint") + "?" + urlencode(params))


def check_post_logout_redirect(response: httpx.Response, state: str | None) -> None:
    """The browser is sent to the registered post_logout_redirect_uri; CheckPostLogoutState
    (or CheckNoPostLogoutState), CheckForUnexpectedParametersInPostLogoutRedirect."""
    assert response.is_redirect, (response.status_code, response.text[:300])
    location = response.headers["location"]
    assert location.split("?", 1)[0] == POST_LOGOUT, location
    assert query_of(location) == ({"state": state} if state is not None else {}), location


def check_refused(response: httpx.Response, *uris: str) -> None:
    """"The OP must not redirect back and must either show an error screen or confirm with
    the user": no redirect, an error page or a confirmation form, and nothing on it that
    sends the browser to ``uris`` by itself."""
    assert not response.is_redirect, response.headers.get("location")
    assert "text/html" in response.headers["content-type"]
    asks = response.status_code == 200 and 'action="/logout/confirm"' in response.text
    assert asks or response.status_code == 400, response.status_code
    for uri in uris:
        assert not sends_browser_to(response, uri), f"the page sends the browser to {uri}"


def confirm_logout(op: Op, agent: httpx.Client, page: httpx.Response) -> httpx.Response:
    """The person says yes on the confirmation page."""
    assert page.status_code == 200, page.status_code
    fields = csrf_form(page.text, "/logout/confirm")
    return agent.post(op.env.url("/logout/confirm"), data={**fields, "decision": "logout"})


def check_signed_out_page(response: httpx.Response) -> None:
    """ExpectSuccessfulLogoutPage: the "you are signed out" page, no redirect."""
    assert response.status_code == 200, response.status_code
    assert not response.is_redirect
    assert 'action="/logout/confirm"' not in response.text
    assert not sends_browser_to(response, POST_LOGOUT)


def check_logged_out(op: Op, agent: httpx.Client) -> None:
    """The second authorization, prompt=none, must fail with an error that needs a user
    interface: the person was logged out."""
    request = authorization_request(op, QUERY, state_length=128, prompt="none")
    check_error(op, authorize(op, agent, request, sign_in=False), QUERY, UI_REQUIRED)


def check_still_signed_in(op: Op, agent: httpx.Client) -> None:
    """Nothing happened to the session (prompt=none is answered with a code)."""
    request = authorization_request(op, QUERY, prompt="none")
    flow = authorize(op, agent, request, sign_in=False)
    assert flow.callback is not None, flow.response.text[:300]
    assert "code" in flow.callback.params, flow.callback.params
