"""What the demo page shows of a sign-in: the ID token's claims and the UserInfo answer as
rows a person can read (times as times, lists joined), plus the raw JSON.

The labels are in the template (``demo/page.html``), in the person's language; this module
only orders the claims and formats their values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

__all__ = ["ClaimRow", "SignedInView", "claim_rows", "format_time", "signed_in_view"]

# The ID token's claims in the order a developer reads them: who, how and when they signed
# in, then the token's own bookkeeping (OIDC Core 2, docs/oidc.md "Tokens").
ORDER: Final = ("sub", "name", "email", "email_verified", "locale", "auth_time", "acr", "amr",
                "sid", "iss", "aud", "azp", "iat", "exp", "nonce", "at_hash", "updated_at")
# NumericDate claims (RFC 7519 2): seconds since the epoch, shown as a UTC time.
TIMES: Final = frozenset({"auth_time", "iat", "exp", "updated_at"})


@dataclass(frozen=True)
class ClaimRow:
    name: str
    value: str
    raw: str  # the JSON value, for a title or a second line


@dataclass(frozen=True)
class SignedInView:
    """The page's signed-in part."""

    display_name: str
    email: str
    acr: str
    id_token_rows: list[ClaimRow]
    userinfo_rows: list[ClaimRow]
    id_token_json: str
    userinfo_json: str


def format_time(value: Any) -> str:
    """``1717245296`` -> ``2024-06-01 12:34:56 UTC``; anything else as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    try:
        moment = datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return str(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _format(name: str, value: Any) -> str:
    if name in TIMES:
        return format_time(value)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def claim_rows(claims: Mapping[str, Any]) -> list[ClaimRow]:
    """Every claim once: the known ones in :data:`ORDER`, then the rest by name."""
    names = [name for name in ORDER if name in claims]
    names += sorted(name for name in claims if name not in ORDER)
    return [ClaimRow(name, _format(name, claims[name]),
                     json.dumps(claims[name], ensure_ascii=False)) for name in names]


def _pretty(data: Mapping[str, Any]) -> str:
    return json.dumps(dict(data), ensure_ascii=False, indent=2, sort_keys=True)


def signed_in_view(record: Mapping[str, Any]) -> SignedInView:
    """The view of a demo session's record (``idp.demo.state``)."""
    claims: Mapping[str, Any] = record.get("claims") or {}
    userinfo: Mapping[str, Any] = record.get("userinfo") or {}
    return SignedInView(
        display_name=str(userinfo.get("name") or claims.get("name") or ""),
        email=str(userinfo.get("email") or claims.get("email") or ""),
        acr=str(claims.get("acr", "")),
        id_token_rows=claim_rows(claims),
        userinfo_rows=claim_rows(userinfo),
        id_token_json=_pretty(claims),
        userinfo_json=_pretty(userinfo),
    )
