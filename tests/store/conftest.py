"""Fixtures for the store contract suite.

Each backend kind is started once per session (real ``redis-server`` processes on loopback
ports, a real SQLite file); every test gets a fresh key prefix, so tests never see each
other's keys and nothing needs flushing. ``store`` is parametrised over the four backends
with the ids ``sqlite``, ``redis``, ``sentinel`` and ``cluster``.
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any, TypeVar

import pytest

from idp.settings import StoreSettings
from idp.store import Store, open_store
from tests.redis_servers import (
    REDIS_SERVER_MISSING,
    RedisClusterSet,
    RedisSentinelSet,
    RedisServerMissing,
    RedisStandalone,
)
from tests.store import _workers

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
    pytest.param("sentinel", id="sentinel", marks=pytest.mark.redis),
    pytest.param("cluster", id="cluster", marks=pytest.mark.redis),
]

ServerT = TypeVar("ServerT", RedisStandalone, RedisSentinelSet, RedisClusterSet)


@dataclass(frozen=True)
class Backend:
    """A running backend: its name (the test id) and the store URL that reaches it."""

    name: str
    url: str

    def settings(self, prefix: str, **overrides: Any) -> StoreSettings:
        return StoreSettings(url=self.url, prefix=prefix, **overrides)

    def open(self, prefix: str, **overrides: Any) -> Store:
        return open_store(self.settings(prefix, **overrides))


def new_prefix() -> str:
    return f"test:{uuid.uuid4().hex[:12]}:"


@contextmanager
def running(servers: ServerT) -> Iterator[ServerT]:
    """Start ``servers``, stop them afterwards; a missing redis-server fails the test with
    one clear line (never a skip)."""
    try:
        servers.start()
        missing = False
    except RedisServerMissing:
        missing = True
    if missing:
        pytest.fail(REDIS_SERVER_MISSING, pytrace=False)
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture(scope="session")
def redis_standalone() -> Iterator[RedisStandalone]:
    with running(RedisStandalone()) as servers:
        yield servers


@pytest.fixture(scope="session")
def redis_sentinel() -> Iterator[RedisSentinelSet]:
    with running(RedisSentinelSet()) as servers:
        yield servers


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterSet]:
    with running(RedisClusterSet()) as servers:
        yield servers


@pytest.fixture(scope="session")
def sqlite_backend(tmp_path_factory: pytest.TempPathFactory) -> Backend:
    path: Path = tmp_path_factory.mktemp("store") / "store.sqlite3"
    # sqlite:/// + an absolute path gives the sqlite:////abs/path form.
    return Backend("sqlite", f"sqlite:///{path}")


@pytest.fixture(scope="session")
def redis_backend(redis_standalone: RedisStandalone) -> Backend:
    return Backend("redis", redis_standalone.url)


@pytest.fixture(scope="session")
def sentinel_backend(redis_sentinel: RedisSentinelSet) -> Backend:
    return Backend("sentinel", redis_sentinel.url)


@pytest.fixture(scope="session")
def cluster_backend(redis_cluster: RedisClusterSet) -> Backend:
    return Backend("cluster", redis_cluster.url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    found: Backend = request.getfixturevalue(f"{request.param}_backend")
    return found


@pytest.fixture
def prefix() -> str:
    return new_prefix()


@pytest.fixture
def store(backend: Backend, prefix: str) -> Iterator[Store]:
    with backend.open(prefix) as opened:
        yield opened


@dataclass(frozen=True)
class Workers:
    """Worker processes that share one barrier (see ``_workers``)."""

    pool: Pool
    barrier: Any  # multiprocessing.synchronize.Barrier


@pytest.fixture(scope="session")
def workers() -> Iterator[Workers]:
    """``_workers.PROCESSES`` spawned worker processes, started once per session.

    Spawn, not fork: each worker is a fresh interpreter that opens its own store from the URL,
    as another replica of the provider would.
    """
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(_workers.PROCESSES)
    pool = context.Pool(_workers.PROCESSES, initializer=_workers.init, initargs=(barrier,))
    try:
        yield Workers(pool, barrier)
    finally:
        pool.close()
        pool.join()
