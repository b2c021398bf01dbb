"""Three replicas on one standalone Redis (DESIGN "Running": any replica serves any step)."""

from __future__ import annotations

import pytest

from tests.replicas import scenarios
from tests.replicas.deployment import Deployment

pytestmark = [pytest.mark.slow, pytest.mark.redis]


def test_a_journey_hops_replicas_at_every_request(standalone: Deployment) -> None:
    scenarios.journey_hopping_replicas(standalone)


def test_a_trusted_browser_removed_on_one_replica_is_refused_by_the_others(
        standalone: Deployment) -> None:
    scenarios.trusted_browser_removed_on_one_is_refused_by_all(standalone)


def test_a_key_rotation_on_one_replica_is_served_and_verified_by_all(
        standalone: Deployment) -> None:
    scenarios.key_rotation_on_one_is_served_and_verified_by_all(standalone)


def test_forwarded_for_is_believed_only_from_trusted_proxies(standalone: Deployment) -> None:
    scenarios.forwarded_for_is_believed_only_from_trusted_proxies(standalone)


def test_per_ip_limits_count_each_client_behind_the_balancer(standalone: Deployment) -> None:
    scenarios.per_ip_limits_use_each_clients_own_address(standalone)


def test_kill_9_of_a_replica_mid_journey_the_person_goes_on(standalone: Deployment) -> None:
    """Last in the module: one replica stays dead."""
    scenarios.replica_killed_mid_journey(standalone)
