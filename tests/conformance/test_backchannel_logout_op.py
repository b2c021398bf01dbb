"""The OpenID Foundation's Back-Channel Logout OP certification plan
(``oidcc-backchannel-rp-initiated-logout-certification-test-plan``: discovery,
client_secret_basic, default response mode), one test per module, named after it. The
suite's client registers a ``backchannel_logout_uri``: here a real HTTP endpoint on loopback
that validates what arrives. See tests/conformance/PLANS.md."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.conformance.checks import jwt_parts
from tests.conformance.discovery import (
    check_all_endpoints_https,
    check_url,
    fetch_discovery,
    https_deployment,
)
from tests.conformance.harness import Op, conformance_provider, receiving_backchannel
from tests.conformance.logout import (
    check_logged_out,
    check_post_logout_redirect,
    end_session,
    end_session_request,
    signed_in,
)
from tests.live_server import free_port
from tests.oidc.receiver import EVENT

PLAN = "oidcc-backchannel-rp-initiated-logout-certification-test-plan"
MODULES = (
    "oidcc-backchannel-logout-discovery-endpoint-verification",
    "oidcc-backchannel-rp-initiated-logout",
)


@pytest.fixture
def receiver_port() -> int:
    return free_port()


@pytest.fixture
def bc_op(tmp_path: Path, receiver_port: int) -> Iterator[Op]:
    """The provider with the suite's client registered for back-channel logout."""
    uri = f"http://127.0.0.1:{receiver_port}/backchannel_logout"
    with conformance_provider(tmp_path, backchannel_uri=uri) as provider:
        yield provider


def test_oidcc_backchannel_logout_discovery_endpoint_verification(op: Op,
                                                                  tmp_path: Path) -> None:
    """CheckDiscEndpointBackchannelLogoutSupported, CheckDiscEndpointBackchannelLogout-
    SessionSupported (required for certification), CheckDiscEndSessionEndpoint,
    CheckDiscEndpointAllEndpointsAreHttps (deployed)."""
    _url, doc = fetch_discovery(op.issuer)
    assert doc["backchannel_logout_supported"] is True
    assert doc["backchannel_logout_session_supported"] is True
    check_url(doc["end_session_endpoint"], https=False)
    with https_deployment(tmp_path / "deployed") as base:
        _url, deployed = fetch_discovery(base)
    check_all_endpoints_https(deployed)


def test_oidcc_backchannel_rp_initiated_logout(bc_op: Op, agent: httpx.Client,
                                              receiver_port: int) -> None:
    op = bc_op
    result = signed_in(op, agent)
    params = end_session_request(result)
    with receiving_backchannel(op.issuer, op.client.client_id, receiver_port) as receiver:
        check_post_logout_redirect(end_session(op, agent, params), params["state"])
        claims = receiver.wait()  # ValidateLogoutTokenSignature, ValidateLogoutTokenClaims
    assert receiver.refused == []
    # ExtractLogoutTokenFromBackchannelLogoutRequest,
    # CheckForUnexpectedParametersInBackchannelLogoutRequest.
    assert receiver.requests[0]["method"] == "POST"
    assert receiver.requests[0]["content_type"].startswith("application/x-www-form-urlencoded")
    assert receiver.requests[0]["fields"] == ["logout_token"]
    header, _claims = jwt_parts(receiver.raw_tokens[0])
    assert header["kid"]
    assert header["alg"] != "none"
    assert claims["iss"] == op.issuer
    assert claims["aud"] in (op.client.client_id, [op.client.client_id])
    assert isinstance(claims["iat"], int)
    assert isinstance(claims["jti"], str)
    assert claims["jti"]
    assert claims["events"] == {EVENT: {}}  # exactly one member, an empty object
    assert "nonce" not in claims  # CheckLogoutTokenNoNonce
    assert claims.get("sub") or claims.get("sid")  # CheckLogoutTokenHasSubOrSid
    # CheckIdTokenSubMatchesLogoutToken, CheckIdTokenSidMatchesLogoutToken.
    assert claims.get("sub", result.claims["sub"]) == result.claims["sub"]
    assert claims.get("sid", result.claims.get("sid")) == result.claims.get("sid")
    assert claims["sid"], "certification wants sid (backchannel_logout_session_supported)"
    check_logged_out(op, agent)


assert {"test_" + name.replace("-", "_") for name in MODULES} <= set(globals())
