"""The settings pages served for real: the whole app on a loopback port, a seller with an
authenticator app and an SMS backup, and browsers (httpx clients with their own cookies)."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from idp.app import create_app
from idp.delivery.outbox import read_outbox
from idp.observability import AuditEvent
from idp.services import Services, build_services
from idp.sessions import SsoSession
from idp.settings import Settings
from idp.users import User, method_user
from idp_totp import totp_at
from tests.account.forms import Form, form_for
from tests.conftest import loopback_settings
from tests.live_server import live_server

# The seller of the seeds: an authenticator app as primary, SMS to a mobile as backup.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 160 bits, as apps use for SHA-1
PHONE = "+819012345678"
PHONE_MASKED_DIGITS = "5678"
PASSWORD = "correct horse battery staple"
SELLER_EMAIL = "seller@example.com"

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
FIREFOX_UBUNTU = (
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
)


@dataclass
class Site:
    base: str
    settings: Settings
    services: Services
    outbox: Path
    events: list[AuditEvent] = field(default_factory=list)
    # (secret, RFC 6238 step) already given to the server: each is accepted once (S5).
    used_steps: set[tuple[str, int]] = field(default_factory=set)

    def events_named(self, name: str) -> list[AuditEvent]:
        return [event for event in self.events if event["event"] == name]

    def last_code(self, to: str) -> str:
        """The code in the newest text message to ``to``, as the person reads it."""
        messages = read_outbox(self.outbox, to=to)
        assert messages, f"nothing was sent to {to}"
        found = re.search(r"(?<![0-9])[0-9]{6}(?![0-9])", messages[0]["text"])
        assert found, "the message carries no 6-digit code"
        return found.group(0)

    def sent_to(self, to: str) -> int:
        return len(read_outbox(self.outbox, to=to, limit=1000))

    def user(self, email: str = SELLER_EMAIL) -> User:
        return self.services.accounts.require(email)

    def session_of(self, browser: HttpBrowser) -> SsoSession | None:
        """The live SSO session behind the browser's cookie, read from the store."""
        token = browser.http.cookies.get(self.services.sessions.cookie_name)

        def epoch(user_id: str) -> int | None:
            user = self.services.accounts.get(user_id)
            return None if user is None else user.security_epoch

        return self.services.sessions.current(token, user_epoch=epoch)

    def age_second_factor(self, browser: HttpBrowser, seconds: float) -> None:
        """Time travel for C2: the last code of the browser's session was entered
        ``seconds`` ago."""
        session = self.session_of(browser)
        assert session is not None
        self.services.sessions.update(session, second_factor_at=time.time() - seconds)

    def methods(self, email: str = SELLER_EMAIL) -> dict[str, Any]:
        """role -> (method id, description) as stored now."""
        views = self.services.methods.credentials(method_user(self.user(email), "en"))
        return {role: (view.method, view.description) for role, view in views.items()}


@contextmanager
def serve(tmp_path: Path, **sections: dict[str, object]) -> Iterator[Site]:
    """The whole application on a free loopback port, its issuer that very address."""
    settings, port = loopback_settings(tmp_path, **sections)
    services = build_services(settings)
    site = Site("", settings, services, tmp_path / "outbox.jsonl")
    services.audit.listeners.append(site.events.append)
    try:
        with live_server(create_app(settings, services), port=port) as base:
            site.base = base
            yield site
    finally:
        services.close()


def create_seller(
    site: Site, email: str = SELLER_EMAIL, *, locale: str = "ja", phone: str = PHONE
) -> User:
    """A seller moved here with their app and phone (A2): primary TOTP, backup SMS."""
    user = site.services.accounts.create(email, password=PASSWORD, locale=locale,
                                         display_name="Seller")
    site.services.methods.import_credentials(
        method_user(user),
        [("totp", "primary", {"secret": TOTP_SECRET}), ("sms", "backup", {"phone": phone})],
    )
    # The import bumped the security epoch (C4): hand back the user as stored now.
    return site.user(email)


def totp_now(secret: str = TOTP_SECRET, at: float | None = None) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return totp_at(key, time.time() if at is None else at)


class HttpBrowser:
    """One browser: its own cookie jar, User-Agent and language. Redirects are followed
    by hand (``follow``) so tests can look at each hop."""

    def __init__(self, site: Site, *, user_agent: str = CHROME_WINDOWS,
                 language: str = "en") -> None:
        self.site = site
        self.http = httpx.Client(
            base_url=site.base,
            headers={"User-Agent": user_agent, "Accept-Language": language},
            follow_redirects=False,
            timeout=30,
        )

    def close(self) -> None:
        self.http.close()

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def follow(self, response: httpx.Response, limit: int = 10) -> httpx.Response:
        """Follow 303/302 redirects with GET, as a browser does."""
        for _ in range(limit):
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            response = self.http.get(response.headers["location"])
        raise AssertionError("too many redirects")

    def submit(
        self, page: httpx.Response, action: str, fields: dict[str, str] | None = None,
        *, form: Form | None = None,
    ) -> httpx.Response:
        """Submit the form of ``page`` that posts to ``action`` with its hidden fields and
        defaults, plus ``fields``; ``Origin`` is our own, as a browser sends it."""
        chosen = form or form_for(page.text, action)
        data = {**chosen.fields, **(fields or {})}
        return self.http.post(chosen.action or str(page.url.path), data=data,
                              headers={"Origin": self.site.base})
