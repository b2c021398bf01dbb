"""The ``totp`` second-factor method: an authenticator app (RFC 6238), BEHAVIOUR S2, S5, E6.

Defaults are what every common app understands: HMAC-SHA-1, 6 digits, 30-second steps.
SHA-256/512, 8 digits and another period can be configured (``[methods.totp]``); each
credential keeps the parameters it was created with, so changing the config later does not
break existing enrollments. A code is accepted for the current step and ``drift_steps``
(``[limits] totp_window_steps``, 1) either side; the core refuses a step used before.

Setup shows an ``otpauth://`` URI (issuer and account set) as an inline SVG QR code, and
the secret grouped in fours for typing by hand.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

import pyotp
import segno
from pydantic import Field

from idp.methods import (
    Challenge,
    Channel,
    ConfigModel,
    Credential,
    Enrollment,
    EnrollmentInvalid,
    Method,
    MethodInfo,
    MethodUser,
    Verified,
)

__all__ = ["TotpConfig", "TotpMethod", "group_secret", "totp_at"]

Algorithm = Literal["SHA1", "SHA256", "SHA512"]
_DIGESTS: dict[str, Callable[..., Any]] = {
    "SHA1": hashlib.sha1,
    "SHA256": hashlib.sha256,
    "SHA512": hashlib.sha512,
}
# RFC 4226 4 (R6) and RFC 6238 Appendix B: a key as long as the hash output (160 bits for
# SHA-1); pyotp refuses fewer than 112 bits (NIST SP 800-63B-4 3.1.4.1), so imports must too.
_KEY_BYTES = {"SHA1": 20, "SHA256": 32, "SHA512": 64}
MIN_SECRET_BYTES = 14
_LABELS = {"en": "Authenticator app", "ja": "認証アプリ"}


class TotpConfig(ConfigModel):
    # RFC 6238 1.2 allows SHA-256/512; SHA-1 is what every common app supports (S2).
    algorithm: Algorithm = "SHA1"
    digits: Literal[6, 8] = 6
    # Seconds per step (RFC 6238 5.2 recommends 30); pyotp accepts at most 120.
    period: int = Field(default=30, ge=15, le=120)
    # The otpauth issuer shown in the app; defaults to [ui] service_name.
    issuer: str | None = Field(default=None, min_length=1, max_length=64)


def totp_at(
    secret: bytes, for_time: float, *, algorithm: str = "SHA1", digits: int = 6, period: int = 30
) -> str:
    """The RFC 6238 code of ``secret`` at ``for_time`` (epoch seconds)."""
    return _otp(base64.b32encode(secret).decode("ascii"), algorithm, digits, period).at(
        int(for_time)
    )


def _otp(secret_b32: str, algorithm: str, digits: int, period: int) -> pyotp.TOTP:
    return pyotp.TOTP(secret_b32, digits=digits, digest=_DIGESTS[algorithm], interval=period)


def group_secret(secret_b32: str) -> str:
    """``JBSWY3DPEHPK3PXP`` -> ``JBSW Y3DP EHPK 3PXP``: easier to type from the screen."""
    bare = secret_b32.rstrip("=")
    return " ".join(bare[i : i + 4] for i in range(0, len(bare), 4))


def _normalise_digits(submitted: str) -> str:
    # Full-width digits come from Japanese input methods.
    text = unicodedata.normalize("NFKC", (submitted or "")[:64])
    return "".join(ch for ch in text if ch not in " -\t")


class TotpMethod(Method[TotpConfig]):
    """Authenticator app (TOTP). The person reads the code; nothing is sent."""

    info: ClassVar[MethodInfo] = MethodInfo(
        id="totp", amr=("otp",), channel=Channel.APP, delivers_code=False
    )

    def label(self, locale: str) -> str:
        return _LABELS.get(locale, _LABELS["en"])

    def _issuer(self) -> str:
        return self.config.issuer or self.ctx.service_name

    def _secret(self, secret_b32: str) -> dict[str, Any]:
        config = self.config
        return {
            "secret": secret_b32,
            "algorithm": config.algorithm,
            "digits": config.digits,
            "period": config.period,
        }

    def begin_enrollment(self, user: MethodUser, form: Mapping[str, str]) -> Enrollment:
        key = secrets.token_bytes(_KEY_BYTES[self.config.algorithm])
        secret_b32 = base64.b32encode(key).decode("ascii").rstrip("=")
        params = self._secret(secret_b32)
        account = user.email or user.display_name or user.id
        uri = _otp(secret_b32, self.config.algorithm, self.config.digits, self.config.period)
        otpauth = uri.provisioning_uri(name=account, issuer_name=self._issuer())
        qr_svg = segno.make(otpauth, error="m").svg_inline(scale=4, title=self._issuer())
        return Enrollment(
            credential=Credential(secret=params, public=self._public()),
            display={
                "otpauth_uri": otpauth,
                "qr_svg": qr_svg,
                "secret_grouped": group_secret(secret_b32),
                "issuer": self._issuer(),
                "account": account,
            },
        )

    def _public(self, algorithm: str | None = None, digits: int | None = None) -> dict[str, Any]:
        return {
            "issuer": self._issuer(),
            "algorithm": algorithm or self.config.algorithm,
            "digits": digits or self.config.digits,
        }

    def verify(
        self,
        user: MethodUser,
        credential: Credential,
        challenge: Challenge,
        form: Mapping[str, str],
    ) -> Verified | None:
        params = credential.secret
        if not isinstance(params, Mapping):
            raise TypeError("a totp credential's secret must be a mapping")
        period = int(params["period"])
        otp = _otp(str(params["secret"]), str(params["algorithm"]), int(params["digits"]), period)
        submitted = _normalise_digits(form.get("code", "")).encode()
        now_step = int(self.ctx.now()) // period
        drift = self.ctx.drift_steps
        matched: int | None = None
        # Compare with every step in the window, without stopping early (constant time).
        for step in range(max(0, now_step - drift), now_step + drift + 1):
            if hmac.compare_digest(otp.generate_otp(step).encode(), submitted):
                matched = step
        if matched is None:
            return None
        # Remember the step until it can no longer be inside anyone's window.
        return Verified(use_id=f"step:{matched}", remember_s=period * (2 * drift + 2))

    def describe(self, credential: Credential, locale: str) -> str:
        issuer = credential.public.get("issuer")
        label = self.label(locale)
        return f"{label} ({issuer})" if issuer else label

    def import_credential(self, user: MethodUser, data: Mapping[str, str]) -> Credential:
        """Columns: ``secret`` (base32, spaces and case ignored), optional ``algorithm``
        (SHA1, SHA256, SHA512), ``digits`` (6, 8), ``period`` (seconds)."""
        raw = "".join((data.get("secret") or "").split()).upper().rstrip("=")
        if not raw:
            raise EnrollmentInvalid(detail="secret: missing", field="secret")
        try:
            key = base64.b32decode(raw + "=" * (-len(raw) % 8))
        except (binascii.Error, ValueError):
            raise EnrollmentInvalid(detail="secret: not valid base32", field="secret") from None
        if len(key) < MIN_SECRET_BYTES:
            raise EnrollmentInvalid(
                detail=f"secret: {len(key) * 8} bits is too short; at least "
                f"{MIN_SECRET_BYTES * 8} bits are required (NIST SP 800-63B-4 3.1.4.1)",
                field="secret",
            )
        algorithm = (data.get("algorithm") or "SHA1").upper().replace("-", "")
        if algorithm not in _DIGESTS:
            raise EnrollmentInvalid(
                detail="algorithm: expected SHA1, SHA256 or SHA512", field="algorithm"
            )
        digits = _int_column(data, "digits", 6, (6, 8))
        period = _int_column(data, "period", 30, tuple(range(15, 121)))
        secret_b32 = base64.b32encode(key).decode("ascii").rstrip("=")
        return Credential(
            secret={"secret": secret_b32, "algorithm": algorithm, "digits": digits,
                    "period": period},
            public=self._public(algorithm, digits),
        )


def _int_column(data: Mapping[str, str], name: str, default: int, allowed: tuple[int, ...]) -> int:
    value = (data.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) not in allowed:
        shown = f"{allowed[0]}-{allowed[-1]}" if len(allowed) > 2 else " or ".join(
            str(a) for a in allowed
        )
        raise EnrollmentInvalid(detail=f"{name}: expected {shown}", field=name)
    return int(value)
