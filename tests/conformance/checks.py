"""The certification suite's conditions, as assertions: each function checks what one or
a few of the suite's ``condition`` classes check (named in the docstrings), against what
really came over HTTP. Times are compared with the provider's clock (tests move it)."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections import Counter
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
from joserfc import jwk, jws
from tests.conformance.harness import Op, SuiteClient
from tests.conformance.rp import FORM_POST, Flow, sends_browser_to

__all__ = ["check_callback_mode", "check_error", "check_error_page", "check_id_token",
           "check_jwks", "check_server_configuration", "check_standard_claims",
           "check_success", "check_token_error", "check_token_response", "check_userinfo",
           "entropy_bits", "jwt_parts"]

# ValidateIdToken, ValidateLogoutTokenClaims: the suite allows five minutes of skew.
SKEW_S: Final = 300
# EnsureMinimumAuthorizationCodeEntropy: 128 bits are required, 96 measured is accepted
# (entropy of a sample can only be estimated); EnsureMinimumAuthorizationCodeLength.
CODE_ENTROPY_BITS: Final = 96
CODE_MIN_CHARS: Final = 22
# RFC 6749 4.1.2.1 / 5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
_DESCRIPTION: Final = re.compile(r'^[\x20\x21\x23-\x5b\x5d-\x7e]*$')
# CheckForUnexpectedParametersInErrorResponseFromAuthorizationEndpoint.
_ERROR_PARAMS: Final = {"error", "error_description", "error_uri", "state", "iss",
                        "session_state"}
_TOKEN_ERRORS: Final = {"invalid_request", "invalid_client", "invalid_grant",
                        "unauthorized_client", "unsupported_grant_type", "invalid_scope"}
# AbstractValidateOpenIdStandardClaims: the OIDC Core 5.1 claims and their JSON types.
_STRING_CLAIMS: Final = ("name", "given_name", "family_name", "middle_name", "nickname",
                         "preferred_username", "profile", "picture", "website", "email",
                         "gender", "birthdate", "zoneinfo", "locale", "phone_number", "sub")
_BOOLEAN_CLAIMS: Final = ("email_verified", "phone_number_verified")
_PRIVATE_MEMBERS: Final = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS, unverified."""
    def part(segment: str) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(
            base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        return value
    head, body, _signature = token.split(".")
    return part(head), part(body)


def entropy_bits(value: str) -> float:
    """The suite's estimate (AbstractEnsureMinimumEntropy): Shannon entropy per character
    of the value, times its length."""
    counts = Counter(value)
    per_char = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return per_char * len(value)


# -- configuration -------------------------------------------------------------------------


def check_server_configuration(op: Op, client: SuiteClient) -> None:
    """CheckServerConfiguration, EnsureServerConfigurationSupportsClientSecretBasic/Post,
    then the JWKS checks every module starts with."""
    for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
        assert isinstance(op.discovery.get(name), str), name
    methods = op.discovery.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
    assert client.auth in methods, methods
    check_jwks(op)


def check_jwks(op: Op) -> list[dict[str, Any]]:
    """FetchServerKeys, ValidateServerJWKs, CheckForKeyIdInServerJWKs,
    CheckDistinctKeyIdValueInServerJWKs, EnsureServerJwksDoesNotContainPrivateOrSymmetricKeys."""
    response = httpx.get(op.endpoint("jwks_uri"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    keys: list[dict[str, Any]] = response.json()["keys"]
    assert keys, "the JWKS has no keys"
    kids = [key.get("kid") for key in keys]
    assert all(isinstance(kid, str) and kid for kid in kids), kids
    assert len(set(kids)) == len(kids), kids
    for key in keys:
        assert key["kty"] in ("RSA", "EC"), key["kty"]
        assert not [m for m in _PRIVATE_MEMBERS if m in key], key["kid"]
        jwk.import_key(key)  # well-formed, base64url members
    return keys


# -- the authorization response ------------------------------------------------------------


def check_callback_mode(flow: Flow, mode: str) -> None:
    """For form_post: CheckCallbackHttpMethodIsPost, CheckCallbackContentTypeIsFormUrlEncoded,
    RejectAuthCodeInUrlQuery, RejectErrorInUrlQuery; otherwise the query of a redirect."""
    callback = flow.callback
    assert callback is not None, (flow.response.status_code, flow.response.text[:300])
    if mode == FORM_POST:
        assert callback.method == "POST", callback
        assert callback.content_type == "application/x-www-form-urlencoded", callback
        assert callback.script_submits, "the form_post page does not submit itself"
        query = urlsplit(callback.url).query
        assert "code=" not in query, callback.url
        assert "error=" not in query, callback.url
    else:
        assert callback.method == "GET", callback
        assert flow.response.status_code in (302, 303), flow.response.status_code


def _check_iss(op: Op, params: dict[str, str]) -> None:
    # ValidateIssIfPresentInAuthorizationResponse; present because discovery says
    # authorization_response_iss_parameter_supported (RFC 9207 3).
    assert op.discovery.get("authorization_response_iss_parameter_supported") is True
    assert params.get("iss") == op.issuer, params


def check_success(op: Op, flow: Flow, mode: str) -> str:
    """CheckMatchingCallbackParameters, ValidateIssIfPresentInAuthorizationResponse,
    CheckIfAuthorizationEndpointError, CheckStateInAuthorizationResponse,
    ExtractAuthorizationCodeFromAuthorizationResponse, EnsureMinimumAuthorizationCodeLength,
    EnsureMinimumAuthorizationCodeEntropy. Returns the code."""
    check_callback_mode(flow, mode)
    params = flow.params
    assert "error" not in params, params
    _check_iss(op, params)
    assert params.get("state") == flow.request["state"], params
    code = flow.code
    assert len(code) >= CODE_MIN_CHARS, len(code)
    assert entropy_bits(code) >= CODE_ENTROPY_BITS, entropy_bits(code)
    return code


def check_error(op: Op, flow: Flow, mode: str, allowed: set[str], *,
                state_expected: bool = True) -> str:
    """performGenericAuthorizationEndpointErrorResponseValidation plus the module's own
    check that the error is one of ``allowed``. Returns the error."""
    check_callback_mode(flow, mode)
    params = flow.params
    if state_expected:
        assert params.get("state") == flow.request["state"], params
    _check_iss(op, params)
    assert "code" not in params, params
    assert params.get("error") in allowed, params
    assert set(params) <= _ERROR_PARAMS, set(params) - _ERROR_PARAMS
    assert _DESCRIPTION.match(params.get("error_description", "")), params
    if "error_uri" in params:
        assert urlsplit(params["error_uri"]).scheme in ("http", "https"), params
    return params["error"]


def check_error_page(op: Op, response: httpx.Response, *uris: str) -> None:
    """The placeholder cases (Expect...ErrorPage): the provider shows an error page and
    sends the browser nowhere - no redirect, no form or refresh to any of ``uris``."""
    assert not response.is_redirect, response.headers.get("location")
    assert response.status_code == 400, response.status_code
    assert "text/html" in response.headers["content-type"]
    for uri in uris:
        assert not sends_browser_to(response, uri), f"the error page sends the browser to {uri}"


# -- tokens --------------------------------------------------------------------------------


def check_token_response(response: httpx.Response) -> dict[str, Any]:
    """CheckIfTokenEndpointResponseError, CheckForAccessTokenValue, ValidateExpiresIn,
    CheckForRefreshTokenValue (its characters), ExtractIdTokenFromTokenResponse."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert "error" not in body, body
    assert isinstance(body.get("access_token"), str)
    assert body["access_token"]
    assert body.get("token_type", "").lower() == "bearer", body.get("token_type")
    if "expires_in" in body:
        assert isinstance(body["expires_in"], int)
        assert body["expires_in"] > 0
    if "refresh_token" in body:  # EnsureRefreshTokenContainsAllowedCharactersOnly (VSCHAR)
        assert re.fullmatch(r"[\x20-\x7e]+", body["refresh_token"])
    assert isinstance(body.get("id_token"), str), "no id_token from the token endpoint"
    return body


def check_token_error(response: httpx.Response, error: str) -> None:
    """CheckTokenEndpointHttpStatus400, CheckTokenEndpointReturnedJsonContentType,
    CheckErrorFromTokenEndpointResponseError..., ValidateErrorFromTokenEndpointResponseError,
    ValidateErrorDescription/UriFromTokenEndpointResponseError."""
    assert response.status_code == 400, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body.get("error") == error, body
    assert body["error"] in _TOKEN_ERRORS
    assert _DESCRIPTION.match(body.get("error_description", "")), body
    if "error_uri" in body:
        assert urlsplit(body["error_uri"]).scheme in ("http", "https"), body


def _hash_claim(value: str, alg: str) -> str:
    digest = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}[alg[-3:]]
    half = digest(value.encode()).digest()
    return base64.urlsafe_b64encode(half[: len(half) // 2]).rstrip(b"=").decode()


def check_id_token(op: Op, token: str, request: dict[str, str], client: SuiteClient, *,
                   access_token: str | None = None) -> dict[str, Any]:
    """PerformStandardIdTokenChecks (ValidateIdToken, ValidateIdTokenStandardClaims,
    ValidateIdTokenNonce, ValidateIdTokenACRClaimAgainstRequest, ValidateIdTokenSignature,
    ValidateIdTokenSignatureUsingKid, CheckForSubjectInIdToken, EnsureIdTokenUpdatedAtValid)
    and ValidateAtHash when at_hash is present. Returns the claims."""
    header, claims = jwt_parts(token)
    assert header.get("alg") not in (None, "none"), header
    keys = [key for key in check_jwks(op) if key["kid"] == header.get("kid")]
    assert len(keys) == 1, f"kid {header.get('kid')!r} names {len(keys)} published keys"
    jws.deserialize_compact(token, jwk.import_key(keys[0]), algorithms=[header["alg"]])
    now = op.clock()
    assert claims.get("iss") == op.issuer, claims.get("iss")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    assert client.client_id in audiences, audience
    if len(audiences) > 1 or "azp" in claims:
        assert claims.get("azp") == client.client_id, claims.get("azp")
    assert isinstance(claims.get("exp"), int), claims
    assert claims["exp"] >= now - SKEW_S, claims
    assert isinstance(claims.get("iat"), int), claims
    assert claims["iat"] <= now + SKEW_S, claims
    assert claims["exp"] > claims["iat"]
    sub = claims.get("sub")
    assert isinstance(sub, str), sub
    assert 0 < len(sub) <= 255, sub
    assert sub.isascii(), sub
    if "nonce" in request:
        assert claims.get("nonce") == request["nonce"], claims.get("nonce")
    if "acr" in claims:
        assert isinstance(claims["acr"], str)
    requested = json.loads(request.get("claims", "{}")).get("id_token", {}).get("acr") or {}
    wanted = requested.get("values") or ([requested["value"]] if "value" in requested else [])
    if wanted:
        assert claims.get("acr") in wanted, (claims.get("acr"), wanted)
    if "auth_time" in claims:
        assert isinstance(claims["auth_time"], int), claims["auth_time"]
    identity = {k: v for k, v in claims.items() if k not in (
        "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "c_hash",
        "at_hash", "s_hash", "jti", "nbf", "sid")}
    check_standard_claims(identity)
    if "at_hash" in claims and access_token is not None:
        assert claims["at_hash"] == _hash_claim(access_token, header["alg"]), "bad at_hash"
    return claims


def check_standard_claims(claims: dict[str, Any]) -> None:
    """ValidateIdTokenStandardClaims / ValidateUserInfoStandardClaims,
    EnsureIdTokenUpdatedAtValid / EnsureUserInfoUpdatedAtValid, EnsureUserInfoBirthDateValid:
    the OIDC Core 5.1 claims have their types."""
    for name in _STRING_CLAIMS:
        if name in claims:
            assert isinstance(claims[name], str), (name, claims[name])
    for name in _BOOLEAN_CLAIMS:
        if name in claims:
            assert isinstance(claims[name], bool), (name, claims[name])
    if "address" in claims:
        assert isinstance(claims["address"], dict)
    if "updated_at" in claims:
        value = claims["updated_at"]
        assert isinstance(value, int | float), value
        assert not isinstance(value, bool), value
    if "birthdate" in claims:
        assert re.fullmatch(r"\d{4}(-\d{2}-\d{2})?", claims["birthdate"])
    if "email" in claims:
        assert "@" in claims["email"]


def check_userinfo(response: httpx.Response, id_claims: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """CallUserInfoEndpointWithBearerToken, EnsureHttpStatusCodeIs200,
    ExtractUserInfoFromUserInfoEndpointResponse, EnsureUserInfoContainsSub,
    ValidateUserInfoStandardClaims, VerifyUserInfoAndIdTokenInTokenEndpointSameSub."""
    assert response.status_code == 200, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    info: dict[str, Any] = response.json()
    assert isinstance(info.get("sub"), str), info
    assert info["sub"], info
    check_standard_claims(info)
    if id_claims is not None:
        assert info["sub"] == id_claims["sub"]
    return info
