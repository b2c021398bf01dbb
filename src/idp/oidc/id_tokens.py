"""ID tokens (OIDC Core 2, 3.1.3.6), through authlib's ``OpenIDCode`` hooks.

Registered on the code grant and on the refresh grant. The claims about the authentication
(``auth_time``, ``acr``, ``amr``, ``sid``) come from the person's :class:`Subject`, which
carries them unchanged from the SSO session through the code to every refresh (OIDC Core
12.2: a refreshed ID token keeps the original ``auth_time``; it carries no ``nonce``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from joserfc import jwt

from idp.oidc._authlib import OpenIDCode, create_half_hash
from idp.oidc.claims import claims_for_scope, user_claims
from idp.oidc.keys import SigningKeys
from idp.oidc.records import Subject
from idp.users import Accounts

__all__ = ["IdTokens"]


class IdTokens(OpenIDCode):  # type: ignore[misc]
    def __init__(self, issuer: str, keys: SigningKeys, accounts: Accounts, *,
                 lifetime: Callable[[Any], int], clock: Callable[[], float] = time.time) -> None:
        super().__init__(require_nonce=False)  # OIDC Core 3.1.2.1: optional for code flow
        self._issuer = issuer
        self._keys = keys
        self._accounts = accounts
        self._lifetime = lifetime
        self._clock = clock

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        # authlib validates an authorization request twice (consent, then response), so a
        # nonce recorded here would refuse the second pass. Replay protection is the
        # client's check of the nonce it sent; we store the nonce with the code instead.
        return False

    def get_client_algorithm(self, client: Any) -> str:
        alg: str = client.id_token_signed_response_alg
        return alg

    def get_client_claims(self, client: Any) -> dict[str, Any]:
        now = int(self._clock())
        client_id = client.get_client_id()
        # A single audience, named as a string; azp names the client too (OIDC Core 2).
        return {"iss": self._issuer, "aud": client_id, "azp": client_id, "iat": now,
                "exp": now + self._lifetime(client)}

    def get_encode_header(self, client: Any) -> dict[str, str]:
        alg = self.get_client_algorithm(client)
        kid, _ = self._keys.signing_key(alg)
        return {"alg": alg, "kid": kid}

    def resolve_client_private_key(self, client: Any) -> Any:
        return self._keys.signing_key(self.get_client_algorithm(client))[1]

    def generate_user_info(self, user: Subject, scope: str) -> dict[str, Any]:
        names = [*claims_for_scope(scope), *user.claims.id_token]
        return {"sub": user.user.id, **user_claims(user.user, names)}

    def encode_id_token(self, token: dict[str, Any], request: Any) -> str:
        """authlib's assembly, with the authentication taken from the subject and the
        signing key chosen once (so ``kid`` and signature can't straddle a key change)."""
        client = request.client
        subject: Subject = request.user
        alg = self.get_client_algorithm(client)
        claims = self.get_compatible_claims(request)
        claims.update(auth_time=subject.auth.auth_time, acr=subject.auth.acr,
                      amr=list(subject.auth.amr), sid=subject.auth.sid)
        if subject.nonce:
            claims["nonce"] = subject.nonce
        access_token = token.get("access_token")
        if access_token:
            at_hash = create_half_hash(access_token, alg)
            if at_hash is not None:
                claims["at_hash"] = at_hash.decode("ascii")
        claims.update(self.generate_user_info(subject, token["scope"]))
        kid, key = self._keys.signing_key(alg)
        encoded: str = jwt.encode({"alg": alg, "kid": kid}, claims, key, [alg])
        return encoded
