"""The refusals of registration, each carrying its protocol data (RFC 7591 3.2.2, RFC 6750
3.1); :func:`status_for` is the one place that turns one into an HTTP status."""

from __future__ import annotations

import re
from typing import ClassVar

__all__ = [
    "InvalidClientMetadata",
    "InvalidRedirectUri",
    "InvalidToken",
    "RegistrationError",
    "Throttled",
    "TooManyClients",
    "status_for",
]

# RFC 6749 5.2: error_description is %x20-21 / %x23-5B / %x5D-7E (no quote, no backslash).
_UNSAFE = re.compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e]')


class RegistrationError(Exception):
    """A refusal. ``description`` is shown to the client: it never quotes a secret."""

    error: ClassVar[str] = "invalid_request"
    unauthorized: ClassVar[bool] = False  # True: 401 with WWW-Authenticate
    throttled: ClassVar[bool] = False  # True: wait (429 with Retry-After)
    exhausted: ClassVar[bool] = False  # True: the server takes no more clients (403)

    def __init__(self, description: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(description)
        self.description = _UNSAFE.sub("?", description)[:400]
        self.retry_after_s = retry_after_s

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class InvalidRedirectUri(RegistrationError):
    error = "invalid_redirect_uri"


class InvalidClientMetadata(RegistrationError):
    error = "invalid_client_metadata"


class InvalidToken(RegistrationError):
    """No, a wrong, an expired or a used-up token (initial or registration access token)."""

    error = "invalid_token"
    unauthorized = True


class Throttled(RegistrationError):
    error = "temporarily_unavailable"
    throttled = True


class TooManyClients(RegistrationError):
    error = "access_denied"
    exhausted = True


def status_for(error: RegistrationError) -> int:
    if error.unauthorized:
        return 401
    if error.throttled:
        return 429
    if error.exhausted:
        return 403
    return 400
