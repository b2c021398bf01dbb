"""Addresses of the settings pages and the one way they are rendered.

Every page here shows personal data (methods, browsers, IP addresses, recovery codes), so
every response is ``no-store`` (OWASP ASVS V8.2.1), whatever the middleware's default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from idp.account.person import Person
from idp.web.templating import Templates

if TYPE_CHECKING:
    from idp.oidc.state import OidcState

__all__ = [
    "ACCOUNT_PATH",
    "NO_STORE",
    "PASSWORD_PATH",
    "RECOVERY_PATH",
    "SWAP_PATH",
    "method_path",
    "page",
    "see_other",
]

ACCOUNT_PATH: Final = "/account"
PASSWORD_PATH: Final = "/account/password"  # noqa: S105 - a page address
RECOVERY_PATH: Final = "/account/recovery-codes"
SWAP_PATH: Final = "/account/methods/swap"
NO_STORE: Final = {"Cache-Control": "no-store"}


def method_path(role: str, step: str) -> str:
    """``/account/methods/<role>/<step>``: replace, verify, resend, cancel, remove."""
    return f"{ACCOUNT_PATH}/methods/{role}/{step}"


def page(
    request: Request[OidcState],
    person: Person,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
) -> HTMLResponse:
    """Render ``account/<template>`` in the person's language, never to be stored."""
    templates: Templates = request.state["templates"]
    values = {"user": person.user, **context}
    return templates.render(
        request, f"account/{template}", values, status=status, locale=person.locale,
        headers=NO_STORE,
    )


def see_other(path: str) -> RedirectResponse:
    """303 to a page of this site (post/redirect/get)."""
    return RedirectResponse(path, status_code=303, headers=NO_STORE)
