"""Modules of the Basic OP plan (and the Form Post OP plan) where the provider must refuse
something or behave across requests: a missing response_type, an unregistered redirect URI,
request objects (which we don't support), authorization code reuse, refresh tokens."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
from tests.conformance.checks import (
    SKEW_S,
    check_error,
    check_error_page,
    check_server_configuration,
    check_token_error,
    check_userinfo,
    entropy_bits,
    jwt_parts,
)
from tests.conformance.flows import complete, happy
from tests.conformance.harness import CALLBACK, SUITE_BASE, Op, SuiteClient
from tests.conformance.rp import (
    QUERY,
    authorization_request,
    authorize,
    token_request,
    userinfo,
)

# The query parameters the suite repeats outside a request object
# (AbstractBuildRequestObjectRedirectToAuthorizationEndpoint.REQUIRED_DUPLICATES).
REQUIRED_DUPLICATES = ("response_type", "client_id", "scope", "redirect_uri")


def oidcc_response_type_missing(op: Op, browser: httpx.Client, mode: str) -> None:
    """Either an error page, or the client gets invalid_request / unsupported_response_type
    (CheckErrorFromAuthorizationEndpointErrorInvalidRequestOrUnsupportedResponseType)."""
    check_server_configuration(op, op.client)
    request = authorization_request(op, mode)
    del request["response_type"]
    flow = authorize(op, browser, request, sign_in=False)
    if flow.callback is None:
        check_error_page(op, flow.response, CALLBACK)
    else:
        check_error(op, flow, mode, {"invalid_request", "unsupported_response_type"})


def oidcc_ensure_registered_redirect_uri(op: Op, browser: httpx.Client, mode: str) -> None:
    """CreateBadRedirectUri; ExpectRedirectUriErrorPage: never a redirect to it."""
    check_server_configuration(op, op.client)
    bad = f"{CALLBACK}/{secrets.token_hex(8)}"
    flow = authorize(op, browser, authorization_request(op, mode, redirect_uri=bad),
                     sign_in=False)
    assert flow.callback is None
    check_error_page(op, flow.response, bad)


# -- request objects: not supported -------------------------------------------------------


def _unsigned_request_object(claims: dict[str, str]) -> str:
    """SerializeRequestObjectWithNullAlgorithm: an ``alg: none`` JWT."""
    def b64(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{b64({'alg': 'none'})}.{b64(claims)}."


def _by_reference_or_value(request: dict[str, str], name: str, value: str,
                           redirect_uri: str | None = None) -> str:
    """The suite's query: the request object (or its URI) and the required duplicates; the
    state, nonce and response_mode travel only inside the object."""
    query = {key: request[key] for key in REQUIRED_DUPLICATES}
    if redirect_uri is not None:
        query["redirect_uri"] = redirect_uri  # AddInvalidRedirectUriToAuthorizationRequest
    return urlencode({**query, name: value})


def oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(
        op: Op, browser: httpx.Client, mode: str) -> None:
    """We answer request_uri_not_supported, which the suite takes as "skip". (The suite runs
    this module for dynamic clients only.) The response mode asked for is inside the object
    we don't fetch, so the answer is the default mode's: a query redirect."""
    assert op.discovery["request_uri_parameter_supported"] is False
    check_server_configuration(op, op.client)
    request = authorization_request(op, mode)
    query = _by_reference_or_value(request, "request_uri",
                                   f"{SUITE_BASE}/requesturi/{secrets.token_hex(8)}")
    flow = authorize(op, browser, request, sign_in=False, query=query)
    check_error(op, flow, QUERY, {"request_uri_not_supported"}, state_expected=False)


def oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(
        op: Op, browser: httpx.Client, mode: str) -> None:
    """The suite skips the module when discovery lists request_object_signing_alg_values_
    supported without ``none``; otherwise the authorization must succeed or return
    request_not_supported - in the response mode the request asked for (the suite reads the
    form_post callback's body in the Form Post plan)."""
    algs = op.discovery.get("request_object_signing_alg_values_supported")
    if isinstance(algs, list) and "none" not in algs:
        return  # skipped by the suite at configuration (skipTestIfNoneUnsupported)
    check_server_configuration(op, op.client)
    request = authorization_request(op, mode)
    query = _by_reference_or_value(request, "request", _unsigned_request_object(request))
    flow = authorize(op, browser, request, sign_in=False, query=query)
    check_error(op, flow, mode, {"request_not_supported"}, state_expected=False)


def oidcc_ensure_request_object_with_redirect_uri(op: Op, browser: httpx.Client,
                                                  mode: str) -> None:
    """A valid redirect_uri in the object, an invalid one in the query: use the object's, or
    show the invalid-redirect-URI error page (ExpectRedirectUriErrorPage). Redirecting to
    the registered URI with request_not_supported fails the module
    (EnsureOPDoesNotUseDefaultRedirectUriInCaseOfInvalidRedirectUri)."""
    check_server_configuration(op, op.client)
    request = authorization_request(op, mode)
    bad = f"{CALLBACK}?{secrets.token_hex(4)}=1"
    query = _by_reference_or_value(request, "request", _unsigned_request_object(request),
                                   redirect_uri=bad)
    flow = authorize(op, browser, request, sign_in=False, query=query)
    assert flow.callback is None, flow.callback
    check_error_page(op, flow.response, CALLBACK)


# -- codes and refresh tokens --------------------------------------------------------------


def oidcc_codereuse(op: Op, browser: httpx.Client, mode: str) -> None:
    result = happy(op, browser, mode)
    check_token_error(_reuse(op, result.flow.code), "invalid_grant")


def oidcc_codereuse_30seconds(op: Op, browser: httpx.Client, mode: str) -> None:
    """WaitFor30Seconds, reuse: invalid_grant; and the access token from the first use is
    revoked (CallProtectedResourceWithBearerTokenExpectingError)."""
    result = happy(op, browser, mode)
    op.clock.advance(30)
    check_token_error(_reuse(op, result.flow.code), "invalid_grant")
    after = userinfo(op, result.access_token)
    assert after.status_code == 401, after.text
    assert after.headers["www-authenticate"].startswith("Bearer")


def _reuse(op: Op, code: str) -> httpx.Response:
    return token_request(op, {"grant_type": "authorization_code", "code": code,
                              "redirect_uri": CALLBACK}, op.client)


def _refresh(op: Op, refresh_token: str, client: SuiteClient, *, scope: bool
             ) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if scope:  # AddScopeToTokenEndpointRequest (first client only)
        data["scope"] = client.scope
    return token_request(op, data, client)


def _refresh_steps(op: Op, first: dict[str, Any], first_claims: dict[str, Any],
                   client: SuiteClient, *, scope: bool) -> str:
    """RefreshTokenRequestSteps; returns the refresh token to keep."""
    assert "refresh_token" in op.discovery["grant_types_supported"]
    refresh_token = first.get("refresh_token")
    assert isinstance(refresh_token, str), "no refresh token was issued"
    op.clock.advance(1)  # WaitForOneSecond: so the new iat differs
    response = _refresh(op, refresh_token, client, scope=scope)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "no-store" in response.headers.get("cache-control", "")  # CheckTokenEndpointCacheHeaders
    body = response.json()
    assert body["token_type"].lower() == "bearer"
    access = body["access_token"]
    assert isinstance(access, str)
    assert entropy_bits(access) >= 128  # EnsureMinimumAccessTokenEntropy
    assert all("\x20" <= char <= "\x7e" for char in access)
    assert isinstance(body.get("expires_in"), int)
    assert body["expires_in"] > 0
    new_refresh = body.get("refresh_token", refresh_token)
    assert len(new_refresh) >= 22  # EnsureMinimumRefreshTokenLength
    assert entropy_bits(new_refresh) >= 96  # EnsureMinimumRefreshTokenEntropy
    if "id_token" in body:  # CompareIdTokenClaims (OIDC Core 12.2)
        _header, claims = jwt_parts(body["id_token"])
        for name in ("iss", "sub", "aud", "azp", "auth_time"):
            assert claims.get(name) == first_claims.get(name), name
        assert claims["iat"] > first_claims["iat"]
        assert claims.get("nonce") in (None, first_claims.get("nonce"))
        assert abs(claims["iat"] - op.clock()) <= SKEW_S
    check_userinfo(userinfo(op, access))
    return str(new_refresh)


def oidcc_refresh_token(op: Op, browser: httpx.Client, mode: str) -> None:
    """AbstractOIDCCMultipleClient: both clients authorize and refresh; then client 2's
    refresh token presented by client 1 is invalid_grant (the token is bound to its client)."""
    kept: dict[str, str] = {}
    for client in (op.client, op.client2):
        check_server_configuration(op, client)
        request = authorization_request(op, mode, client=client)
        result = complete(op, authorize(op, browser, request), mode, client)
        kept[client.client_id] = _refresh_steps(op, result.tokens, result.claims, client,
                                                scope=client is op.client)
    stolen = _refresh(op, kept[op.client2.client_id], op.client, scope=True)
    check_token_error(stolen, "invalid_grant")
