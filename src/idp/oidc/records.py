"""The provider's records: what an authorization code, a grant (a refresh-token family) and
an access token remember. Each speaks the authlib model interface it stands for
(``AuthorizationCodeMixin``, ``TokenMixin``), duck-typed.

A *grant* is the outcome of one authorization: one code, exchanged once, and every token
issued from it and from its refresh tokens. Revoking the grant (code reuse, refresh-token
reuse, revocation, logout, a reset second factor) ends all of them at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from idp.oidc.claims import ClaimsRequest
from idp.users import User

__all__ = ["AccessTokenRecord", "Approval", "Authentication", "CodeRecord", "GrantRecord",
           "Subject"]


@dataclass(frozen=True)
class Authentication:
    """How the person signed in (from the SSO session), carried unchanged from the code to
    every token of the grant: a refresh never makes an authentication newer."""

    sid: str
    auth_time: int
    amr: tuple[str, ...]
    acr: str

    def to_record(self) -> dict[str, Any]:
        return {"sid": self.sid, "auth_time": self.auth_time, "amr": list(self.amr),
                "acr": self.acr}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Authentication:
        return cls(sid=data["sid"], auth_time=int(data["auth_time"]), amr=tuple(data["amr"]),
                   acr=data["acr"])


@dataclass(frozen=True)
class CodeRecord:
    grant_id: str
    client_id: str
    user_id: str
    epoch: int
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth: Authentication
    claims: ClaimsRequest
    offline: bool
    expires_at: float

    def to_record(self) -> dict[str, Any]:
        # Explicit rather than dataclasses.asdict: this runs on every code (a hot path).
        return {"grant_id": self.grant_id, "client_id": self.client_id,
                "user_id": self.user_id, "epoch": self.epoch, "redirect_uri": self.redirect_uri,
                "scope": self.scope, "nonce": self.nonce, "code_challenge": self.code_challenge,
                "code_challenge_method": self.code_challenge_method,
                "auth": self.auth.to_record(), "claims": self.claims.to_record(),
                "offline": self.offline, "expires_at": self.expires_at}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> CodeRecord:
        data = dict(data)
        data.pop("v", None)
        data["auth"] = Authentication.from_record(data["auth"])
        data["claims"] = ClaimsRequest.from_record(data["claims"])
        return cls(**data)

    # authlib AuthorizationCodeMixin (+ the OIDC one)
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth.auth_time

    def get_acr(self) -> str:
        return self.auth.acr

    def get_amr(self) -> list[str]:
        return list(self.auth.amr)


@dataclass(frozen=True)
class GrantRecord:
    grant_id: str
    client_id: str
    user_id: str
    epoch: int  # the person's security epoch at sign-in: a reset second factor ends the grant
    scope: str
    auth: Authentication
    claims: ClaimsRequest
    offline: bool  # offline_access: survives the SSO session's logout (OIDC Core 11)
    created_at: float
    expires_at: float  # absolute: refresh tokens never extend it
    refresh_hash: str | None = None
    raw: bytes = field(default=b"", compare=False, repr=False)  # for compare-and-set

    def to_record(self) -> dict[str, Any]:
        return {"grant_id": self.grant_id, "client_id": self.client_id,
                "user_id": self.user_id, "epoch": self.epoch, "scope": self.scope,
                "auth": self.auth.to_record(), "claims": self.claims.to_record(),
                "offline": self.offline, "created_at": self.created_at,
                "expires_at": self.expires_at, "refresh_hash": self.refresh_hash}

    @classmethod
    def from_record(cls, data: dict[str, Any], raw: bytes) -> GrantRecord:
        data = dict(data)
        data.pop("v", None)
        data["auth"] = Authentication.from_record(data["auth"])
        data["claims"] = ClaimsRequest.from_record(data["claims"])
        return cls(**data, raw=raw)

    # authlib TokenMixin, for the refresh token that stands for this grant
    def check_client(self, client: Any) -> bool:
        return bool(client.get_client_id() == self.client_id)

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return 0

    def is_expired(self) -> bool:
        return False  # checked against the provider's clock when the grant is read

    def is_revoked(self) -> bool:
        return False  # a revoked grant is deleted, so it is never read


@dataclass(frozen=True)
class AccessTokenRecord:
    jti: str
    grant_id: str | None  # None for client_credentials
    client_id: str
    user_id: str | None
    scope: str
    issued_at: int
    expires_at: int
    userinfo_claims: tuple[str, ...] = ()
    auth: Authentication | None = None
    epoch: int | None = None  # the person's security epoch at sign-in

    def to_record(self) -> dict[str, Any]:
        return {"jti": self.jti, "grant_id": self.grant_id, "client_id": self.client_id,
                "user_id": self.user_id, "scope": self.scope, "issued_at": self.issued_at,
                "expires_at": self.expires_at, "userinfo_claims": list(self.userinfo_claims),
                "auth": None if self.auth is None else self.auth.to_record(),
                "epoch": self.epoch}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> AccessTokenRecord:
        data = dict(data)
        data.pop("v", None)
        data["userinfo_claims"] = tuple(data.get("userinfo_claims", ()))
        auth = data.get("auth")
        data["auth"] = None if auth is None else Authentication.from_record(auth)
        return cls(**data)

    # authlib TokenMixin (revocation, introspection)
    def check_client(self, client: Any) -> bool:
        return bool(client.get_client_id() == self.client_id)

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_at - self.issued_at

    def is_expired(self) -> bool:
        return False  # checked against the provider's clock when the token is read

    def is_revoked(self) -> bool:
        return False


@dataclass(frozen=True)
class Subject:
    """The person a grant speaks for, as authlib's ``user``: the account plus how they
    signed in, so the token generator and the ID token see both."""

    user: User
    grant_id: str
    auth: Authentication
    claims: ClaimsRequest
    offline: bool
    epoch: int
    nonce: str | None = None  # only on the code exchange (OIDC Core 12.2: not on refresh)
    expires_at: float = 0.0  # the grant's absolute end

    def get_user_id(self) -> str:
        return self.user.id


@dataclass(frozen=True)
class Approval:
    """What the person agreed to at the authorization endpoint: authlib's ``grant_user``
    when the code is made. ``scope`` is final (offline_access only when consented)."""

    user: User
    auth: Authentication
    scope: str
    claims: ClaimsRequest
    offline: bool

    def get_user_id(self) -> str:
        return self.user.id
