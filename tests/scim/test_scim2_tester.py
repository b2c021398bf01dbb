"""scim2-tester's ``check_server`` against /scim/v2 of a live provider (real HTTP on
loopback, a provisioning client's token from /token): every check it runs must pass."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from scim2_tester import check_server
from scim2_tester.utils import Status

from tests.oidc.helpers import Env, provider_env
from tests.scim.client import HttpxSCIMClient
from tests.scim.helpers import add_provisioner, scim_http, token


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with provider_env(tmp_path_factory.mktemp("scim-tester")) as running:
        add_provisioner(running, "directory")
        yield running


def test_scim2_tester_check_server_passes_every_check(env: Env) -> None:
    with scim_http(env, token(env, "directory")) as http:
        results = check_server(HttpxSCIMClient(http))
    counts = Counter(result.status.name for result in results)
    print(f"\nscim2-tester: {len(results)} checks run: {dict(counts)}")
    failed = [f"{r.title} [{r.status.name}]: {r.reason}" for r in results
              if r.status is not Status.SUCCESS]
    assert len(results) >= 100, [r.title for r in results]
    assert failed == []
