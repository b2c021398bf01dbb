"""Fixtures for the trusted-browser tests: the service on the real SQLite store of
``services``, two real users, and the audit events emitted while a test runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from idp.devices import TrustedBrowsers
from idp.observability import AuditEvent
from idp.services import Services
from idp.settings import Settings
from idp.users import User
from tests.conftest import make_settings


@pytest.fixture
def devices(services: Services) -> TrustedBrowsers:
    return TrustedBrowsers(services.store, services.settings, services.audit)


@pytest.fixture
def events(services: Services) -> list[AuditEvent]:
    """Every audit event emitted through ``services.audit`` during the test."""
    seen: list[AuditEvent] = []
    services.audit.listeners.append(seen.append)
    return seen


@pytest.fixture
def alice(services: Services) -> User:
    return services.accounts.create("alice@example.com", password="correct horse battery")


@pytest.fixture
def bob(services: Services) -> User:
    return services.accounts.create("bob@example.com", password="correct horse battery")


@pytest.fixture
def devices_with(
    services: Services, tmp_path: Path
) -> Callable[..., TrustedBrowsers]:
    """Another TrustedBrowsers on the same store and audit, with other settings sections
    (other cookie keys, an https issuer, dev mode)."""

    def build(**sections: dict[str, object]) -> TrustedBrowsers:
        settings: Settings = make_settings(tmp_path, **sections)
        return TrustedBrowsers(services.store, settings, services.audit)

    return build
