"""Fixtures of the multi-replica tests: a deployment on standalone Redis and one on Sentinel,
each made once (starting six worker processes is the slow part): the standalone one serves
test_shutdown.py and test_standalone.py, whose last test kills a replica."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_servers import RedisSentinelSet, RedisStandalone
from tests.replicas import scenarios
from tests.replicas.deployment import Deployment, deployment


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The figures the multi-replica tests measured (journeys, failover, shutdown)."""
    if scenarios.FIGURES:
        terminalreporter.section("multi-replica figures")
        for name, value in scenarios.FIGURES.items():
            terminalreporter.line(f"{name}: {value}")


@pytest.fixture(scope="package")
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
    # A write is confirmed once the replica has it: a failover loses nothing confirmed.
    tmp = tmp_path_factory.mktemp("sentinel")
    with deployment("sentinel", tmp, sentinels.url, store={"wait_replicas": 1}) as dep:
        dep.add_client("rp")
        yield dep
