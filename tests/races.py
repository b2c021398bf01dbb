"""Real races for the tests: callers in threads released together by a barrier, so each race
is real rather than sequential (the store, the methods, the sign-in machine, the accounts)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["race", "winners"]

T = TypeVar("T")
BARRIER_TIMEOUT_S = 30.0  # a caller that never arrives fails the race instead of hanging it


def race(threads: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(i)`` in ``threads`` threads released together; results in thread order."""
    barrier = threading.Barrier(threads, timeout=BARRIER_TIMEOUT_S)

    def run(index: int) -> T:
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(run, range(threads)))


def winners(threads: int, work: Callable[[int], object],
            refused: type[BaseException] | tuple[type[BaseException], ...]) -> list[bool]:
    """:func:`race` of calls that each succeed or raise ``refused``: which ones succeeded."""

    def attempt(index: int) -> bool:
        try:
            work(index)
        except refused:
            return False
        return True

    return race(threads, attempt)
