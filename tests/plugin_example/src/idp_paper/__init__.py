"""A printed sheet of one-time codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

from pydantic import Field

from idp.methods import (
    Challenge,
    Channel,
    ConfigModel,
    Credential,
    Enrollment,
    Method,
    MethodInfo,
    MethodUser,
    Verified,
)

TEN_YEARS_S = 10 * 365 * 24 * 3600  # a printed code stays spent as long as the sheet lives


class PaperConfig(ConfigModel):
    codes: int = Field(default=20, ge=5, le=100)  # lines on one sheet


def _line(key: bytes, index: int) -> str:
    digest = hmac.new(key, index.to_bytes(4, "big"), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**8:08d}"


class PaperMethod(Method[PaperConfig]):
    info = MethodInfo(id="paper", amr=("otp",), channel=Channel.APP, delivers_code=False)

    def label(self, locale: str) -> str:
        return "印刷したコード表" if locale == "ja" else "Printed code sheet"

    def begin_enrollment(self, user: MethodUser, form: Mapping[str, str]) -> Enrollment:
        key = secrets.token_bytes(32)
        sheet = "\n".join(f"{i + 1:>3}. {_line(key, i)}" for i in range(self.config.codes))
        return Enrollment(
            credential=Credential(secret=key, public={"lines": self.config.codes}),
            display={"sheet": sheet},
        )

    def verify(
        self, user: MethodUser, credential: Credential, challenge: Challenge,
        form: Mapping[str, str],
    ) -> Verified | None:
        assert isinstance(credential.secret, bytes)
        typed = form.get("code", "").strip().encode()
        found = None
        for index in range(int(credential.public["lines"])):  # no early exit
            if hmac.compare_digest(_line(credential.secret, index).encode(), typed):
                found = index
        if found is None:
            return None
        return Verified(use_id=f"line:{found}", remember_s=TEN_YEARS_S)

    def describe(self, credential: Credential, locale: str) -> str:
        lines = credential.public["lines"]
        if locale == "ja":
            return f"印刷したコード表（{lines}行）"
        return f"Printed code sheet, {lines} codes"
