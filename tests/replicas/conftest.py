"""Fixtures of the multi-replica tests: a deployment on standalone Redis and one on Sentinel,
each made once per module (starting six worker processes is the slow part)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_servers import RedisSentinelSet, RedisStandalone
from tests.replicas.deployment import Deployment, deployment


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("standalone")
    with RedisStandalone() as server, deployment("standalone", tmp, server.url) as dep:
        dep.add_client("rp")
        yield dep


@pytest.fixture(scope="module")
def sentinels() -> Iterator[RedisSentinelSet]:
    with RedisSentinelSet() as sentinel_set:
        yield sentinel_set


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory,
             sentinels: RedisSentinelSet) -> Iterator[Deployment]:
    with deployment("sentinel", tmp_path_factory.mktemp("sentinel"), sentinels.url) as dep:
        dep.add_client("rp")
        yield dep
