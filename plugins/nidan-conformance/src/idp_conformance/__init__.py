"""The ``conformance`` method: a fixed code, so the OpenID Foundation's certification suite
can sign in through the real pages with a scripted browser. NEVER for real users.

Why it exists: the suite's browser automation fills forms with values written in its JSON
config; it cannot read an authenticator app or a phone. Nidan never issues a token without a
second factor, so a deployment under test needs a second factor the script can type.

What keeps it out of production:

- it refuses to start (one line at start-up, ``idp check-config`` too) unless the server
  runs with the explicit flag ``[server] conformance = true`` (``MethodContext.
  conformance_mode``), which also puts a "CONFORMANCE TEST MODE" banner on every page;
- it is its own distribution (``nidan-conformance``), not a dependency of ``nidan``.

What it still does like any method: the core limits the tries (5 per 10 minutes) and
refuses a used ``use_id``. The code is the same at every sign-in, so single use is per
*challenge*: :meth:`ConformanceMethod.send_challenge` makes a random challenge id at each
sign-in, and :meth:`ConformanceMethod.verify` names it as the ``use_id``. The fixed code
therefore works once per sign-in, for any number of sign-ins in a row, and a replayed form
post of one sign-in is refused.

``amr`` is ``kba`` (RFC 8176 2: knowledge-based authentication), not ``otp``: the code is a
static shared secret written in a config file, not a one-time password, and a relying party
reading ``amr`` must not take a conformance sign-in for a real one-time code.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import unicodedata
from collections.abc import Mapping
from typing import ClassVar, Final

from pydantic import SecretStr, field_validator, model_validator

from idp.methods import (
    Challenge,
    Channel,
    CodeExpired,
    ConfigModel,
    Credential,
    Enrollment,
    EnrollmentInvalid,
    Method,
    MethodContext,
    MethodInfo,
    MethodUser,
    Verified,
)

__all__ = ["CODE_DIGITS", "ConformanceConfig", "ConformanceMethod", "ConformanceModeRequired"]

log = logging.getLogger("idp_conformance")

# The sign-in page's code field takes exactly this many characters (its maxlength): a longer
# fixed code could not be typed there by the suite's browser, a shorter one is not a code.
CODE_DIGITS: Final = 6
_CODE = re.compile(rf"[0-9]{{{CODE_DIGITS}}}")
# 128 bits: a challenge id is never guessed, and never repeats in practice.
_CHALLENGE_BYTES: Final = 16
_MAX_INPUT_CHARS: Final = 64
_LABELS: Final = {"en": "Conformance test code", "ja": "適合性試験用の固定コード"}
_DESCRIPTIONS: Final = {
    "en": "Fixed test code (conformance testing only)",
    "ja": "固定のテストコード（適合性試験専用）",
}


class ConformanceModeRequired(RuntimeError):
    """Raised at start-up when the server is not in conformance mode."""

    def __init__(self) -> None:
        super().__init__(
            "refusing to load outside conformance mode: this method accepts a fixed code; "
            "set [server] conformance = true only on a deployment under certification "
            "testing, never one real people use (docs/conformance.md)"
        )


class ConformanceConfig(ConfigModel):
    # The one code the suite's scripted browser types: exactly six digits (CODE_DIGITS), and
    # required. A SecretStr: reprs hide it, `idp check-config` masks it. Typed optional only
    # so that "required" is checked after the other keys: a misspelt `cdoe` is then reported
    # alone, as an unknown setting, not also as a missing `code`.
    code: SecretStr | None = None

    @field_validator("code")
    @classmethod
    def _six_digits(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _CODE.fullmatch(value.get_secret_value()):
            # The message names the rule, never the value given.
            raise ValueError(f"expected exactly {CODE_DIGITS} digits (0-9)")
        return value

    @model_validator(mode="after")
    def _code_is_required(self) -> ConformanceConfig:
        if self.code is None:
            raise ValueError(f"code: required (the fixed code, exactly {CODE_DIGITS} digits)")
        return self

    def expected(self) -> bytes:
        """The fixed code, for a constant-time comparison."""
        if self.code is None:  # _code_is_required: cannot happen
            raise RuntimeError("no code configured")
        return self.code.get_secret_value().encode()


def _typed(form: Mapping[str, str]) -> str:
    # As the other methods read codes: full-width digits (Japanese input), spaces, hyphens.
    text = unicodedata.normalize("NFKC", (form.get("code") or "")[:_MAX_INPUT_CHARS])
    return "".join(char for char in text if char not in " -\t")


class ConformanceMethod(Method[ConformanceConfig]):
    """A fixed code from ``[methods.conformance] code``. See the module docstring."""

    info: ClassVar[MethodInfo] = MethodInfo(
        id="conformance", amr=("kba",), channel=Channel.APP, delivers_code=False
    )

    def __init__(self, config: ConformanceConfig, ctx: MethodContext) -> None:
        if not ctx.conformance_mode:
            raise ConformanceModeRequired()
        super().__init__(config, ctx)
        log.warning("the conformance method is loaded: a fixed code passes the second factor; "
                    "never let real people use this deployment")

    def label(self, locale: str) -> str:
        return _LABELS.get(locale, _LABELS["en"])

    def begin_enrollment(self, user: MethodUser, form: Mapping[str, str]) -> Enrollment:
        # Nothing per person: the code is the deployment's. The credential only records that
        # this person may pass with it.
        return Enrollment(credential=Credential(public={"kind": "fixed"}))

    def send_challenge(self, user: MethodUser, credential: Credential) -> Challenge:
        # Sends nothing; the random id makes this sign-in's use of the code its own.
        return Challenge(data={"challenge": secrets.token_urlsafe(_CHALLENGE_BYTES)})

    def verify(
        self,
        user: MethodUser,
        credential: Credential,
        challenge: Challenge,
        form: Mapping[str, str],
    ) -> Verified | None:
        challenge_id = challenge.data.get("challenge")
        if not isinstance(challenge_id, str) or not challenge_id:
            # No live challenge (never issued, expired, or already used): nothing to pass.
            raise CodeExpired()
        if not hmac.compare_digest(_typed(form).encode(), self.config.expected()):
            return None
        return Verified(use_id=f"challenge:{challenge_id}", remember_s=self.ctx.code_lifetime_s)

    def describe(self, credential: Credential, locale: str) -> str:
        return _DESCRIPTIONS.get(locale, _DESCRIPTIONS["en"])

    def import_credential(self, user: MethodUser, data: Mapping[str, str]) -> Credential:
        """``idp users import``: ``{"type": "conformance", "role": "primary"}`` and no other
        column (the code is the deployment's, in ``[methods.conformance]``)."""
        if data:
            column = sorted(data)[0]
            raise EnrollmentInvalid(
                detail=f"method 'conformance' takes no column {column!r}: the code is set in "
                "[methods.conformance]",
                field=column,
            )
        return Credential(public={"kind": "fixed"})
