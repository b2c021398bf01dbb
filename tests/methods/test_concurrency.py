"""Fifty requests with the same right code, spread over several replicas (each its own
MethodService and store connection), get exactly one success: on SQLite and on a real
redis-server (BEHAVIOUR S5: single use; DESIGN: "refuses it twice through store.add")."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest

from idp.methods import MethodError
from idp.methods.service import MethodService
from idp.settings import StoreSettings
from idp.store import Store, open_store
from tests.methods.helpers import World
from tests.redis_servers import RedisStandalone

THREADS = 50
REPLICAS = 5


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisStandalone]:
    with RedisStandalone() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/shared.sqlite3"
    server: RedisStandalone = request.getfixturevalue("redis_server")
    return server.url


class Replicas:
    """``REPLICAS`` services over one backend, as separate processes would have."""

    def __init__(self, tmp_path: Path, url: str, tries: int) -> None:
        prefix = f"t{uuid.uuid4().hex[:10]}:"
        self.stores: list[Store] = [
            open_store(StoreSettings(url=url, prefix=prefix)) for _ in range(REPLICAS)
        ]
        self.world = World(tmp_path, store=self.stores[0], limits={"code_tries": tries})
        self.services: list[MethodService] = [self.world.service] + [
            MethodService.from_settings(
                self.world.settings, store, audit=self.world.audit,
                delivery=self.world.delivery, clock=self.world.now,
            )
            for store in self.stores[1:]
        ]

    def race(self, attempt: Callable[[MethodService], object]) -> list[str]:
        """Run ``attempt`` in THREADS threads at once; returns "ok" or each error code."""
        barrier = threading.Barrier(THREADS)

        def one(index: int) -> str:
            service = self.services[index % REPLICAS]
            barrier.wait()
            try:
                attempt(service)
            except MethodError as exc:
                return exc.code
            return "ok"

        with ThreadPoolExecutor(THREADS) as pool:
            return list(pool.map(one, range(THREADS)))

    def close(self) -> None:
        self.world.close()
        for store in self.stores[1:]:
            store.close()


@pytest.fixture(params=[5, 100], ids=["default-tries", "every-thread-checks"])
def replicas(request: pytest.FixtureRequest, tmp_path: Path, store_url: str) -> Iterator[Replicas]:
    # With the default 5 tries only five threads reach the check; with 100, all fifty race
    # on the single-use mark itself.
    with closing(Replicas(tmp_path, store_url, tries=request.param)) as built:
        yield built


def test_fifty_threads_one_totp_code(replicas: Replicas) -> None:
    # covers S5 (TOTP never twice)
    world = replicas.world
    user = world.user()
    secret = world.enroll_both(user)
    code = world.totp_code(secret)
    outcomes = replicas.race(lambda service: service.verify(user, "primary", {"code": code}))
    assert outcomes.count("ok") == 1
    assert set(outcomes) - {"ok"} <= {"wrong_code", "too_many_tries"}
    succeeded = world.events_named("method.verify.succeeded")
    assert len(succeeded) == 1


def test_fifty_threads_one_sms_code(replicas: Replicas) -> None:
    # covers S5 (SMS codes single use)
    world = replicas.world
    user = world.user()
    world.enroll_both(user)
    world.service.send_challenge(user, "backup")
    code = world.last_code()
    outcomes = replicas.race(lambda service: service.verify(user, "backup", {"code": code}))
    assert outcomes.count("ok") == 1
    assert set(outcomes) - {"ok"} <= {"wrong_code", "code_expired", "too_many_tries"}
    assert len(world.events_named("method.verify.succeeded")) == 1
