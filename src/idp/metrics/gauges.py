"""Gauges read from the store now and then, by each worker (the exporter keeps the live
workers' maximum or minimum): pending back-channel logouts and signing-key expiry."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from starlette.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from idp.metrics.instruments import Instruments

__all__ = ["REFRESH_S", "refresh_gauges", "start_gauges", "stop_gauges"]

REFRESH_S = 15.0
log = logging.getLogger("idp.metrics")


class _KeyInfo(Protocol):
    @property
    def alg(self) -> str: ...
    @property
    def retires_at(self) -> float | None: ...


class _Keys(Protocol):
    def listing(self) -> Iterable[tuple[_KeyInfo, str]]: ...


class _Backchannel(Protocol):
    def pending(self) -> int: ...


class _Oidc(Protocol):
    @property
    def keys(self) -> _Keys: ...
    @property
    def backchannel(self) -> _Backchannel: ...


def refresh_gauges(metrics: Instruments, oidc: _Oidc) -> None:
    """Read both figures once (synchronous: the store is)."""
    metrics.backchannel_pending.set(oidc.backchannel.pending())
    ends: dict[str, float] = {}
    for info, state in oidc.keys.listing():
        if state in ("current", "next"):
            end = math.inf if info.retires_at is None else info.retires_at
            ends[info.alg] = max(ends.get(info.alg, -math.inf), end)
    for alg, end in ends.items():
        metrics.key_expiry.labels(alg).set(end)


async def _loop(metrics: Instruments, oidc: _Oidc) -> None:
    while True:
        # First read one period after start: start-up stays as it was (nothing loaded early).
        await asyncio.sleep(REFRESH_S)
        try:
            await run_in_threadpool(refresh_gauges, metrics, oidc)
        except Exception as exc:  # the store is away: the gauges keep their last value
            log.warning("metrics: gauges not refreshed: %s", type(exc).__name__)


def start_gauges(metrics: Instruments | None, oidc: _Oidc) -> asyncio.Task[None] | None:
    return None if metrics is None else asyncio.create_task(_loop(metrics, oidc))


async def stop_gauges(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
