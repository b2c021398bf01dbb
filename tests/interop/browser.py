"""The person's part of an interop test: follow an authorization URL through the provider's
real sign-in pages (password, then a TOTP code computed from the imported secret) until the
provider sends the browser back to the client, remembering which pages asked for what.

Built from the blocks of ``tests.oidc.helpers.journey``; the difference is the record of the
pages, so a test can say "the password was asked" or "no code was asked" (trusted browser)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from tests.oidc.helpers import PASSWORD, Env, form_with, fresh_totp, query_of

MAX_HOPS = 12


@dataclass
class Visit:
    """Where the browser ended (``response``: the redirect out of the provider, or the page it
    stopped on) and the sign-in pages it filled in, in order."""

    response: httpx.Response
    pages: list[str] = field(default_factory=list)

    @property
    def location(self) -> str:
        assert self.response.status_code == 303, (self.response.status_code,
                                                  self.response.text[:500])
        location: str = self.response.headers["location"]
        return location

    def back_to(self, redirect_uri: str) -> str:
        """The callback URL the provider sent the browser to (must be ``redirect_uri``)."""
        location = self.location
        assert location.startswith(redirect_uri + "?"), location
        assert "code" in query_of(location), location
        return location


def visit(env: Env, http: httpx.Client, url: str, email: str, *,
          trust: bool = False) -> Visit:
    """Open ``url`` (an authorization request) and sign in as ``email`` wherever asked."""
    seen = Visit(http.get(url))
    for _ in range(MAX_HOPS):
        response = seen.response
        if response.status_code != 303:
            return seen
        location = response.headers["location"]
        if not location.startswith("/"):
            return seen  # leaving the provider: back to the client
        page = http.get(env.url(location))
        path = urlsplit(location).path
        if page.status_code == 303:
            seen.response = page
            continue
        assert page.status_code == 200, (path, page.status_code, page.text[:300])
        if path == "/login":
            fields = form_with(page.text, "/login")
            assert "password" in fields, "the sign-in page asks no password"
            fields.update(email=email, password=PASSWORD)
            seen.pages.append(path)
            seen.response = http.post(env.url("/login"), data=fields)
        elif path == "/login/code":
            fields = form_with(page.text, "/login/code")
            fields["code"] = fresh_totp(env.used_steps)
            if trust:
                fields["trust"] = "1"
            seen.pages.append(path)
            seen.response = http.post(env.url("/login/code"), data=fields)
        else:
            seen.response = page
            return seen
    raise AssertionError(f"the sign-in did not end (pages so far: {seen.pages})")
