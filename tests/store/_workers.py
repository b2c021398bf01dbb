"""What each worker process runs in the cross-process races (importable by spawned children).

Every worker opens its own store from the URL, then meets the others at a barrier before each
operation, so the operations really do run at the same moment in different processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from idp.settings import StoreSettings
from idp.store import open_store

PROCESSES = 4
INCREMENTS = 200
BARRIER_TIMEOUT_S = 60.0

_barrier: Any = None  # multiprocessing.synchronize.Barrier, set by init() in each worker


def init(barrier: Any) -> None:
    """Pool initializer: keep the barrier shared with the parent."""
    global _barrier
    _barrier = barrier


@dataclass(frozen=True)
class RaceKeys:
    add: str
    take: str
    cas: str
    incr: str


@dataclass(frozen=True)
class RaceResult:
    pid: int
    added: bool
    taken: bytes | None
    cas_won: bool
    counts: list[int]


def race(url: str, prefix: str, keys: RaceKeys, token: bytes) -> RaceResult:
    """Race the other workers on add, take, cas, then incr ``INCREMENTS`` times."""
    with open_store(StoreSettings(url=url, prefix=prefix)) as store:
        store.ping()  # connect first, so the race is between operations, not connections

        def together() -> None:
            _barrier.wait(BARRIER_TIMEOUT_S)

        together()
        added = store.add(keys.add, token)
        together()
        taken = store.take(keys.take)
        together()
        cas_won = store.cas(keys.cas, b"start", token)
        together()
        counts = [store.incr(keys.incr) for _ in range(INCREMENTS)]
    return RaceResult(os.getpid(), added, taken, cas_won, counts)
