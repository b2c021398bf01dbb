"""The OpenID Foundation's Config OP certification plan (``oidcc-config-certification-test-
plan``: discovery, static client): its one module, ``oidcc-discovery-endpoint-verification``.
See tests/conformance/PLANS.md."""

from __future__ import annotations

from pathlib import Path

from tests.conformance.checks import check_jwks
from tests.conformance.discovery import (
    DEPLOYED_ISSUER,
    WELL_KNOWN,
    check_all_endpoints_https,
    check_issuer,
    check_locales_and_scopes,
    check_url,
    fetch_discovery,
    https_deployment,
)
from tests.conformance.harness import Op

PLAN = "oidcc-config-certification-test-plan"
MODULES = ("oidcc-discovery-endpoint-verification",)
# OIDCCCheckDiscEndpointResponseTypesSupported: at least one response type of OIDC Core.
OIDC_RESPONSE_TYPES = {"code", "code id_token", "id_token", "token id_token",
                       "code id_token token", "code token"}


def test_oidcc_discovery_endpoint_verification(op: Op, tmp_path: Path) -> None:
    url, doc = fetch_discovery(op.issuer)
    assert set(doc["response_types_supported"]) & OIDC_RESPONSE_TYPES
    check_issuer(doc, url, https=False)
    # CheckDiscEndpointSubjectTypesSupported
    assert set(doc["subject_types_supported"]) & {"public", "pairwise"}
    # OIDCCCheckDiscEndpointIdTokenSigningAlgValuesSupported: RS256 must be offered.
    assert "RS256" in doc["id_token_signing_alg_values_supported"]
    if "userinfo_signing_alg_values_supported" in doc:
        assert isinstance(doc["userinfo_signing_alg_values_supported"], list)
    # CheckDiscEndpointAuthorization/Token/UserinfoEndpoint, CheckJwksUri.
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        check_url(doc[name], https=False)
        assert doc[name].startswith(op.issuer + "/"), doc[name]
    if "registration_endpoint" in doc:  # CheckDiscEndpointRegistrationEndpoint
        check_url(doc["registration_endpoint"], https=False)
    check_jwks(op)  # FetchServerKeys, ValidateServerJWKs, EnsureServerJwksDoesNotContain...
    # CheckDiscEndpointRequest(Uri)ParameterSupported (INFO): booleans when present.
    for name in ("request_parameter_supported", "request_uri_parameter_supported",
                 "claims_parameter_supported"):
        assert isinstance(doc.get(name, False), bool), name
    if "request_object_signing_alg_values_supported" in doc:  # ...IncludesRS256 (WARNING)
        assert "RS256" in doc["request_object_signing_alg_values_supported"]
    # OIDCCCheckDiscEndpointClaimsSupported: an array (a warning when missing).
    assert isinstance(doc["claims_supported"], list)
    assert doc["claims_supported"]
    # OIDCCCheckDiscEndpointGrantTypesSupported: a non-empty array when present.
    assert isinstance(doc["grant_types_supported"], list)
    assert doc["grant_types_supported"]
    check_locales_and_scopes(doc)
    # EnsureServerConfigurationCodeChallengeMethodsSupportedIsAnArray
    assert isinstance(doc.get("code_challenge_methods_supported", []), list)
    # The same document as a deployment (https issuer) serves it:
    # CheckDiscEndpointIssuerIsValidUrl and CheckDiscEndpointAllEndpointsAreHttps.
    with https_deployment(tmp_path / "deployed") as base:
        _url, deployed = fetch_discovery(base)
    check_issuer(deployed, DEPLOYED_ISSUER + WELL_KNOWN, https=True)
    check_all_endpoints_https(deployed)
    check_url(deployed["jwks_uri"], https=True)


assert {"test_" + name.replace("-", "_") for name in MODULES} <= set(globals())
