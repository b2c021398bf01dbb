"""ID token validation as a careful relying party does it (OIDC Core 3.1.3.7 and 3.1.3.8),
with joserfc against the JWKS the provider publishes: the algorithm pinned, the ``kid`` found,
the signature, ``iss`` exactly, ``aud``/``azp``, ``exp``/``iat``, ``auth_time``, the
``nonce`` sent (or none at all on a refresh), and ``at_hash`` against the access token.

authlib's client checks none of this by itself, and a Keycloak broker does the same checks in
Java; this is the Python side of both."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any, Final

import httpx
from joserfc import jwk, jwt

# OIDC Core 3.1.3.7 items 9-10: "a small leeway" for clock skew; openid-client uses 30 s.
LEEWAY_S: Final = 30
# The provider's default; a client registered with ES256 would pin that one instead.
ALGORITHM: Final = "RS256"


def provider_keys(jwks_uri: str) -> jwk.KeySet:
    return jwk.KeySet.import_key_set(httpx.get(jwks_uri, timeout=10).json())


def _header(token: str) -> dict[str, Any]:
    head = token.split(".")[0]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    return data


def token_hash(access_token: str) -> str:
    """``at_hash`` for RS256: the left half of the SHA-256 of the token, base64url."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def verify_id_token(token: str, *, keys: jwk.KeySet, issuer: str, client_id: str,
                    nonce: str | None, access_token: str | None = None) -> dict[str, Any]:
    """The claims of ``token`` once every check passed; ``nonce=None`` means "must have none"
    (a refreshed ID token, OIDC Core 12.2)."""
    header = _header(token)
    assert header.get("alg") == ALGORITHM, header
    kids = [key.kid for key in keys.keys]
    assert header.get("kid") in kids, (header, kids)
    assert kids.count(header["kid"]) == 1, "a kid names one key"
    claims: dict[str, Any] = jwt.decode(token, keys, algorithms=[ALGORITHM]).claims
    jwt.JWTClaimsRegistry(
        leeway=LEEWAY_S,
        iss={"essential": True, "value": issuer},
        sub={"essential": True},
        aud={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
    ).validate(claims)
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert client_id in audiences, claims["aud"]
    if len(audiences) > 1 or "azp" in claims:
        assert claims.get("azp") == client_id, claims.get("azp")
    now = time.time()
    assert claims["iat"] <= now + LEEWAY_S, "issued in the future"
    assert isinstance(claims.get("auth_time"), int), claims.get("auth_time")
    assert claims["auth_time"] <= claims["iat"] + LEEWAY_S
    if nonce is None:
        assert "nonce" not in claims, "a nonce nobody sent"
    else:
        assert claims.get("nonce") == nonce, "the nonce sent does not come back"
    if access_token is not None and "at_hash" in claims:
        assert claims["at_hash"] == token_hash(access_token), "at_hash does not match"
    return claims
