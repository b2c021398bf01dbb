"""Fixtures of the settings-page tests: the app on a real loopback server, a seller."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from idp.users import User
from tests.account.helpers import HttpBrowser, Site, create_seller, serve


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with serve(tmp_path / "site") as running:
        yield running


@pytest.fixture
def seller(site: Site) -> User:
    return create_seller(site)


@pytest.fixture
def desktop(site: Site) -> Iterator[HttpBrowser]:
    with closing(HttpBrowser(site)) as opened:
        yield opened
