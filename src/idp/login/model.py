"""The vocabulary of the sign-in journey: what a caller asks for, the steps, the claims it
ends with, and the errors a person may be shown (BEHAVIOUR S1-S5, E1, C3, T1, T5).

Framework-free: plain values only, so :mod:`idp.login.machine` can be driven by tests without
a web server, and the web layer only translates these into pages and redirects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Final

from idp.devices import IssuedCookie
from idp.sessions import SessionCookie, SsoSession

__all__ = [
    "ACR_2SV",
    "ACR_TRUSTED_BROWSER",
    "Completion",
    "InvalidCredentials",
    "JourneyError",
    "LoginRequirements",
    "Outcome",
    "SlowDown",
    "Stage",
    "Step",
    "TemporarilyLocked",
    "TransactionExpired",
    "WrongStep",
    "check_resume",
]

# DESIGN "Claims": a code was entered in this sign-in, or a trusted browser stood in for it.
ACR_2SV: Final = "urn:nidan:acr:2sv"
ACR_TRUSTED_BROWSER: Final = "urn:nidan:acr:2sv-trusted-browser"
# RFC 8176: "pwd" for the password, "mfa" when more than one factor was used in this sign-in.
AMR_PASSWORD: Final = "pwd"  # noqa: S105 - an RFC 8176 method name
AMR_MFA: Final = "mfa"

_MAX_RESUME_CHARS: Final = 2048


def check_resume(resume: str) -> str:
    """``resume`` if it is a path on this site; ``ValueError`` otherwise (open-redirect guard:
    no scheme, no ``//host``, no backslash, no control characters or spaces)."""
    if (
        not resume
        or len(resume) > _MAX_RESUME_CHARS
        or not resume.startswith("/")
        or resume.startswith("//")
        or "\\" in resume
        or any(ord(char) < 0x21 or ord(char) == 0x7F for char in resume)
    ):
        raise ValueError("resume must be a local path starting with a single '/'")
    return resume


@dataclass(frozen=True)
class LoginRequirements:
    """What a caller (the OIDC provider, the settings page) asks of a sign-in."""

    resume: str  # local path to go back to when done; never an absolute URL
    force_password: bool = False  # prompt=login, max_age exceeded
    force_code: bool = False  # T5 and C2: a code even on a trusted browser or in a session
    login_hint: str | None = None  # pre-fills the email field
    ui_locales: str | None = None  # OIDC ui_locales (L1)
    client_id: str | None = None  # for audit and "continue to <client_name>"
    client_name: str | None = None

    def __post_init__(self) -> None:
        check_resume(self.resume)


class Step(StrEnum):
    """Where a login transaction stands. Each has one page (the enrollment step has three
    stages); a request for another step's page is sent to this one."""

    PASSWORD = "password"  # noqa: S105 - a step name
    CODE = "code"
    # After a reset (C3): set-up from nothing needs a recovery or enrollment code first.
    REENROLL = "reenroll"
    ENROLL = "enroll"
    RECOVERY_CODES = "recovery_codes"
    DONE = "done"


class Stage(StrEnum):
    """The stages of enrolling one role (E2): choose a method, give its details (a phone
    number), verify a code it delivered."""

    CHOOSE = "choose"
    DETAILS = "details"
    VERIFY = "verify"


@dataclass(frozen=True)
class Completion:
    """The journey ended: an SSO session stands. ``session_cookie`` is set when a new session
    was created (``None`` when the browser's session was updated in place)."""

    resume: str
    session: SsoSession
    session_cookie: SessionCookie | None
    acr: str
    amr: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """The result of one step: where the person goes next, the completion when the journey
    ended, and trusted-browser cookies to set or clear."""

    step: Step
    completion: Completion | None = None
    cookies: tuple[IssuedCookie, ...] = field(default=())


class JourneyError(Exception):
    """Something the person is told on the page they are on. ``code`` is stable (pages and
    tests use it); parameters are counts and durations only, never what was typed."""

    code: ClassVar[str] = "login_error"
    throttled: ClassVar[bool] = False  # as MethodError.throttled: 429 at the web edge

    def __init__(self, **params: Any) -> None:
        self.params = dict(params)
        super().__init__(self.code)


class InvalidCredentials(JourneyError):
    """S4: the same for an unknown email, a wrong password and a disabled account."""

    code = "invalid_credentials"


class TemporarilyLocked(JourneyError):
    """S4: the account is locked for a while (or until an operator unlocks it). Said the same
    way whether or not the account exists."""

    code = "temporarily_locked"
    throttled = True


class SlowDown(JourneyError):
    """S4: too many failures just now; ``retry_after_s`` until the next attempt is looked at."""

    code = "slow_down"
    throttled = True
    retry_after_s: int

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s


class TransactionExpired(Exception):
    """No live login transaction for this browser (none, expired, finished, or ended because
    the account changed under it). ``reason`` is for audit and tests."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class WrongStep(Exception):
    """The request belongs to another step than the transaction's (an old tab, a skipped or
    replayed URL): the person is sent to ``step``, where the transaction really is."""

    def __init__(self, step: Step) -> None:
        self.step = step
        super().__init__(step.value)
