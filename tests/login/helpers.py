"""The sign-in over real HTTP, as a browser would walk it: forms read from the pages, codes
read from the outbox file (SMS, voice) or computed from the app's secret shown on the page
(TOTP). No shortcut around any step: tests see what a person sees."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyotp
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from idp.app import create_app
from idp.delivery.outbox import read_outbox
from idp.login import LoginRequirements, current_session, start_login
from idp.login.state import LoginState
from idp.methods import MethodUser
from idp.methods.service import Role
from idp.observability import AuditEvent
from idp.services import Services, build_services
from idp.settings import Settings
from idp.users import User
from idp.web.csrf import Csrf
from tests.conftest import loopback_settings
from tests.html_forms import Form, form_for
from tests.live_server import live_server
from tests.methods.helpers import VOICE_WORDS

PASSWORD = "correct horse battery staple"
MOBILE = "090-1234-5678"
MOBILE_E164 = "+819012345678"
OTHER_MOBILE = "080-2222-3333"
OTHER_MOBILE_E164 = "+818022223333"


# -- reading pages ------------------------------------------------------------------------------


def form(html: str, action: str) -> Form:
    """The one form that posts to ``action`` (its ``hidden`` fields are what the pages carry
    from step to step)."""
    return form_for(html, action)


def secret_on_page(html: str) -> str:
    """The TOTP secret the enrollment page shows for typing by hand (E6)."""
    match = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', html)
    assert match, "no secret on the page"
    return match.group(1).replace(" ", "")


def recovery_codes_on_page(html: str) -> list[str]:
    return re.findall(r"<li><code>([0-9A-Z]{5}-[0-9A-Z]{5})</code></li>", html)


# -- codes -----------------------------------------------------------------------------------------


class Authenticator:
    """An authenticator app: the code of a time step no code was used for yet (S5: a step is
    accepted once; the window is one step either side)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self._totp = pyotp.TOTP(secret)
        self._used: set[int] = set()

    def code(self) -> str:
        # Not in the last two seconds of a step: the server must see the step chosen here
        # inside its window, even if the step turns over on the way.
        left = 30 - time.time() % 30
        if left < 2:
            time.sleep(left + 0.05)
        now = int(time.time()) // 30
        for step in (now, now + 1, now - 1):
            if step not in self._used:
                self._used.add(step)
                return str(self._totp.at(step * 30))
        raise AssertionError("three codes used within one window")


class Outbox:
    """The SMS and voice messages the server sent (the `outbox` transport's file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        return read_outbox(self.path, to=to)

    def latest(self, to: str) -> dict[str, Any]:
        found = self.messages(to)
        assert found, f"nothing was sent to {to}"
        return found[0]

    def code(self, to: str) -> str:
        """The code in the latest message to ``to``: six digits of an SMS, or the spoken
        digits of a call (said twice: the first six)."""
        message = self.latest(to)
        if message["channel"] == "sms":
            match = re.search(r"\b(\d{6})\b", message["text"])
            assert match, "no code in the text"
            return match.group(1)
        digits = [VOICE_WORDS[s] for s in message["segments"] if s in VOICE_WORDS]
        assert len(digits) == 12, "a call says the code twice"
        return "".join(digits[:6])

    def latest_to_any(self) -> str:
        found = self.messages()
        assert found, "nothing was sent"
        return str(found[0]["to"])

    def count(self, to: str | None = None) -> int:
        return len(self.messages(to))


# -- the site --------------------------------------------------------------------------------------


@dataclass
class Site:
    base: str
    settings: Settings
    services: Services
    outbox: Outbox
    events: list[AuditEvent]

    def browser(self, *, language: str = "en", local_address: str | None = None) -> HttpBrowser:
        transport = httpx.HTTPTransport(local_address=local_address) if local_address else None
        client = httpx.Client(base_url=self.base, headers={"Accept-Language": language},
                              transport=transport, timeout=30)
        return HttpBrowser(self, client)

    def audited(self, name: str) -> list[AuditEvent]:
        return [event for event in self.events if event["event"] == name]


async def _test_start(request: Request[LoginState]) -> Response:
    """A test-only entry point: what the OIDC provider or the settings page does."""
    params = request.query_params
    requirements = LoginRequirements(
        resume=params.get("resume", "/account"),
        force_password=params.get("force_password") == "1",
        force_code=params.get("force_code") == "1",
        login_hint=params.get("login_hint"),
        ui_locales=params.get("ui_locales"),
        client_id=params.get("client_id"),
        client_name=params.get("client_name"),
    )
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(start_login, request, requirements)


async def _test_whoami(request: Request[LoginState]) -> Response:
    """A test-only view of the browser's SSO session (what the OIDC provider would read)."""
    from starlette.concurrency import run_in_threadpool

    session = await run_in_threadpool(current_session, request, request.state["services"])
    if session is None:
        return JSONResponse(None)
    return JSONResponse({"sid": session.sid, "user_id": session.user_id, "acr": session.acr,
                         "amr": list(session.amr), "auth_time": session.auth_time,
                         "second_factor_at": session.second_factor_at})


