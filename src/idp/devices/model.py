"""The values the trusted-browser service hands to the sign-in pages, settings page and CLI."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["TrustReason", "TrustResult", "TrustedBrowser"]


class TrustReason(StrEnum):
    """Why a browser was, or was not, trusted in one sign-in (BEHAVIOUR T2, T4, T5, C4)."""

    TRUSTED = "trusted"
    # No cookie: never trusted here, or the person cleared cookies (T2).
    ABSENT = "absent"
    # The client asked for a fresh second factor (acr_values, max_age): the cookie is not
    # consulted (T5). A normal request, so not audited.
    FRESH_2SV_REQUIRED = "fresh_2sv_required"
    # Not shaped like a cookie we sign, or a signed payload we cannot read.
    MALFORMED = "malformed"
    # The signature fails with every configured key: forged, altered in any character, or
    # signed with a key since removed. HMAC cannot tell these apart, so neither do we.
    FORGED = "forged"
    # Genuinely signed, but for another person (T4).
    OTHER_USER = "other_user"
    # No server record: removed by the person (T3), dropped by the cap, or never existed.
    UNKNOWN = "unknown"
    # Past its lifetime (T4).
    EXPIRED = "expired"
    # Issued before the last change of password, methods or recovery codes (C4).
    EPOCH = "epoch"
    # The record exists but holds another nonce: a replaced or counterfeit cookie.
    NONCE_MISMATCH = "nonce_mismatch"

    @property
    def audited(self) -> bool:
        """A rejection someone should be able to look into (T4), as opposed to the ordinary
        cases of no cookie, a step-up request, or success."""
        return self not in (
            TrustReason.TRUSTED,
            TrustReason.ABSENT,
            TrustReason.FRESH_2SV_REQUIRED,
        )


@dataclass(frozen=True)
class TrustResult:
    """The answer of :meth:`TrustedBrowsers.check`. ``device_id`` is set when the cookie's
    signature held (so the id is ours), whether or not the browser is trusted."""

    reason: TrustReason
    device_id: str | None = None

    @property
    def trusted(self) -> bool:
        """Skip the code step for this sign-in (DESIGN "Data path", step 3)."""
        return self.reason is TrustReason.TRUSTED


@dataclass(frozen=True)
class TrustedBrowser:
    """One entry of the settings page's list (T3). Times are Unix seconds (UTC).

    ``label`` is the browser and system as parsed ("Chrome 126 on Windows"); ``name`` is the
    label made unique within this person's list ("Chrome 126 on Windows (2)") so that two
    entries are never indistinguishable even before their dates are read.
    """

    device_id: str
    label: str
    name: str
    created: float
    last_used: float
    ip: str | None
    expires: float
