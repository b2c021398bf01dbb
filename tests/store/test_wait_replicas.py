"""store.wait_replicas: a write is confirmed only once a replica has it (Redis WAIT on the
same connection). The failover it is for is shown in tests/replicas/test_sentinel.py."""

from __future__ import annotations

import pytest

from idp.settings import StoreSettings
from idp.store import StoreError, StoreUnavailable, open_store
from tests.store.conftest import Backend, new_prefix

pytestmark = pytest.mark.redis


def test_every_write_waits_for_the_replica_and_works(sentinel_backend: Backend) -> None:
    with sentinel_backend.open(new_prefix(), wait_replicas=1) as store:
        store.set("a", b"1", ttl=60)
        assert store.add("b", b"2", ttl=60)
        assert not store.add("b", b"3", ttl=60)
        assert store.take("b") == b"2"
        assert store.incr("n", 2, ttl=60) == 2
        assert store.cas("a", b"1", b"4", ttl=60)
        assert not store.cas("a", b"1", b"5", ttl=60)
        assert store.sadd("s", "x", "y", ttl=60) == 2
        assert store.srem("s", "x") == 1
        assert store.smembers("s") == {"y"}
        assert store.delete("a")
        assert store.get("a") is None


def test_without_a_replica_writes_fail_and_reads_go_on(redis_backend: Backend) -> None:
    prefix = new_prefix()
    with redis_backend.open(prefix) as plain:
        plain.set("kept", b"1", ttl=60)
    with redis_backend.open(prefix, wait_replicas=1, wait_timeout_ms=20, retries=1) as store:
        with pytest.raises(StoreUnavailable, match=r"store\.wait_replicas"):
            store.set("a", b"1", ttl=60)
        with pytest.raises(StoreUnavailable):
            store.add("b", b"1", ttl=60)
        assert store.get("kept") == b"1"


def test_not_for_cluster() -> None:
    settings = StoreSettings(url="redis+cluster://127.0.0.1:7000", wait_replicas=1)
    with pytest.raises(StoreError, match="not for Redis Cluster"):
        open_store(settings)
