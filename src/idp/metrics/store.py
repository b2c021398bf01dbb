"""A Store that times every operation and counts its failures, around the real one.

Built from the contract itself (every abstract method of :class:`idp.store.Store`), so a
method added to the contract is measured without a change here. Anything else (a backend's
own attributes) passes straight through.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from idp.metrics import tracing
from idp.metrics.instruments import Instruments
from idp.store import Store, StoreError

__all__ = ["instrumented_store"]


def _timed(name: str) -> Callable[..., Any]:
    def method(self: _Instrumented, *args: Any, **kwargs: Any) -> Any:
        if tracing.active():
            with tracing.store_span(self._backend, name):
                return self._measured(name, *args, **kwargs)
        return self._measured(name, *args, **kwargs)

    method.__name__ = name
    return method


class _Instrumented(Store):
    _inner: Store
    _backend: str
    _durations: dict[str, Any] | None
    _errors: dict[str, Any] | None

    def _measured(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._durations is None or self._errors is None:
            return getattr(self._inner, name)(*args, **kwargs)
        started = time.perf_counter()
        try:
            return getattr(self._inner, name)(*args, **kwargs)
        except StoreError:
            self._errors[name].inc()
            raise
        finally:
            self._durations[name].observe(time.perf_counter() - started)

    def __getattr__(self, name: str) -> Any:  # only for what the contract does not define
        return getattr(self._inner, name)

    def close(self) -> None:
        self._inner.close()


_OPERATIONS = sorted(name for name in Store.__abstractmethods__ if name != "close")
for _name in _OPERATIONS:
    setattr(_Instrumented, _name, _timed(_name))
_Instrumented.__abstractmethods__ = frozenset()


def instrumented_store(store: Store, metrics: Instruments | None, backend: str) -> Store:
    """``store``, measured as ``backend`` (sqlite, redis, ...) when ``metrics`` are given,
    traced when tracing is on. Label children are made once."""
    if isinstance(store, _Instrumented):
        return store
    wrapped: _Instrumented = object.__new__(_Instrumented)  # type: ignore[type-abstract]
    wrapped._inner = store
    wrapped._backend = backend
    wrapped._durations = wrapped._errors = None
    if metrics is not None:
        wrapped._durations = {name: metrics.store_duration.labels(backend, name)
                              for name in _OPERATIONS}
        wrapped._errors = {name: metrics.store_errors.labels(backend, name)
                           for name in _OPERATIONS}
    return wrapped
