"""What a Keycloak-like IAM does when it brokers sign-in to Nidan as an "OpenID Connect v1.0"
identity provider, written down from Keycloak's broker (``OIDCIdentityProvider``,
``AbstractOAuth2IdentityProvider``) and its settings:

- the authorization request: ``response_type=code``, ``scope=openid``, a random ``state`` and
  ``nonce``, the configured ``prompt``, ``login_hint``, forwarded ``acr_values``, and PKCE
  (S256) only when "Use PKCE" is on (off by default in Keycloak);
- client authentication "Client secret sent as post" (``client_id`` + ``client_secret`` in
  the form) or "JWT signed with private key" (``private_key_jwt``: a JWT with ``iss`` = ``sub``
  = the client id, ``aud`` = the token endpoint URL, a fresh random ``jti``, ``exp`` one access
  code lifespan (60 s) away, signed RS256 with the broker's own key, plus ``client_id`` in the
  form as Keycloak sends it);
- "Validate signatures" with the provider's JWKS URL: the ID token is verified (signature,
  issuer, audience, expiry, nonce) before anyone is signed in;
- "Store tokens": the broker keeps the refresh token and may refresh;
- back-channel logout received at its own endpoint (``tests.oidc.receiver``).
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode

import httpx
from joserfc import jwk, jwt
from tests.interop.id_tokens import provider_keys, verify_id_token
from tests.oidc.helpers import Env, add_client, pkce, query_of

from idp.oidc.clients import ClientConfig

CLIENT_ID: Final = "iam-broker"
# Keycloak's default access code lifespan, which it uses as its client assertions' lifetime.
ASSERTION_LIFETIME_S: Final = 60
ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class Login:
    """One brokered sign-in in flight: what the broker keeps in its auth session."""

    url: str
    state: str
    nonce: str
    code_verifier: str | None


@dataclass
class Tokens:
    """What the broker stored after a sign-in ("Store tokens")."""

    raw: dict[str, Any]
    claims: dict[str, Any]

    @property
    def refresh_token(self) -> str:
        value: str = self.raw["refresh_token"]
        return value


@dataclass
class Broker:
    env: Env
    auth: str  # "client_secret_post" or "private_key_jwt"
    use_pkce: bool
    redirect_uri: str
    backchannel_uri: str
    meta: dict[str, Any] = field(default_factory=dict)
    secret: str | None = None
    key: jwk.RSAKey | None = None
    jtis: list[str] = field(default_factory=list)  # every assertion id the broker made

    @classmethod
    def register(cls, env: Env, *, auth: str, use_pkce: bool, port: int) -> Broker:
        """The broker as the operator registers it with Nidan (the ``idp clients add`` of
        docs/oidc.md): its redirect and back-channel URIs, its method, no consent page."""
        base = f"http://127.0.0.1:{port}"
        broker = cls(env, auth, use_pkce,
                     redirect_uri=f"{base}/realms/shop/broker/nidan/endpoint",
                     backchannel_uri=f"{base}/backchannel")
        common: dict[str, Any] = {
            "client_name": "Shop IAM", "redirect_uris": [broker.redirect_uri],
            "backchannel_logout_uri": broker.backchannel_uri, "skip_consent": True,
            # Keycloak sends no PKCE unless "Use PKCE" is on (docs/oidc.md says so).
            "require_pkce": use_pkce,
        }
        if auth == "client_secret_post":
            broker.secret = add_client(env, CLIENT_ID, token_endpoint_auth_method=auth,
                                       **common)
        elif auth == "private_key_jwt":
            broker.key = jwk.RSAKey.generate_key(
                2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)
            env.provider.clients.add(ClientConfig.model_validate({
                "client_id": CLIENT_ID, "token_endpoint_auth_method": auth,
                "jwks": {"keys": [broker.key.as_dict(private=False)]}, **common,
            }), actor="test")
        else:
            raise ValueError(auth)
        broker.meta = httpx.get(env.url("/.well-known/openid-configuration")).json()
        assert broker.meta["issuer"] == env.base  # Keycloak's "Import from URL" + issuer
        return broker

    # -- the authorization request -----------------------------------------------------

    def start(self, **parameters: str) -> Login:
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        query = {"scope": "openid", "state": state, "response_type": "code",
                 "client_id": CLIENT_ID, "redirect_uri": self.redirect_uri, "nonce": nonce,
                 **parameters}
        verifier = None
        if self.use_pkce:
            verifier, challenge = pkce()
            query.update(code_challenge=challenge, code_challenge_method="S256")
        url = self.meta["authorization_endpoint"] + "?" + urlencode(query)
        return Login(url=url, state=state, nonce=nonce, code_verifier=verifier)

    def finish(self, login: Login, callback: str) -> Tokens:
        """The broker's endpoint: check state (and RFC 9207 iss), exchange the code, verify
        the ID token."""
        params = query_of(callback)
        assert params["state"] == login.state
        assert params["iss"] == self.meta["issuer"]
        form = {"grant_type": "authorization_code", "code": params["code"],
                "redirect_uri": self.redirect_uri}
        if login.code_verifier is not None:
            form["code_verifier"] = login.code_verifier
        response = self.token_request(form)
        assert response.status_code == 200, response.text
        raw: dict[str, Any] = response.json()
        claims = verify_id_token(raw["id_token"], keys=provider_keys(self.meta["jwks_uri"]),
                                 issuer=self.meta["issuer"], client_id=CLIENT_ID,
                                 nonce=login.nonce, access_token=raw["access_token"])
        return Tokens(raw=raw, claims=claims)

    # -- the token endpoint ------------------------------------------------------------

    def assertion(self) -> str:
        """A ``private_key_jwt`` client assertion as Keycloak builds one (its JsonWebToken
        also carries ``typ`` in the payload)."""
        assert self.key is not None
        now = int(time.time())
        jti = str(uuid.uuid4())
        self.jtis.append(jti)
        claims = {"jti": jti, "typ": "JWT", "iss": CLIENT_ID, "sub": CLIENT_ID,
                  "aud": self.meta["token_endpoint"], "iat": now,
                  "exp": now + ASSERTION_LIFETIME_S}
        header = {"alg": "RS256", "typ": "JWT", "kid": self.key.kid}
        return jwt.encode(header, claims, self.key)

    def authenticate(self, form: dict[str, str], assertion: str | None = None
                     ) -> dict[str, str]:
        if self.auth == "client_secret_post":
            assert self.secret is not None
            return {**form, "client_id": CLIENT_ID, "client_secret": self.secret}
        return {**form, "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion or self.assertion(), "client_id": CLIENT_ID}

    def token_request(self, form: dict[str, str], assertion: str | None = None
                      ) -> httpx.Response:
        return httpx.post(self.meta["token_endpoint"], data=self.authenticate(form, assertion),
                          headers={"Accept": "application/json"}, timeout=10)

    def refresh(self, refresh_token: str, assertion: str | None = None) -> httpx.Response:
        return self.token_request({"grant_type": "refresh_token",
                                   "refresh_token": refresh_token}, assertion)
