"""Three replicas on one standalone Redis (DESIGN "Running": any replica serves any step)."""

from __future__ import annotations

import pytest

from tests.replicas import scenarios
from tests.replicas.deployment import Deployment

pytestmark = [pytest.mark.slow, pytest.mark.redis]


def test_a_journey_hops_replicas_at_every_request(standalone: Deployment) -> None:
    scenarios.journey_hopping_replicas(standalone)