@contextmanager
def serve(tmp_path: Path, **sections: dict[str, object]) -> Iterator[Site]:
    """The whole application on a free loopback port, with two test-only routes."""
    settings, port = loopback_settings(tmp_path, **sections)
    services = build_services(settings)
    events: list[AuditEvent] = []
    services.audit.listeners.append(events.append)
    app = create_app(settings, services)
    app.router.routes.extend([Route("/test/start", _test_start),
                              Route("/test/whoami", _test_whoami)])
    try:
        with live_server(app, port=port) as base:
            outbox = Outbox(Path(str(settings.delivery.transports["outbox"]["path"])))
            yield Site(base, settings, services, outbox, events)
    finally:
        services.close()


@dataclass
class HttpBrowser:
    site: Site
    http: httpx.Client
    page: httpx.Response | None = None

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **params: str) -> httpx.Response:
        self.page = self.http.get(path, params=params or None)
        return self.page

    def go(self, path: str, **params: str) -> httpx.Response:
        """GET and follow redirects within the sign-in (never to the resume target)."""
        response = self.get(path, **params)
        return self.follow(response)

    def follow(self, response: httpx.Response) -> httpx.Response:
        while response.status_code == 303 and response.headers["location"].startswith(
            ("/login", "/test/")
        ):
            response = self.http.get(response.headers["location"])
        self.page = response
        return response

    def submit(self, action: str, *, follow: bool = True, **values: str) -> httpx.Response:
        """Fill the form of the current page that posts to ``action`` and send it."""
        assert self.page is not None, "no page yet"
        found = form(self.page.text, action)
        data = {**found.hidden, **values}
        response = self.http.post(action, data=data)
        return self.follow(response) if follow else response

    def whoami(self) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self.http.get("/test/whoami").json()
        return result

    def cookie_names(self) -> set[str]:
        return {cookie.name for cookie in self.http.cookies.jar}

    def set_cookie(self, name: str, value: str) -> None:
        """Put a cookie into this browser as the server would have (host-only)."""
        self.http.cookies.delete(name)
        self.http.cookies.set(name, value, domain="127.0.0.1", path="/")

    def csrf(self, purpose: str) -> str:
        """The CSRF token this browser's pages carry for ``purpose`` (computed by the real
        ``Csrf`` from this browser's cookie, as a page of that form would)."""
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies.jar)
        scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"",
                 "headers": [(b"cookie", cookie.encode())]}
        return Csrf(self.site.settings).token(Request(scope), purpose)

    def trust_cookies(self) -> dict[str, str]:
        return {c.name: c.value or "" for c in self.http.cookies.jar
                if c.name.startswith("nidan_tb_")}


# -- people ------------------------------------------------------------------------------------


@dataclass
class Enrolled:
    user: User
    email: str
    app: Authenticator | None = None
    phone: str | None = None  # E.164 of the phone method
    recovery_codes: tuple[str, ...] = ()


def create_user(services: Services, email: str, *, locale: str = "en") -> User:
    return services.accounts.create(email, display_name="Test Seller", locale=locale,
                                    password=PASSWORD)


def enroll(services: Services, outbox: Outbox, user: User, *, primary: tuple[str, str] = (
        "totp", ""), backup: tuple[str, str] = ("sms", MOBILE)) -> Enrolled:
    """Set a person up through the methods layer with real codes (set-up for tests that are
    about something else; the journey's own enrollment is tested over HTTP)."""
    person = Enrolled(user, user.email)
    mu = MethodUser(id=user.id, email=user.email, locale=user.locale)
    methods = services.methods
    codes: tuple[str, ...] = ()
    steps: tuple[tuple[Role, tuple[str, str]], ...] = (("primary", primary), ("backup", backup))
    for role, (method_id, phone) in steps:
        form_data: Mapping[str, str] = {"phone": phone} if phone else {}
        pending = methods.begin_enrollment(mu, role, method_id, form_data)
        if method_id == "totp":
            person.app = Authenticator(pending.display["secret_grouped"].replace(" ", ""))
            code = person.app.code()
        else:
            person.phone = outbox.latest_to_any()
            code = outbox.code(person.phone)
        result = methods.complete_enrollment(mu, role, {"code": code})
        codes = codes or result.recovery_codes
    person.recovery_codes = codes
    person.user = services.accounts.get(user.id) or user
    return person
