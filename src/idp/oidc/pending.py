"""The records an authorization request leaves in the store while the browser is away:
at the sign-in journey (:class:`SavedAuthorization`) or at the consent page
(:class:`SavedConsent`). Single use, for the login transaction's lifetime; the JSON shape is
the one written since the first release, so records saved before an upgrade still load."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from idp.store import dump_record, load_record

__all__ = ["LoginNeeds", "SavedAuthorization", "SavedConsent"]


@dataclass(frozen=True)
class LoginNeeds:
    """What the session must show when the journey comes back (else: login_required)."""

    fresh_after: float | None  # a password entered at or after this time (prompt=login)
    two_sv: bool  # a second factor in this sign-in (acr_values asked for 2SV)
    max_age: int | None  # seconds since authentication, as the request said
    sub: str | None  # the person the request named (id_token_hint, claims)


def _with_params(raw: bytes | None) -> dict[str, Any] | None:
    """A saved record that holds the request's parameters, or ``None``."""
    data = load_record(raw)
    return data if data is not None and isinstance(data.get("params"), dict) else None


@dataclass(frozen=True)
class _Saved:
    params: dict[str, Any]  # the request's parameters, validated again on the way back

    def dump(self) -> bytes:
        return dump_record(asdict(self))


@dataclass(frozen=True)
class SavedAuthorization(_Saved):
    """The validated request, waiting for the sign-in journey."""

    needs: LoginNeeds

    @classmethod
    def load(cls, raw: bytes | None) -> SavedAuthorization | None:
        data = _with_params(raw)
        if data is None:
            return None
        needs = data.get("needs")
        if not isinstance(needs, dict):
            return None
        return cls(params=data["params"], needs=LoginNeeds(
            fresh_after=needs.get("fresh_after"), two_sv=bool(needs.get("two_sv")),
            max_age=needs.get("max_age"), sub=needs.get("sub"),
        ))


@dataclass(frozen=True)
class SavedConsent(_Saved):
    """The request, waiting for the person's answer on the consent page."""

    sid: str  # the session that was asked: an answer from another sign-in is refused
    scope: str

    @classmethod
    def load(cls, raw: bytes | None) -> SavedConsent | None:
        data = _with_params(raw)
        if data is None:
            return None
        sid, scope = data.get("sid"), data.get("scope")
        if not isinstance(sid, str) or not isinstance(scope, str):
            return None
        return cls(params=data["params"], sid=sid, scope=scope)
