"""The Store's atomicity under real contention, on every backend: many threads on one store,
then several OS processes each with its own store opened from the URL.

A barrier releases all callers at once, so each race is real rather than sequential.
"""

from __future__ import annotations

from idp.store import Store
from tests.races import race
from tests.store import _workers
from tests.store.conftest import Backend, Workers

RACERS = 32
COUNTING_THREADS = 8
INCREMENTS = 200
CAS_THREADS = 8
CAS_INCREMENTS = 25


def test_add_has_exactly_one_winner(store: Store) -> None:
    results = race(RACERS, lambda i: store.add("once", f"racer-{i}".encode()))
    assert results.count(True) == 1
    winner = results.index(True)
    assert store.get("once") == f"racer-{winner}".encode()


def test_take_gives_the_value_to_exactly_one(store: Store) -> None:
    store.set("code", b"secret-value")
    results = race(RACERS, lambda i: store.take("code"))
    assert [r for r in results if r is not None] == [b"secret-value"]
    assert store.get("code") is None


def test_cas_lets_exactly_one_writer_win(store: Store) -> None:
    store.set("state", b"v0")
    results = race(RACERS, lambda i: store.cas("state", b"v0", f"racer-{i}".encode()))
    assert results.count(True) == 1
    assert store.get("state") == f"racer-{results.index(True)}".encode()


def test_cas_from_absent_lets_exactly_one_writer_win(store: Store) -> None:
    results = race(RACERS, lambda i: store.cas("fresh", None, f"racer-{i}".encode()))
    assert results.count(True) == 1
    assert store.get("fresh") == f"racer-{results.index(True)}".encode()


def test_incr_never_loses_a_count(store: Store) -> None:
    results = race(
        COUNTING_THREADS, lambda i: [store.incr("hits", ttl=600) for _ in range(INCREMENTS)]
    )
    seen = [value for values in results for value in values]
    total = COUNTING_THREADS * INCREMENTS
    # Every increment returned a different value: none was lost or applied twice.
    assert sorted(seen) == list(range(1, total + 1))
    assert store.get("hits") == str(total).encode()


def test_cas_loops_never_lose_an_update(store: Store) -> None:
    """Read-modify-write through cas, as the callers do: no update is lost."""
    store.set("counter", b"0")

    def bump(_: int) -> int:
        conflicts = 0
        for _ in range(CAS_INCREMENTS):
            while True:
                current = store.get("counter")
                assert current is not None
                if store.cas("counter", current, str(int(current) + 1).encode()):
                    break
                conflicts += 1
        return conflicts

    race(CAS_THREADS, bump)
    assert store.get("counter") == str(CAS_THREADS * CAS_INCREMENTS).encode()


def test_processes_race_with_their_own_stores(
    backend: Backend, prefix: str, workers: Workers
) -> None:
    keys = _workers.RaceKeys(add="add", take="take", cas="cas", incr="incr")
    with backend.open(prefix) as store:
        store.set(keys.take, b"the-value")
        store.set(keys.cas, b"start")
        workers.barrier.reset()
        pending = [
            workers.pool.apply_async(
                _workers.race, (backend.url, prefix, keys, f"worker-{i}".encode())
            )
            for i in range(_workers.PROCESSES)
        ]
        results = [p.get(timeout=120) for p in pending]

        # The barrier only opens when every worker waits at it: they were distinct processes.
        assert len({r.pid for r in results}) == _workers.PROCESSES
        added = [r.added for r in results]
        assert added.count(True) == 1
        assert store.get(keys.add) == f"worker-{added.index(True)}".encode()
        assert [r.taken for r in results if r.taken is not None] == [b"the-value"]
        cas_winners = [r for r in results if r.cas_won]
        assert len(cas_winners) == 1
        assert store.get(keys.cas) == f"worker-{results.index(cas_winners[0])}".encode()
        counts = sorted(c for r in results for c in r.counts)
        total = _workers.PROCESSES * _workers.INCREMENTS
        assert counts == list(range(1, total + 1))
        assert store.get(keys.incr) == str(total).encode()
        assert store.get(keys.take) is None
