"""``POST /account/email/verify``: another confirmation mail for the person's address.

The address, whether it is confirmed, and recent activity are sections of the overview
(``notices/_account.html``, filled by :func:`idp.notices.pages.account_sections`).
"""

from __future__ import annotations

from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from idp.account.pages import ACCOUNT_PATH, see_other
from idp.account.person import Person, posted
from idp.notices.state import notices_of
from idp.oidc.state import OidcState

__all__ = ["SEND_VERIFICATION_PURPOSE", "send_verification"]

# The CSRF purpose of the form in notices/_account.html.
SEND_VERIFICATION_PURPOSE: Final = "notices.send-verification"


@posted(SEND_VERIFICATION_PURPOSE, resume=ACCOUNT_PATH)
async def send_verification(request: Request[OidcState], person: Person, _form: FormData
                            ) -> Response:
    """Another confirmation mail (at most one a minute), then back to the overview."""
    await run_in_threadpool(notices_of(request).send_verification, person.user, resend=True)
    return see_other(f"{ACCOUNT_PATH}#email-title")
