"""Prometheus metrics: what an operator watches without reading logs.

Workers count into prometheus-client's multiprocess files; the supervising ``idp serve``
process serves their exact sum on a listener of its own (:mod:`idp.metrics.exporter`).
Nearly every count comes from one place, the audit events (:mod:`idp.metrics.events`, a
hook in :mod:`idp.observability`); the rest from a few explicit calls: the HTTP middleware
(:mod:`idp.metrics.http`), the store wrapper (:mod:`idp.metrics.store`), password
verification (:func:`observe_password_verify`) and gauges read from the store now and then
(:mod:`idp.metrics.gauges`).

This module imports nothing of prometheus-client until :func:`enable` runs: the supervisor
must set ``PROMETHEUS_MULTIPROC_DIR`` first. Until then every call here costs one check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idp.metrics import tracing

if TYPE_CHECKING:
    from collections.abc import Callable

    from idp.metrics.events import Labels
    from idp.metrics.instruments import Instruments
    from idp.settings import Settings
    from idp.store import Store

__all__ = [
    "bind_clients",
    "current",
    "enable",
    "labels",
    "measured_store",
    "observe_password_verify",
]

_instruments: Instruments | None = None
_labels: Labels | None = None


def enable(settings: Settings) -> Instruments:
    """Create this process's metrics (once) and start counting audit events."""
    global _instruments, _labels
    from idp.metrics.events import AuditCounter, Labels, build_info
    from idp.metrics.instruments import Instruments
    from idp.observability import AUDIT_HOOKS

    if _instruments is None:
        _instruments = Instruments()
    _labels = Labels(settings)
    build_info(_instruments, settings)
    AUDIT_HOOKS[:] = [hook for hook in AUDIT_HOOKS if not isinstance(hook, AuditCounter)]
    AUDIT_HOOKS.append(AuditCounter(_instruments, _labels))
    return _instruments


def current() -> Instruments | None:
    """This process's metrics, or ``None`` when they are off."""
    return _instruments


def labels() -> Labels | None:
    return _labels


def observe_password_verify(seconds: float) -> None:
    if _instruments is not None:
        _instruments.password_verify.observe(seconds)
    if tracing.active():
        tracing.record_span("password verify", seconds)


def measured_store(store: Store, settings: Settings) -> Store:
    """``store`` timed and counted per operation (and traced), when metrics or traces are on."""
    if _instruments is None and not tracing.active():
        return store
    from idp.metrics.events import store_backend
    from idp.metrics.store import instrumented_store

    return instrumented_store(store, _instruments, store_backend(settings))


def bind_clients(exists: Callable[[str], bool]) -> None:
    """Tell the client label which client ids are registered (others are ``other``)."""
    if _labels is not None:
        _labels.bind_clients(exists)
