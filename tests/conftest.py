"""Fixtures shared by every test directory: settings, a real SQLite store, services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from idp.services import Services, build_services
from idp.settings import Settings, load_settings
from idp.store import Store
from idp.store.sqlite import SqliteStore
from tests.redis_servers import free_port

# Cheap argon2 parameters keep the suite fast; production defaults are tested on their own.
FAST_PASSWORDS = {"argon2_time_cost": 1, "argon2_memory_kib": 8192, "argon2_parallelism": 1}
TEST_DATA_KEY = "test1:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="  # 32 bytes, base64


def make_settings(tmp_path: Path, **sections: dict[str, object]) -> Settings:
    """Settings for a test: SQLite in tmp_path, fast hashing, fixed keys, then ``sections``."""
    base: dict[str, dict[str, object]] = {
        "store": {"url": f"sqlite:///{tmp_path}/idp.sqlite3"},
        "passwords": dict(FAST_PASSWORDS),
        "secrets": {"data_keys": [TEST_DATA_KEY], "cookie_keys": ["test-cookie-key-0123456789"]},
        # The outbox is how tests read codes; outside dev mode it needs the explicit override.
        "delivery": {"allow_outbox": True,
                     "transports": {"outbox": {"path": str(tmp_path / "outbox.jsonl")}}},
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    return load_settings(empty, **base)


def loopback_settings(tmp_path: Path, **sections: dict[str, object]) -> tuple[Settings, int]:
    """:func:`make_settings` for an app served on a free loopback port whose issuer is that
    very address (as in dev), and the port."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = {"issuer": f"http://127.0.0.1:{port}", **sections.pop("server", {})}
    return make_settings(tmp_path, server=server, **sections), port


@pytest.fixture(autouse=True)
def _no_idp_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never inherit the developer's IDP_* variables."""
    import os

    for name in list(os.environ):
        if name.startswith("IDP_"):
            monkeypatch.delenv(name)


@pytest.fixture
def agent() -> Iterator[httpx.Client]:
    """A browser-like client: keeps cookies, follows no redirect by itself."""
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with SqliteStore.open(tmp_path / "store.sqlite3") as opened:
        yield opened


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    with closing(build_services(settings)) as built:
        yield built
