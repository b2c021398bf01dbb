"""A set's TTL belongs to the key, as in Redis (the SQLite store keeps it in one row, so a
large set's TTL is extended in one write): it goes with the set when the set is emptied or
expires, and a set made again afterwards starts without one."""

from __future__ import annotations

import time

from idp.store import Store

SHORT_TTL_S = 0.2
PAST_SHORT_TTL_S = 0.45


def test_an_emptied_set_loses_its_ttl(store: Store) -> None:
    store.sadd("s", "a", ttl=SHORT_TTL_S)
    assert store.srem("s", "a") == 1
    store.sadd("s", "b")  # a new set, no TTL
    time.sleep(PAST_SHORT_TTL_S)
    assert store.smembers("s") == {"b"}


def test_an_expired_set_comes_back_empty_and_without_ttl(store: Store) -> None:
    store.sadd("s", "a", "b", ttl=SHORT_TTL_S)
    time.sleep(PAST_SHORT_TTL_S)
    assert store.sadd("s", "c") == 1
    assert store.smembers("s") == {"c"}
    assert store.delete("s") is True
    assert store.smembers("s") == set()


def test_a_large_set_keeps_every_member_under_one_ttl(store: Store) -> None:
    for i in range(300):
        store.sadd("big", f"m{i}", ttl=60)
    assert len(store.smembers("big")) == 300
    assert list(store.scan("big")) == ["big"]
    store.sadd("big", "last", ttl=SHORT_TTL_S)  # the whole set's expiry moves
    time.sleep(PAST_SHORT_TTL_S)
    assert store.smembers("big") == set()
    assert list(store.scan("big")) == []
