"""Fixtures of the sign-in tests: the whole application on a real loopback server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.login.helpers import Enrolled, HttpBrowser, Site, create_user, enroll, serve


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with serve(tmp_path) as running:
        yield running


@pytest.fixture
def visitor(site: Site) -> Iterator[HttpBrowser]:
    with closing(site.browser()) as opened:
        yield opened


@pytest.fixture
def person(site: Site) -> Enrolled:
    """An enrolled person: authenticator app primary, SMS backup."""
    return enroll(site.services, site.outbox, create_user(site.services, "seller@example.com"))
