"""The demo relying party's protocol side: it talks to the provider exactly as an external
client does, over real HTTP to the issuer's own URL.

Discovery (``/.well-known/openid-configuration``), then an authorization request with PKCE
S256, ``state`` and ``nonce`` (authlib's httpx ``OAuth2Client``), the code exchange with
``client_secret_basic``, the ID token verified with joserfc against the published JWKS
(signature, ``iss``, ``aud``/``azp``, ``exp``, ``iat``, ``nonce``, ``at_hash``; OIDC Core
3.1.3.7), UserInfo (whose ``sub`` must be the ID token's, 5.3.2), and the end-session URL for
RP-initiated logout.

Every method here is synchronous and blocks on the network: the web layer runs them in the
thread pool. The provider is this very process, and its handlers run on the event loop and
in other threads of the pool, so a demo request waiting for ``/token`` holds one thread and
never the loop: no deadlock, with one worker or many.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, cast
from urllib.parse import urlencode

# authlib installs an "always" filter for its warnings when first imported: let it do so
# here, before the catch_warnings below, or its filter would go in front of ours.
import authlib.deprecate  # noqa: F401
import httpx
from joserfc import jwk, jwt
from joserfc.errors import JoseError

from idp.demo.client import DemoClient

with warnings.catch_warnings():
    # authlib's httpx client asks for the httpx2 package (not installed); httpx works.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import OAuth2Client

__all__ = ["ACR_2SV", "DemoError", "DemoRelyingParty", "StartedSignIn"]

log = logging.getLogger("idp.demo")

# What "Sign in again with a code" asks for (docs/oidc.md): a code in this sign-in.
ACR_2SV: Final = "urn:nidan:acr:2sv"
SCOPE: Final = "openid profile email"
# RFC 7636 4.1: a verifier of 43-128 characters; 48 random bytes give 64.
_VERIFIER_BYTES: Final = 48
_NONCE_BYTES: Final = 24
_STATE_BYTES: Final = 24
_TIMEOUT_S: Final = 10.0
# Clock skew allowed on exp/iat (the provider is this process; a little slack costs nothing).
_LEEWAY_S: Final = 60
# What the demo uses of the discovery document (OIDC Discovery 3).
_ENDPOINTS: Final = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint",
                     "jwks_uri", "end_session_endpoint")
_ERROR_CODE: Final = re.compile(r"[^A-Za-z0-9_.-]")
# at_hash (OIDC Core 3.1.3.6): the hash that goes with the ID token's algorithm.
_AT_HASH: Final = {"RS256": hashlib.sha256, "ES256": hashlib.sha256}


class DemoError(Exception):
    """The sign-in through the provider did not complete. ``reason`` picks the page's
    sentence; ``detail`` is protocol data safe to show (an OAuth error code, a claim name),
    never a token."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class StartedSignIn:
    """An authorization request ready to send the browser to."""

    url: str
    state: str
    nonce: str
    verifier: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class DemoRelyingParty:
    """One client of the provider at ``issuer``. Cheap to build; holds no per-person state."""

    def __init__(self, issuer: str, client: DemoClient) -> None:
        self.issuer = issuer
        self.client = client

    # -- network ------------------------------------------------------------------------

    def _get_json(self, url: str) -> dict[str, Any]:
        # trust_env=False: the provider is ourselves; a proxy from the environment must not
        # sit between the demo and its own issuer.
        try:
            with httpx.Client(timeout=_TIMEOUT_S, trust_env=False) as http:
                response = http.get(url)
                response.raise_for_status()
                data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise DemoError("unreachable", type(exc).__name__) from None
        if not isinstance(data, dict):
            raise DemoError("unreachable", "not a JSON object")
        return data

    def discover(self) -> dict[str, Any]:
        """The provider's metadata; its ``issuer`` must be exactly ours (Discovery 4.3)."""
        meta = self._get_json(self.issuer + "/.well-known/openid-configuration")
        if meta.get("issuer") != self.issuer:
            raise DemoError("issuer", "discovery")
        missing = [name for name in _ENDPOINTS if not isinstance(meta.get(name), str)]
        if missing:
            raise DemoError("unreachable", f"discovery without {missing[0]}")
        return meta

    def _oauth(self) -> OAuth2Client:
        return OAuth2Client(
            self.client.client_id, self.client.secret,
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name
            scope=SCOPE, redirect_uri=self.client.redirect_uri, code_challenge_method="S256",
            timeout=_TIMEOUT_S, trust_env=False,
        )

    # -- the authorization request ------------------------------------------------------

    def start(self, *, acr_values: str | None = None, ui_locales: str | None = None
              ) -> StartedSignIn:
        """A fresh ``state``, ``nonce`` and PKCE verifier, and the URL to send the browser
        to. The caller keeps the three server-side until the callback."""
        meta = self.discover()
        verifier = secrets.token_urlsafe(_VERIFIER_BYTES)
        nonce = secrets.token_urlsafe(_NONCE_BYTES)
        state = secrets.token_urlsafe(_STATE_BYTES)
        extra = {"nonce": nonce}
        if acr_values:
            extra["acr_values"] = acr_values
        if ui_locales:
            extra["ui_locales"] = ui_locales  # the sign-in pages speak the demo's language
        with self._oauth() as oauth:
            url, _ = oauth.create_authorization_url(
                meta["authorization_endpoint"], state=state, code_verifier=verifier, **extra)
        return StartedSignIn(url=url, state=state, nonce=nonce, verifier=verifier)

    # -- the callback -------------------------------------------------------------------

    def finish(self, params: Mapping[str, str], *, nonce: str, verifier: str
               ) -> dict[str, Any]:
        """Check the authorization response (``state`` was matched by the caller), exchange
        the code, verify the ID token, call UserInfo. Returns what the demo session keeps:
        the ID token, its claims and the UserInfo answer. Raises :class:`DemoError`."""
        # RFC 9207: the response says who sent it; a mix-up would name another issuer.
        if params.get("iss") != self.issuer:
            raise DemoError("issuer", "iss")
        if "error" in params:
            # Shown and logged: only the characters of an OAuth error code (RFC 6749 A.7).
            raise DemoError("provider_error", _ERROR_CODE.sub("", params["error"])[:64])
        code = params.get("code")
        if not code:
            raise DemoError("provider_error", "no code")
        meta = self.discover()
        with self._oauth() as oauth:
            try:
                token = oauth.fetch_token(meta["token_endpoint"], grant_type="authorization_code",
                                          code=code, code_verifier=verifier)
            except OAuthError as exc:
                raise DemoError("token", str(getattr(exc, "error", "") or "error")) from None
            except httpx.HTTPError as exc:
                raise DemoError("unreachable", type(exc).__name__) from None
            id_token = token.get("id_token")
            access_token = token.get("access_token")
            if not isinstance(id_token, str) or not isinstance(access_token, str):
                raise DemoError("token", "no id_token")
            claims = self.verify_id_token(id_token, meta, nonce=nonce, access_token=access_token)
            userinfo = self._userinfo(oauth, meta["userinfo_endpoint"], claims["sub"])
        return {"id_token": id_token, "claims": claims, "userinfo": userinfo,
                "signed_in_at": int(time.time())}

    def verify_id_token(self, id_token: str, meta: Mapping[str, Any], *, nonce: str,
                        access_token: str) -> dict[str, Any]:
        """OIDC Core 3.1.3.7: the signature against the JWKS, then the claims."""
        published = cast(jwk.KeySetSerialization, self._get_json(str(meta["jwks_uri"])))
        try:
            keys = jwk.KeySet.import_key_set(published)
        except (JoseError, ValueError, KeyError, TypeError):
            raise DemoError("id_token", "jwks") from None
        try:
            decoded = jwt.decode(id_token, keys, algorithms=list(_AT_HASH))
            jwt.JWTClaimsRegistry(
                leeway=_LEEWAY_S,
                iss={"essential": True, "value": self.issuer},
                sub={"essential": True},
                aud={"essential": True, "value": self.client.client_id},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True},
            ).validate(decoded.claims)
        except JoseError as exc:
            raise DemoError("id_token", exc.error) from None
        claims: dict[str, Any] = dict(decoded.claims)
        # The nonce binds the token to this browser's request; compared in constant time.
        if not hmac.compare_digest(str(claims["nonce"]).encode(), nonce.encode()):
            raise DemoError("id_token", "nonce")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != self.client.client_id:
            raise DemoError("id_token", "azp")
        if "at_hash" in claims:
            digest = _AT_HASH[str(decoded.header["alg"])](access_token.encode()).digest()
            expected = _b64(digest[: len(digest) // 2])
            if not hmac.compare_digest(str(claims["at_hash"]).encode(), expected.encode()):
                raise DemoError("id_token", "at_hash")
        return claims

    @staticmethod
    def _userinfo(oauth: OAuth2Client, url: str, sub: str) -> dict[str, Any]:
        try:
            response = oauth.get(url)  # Authorization: Bearer <the access token>
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise DemoError("userinfo", type(exc).__name__) from None
        # 5.3.2: a UserInfo answer about someone else must not be used.
        if not isinstance(data, dict) or data.get("sub") != sub:
            raise DemoError("userinfo", "sub")
        return data

    # -- sign-out -----------------------------------------------------------------------

    def logout_url(self, id_token: str, *, state: str, ui_locales: str | None = None) -> str:
        """RP-Initiated Logout 1.0: the end-session endpoint with ``id_token_hint`` and the
        registered ``post_logout_redirect_uri`` (back to ``/demo``)."""
        meta = self.discover()
        params = {"id_token_hint": id_token, "client_id": self.client.client_id,
                  "post_logout_redirect_uri": self.client.post_logout_redirect_uri,
                  "state": state}
        if ui_locales:
            params["ui_locales"] = ui_locales
        return f"{meta['end_session_endpoint']}?{urlencode(params)}"
