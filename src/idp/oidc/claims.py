"""Claims about a person: which scope releases which claim, the ``claims`` request parameter
(OIDC Core 5.5), and the values themselves.

We release only what we hold: a display name, a language, an email address. There is no
phone or address data (phone numbers are second-factor secrets, never claims), so the
``phone`` and ``address`` scopes are not offered (OIDC Core 5.4: unsupported scopes are
ignored). ``email_verified`` is ``true`` only once the person proved they read mail sent to
the current address (a link sent to it, ``idp.notices``), or an operator's import said the old
system had proved it; a changed address is unverified again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from idp.users import User

__all__ = [
    "PROTOCOL_CLAIMS",
    "SCOPE_CLAIMS",
    "SUPPORTED_CLAIMS",
    "ClaimsRequest",
    "claims_for_scope",
    "user_claims",
]

SCOPE_CLAIMS: Final[dict[str, tuple[str, ...]]] = {
    "profile": ("name", "locale", "updated_at"),
    "email": ("email", "email_verified"),
}
PROTOCOL_CLAIMS: Final = ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr",
                          "azp", "sid", "at_hash")
SUPPORTED_CLAIMS: Final = PROTOCOL_CLAIMS + tuple(
    name for names in SCOPE_CLAIMS.values() for name in names
)
_USER_CLAIMS: Final = frozenset(SUPPORTED_CLAIMS) - frozenset(PROTOCOL_CLAIMS)
# The claims parameter is a client's JSON; anything bigger than this is not a real request.
_MAX_CLAIMS_PARAM_CHARS: Final = 4096


@dataclass(frozen=True)
class ClaimsRequest:
    """What the ``claims`` parameter asks for, reduced to what we act on."""

    id_token: tuple[str, ...] = ()
    userinfo: tuple[str, ...] = ()
    # id_token.acr with "value"/"values": treated like acr_values (OIDC Core 5.5.1.1).
    acr_values: tuple[str, ...] = ()
    # id_token.sub with "value": only that person may be answered for (OIDC Core 5.5.1).
    sub: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, raw: str | None) -> ClaimsRequest:
        """Parse the parameter. Raises ``ValueError`` for something that isn't a claims
        request (the caller answers ``invalid_request``); unknown claims are ignored."""
        if not raw:
            return cls()
        if len(raw) > _MAX_CLAIMS_PARAM_CHARS:
            raise ValueError("the claims parameter is too long")
        try:
            data = json.loads(raw)
        except ValueError:
            raise ValueError("the claims parameter is not JSON") from None
        if not isinstance(data, dict):
            raise ValueError("the claims parameter must be a JSON object")
        sections: dict[str, dict[str, Any]] = {}
        for member in ("id_token", "userinfo"):
            section = data.get(member, {})
            if section is None:
                section = {}
            if not isinstance(section, dict) or not all(
                spec is None or isinstance(spec, dict) for spec in section.values()
            ):
                raise ValueError(f"claims.{member} must map claim names to null or an object")
            sections[member] = section
        acr_spec = sections["id_token"].get("acr") or {}
        acr_values: list[str] = []
        if isinstance(acr_spec.get("value"), str):
            acr_values.append(acr_spec["value"])
        if isinstance(acr_spec.get("values"), list):
            acr_values.extend(v for v in acr_spec["values"] if isinstance(v, str))
        sub_spec = sections["id_token"].get("sub") or {}
        sub = sub_spec.get("value") if isinstance(sub_spec.get("value"), str) else None
        return cls(
            id_token=tuple(name for name in sections["id_token"] if name in _USER_CLAIMS),
            userinfo=tuple(name for name in sections["userinfo"] if name in _USER_CLAIMS),
            acr_values=tuple(acr_values),
            sub=sub,
        )

    def to_record(self) -> dict[str, Any]:
        return {"id_token": list(self.id_token), "userinfo": list(self.userinfo),
                "acr_values": list(self.acr_values), "sub": self.sub}

    @classmethod
    def from_record(cls, data: dict[str, Any] | None) -> ClaimsRequest:
        if not data:
            return cls()
        return cls(id_token=tuple(data.get("id_token", ())),
                   userinfo=tuple(data.get("userinfo", ())),
                   acr_values=tuple(data.get("acr_values", ())), sub=data.get("sub"))

    def scopes(self) -> set[str]:
        """The scopes whose claims this request names (what consent must cover)."""
        names = set(self.id_token) | set(self.userinfo)
        return {scope for scope, claims in SCOPE_CLAIMS.items() if names & set(claims)}


def claims_for_scope(scope: str | Iterable[str] | None) -> list[str]:
    """The user claims a scope releases, in a stable order."""
    scopes = scope.split() if isinstance(scope, str) else list(scope or ())
    return [name for s in scopes for name in SCOPE_CLAIMS.get(s, ())]


def user_claims(user: User, names: Iterable[str]) -> dict[str, Any]:
    """The values of ``names`` for ``user``; a claim we have no value for is left out
    (OIDC Core 5.3.2: omit rather than send null or empty)."""
    values: dict[str, Any] = {}
    for name in names:
        if name == "name" and user.display_name:
            values["name"] = user.display_name
        elif name == "locale" and user.locale:
            values["locale"] = user.locale
        elif name == "updated_at" and (user.updated_at or user.created_at):
            values["updated_at"] = int(user.updated_at or user.created_at)
        elif name == "email":
            values["email"] = user.email
        elif name == "email_verified":
            values["email_verified"] = user.email_verified
    return values
