"""The OpenID Foundation's RP-Initiated Logout OP certification plan
(``oidcc-rp-initiated-logout-certification-test-plan``: discovery, client_secret_basic,
default response mode), one test per module, named after it. Each module signs in first
(password and a TOTP code through the real pages), then sends the browser to the
end-session endpoint. See tests/conformance/PLANS.md."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
from joserfc import jwt
from joserfc.jwk import OctKey
from tests.conformance.checks import jwt_parts
from tests.conformance.discovery import (
    check_all_endpoints_https,
    check_url,
    fetch_discovery,
    https_deployment,
)
from tests.conformance.harness import POST_LOGOUT, Op
from tests.conformance.logout import (
    check_logged_out,
    check_post_logout_redirect,
    check_refused,
    check_signed_out_page,
    check_still_signed_in,
    confirm_logout,
    end_session,
    end_session_request,
    signed_in,
)

PLAN = "oidcc-rp-initiated-logout-certification-test-plan"
MODULES = (
    "oidcc-rp-initiated-logout-discovery-endpoint-verification",
    "oidcc-rp-initiated-logout",
    "oidcc-rp-initiated-logout-bad-post-logout-redirect-uri",
    "oidcc-rp-initiated-logout-modified-id-token-hint",
    "oidcc-rp-initiated-logout-no-id-token-hint",
    "oidcc-rp-initiated-logout-no-params",
    "oidcc-rp-initiated-logout-no-post-logout-redirect-uri",
    "oidcc-rp-initiated-logout-no-state",
    "oidcc-rp-initiated-logout-only-state",
    "oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri",
    "oidcc-rp-initiated-logout-bad-id-token-hint",
)


def test_oidcc_rp_initiated_logout_discovery_endpoint_verification(op: Op,
                                                                   tmp_path: Path) -> None:
    """CheckDiscEndSessionEndpoint; CheckDiscEndpointAllEndpointsAreHttps (deployed)."""
    _url, doc = fetch_discovery(op.issuer)
    check_url(doc["end_session_endpoint"], https=False)
    with https_deployment(tmp_path / "deployed") as base:
        _url, deployed = fetch_discovery(base)
    check_url(deployed["end_session_endpoint"], https=True)
    check_all_endpoints_https(deployed)


def test_oidcc_rp_initiated_logout(op: Op, agent: httpx.Client) -> None:
    params = end_session_request(signed_in(op, agent))
    check_post_logout_redirect(end_session(op, agent, params), params["state"])
    check_logged_out(op, agent)


def test_oidcc_rp_initiated_logout_bad_post_logout_redirect_uri(op: Op,
                                                               agent: httpx.Client) -> None:
    """AddBadPostLogoutRedirectUriToEndSessionEndpointRequest: never redirected to, nor to
    the registered one."""
    bad = "https://www.certification.openid.net/test/a/nidan/not_registered_post_logout"
    params = {**end_session_request(signed_in(op, agent)), "post_logout_redirect_uri": bad}
    check_refused(end_session(op, agent, params), bad, POST_LOGOUT)
    check_still_signed_in(op, agent)


def test_oidcc_rp_initiated_logout_modified_id_token_hint(op: Op,
                                                         agent: httpx.Client) -> None:
    """ChangeIdTokenToAlgNone: the hint's header says ``none``, its signature is gone."""
    params = end_session_request(signed_in(op, agent))
    header, _claims = jwt_parts(params["id_token_hint"])
    none = base64.urlsafe_b64encode(json.dumps({**header, "alg": "none"}).encode())
    payload = params["id_token_hint"].split(".")[1]
    params["id_token_hint"] = f"{none.rstrip(b'=').decode()}.{payload}."
    check_refused(end_session(op, agent, params), POST_LOGOUT)
    check_still_signed_in(op, agent)


def test_oidcc_rp_initiated_logout_bad_id_token_hint(op: Op, agent: httpx.Client) -> None:
    """GenerateFakeIdTokenClaims, SignFakeIdToken: the same claims, signed by the suite
    (HS256 with the client's secret, GenerateJWKsFromClientSecret)."""
    params = end_session_request(signed_in(op, agent))
    _header, claims = jwt_parts(params["id_token_hint"])
    key = OctKey.import_key(op.client.secret.encode())
    params["id_token_hint"] = jwt.encode({"alg": "HS256"}, claims, key)
    check_refused(end_session(op, agent, params), POST_LOGOUT)
    check_still_signed_in(op, agent)


def test_oidcc_rp_initiated_logout_no_id_token_hint(op: Op, agent: httpx.Client) -> None:
    """RemoveIdTokenHintFromEndSessionEndpointRequest: a post_logout_redirect_uri, no hint -
    an error page or a confirmation, never the redirect (ExpectIdTokenHintRequiredErrorPage)."""
    params = end_session_request(signed_in(op, agent))
    del params["id_token_hint"]
    check_refused(end_session(op, agent, params), POST_LOGOUT)
    check_still_signed_in(op, agent)


def _logged_out_without_redirect(op: Op, agent: httpx.Client, params: dict[str, str]) -> None:
    """ExpectSuccessfulLogoutPage: the person ends up on the signed-out page (after saying
    yes, when the provider asks first) and is logged out; the registered
    post_logout_redirect_uri is never called."""
    response = end_session(op, agent, params)
    assert not response.is_redirect, response.headers.get("location")
    if 'action="/logout/confirm"' in response.text:
        response = confirm_logout(op, agent, response)
    check_signed_out_page(response)
    check_logged_out(op, agent)


def test_oidcc_rp_initiated_logout_no_params(op: Op, agent: httpx.Client) -> None:
    signed_in(op, agent)
    _logged_out_without_redirect(op, agent, {})


def test_oidcc_rp_initiated_logout_no_post_logout_redirect_uri(op: Op,
                                                              agent: httpx.Client) -> None:
    params = end_session_request(signed_in(op, agent))
    del params["post_logout_redirect_uri"]
    _logged_out_without_redirect(op, agent, params)


def test_oidcc_rp_initiated_logout_no_state(op: Op, agent: httpx.Client) -> None:
    """RemoveStateFromEndSessionEndpointRequest; CheckNoPostLogoutState."""
    params = end_session_request(signed_in(op, agent))
    del params["state"]
    check_post_logout_redirect(end_session(op, agent, params), None)
    check_logged_out(op, agent)


def test_oidcc_rp_initiated_logout_only_state(op: Op, agent: httpx.Client) -> None:
    params = end_session_request(signed_in(op, agent))
    _logged_out_without_redirect(op, agent, {"state": params["state"]})


def test_oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri(
        op: Op, agent: httpx.Client) -> None:
    """AddPostLogoutRedirectUriWithQueryAddedToEndSessionEndpointRequest: ``?foo=bar`` makes
    it an unregistered URI."""
    params = end_session_request(signed_in(op, agent))
    params["post_logout_redirect_uri"] = POST_LOGOUT + "?foo=bar"
    check_refused(end_session(op, agent, params), POST_LOGOUT)
    check_still_signed_in(op, agent)


assert {"test_" + name.replace("-", "_") for name in MODULES} <= set(globals())
