"""Fixtures of the provider's tests: a live provider (``env``); the browser-like ``agent``
comes from tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.oidc.helpers import Env, add_client, provider_env


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    """A provider on loopback with one confidential client, ``rp`` (no consent page)."""
    with provider_env(tmp_path) as running:
        add_client(running)
        yield running



# Debian's Chromium for the one real-browser test here (TOOLING "Real browser tests"):
# the same flags as tests/browser, never a browser Playwright downloads.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}
