"""The OpenID provider, assembled: clients, keys, tokens, authlib's server with our grants
and endpoints, the authorization journey, logout. Built once per process by
``idp.services.build_services`` (``services.oidc``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Final

from idp.crypto import DataKeys
from idp.observability import Audit
from idp.oidc._authlib import InvalidGrantError
from idp.oidc.authorization import Authorization
from idp.oidc.backchannel import BackchannelLogout
from idp.oidc.claims import SUPPORTED_CLAIMS
from idp.oidc.client_auth import ClientAssertion
from idp.oidc.clients import AUTH_METHODS, Client, Clients
from idp.oidc.config import ACR_VALUES, SUPPORTED_SCOPES, OidcSettings, oidc_settings
from idp.oidc.consent import Consents
from idp.oidc.documents import entity_tag
from idp.oidc.grants import CodeGrant, PkceS256, RefreshGrant, ServiceGrant
from idp.oidc.id_tokens import IdTokens
from idp.oidc.introspection import Introspection, Revocation, TokenReader
from idp.oidc.keys import ALGORITHMS, SigningKeys
from idp.oidc.logout import EndSession, Logout
from idp.oidc.records import AccessTokenRecord, GrantRecord, Subject
from idp.oidc.server import GrantContext, ProviderServer
from idp.oidc.tokens import TokenIssuer, TokenStore, refresh_hash, unverified_claims
from idp.oidc.userinfo import UserInfo
from idp.sessions import SsoSessions
from idp.settings import Settings
from idp.store import Store
from idp.users import Accounts

__all__ = ["ENDPOINTS", "REGISTRATION_PATH", "OidcProvider"]

# Paths of every endpoint, relative to the issuer.
ENDPOINTS: Final = {
    "authorization_endpoint": "/authorize",
    "token_endpoint": "/token",
    "userinfo_endpoint": "/userinfo",
    "jwks_uri": "/jwks.json",
    "revocation_endpoint": "/revoke",
    "introspection_endpoint": "/introspect",
    "end_session_endpoint": "/logout",
}
# RFC 7591 3: the client registration endpoint (idp.registration), advertised when on.
REGISTRATION_PATH: Final = "/register"


class OidcProvider:
    def __init__(self, settings: Settings, store: Store, audit: Audit, accounts: Accounts,
                 sessions: SsoSessions, *, oidc: OidcSettings | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.oidc = oidc or oidc_settings(settings)
        self.issuer = settings.server.issuer
        self.clock = clock
        self.audit = audit
        self.accounts = accounts
        default_file = OidcSettings().clients_file
        self.clients = Clients(store, audit, self.oidc.clients_file,
                               file_required=self.oidc.clients_file != default_file,
                               clock=clock)
        self.keys = SigningKeys(store, DataKeys.from_settings(settings.secrets), audit,
                                clock=clock, longest_token_lifetime=self.longest_token_lifetime,
                                refresh_s=self.oidc.key_refresh_s)
        self.tokens = TokenStore(store, audit, clock)
        self.reader = TokenReader(self.issuer, self.keys, self.tokens)
        context = GrantContext(
            tokens=self.tokens, accounts=accounts, audit=audit,
            code_lifetime_s=settings.lifetimes.authorization_code_s,
            refresh_lifetime=self.refresh_lifetime, access_lifetime=self.access_lifetime,
            clock=clock,
        )
        self.server = ProviderServer(self.issuer, context, self.clients.get, self._save_token,
                                     list(SUPPORTED_SCOPES))
        self.server.register_token_generator("default", TokenIssuer(
            self.issuer, self.keys, clock=clock, access_token_lifetime=self.access_lifetime))
        id_tokens = IdTokens(self.issuer, self.keys, accounts, lifetime=self.id_token_lifetime,
                             clock=clock)
        self.server.register_grant(CodeGrant, [PkceS256(), id_tokens])
        self.server.register_grant(RefreshGrant, [id_tokens])
        self.server.register_grant(ServiceGrant)
        self.server.register_client_auth_method("private_key_jwt", ClientAssertion(
            store, [self.issuer, *(self.issuer + ENDPOINTS[name] for name in (
                "token_endpoint", "revocation_endpoint", "introspection_endpoint"))], clock))
        self.server.register_endpoint(Revocation(self.reader, self.tokens))
        self.server.register_endpoint(Introspection(self.issuer, self.reader, accounts))
        self.server.register_endpoint(EndSession(self.keys))
        self.userinfo = UserInfo(self.issuer, self.reader, accounts)
        self.backchannel = BackchannelLogout(store, self.keys, self.clients, audit,
                                             issuer=self.issuer, settings=self.oidc, clock=clock)
        self.logout = Logout(server=self.server, clients=self.clients, sessions=sessions,
                             tokens=self.tokens, backchannel=self.backchannel,
                             reader=self.reader, issuer=self.issuer)
        self.authorization = Authorization(
            server=self.server, clients=self.clients,
            consents=Consents(store, self.oidc.consent_s, clock), store=store,
            issuer=self.issuer, transaction_s=settings.lifetimes.login_transaction_s,
            id_token_claims=self.reader.id_token, clock=clock,
        )
        self.discovery_json = json.dumps(self.discovery(), separators=(",", ":")).encode()
        self.discovery_etag = entity_tag(self.discovery_json)

    # -- lifetimes (a client's own, else the provider's) ---------------------------------

    def access_lifetime(self, client: Client) -> int:
        return client.config.access_token_lifetime_s or self.settings.lifetimes.access_token_s

    def id_token_lifetime(self, client: Client) -> int:
        return client.config.id_token_lifetime_s or self.oidc.id_token_lifetime_s

    def refresh_lifetime(self, client: Client) -> int:
        return client.config.refresh_token_lifetime_s or self.settings.lifetimes.refresh_token_s

    def longest_token_lifetime(self) -> float:
        """How long a retired signing key must still verify: the longest-lived token it may
        have signed (access, ID or logout token), over every client."""
        longest = max(self.settings.lifetimes.access_token_s, self.oidc.id_token_lifetime_s,
                      self.oidc.logout_token_lifetime_s)
        for client in self.clients.all():
            longest = max(longest, self.access_lifetime(client), self.id_token_lifetime(client))
        return float(longest)

    # -- discovery (OIDC Discovery 1.0 3, RFC 8414 2) ------------------------------------

    def discovery(self) -> dict[str, Any]:
        auth_methods = list(AUTH_METHODS)
        confidential = [m for m in AUTH_METHODS if m != "none"]
        return {
            "issuer": self.issuer,
            **{name: self.issuer + path for name, path in ENDPOINTS.items()},
            "scopes_supported": list(SUPPORTED_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "form_post"],
            "grant_types_supported": ["authorization_code", "refresh_token",
                                      "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": list(ALGORITHMS),
            "token_endpoint_auth_methods_supported": auth_methods,
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
            "revocation_endpoint_auth_methods_supported": auth_methods,
            "introspection_endpoint_auth_methods_supported": confidential,
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": list(SUPPORTED_CLAIMS),
            "claims_parameter_supported": True,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "acr_values_supported": list(ACR_VALUES),
            "ui_locales_supported": ["ja", "en"],
            "display_values_supported": ["page"],
            "prompt_values_supported": ["none", "login", "consent"],
            "authorization_response_iss_parameter_supported": True,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "frontchannel_logout_supported": False,
            **({"registration_endpoint": self.issuer + REGISTRATION_PATH}
               if self.settings.registration.mode != "off" else {}),
        }

    # -- tokens (authlib's save_token) -----------------------------------------------------

    def _save_token(self, token: dict[str, Any], request: Any) -> None:
        """Persist what the generator made; for a refresh, only if this request is the one
        that rotated the token (compare-and-set), else it was a reuse: revoke the grant."""
        client: Client = request.client
        subject: Subject | None = request.user
        claims = unverified_claims(token["access_token"])
        if subject is not None:
            new_refresh = token.get("refresh_token")
            grant_type = request.payload.grant_type
            if grant_type == "refresh_token":
                presented: GrantRecord = request.refresh_token
                if not new_refresh or not self.tokens.rotate_refresh(presented, new_refresh):
                    self.tokens.revoke_grant(presented.grant_id, reason="refresh_reused",
                                             user_id=presented.user_id, client_id=client.client_id)
                    raise InvalidGrantError("The refresh token was already used.")
            else:
                grant = GrantRecord(
                    grant_id=subject.grant_id, client_id=client.client_id,
                    user_id=subject.user.id, epoch=subject.epoch, scope=token["scope"],
                    auth=subject.auth, claims=subject.claims, offline=subject.offline,
                    created_at=self.clock(), expires_at=subject.expires_at,
                    refresh_hash=refresh_hash(new_refresh) if new_refresh else None,
                )
                if not self.tokens.create_grant(grant):
                    raise InvalidGrantError("The authorization code was already used.")
        self.tokens.save_access_token(AccessTokenRecord(
            jti=claims["jti"], grant_id=subject.grant_id if subject else None,
            client_id=client.client_id, user_id=subject.user.id if subject else None,
            scope=token["scope"], issued_at=claims["iat"], expires_at=claims["exp"],
            userinfo_claims=subject.claims.userinfo if subject else (),
            auth=subject.auth if subject else None, epoch=subject.epoch if subject else None,
        ))
        self.audit.emit("oidc.token_issued", user_id=subject.user.id if subject else None,
                        client_id=client.client_id, grant_type=request.payload.grant_type,
                        refresh=bool(token.get("refresh_token")))

