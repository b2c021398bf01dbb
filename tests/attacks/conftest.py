"""Shared deployments for the attack tests: ``idp serve`` with two workers on SQLite and on
Redis (standalone), started once per run; every test makes its own people and clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.attacks._servers import Served, served
from tests.redis_servers import RedisStandalone


@pytest.fixture(scope="session")
def sqlite_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("served-sqlite")
    with served(directory, f"sqlite:///{directory}/idp.sqlite3") as running:
        yield running


@pytest.fixture(scope="session")
def redis_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("served-redis")
    with RedisStandalone() as redis, served(directory, redis.url) as running:
        yield running


@pytest.fixture(params=["sqlite", "redis"])
def deployment(request: pytest.FixtureRequest) -> Served:
    """Each test runs against both deployments."""
    running: Served = request.getfixturevalue(f"{request.param}_served")
    running.mark()
    return running


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path
