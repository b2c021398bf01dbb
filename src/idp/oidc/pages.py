"""The few pages the provider itself shows a person: consent, logout confirmation, signed
out, and the errors that must never become a redirect (an unregistered client or redirect
URI: RFC 6749 4.1.2.1, RFC 9700 4.11). Strings are msgids of ``oidc.po``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import HTMLResponse

from idp.web.errors import ErrorPage, error_response
from idp.web.i18n import N_
from idp.web.templating import Templates

__all__ = [
    "CONSENT_PURPOSE",
    "LOGOUT_PURPOSE",
    "PAGES",
    "SCOPE_TEXT",
    "Pages",
]

CONSENT_PURPOSE: Final = "oidc-consent"
LOGOUT_PURPOSE: Final = "oidc-logout"

PAGES: Final[Mapping[str, ErrorPage]] = {
    "unknown_client": ErrorPage(
        N_("This application isn't registered"),
        N_("The application that sent you here isn't registered with this sign-in service, so "
           "nothing was sent back to it. Please contact the application's support."),
    ),
    "bad_redirect_uri": ErrorPage(
        N_("This application's address isn't registered"),
        N_("The application asked to send you back to an address it hasn't registered, so "
           "nothing was sent there. Please contact the application's support."),
    ),
    "bad_request": ErrorPage(
        N_("This sign-in request isn't valid"),
        N_("The application sent a request we can't accept. Go back to the application and "
           "try again; if it keeps happening, contact its support."),
    ),
    "expired": ErrorPage(
        N_("This sign-in request has expired"),
        N_("This sign-in link has expired or was already used. Go back to the application "
           "and start again."),
    ),
    "bad_logout": ErrorPage(
        N_("This sign-out request isn't valid"),
        N_("The application asked to sign you out in a way we couldn't verify, so nothing was "
           "changed and you weren't sent anywhere. Close this page, or go back to the "
           "application."),
    ),
}

# What each scope lets an application see, as the consent page says it.
SCOPE_TEXT: Final[Mapping[str, str]] = {
    "openid": N_("Know who you are (a stable identifier for your account)"),
    "profile": N_("Your name and language"),
    "email": N_("Your email address"),
    "offline_access": N_("Stay connected while you're away (until you sign out of it or "
                         "revoke it)"),
}


class Pages:
    def __init__(self, templates: Templates) -> None:
        self.templates = templates

    def error(self, request: Request[Any], name: str, status: int = 400,
              ui_locales: str | None = None) -> HTMLResponse:
        if ui_locales:
            self.templates.locale_for(request, ui_locales=ui_locales)
        return error_response(self.templates, request, status, page=PAGES[name])

    def render(self, request: Request[Any], template: str, context: Mapping[str, Any],
               ui_locales: str | None = None, status: int = 200) -> HTMLResponse:
        locale = self.templates.locale_for(request, ui_locales=ui_locales)
        return self.templates.render(request, template, context, locale=locale, status=status)
