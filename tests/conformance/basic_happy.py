"""Modules of the Basic OP plan (and, with ``response_mode=form_post``, of the Form Post OP
plan) whose flow must simply succeed: the happy path, both secret authentications, the ID
token's signature, the three UserInfo calls, scopes, and the request parameters an OP must
accept without error. Each function is one module; ``mode`` is ``query`` or ``form_post``."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from functools import partial

import httpx
from tests.conformance.checks import (
    check_id_token,
    check_server_configuration,
    check_success,
    check_token_response,
    check_userinfo,
    jwt_parts,
)
from tests.conformance.flows import complete, happy
from tests.conformance.harness import Op
from tests.conformance.rp import (
    authorization_request,
    authorize,
    exchange,
    is_login_page,
    proceed,
    userinfo,
)
from tests.oidc.helpers import form_with

# The claims we hold per scope (docs/oidc.md "scope"). The suite's
# VerifyScopesReturnedInUserInfoClaims asks for every OIDC Core 5.4 claim of the scope and
# only WARNS when some are missing (given_name, picture... are not kept): see PLANS.md.
HELD: dict[str, set[str]] = {"profile": {"name", "locale", "updated_at"},
                             "email": {"email", "email_verified"}}


def oidcc_server(op: Op, browser: httpx.Client, mode: str) -> None:
    result = happy(op, browser, mode)
    assert result.flow.signed_in
    # EnsureIdTokenDoesNotContainName: scope=openid asks for no profile claim.
    assert "name" not in result.claims


def oidcc_server_client_secret_post(op: Op, browser: httpx.Client, mode: str) -> None:
    assert "client_secret_post" in op.discovery["token_endpoint_auth_methods_supported"]
    result = happy(op, browser, mode, client=op.client_post)
    assert result.claims["aud"] == op.client_post.client_id


def oidcc_idtoken_signature(op: Op, browser: httpx.Client, mode: str) -> None:
    """EnsureIdTokenContainsKid, EnsureIdTokenSignatureIsRS256 (the default algorithm)."""
    result = happy(op, browser, mode, call_userinfo=False)
    header, _claims = jwt_parts(result.tokens["id_token"])
    assert header.get("kid"), header
    assert header["alg"] == "RS256", header


def oidcc_idtoken_unsigned(op: Op, browser: httpx.Client, mode: str) -> None:
    """Not applicable to our variant: the suite skips it unless discovery lists ``none`` in
    id_token_signing_alg_values_supported (and only for dynamic clients). We never offer
    ``none``; the ID token a client gets is signed."""
    assert "none" not in op.discovery["id_token_signing_alg_values_supported"]
    result = happy(op, browser, mode, call_userinfo=False)
    assert jwt_parts(result.tokens["id_token"])[0]["alg"] != "none"


def _userinfo_module(op: Op, browser: httpx.Client, mode: str, how: str) -> None:
    result = happy(op, browser, mode, call_userinfo=False)
    check_userinfo(userinfo(op, result.access_token, how), result.claims)


def oidcc_userinfo_get(op: Op, browser: httpx.Client, mode: str) -> None:
    _userinfo_module(op, browser, mode, "get")


def oidcc_userinfo_post_header(op: Op, browser: httpx.Client, mode: str) -> None:
    _userinfo_module(op, browser, mode, "post_header")


def oidcc_userinfo_post_body(op: Op, browser: httpx.Client, mode: str) -> None:
    _userinfo_module(op, browser, mode, "post_body")


def oidcc_ensure_request_without_nonce_succeeds_for_code_flow(
        op: Op, browser: httpx.Client, mode: str) -> None:
    """The code must be issued although no nonce was sent (the suite stops there)."""
    check_server_configuration(op, op.client)
    request = authorization_request(op, mode, nonce=False)
    check_success(op, authorize(op, browser, request), mode)


# -- scopes (AbstractOIDCCReturnedClaimsServerTest) ---------------------------------------


def _scope_module(op: Op, browser: httpx.Client, mode: str, scope: str) -> None:
    # OIDCCCheckScopesSupportedContainScopeTest: scopes the OP doesn't list are skipped.
    assert set(scope.split()) <= set(op.discovery["scopes_supported"]), scope
    result = happy(op, browser, mode, scope=scope, call_userinfo=False)
    info = check_userinfo(userinfo(op, result.access_token), result.claims)
    for name in scope.split():
        missing = HELD.get(name, set()) - set(info)
        assert not missing, f"scope {name}: UserInfo lacks {missing}"


def _unsupported_scope_module(op: Op, browser: httpx.Client, mode: str, scope: str) -> None:
    """What the suite accepts from an OP without these claims: ``scopes_supported`` doesn't
    list the scope, so the module is skipped. A client asking anyway is answered (the
    scope dropped, OIDC Core 5.4), and gets none of its claims."""
    supported = set(op.discovery["scopes_supported"])
    assert not set(scope.split()) <= supported, f"{scope} is advertised"
    result = happy(op, browser, mode, scope=scope, call_userinfo=False)
    info = check_userinfo(userinfo(op, result.access_token), result.claims)
    assert not {"address", "phone_number", "phone_number_verified"} & set(info), info


# The scope modules: each one scope request, held claims checked or unsupported ones absent.
oidcc_scope_profile = partial(_scope_module, scope="openid profile")
oidcc_scope_email = partial(_scope_module, scope="openid email")
oidcc_scope_address = partial(_unsupported_scope_module, scope="openid address")
oidcc_scope_phone = partial(_unsupported_scope_module, scope="openid phone")
oidcc_scope_all = partial(_unsupported_scope_module, scope="openid email phone address profile")
# ReverseScopeOrderInAuthorizationEndpointRequest on the scope-email request.
oidcc_ensure_other_scope_order_succeeds = partial(_scope_module, scope="email openid")


# -- request parameters that must not cause an error ---------------------------------------


def oidcc_display_page(op: Op, browser: httpx.Client, mode: str) -> None:
    assert happy(op, browser, mode, display="page").flow.signed_in


def oidcc_display_popup(op: Op, browser: httpx.Client, mode: str) -> None:
    assert happy(op, browser, mode, display="popup").flow.signed_in


def oidcc_ensure_request_with_unknown_parameter_succeeds(
        op: Op, browser: httpx.Client, mode: str) -> None:
    happy(op, browser, mode, extra="foobar")


def oidcc_claims_locales(op: Op, browser: httpx.Client, mode: str) -> None:
    happy(op, browser, mode, claims_locales="se")


def _until_login_page(op: Op, browser: httpx.Client, mode: str, **extra: str
                      ) -> tuple[dict[str, str], httpx.Response, httpx.Response]:
    """A fresh browser's authorization request up to the sign-in page, which is returned
    with the request and the redirect to it."""
    check_server_configuration(op, op.client)
    request = {**authorization_request(op, mode), **extra}
    start = authorize(op, browser, request, sign_in=False).response
    assert is_login_page(start), start.status_code
    return request, start, browser.get(op.env.url(start.headers["location"]))


def oidcc_login_hint(op: Op, browser: httpx.Client, mode: str) -> None:
    """The hint names the person to sign in (the suite's ``server.login_hint``); the sign-in
    page offers it, and the flow succeeds."""
    request, start, page = _until_login_page(op, browser, mode, login_hint=op.user.email)
    assert form_with(page.text, "/login")["email"] == op.user.email
    complete(op, proceed(op, browser, request, start), mode)


def oidcc_ui_locales(op: Op, browser: httpx.Client, mode: str) -> None:
    """``se`` (the suite's default) is not offered, ``en`` is: no error, and the sign-in
    page speaks the first requested language we have (the tester's screenshot check)."""
    request, start, page = _until_login_page(op, browser, mode, ui_locales="se en")
    assert page.headers["content-language"] == "en"
    complete(op, proceed(op, browser, request, start), mode)


def oidcc_ensure_request_with_acr_values_succeeds(op: Op, browser: httpx.Client,
                                                  mode: str) -> None:
    """OIDCCAddAcrValuesToAuthorizationEndpointRequest sends acr_values_supported;
    ValidateIdTokenACRClaimAgainstAcrValuesRequest wants one of them back."""
    wanted = op.discovery["acr_values_supported"]
    result = happy(op, browser, mode, acr_values=" ".join(wanted))
    assert result.claims.get("acr") in wanted, result.claims.get("acr")


def oidcc_ensure_post_request_succeeds(op: Op, browser: httpx.Client, mode: str) -> None:
    """The authorization request arrives as a POSTed form."""
    assert happy(op, browser, mode, method="POST").flow.signed_in


def oidcc_claims_essential(op: Op, browser: httpx.Client, mode: str) -> None:
    """AddUserInfoEssentialNameClaimToAuthorizationEndpointRequest; EnsureUserInfoContainsName
    and EnsureIdTokenDoesNotContainName (warnings in the suite, our documented behaviour)."""
    claims = json.dumps({"userinfo": {"name": {"essential": True}}})
    result = happy(op, browser, mode, claims=claims, call_userinfo=False)
    info = check_userinfo(userinfo(op, result.access_token), result.claims)
    assert info.get("name") == op.user.display_name, info
    assert "name" not in result.claims


def oidcc_ensure_request_with_valid_pkce_succeeds(op: Op, browser: httpx.Client,
                                                  mode: str) -> None:
    """SetupPkceAndAddToAuthorizationRequest (S256), AddCodeVerifierToTokenEndpointRequest."""
    check_server_configuration(op, op.client)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    request = authorization_request(op, mode, code_challenge=challenge,
                                    code_challenge_method="S256")
    flow = authorize(op, browser, request)
    code = check_success(op, flow, mode)
    tokens = check_token_response(exchange(op, code, code_verifier=verifier))
    claims = check_id_token(op, tokens["id_token"], request, op.client,
                            access_token=tokens["access_token"])
    check_userinfo(userinfo(op, tokens["access_token"]), claims)
