"""Three replicas on Redis Sentinel (a master, a replica, three sentinels), and a failover in
the middle of 50 concurrent sign-ins."""

from __future__ import annotations

import time

import pytest

from idp.login import ACR_2SV
from tests.redis_servers import RedisSentinelSet
from tests.replicas import scenarios
from tests.replicas.deployment import Deployment

pytestmark = [pytest.mark.slow, pytest.mark.redis]


def test_a_journey_hops_replicas_at_every_request(sentinel: Deployment) -> None:
    scenarios.journey_hopping_replicas(sentinel)


def test_a_trusted_browser_removed_on_one_replica_is_refused_by_the_others(
        sentinel: Deployment) -> None:
    scenarios.trusted_browser_removed_on_one_is_refused_by_all(sentinel)


def test_a_failover_in_the_middle_of_50_sign_ins_loses_nothing_confirmed(
        sentinel: Deployment, sentinels: RedisSentinelSet) -> None:
    old_master = sentinels.master.port
    started = time.monotonic()
    # Generous: on a loaded machine the sentinels take longer to agree.
    crowd = scenarios.failover_mid_sign_ins(
        sentinel, lambda: sentinels.failover(timeout=90), people=50)
    elapsed = time.monotonic() - started
    assert sentinels.master.port != old_master
    # Nobody got in without the second factor, failover or not.
    assert crowd.attacker_codes == 0
    assert crowd.attackers_stopped == 5
    for _browser, tokens in crowd.completed.values():
        assert tokens.claims["acr"] == ACR_2SV
        assert {"pwd", "otp", "mfa"} <= set(tokens.claims["amr"])
    # Every honest sign-in got through (retrying or starting again at worst)...
    assert crowd.gave_up == [], crowd.restart_reasons
    assert len(crowd.completed) == 45
    # ...and what was confirmed to them survived the failover.
    lost = scenarios.nothing_confirmed_is_lost(sentinel, crowd)
    retried = sum(browser.retries for browser, _tokens in crowd.completed.values())
    scenarios.FIGURES.update({
        "failover: sign-ins completed": len(crowd.completed),
        "failover: requests retried": retried,
        "failover: sign-ins started again": crowd.restarted,
        "failover: why they started again": sorted(set(crowd.restart_reasons))[:3],
        "failover: attackers with only the password stopped": crowd.attackers_stopped,
        "failover: sign-ins lost": lost,
        "failover: 50 sign-ins took (s)": round(elapsed, 1),
    })
    scenarios.count("journeys", len(crowd.completed))
    assert lost == 0, scenarios.LOST_DETAILS[:5]


def test_kill_9_of_a_replica_mid_journey_the_person_goes_on(sentinel: Deployment) -> None:
    """Last in the module: one replica stays dead."""
    scenarios.replica_killed_mid_journey(sentinel)
