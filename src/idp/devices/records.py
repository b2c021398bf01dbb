"""Trusted-browser records in the store: keys and the versioned JSON record.

``tb:<user id>:<device id>`` holds one record, with a TTL equal to its remaining life;
``tb-set:<user id>`` is the small set of that person's device ids. Every operation touches one
key, so this works unchanged on Redis Cluster.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from idp.store import StoreError, dump_record, load_record

__all__ = ["RECORD_VERSION", "Record", "clean_ip", "nonce_hash", "record_key", "record_prefix",
           "set_key"]

RECORD_VERSION = 1
# IPv6 with a zone id fits easily; anything longer is not an address and is cut.
_MAX_IP_CHARS = 64


def record_key(user_id: str, device_id: str) -> str:
    return f"tb:{user_id}:{device_id}"


def record_prefix(user_id: str) -> str:
    return f"tb:{user_id}:"


def set_key(user_id: str) -> str:
    return f"tb-set:{user_id}"


def nonce_hash(nonce: str) -> str:
    # The nonce is 256 random bits, so a plain SHA-256 is enough: nothing to brute-force.
    return hashlib.sha256(nonce.encode()).hexdigest()


def clean_ip(ip: str | None) -> str | None:
    return ip[:_MAX_IP_CHARS] if ip else None


@dataclass(frozen=True)
class Record:
    """The server record (versioned JSON). Never holds the nonce itself, only its hash."""

    device_id: str
    user_id: str
    nonce_sha256: str
    label: str
    created: float
    last_used: float
    ip: str | None
    expires: float
    epoch: int

    def dump(self) -> bytes:
        return dump_record(asdict(self), version=RECORD_VERSION)

    @classmethod
    def load(cls, raw: bytes | None) -> Record | None:
        """The record, or ``None`` if absent or unreadable (an unreadable record trusts
        nobody)."""
        try:
            data = load_record(raw)
        except (ValueError, StoreError):
            return None
        if data is None or data.pop("v", None) != RECORD_VERSION:
            return None
        try:
            return cls(**data)
        except TypeError:
            return None
