"""``private_key_jwt`` client authentication (OIDC Core 9, RFC 7523 2.2) through authlib's
``JWTBearerClientAssertion``: a JWT signed with the client's key, each ``jti`` accepted once
(``Store.add``, any replica), ``aud`` naming us.

A client's public keys come from its registration: inline ``jwks``, or a ``jwks_uri`` the
provider fetches (in the thread pool, with a timeout) and caches for :data:`JWKS_CACHE_S`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import httpx
from joserfc import jwk
from joserfc.errors import JoseError

from idp.oidc._authlib import InvalidClientError, JWTBearerClientAssertion
from idp.oidc.adapter import malformed_as
from idp.oidc.clients import Client
from idp.store import Store

__all__ = ["JWKS_CACHE_S", "ClientAssertion"]

# How long a fetched client JWKS is trusted before it is fetched again.
JWKS_CACHE_S: Final = 300.0
JWKS_TIMEOUT_S: Final = 5.0
JWKS_MAX_BYTES: Final = 64 * 1024
# RFC 7523 3: a short allowance for clock skew between client and provider.
LEEWAY_S: Final = 60
# An assertion's jti is remembered at least this long, whatever its exp says.
MIN_JTI_TTL_S: Final = 120.0
_JTI = "oidc-jti:"


class ClientAssertion(JWTBearerClientAssertion):  # type: ignore[misc]
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, store: Store, audiences: Sequence[str],
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(validate_jti=True, leeway=LEEWAY_S)
        self._store = store
        self._audiences = list(audiences)
        self._clock = clock
        self._cache: dict[str, tuple[float, jwk.KeySet]] = {}
        self._lock = threading.Lock()

    def __call__(self, query_client: Callable[[str], Any], request: Any) -> Any:
        # Same answer, plainer words, when authlib can't quote what the client sent.
        with malformed_as(lambda: InvalidClientError(description="Invalid client assertion.")):
            client = super().__call__(query_client, request)
        named = request.form.get("client_id")
        if client is not None and named is not None and named != client.get_client_id():
            # RFC 7523 3: a client_id beside the assertion must name the same client.
            raise InvalidClientError(description="client_id does not match the assertion.")
        return client

    def get_audiences(self) -> list[str]:
        return self._audiences

    def validate_jti(self, claims: dict[str, Any], jti: Any) -> bool:
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            return False
        exp = claims.get("exp")
        remaining = float(exp) - self._clock() if isinstance(exp, int | float) else 0.0
        ttl = max(MIN_JTI_TTL_S, remaining + LEEWAY_S)
        return self._store.add(f"{_JTI}{claims['sub']}:{jti}", b"1", ttl=ttl)

    def resolve_client_public_key(self, client: Client) -> jwk.KeySet:
        config = client.config
        try:
            if config.jwks:
                return jwk.KeySet.import_key_set(config.jwks)  # type: ignore[arg-type]
            if config.jwks_uri:
                return self._fetch(config.jwks_uri)
        except (JoseError, ValueError, TypeError, KeyError):
            raise InvalidClientError(description="The client's keys can't be used.") from None
        raise InvalidClientError(description="The client has no keys registered.")

    def _fetch(self, uri: str) -> jwk.KeySet:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(uri)
        if cached is not None and now - cached[0] < JWKS_CACHE_S:
            return cached[1]
        try:
            response = httpx.get(uri, timeout=JWKS_TIMEOUT_S, follow_redirects=False)
        except httpx.HTTPError:
            raise InvalidClientError(
                description="The client's jwks_uri can't be reached.") from None
        if response.status_code != 200 or len(response.content) > JWKS_MAX_BYTES:
            raise InvalidClientError(description="The client's jwks_uri gave no key set.")
        keys = jwk.KeySet.import_key_set(response.json())
        with self._lock:
            self._cache[uri] = (now, keys)
        return keys
