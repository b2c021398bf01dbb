"""The pages the links in notices open, and the /account sections of the notices.

==================================  ==========================================================
``GET /account/not-me?t=``           "this wasn't me": what will happen, and a confirm button
``POST /account/not-me``             (CSRF) end every session and grant, remove every trusted
                                     browser, queue back-channel logouts, ask for a new
                                     password at the next sign-in; audited
``GET /email/verify?t=``             confirm an email address: a button (mail scanners fetch
                                     links with GET; only the POST changes anything)
``POST /email/verify``               (CSRF) the address is verified
==================================  ==========================================================

An expired link, a link used before (the store's ``take`` makes each single use on every
replica) or a mangled one gets a page that says which, in the person's language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from idp.notices.activity import ACTIVITY_WORDS
from idp.notices.links import LinkState, Opened
from idp.notices.service import (
    REPORT_PATH,
    REPORT_PURPOSE,
    VERIFY_PATH,
    VERIFY_PURPOSE,
    Notices,
)
from idp.notices.state import NoticeServices, NoticeState
from idp.users import User
from idp.web.i18n import LocaleCode
from idp.web.templating import Templates

__all__ = ["ActivityRow", "account_sections", "report_not_me", "routes"]

_NO_STORE: Final = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_REPORT_FORM: Final = "notices.report"
_VERIFY_FORM: Final = "notices.verify"
_SHOWN_ACTIVITY: Final = 15
# What a used link's form does for its person (user id, the link, the page's language).
_LinkAction = Callable[[str, Opened, LocaleCode], Awaitable[Response]]


@dataclass(frozen=True)
class ActivityRow:
    when: str
    what: str  # a msgid
    label: str | None
    network: str | None


def account_sections(notices: Notices, user: User, locale: str) -> dict[str, Any]:
    """The context of ``notices/_account.html`` for /account. Synchronous (store reads)."""
    rows = [ActivityRow(notices.format_time(entry.at, locale), ACTIVITY_WORDS[entry.what],
                        entry.label, entry.network)
            for entry in notices.activity.recent(user.id)[:_SHOWN_ACTIVITY]]
    return {"email_verified": user.email_verified, "email_enabled": notices.enabled,
            "activity": rows}


def report_not_me(services: NoticeServices, user_id: str, notice_id: str | None) -> None:
    """"This wasn't me", confirmed: the existing ways of ending things, all at once."""
    logouts = services.oidc.logout.end_all(user_id, reason="reported", actor="user")
    browsers = services.devices.revoke_all(user_id, actor="user", reason="reported")
    # A new epoch: every refresh token and access token of an older one stops working,
    # offline grants included, on every replica (sessions were ended above).
    services.accounts.bump_epoch(user_id, reason="reported", actor="user")
    services.notices.require_password_change(user_id)
    services.notices.activity.add(user_id, "reported", label=None, network=None)
    services.audit.emit("user.reported_not_me", user_id=user_id, notice_id=notice_id,
                        browsers_removed=browsers, logouts_queued=logouts)


def _services(request: Request[NoticeState]) -> NoticeServices:
    return request.state["services"]


def _templates(request: Request[NoticeState]) -> Templates:
    return request.state["templates"]


def _locale(request: Request[NoticeState], services: NoticeServices, opened: Opened) -> LocaleCode:
    user = services.accounts.get(opened.user_id) if opened.user_id else None
    return _templates(request).locale_for(request,
                                          user_locale=user.locale if user else None)


def _problem(request: Request[NoticeState], opened: Opened, locale: LocaleCode, *, verify: bool
             ) -> Response:
    status = 400 if opened.state is LinkState.INVALID else 410
    return _templates(request).render(
        request, "notices/link_problem.html", {"state": opened.state.value, "verify": verify},
        status=status, locale=locale, headers=_NO_STORE,
    )


async def _open(request: Request[NoticeState], token: str, purpose: str, *, use: bool
                ) -> tuple[Opened, LocaleCode]:
    services = _services(request)
    config = services.settings.notifications
    max_age = config.report_link_s if purpose == REPORT_PURPOSE else config.verify_link_s

    def work() -> tuple[Opened, LocaleCode]:
        links = services.notices.links
        opened = (links.use if use else links.peek)(token, purpose, max_age=max_age)
        return opened, _locale(request, services, opened)

    return await run_in_threadpool(work)


async def _confirm_page(request: Request[NoticeState], purpose: str, template: str, *,
                        verify: bool) -> Response:
    """A link's landing page: looked at, not used, until the person confirms (the form)."""
    token = request.query_params.get("t", "")
    opened, locale = await _open(request, token, purpose, use=False)
    if opened.state is not LinkState.OK:
        return _problem(request, opened, locale, verify=verify)
    return _templates(request).render(request, template, {"token": token},
                                      locale=locale, headers=_NO_STORE)


async def report_form(request: Request[NoticeState]) -> Response:
    return await _confirm_page(request, REPORT_PURPOSE, "notices/report.html", verify=False)


async def _link_submitted(request: Request[NoticeState], form_purpose: str, purpose: str, *,
                          verify: bool, act: _LinkAction) -> Response:
    """A landing page's form answered: the link is used (once), then ``act`` does the work
    for its person; a bad or spent link gets the problem page."""
    form = await _templates(request).csrf.protect(request, form_purpose)
    opened, locale = await _open(request, str(form.get("t") or ""), purpose, use=True)
    if opened.state is not LinkState.OK or opened.user_id is None:
        return _problem(request, opened, locale, verify=verify)
    return await act(opened.user_id, opened, locale)


def _done(request: Request[NoticeState], template: str, locale: LocaleCode) -> Response:
    return _templates(request).render(request, template, {}, locale=locale, headers=_NO_STORE)


async def report_submit(request: Request[NoticeState]) -> Response:
    services = _services(request)

    async def report(user_id: str, opened: Opened, locale: LocaleCode) -> Response:
        await run_in_threadpool(report_not_me, services, user_id, opened.reference)
        response = _done(request, "notices/report_done.html", locale)
        response.set_cookie(**services.sessions.clear_cookie().set_cookie_kwargs())
        return response

    return await _link_submitted(request, _REPORT_FORM, REPORT_PURPOSE, verify=False,
                                 act=report)


async def verify_form(request: Request[NoticeState]) -> Response:
    return await _confirm_page(request, VERIFY_PURPOSE, "notices/verify.html", verify=True)


async def verify_submit(request: Request[NoticeState]) -> Response:
    services = _services(request)

    async def confirm(user_id: str, opened: Opened, locale: LocaleCode) -> Response:
        confirmed = await run_in_threadpool(services.notices.confirm_verification,
                                            user_id, opened.value)
        if not confirmed:  # the address changed since the mail was sent
            return _problem(request, Opened(LinkState.INVALID), locale, verify=True)
        return _done(request, "notices/verify_done.html", locale)

    return await _link_submitted(request, _VERIFY_FORM, VERIFY_PURPOSE, verify=True,
                                 act=confirm)


def routes() -> list[BaseRoute]:
    return [
        Route(REPORT_PATH, report_form, methods=["GET"]),
        Route(REPORT_PATH, report_submit, methods=["POST"]),
        Route(VERIFY_PATH, verify_form, methods=["GET"]),
        Route(VERIFY_PATH, verify_submit, methods=["POST"]),
    ]
