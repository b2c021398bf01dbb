"""The whole Nidan application on a real loopback port, for the browser to talk to.

One server is shared by every browser test of a run (``nidan`` fixture, session scope): a
Chromium launch and a server start are paid once, and journeys stay independent because each
creates its own users and phone numbers (:mod:`tests.browser.people`). A journey that needs
other settings starts its own server with :func:`serve_nidan` and ``**sections``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from idp.app import create_app
from idp.services import Services, build_services
from idp.settings import Settings
from tests.conftest import make_settings
from tests.live_server import free_port, live_server

__all__ = ["BROWSER_LIMITS", "LiveNidan", "serve_nidan"]

# Every browser test reaches the shared server from 127.0.0.1, so a per-IP limit meant for
# one attacker (DESIGN "Limits": 30 passwords a minute per IP) would be hit by a full run of
# honest journeys. Per-account limits, codes and resend cooldowns keep their defaults: the
# journeys are about those. A journey about the per-IP limit starts its own server.
BROWSER_LIMITS: Final[dict[str, object]] = {"password_per_ip_per_minute": 100_000}


@dataclass(frozen=True)
class LiveNidan:
    """A running Nidan: ``base_url`` (= the issuer), its ``settings`` and the very
    ``services`` the server uses (one store: what a test writes, the server reads)."""

    base_url: str
    settings: Settings
    services: Services

    @property
    def outbox_path(self) -> Path:
        """The outbox file where every SMS and voice call of this server is written."""
        return Path(str(self.settings.delivery.transports["outbox"]["path"]))

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` (which starts with ``/``) on this server."""
        if not path.startswith("/"):
            raise ValueError(f"expected a path starting with '/', got {path!r}")
        return self.base_url + path


def _settings(directory: Path, port: int, sections: dict[str, dict[str, Any]]) -> Settings:
    server = {"issuer": f"http://127.0.0.1:{port}", "port": port, "dev": True,
              **sections.pop("server", {})}
    limits = {**BROWSER_LIMITS, **sections.pop("limits", {})}
    # Settings read IDP_* variables. The root conftest removes them for each test, but a
    # session-scoped server is built before any test's fixtures: remove them here as well.
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("IDP_"):
                patch.delenv(name)
        return make_settings(directory, server=server, limits=limits, **sections)


@contextmanager
def serve_nidan(directory: Path, **sections: dict[str, Any]) -> Iterator[LiveNidan]:
    """Serve ``create_app(settings, services)`` on ``http://127.0.0.1:<free port>`` until the
    block ends.

    Settings are the test defaults (:func:`tests.conftest.make_settings`: SQLite and the
    outbox in ``directory``, fast argon2, fixed keys), then dev mode (so ``/dev/outbox``
    exists), the issuer equal to the server's own address (cookies and the CSRF origin
    check see the URL the browser uses), :data:`BROWSER_LIMITS`, then ``sections``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    settings = _settings(directory, port, dict(sections))
    with (
        closing(build_services(settings)) as services,
        live_server(create_app(settings, services), port=port) as base_url,
    ):
        if base_url != settings.server.issuer:  # would break cookies and origin checks
            raise RuntimeError(f"server at {base_url}, issuer {settings.server.issuer}")
        yield LiveNidan(base_url=base_url, settings=settings, services=services)
