"""The Store: the one place shared state lives.

A small synchronous contract with two real backends, chosen by URL: SQLite (embedded, one
machine) and Redis (standalone, Sentinel or Cluster). Every operation touches exactly one key,
so the same code runs unchanged on Redis Cluster. Keys are ``str``, values ``bytes``; callers
keep records as versioned JSON (:func:`dump_record` / :func:`load_record`).

TTLs are in seconds (float). ``ttl=None`` means the key never expires.
"""

from __future__ import annotations

import builtins
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from idp.settings import StoreSettings

__all__ = [
    "Store",
    "StoreError",
    "StoreUnavailable",
    "dump_record",
    "load_record",
    "open_store",
]


class StoreError(Exception):
    """The store could not do what was asked. The message names the problem, never a value."""


class StoreUnavailable(StoreError):
    """The backend could not be reached (after retries)."""


class Store(ABC):
    """The contract. Each method is atomic with respect to every other caller, in any thread,
    process or replica."""

    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """The value, or ``None`` if absent or expired."""

    @abstractmethod
    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Write ``value``, replacing any value and TTL."""

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove a value or set; ``True`` if something was there."""

    @abstractmethod
    def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        """Write only if absent (or expired). ``True`` for exactly one of many racing callers:
        this is how single use is enforced across replicas."""

    @abstractmethod
    def take(self, key: str) -> bytes | None:
        """Get and delete in one step: of many racing callers, one gets the value."""

    @abstractmethod
    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        """Add ``amount`` to an integer counter and return the new value. A counter that did
        not exist starts at 0 and gets ``ttl``; an existing one keeps its expiry, so a window
        is fixed from the first hit."""

    @abstractmethod
    def cas(
        self, key: str, expected: bytes | None, new: bytes | None, ttl: float | None = None
    ) -> bool:
        """Compare-and-set: if the current value equals ``expected`` (``None``: absent), write
        ``new`` (``None``: delete) and return ``True``; otherwise change nothing."""

    @abstractmethod
    def ttl(self, key: str) -> float | None:
        """Seconds left for a value, ``None`` if it has no expiry or does not exist."""

    @abstractmethod
    def sadd(self, key: str, *members: str, ttl: float | None = None) -> int:
        """Add members to a small set; returns how many were new. ``ttl`` (re)sets the
        expiry of the whole set."""

    @abstractmethod
    def srem(self, key: str, *members: str) -> int:
        """Remove members; returns how many were there."""

    @abstractmethod
    def smembers(self, key: str) -> builtins.set[str]:
        """All members; an empty set if none."""

    @abstractmethod
    def scan(self, prefix: str) -> Iterator[str]:
        """Every live key (value or set) that starts with ``prefix``, in no order. For admin
        listings, not hot paths."""

    @abstractmethod
    def ping(self) -> None:
        """Return if the backend answers, raise :class:`StoreUnavailable` if not."""

    @abstractmethod
    def close(self) -> None:
        """Release connections. The store is not used afterwards."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(settings: StoreSettings) -> Store:
    """The backend named by ``settings.url``. Raises :class:`StoreError` for a URL it cannot
    use, with a message that names what is wrong."""
    scheme = settings.url.split("://", 1)[0]
    if scheme == "sqlite":
        from idp.store.sqlite import SqliteStore

        return SqliteStore.from_settings(settings)
    from idp.store.redis import open_redis_store

    return open_redis_store(settings)


RECORD_VERSION_KEY = "v"


def dump_record(record: dict[str, Any], version: int = 1) -> bytes:
    """Serialise a record as compact JSON with its schema version."""
    return json.dumps(
        {**record, RECORD_VERSION_KEY: version},
        separators=(",", ":"),
        ensure_ascii=False,
        sort_keys=True,
    ).encode()


def load_record(raw: bytes | None) -> dict[str, Any] | None:
    """Parse what :func:`dump_record` wrote; ``None`` stays ``None``."""
    if raw is None:
        return None
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise StoreError("a stored record is not a JSON object")
    return data
