"""The Store contract, run unchanged against every backend (``store`` is parametrised over
sqlite, redis, sentinel and cluster in conftest.py). Concurrency is in test_concurrency.py.

TTL checks use short TTLs and a short sleep: they check that expiry happens, not how fast.
"""

from __future__ import annotations

import time

import pytest

from idp.store import Store, StoreError, dump_record, load_record
from tests.store.conftest import Backend, new_prefix

SHORT_TTL_S = 0.2
PAST_SHORT_TTL_S = 0.45
LONG_TTL_S = 600.0


def test_get_of_a_missing_key_is_none(store: Store) -> None:
    assert store.get("missing") is None
    assert store.take("missing") is None
    assert store.ttl("missing") is None
    assert store.smembers("missing") == set()
    assert store.delete("missing") is False


def test_set_replaces_the_value_and_its_ttl(store: Store) -> None:
    store.set("k", b"one", ttl=LONG_TTL_S)
    assert store.get("k") == b"one"
    store.set("k", b"two")
    assert store.get("k") == b"two"
    assert store.ttl("k") is None, "a set without ttl removes the old expiry"
    store.set("k", b"three", ttl=LONG_TTL_S)
    remaining = store.ttl("k")
    assert remaining is not None
    assert 0 < remaining <= LONG_TTL_S


def test_delete_removes_values_and_sets(store: Store) -> None:
    store.set("value", b"v")
    store.sadd("set", "a", "b")
    assert store.delete("value") is True
    assert store.delete("set") is True
    assert store.get("value") is None
    assert store.smembers("set") == set()
    assert store.delete("value") is False


def test_add_writes_only_when_absent(store: Store) -> None:
    assert store.add("k", b"first") is True
    assert store.add("k", b"second") is False
    assert store.get("k") == b"first"
    store.delete("k")
    assert store.add("k", b"third", ttl=LONG_TTL_S) is True
    assert store.get("k") == b"third"
    assert store.ttl("k") is not None


def test_take_returns_the_value_once(store: Store) -> None:
    store.set("k", b"code")
    assert store.take("k") == b"code"
    assert store.take("k") is None
    assert store.get("k") is None


def test_incr_counts_from_zero(store: Store) -> None:
    assert store.incr("n") == 1
    assert store.incr("n") == 2
    assert store.incr("n", 10) == 12
    assert store.incr("n", -5) == 7
    assert store.get("n") == b"7", "counters read back as ASCII digits"
    store.set("m", b"41")
    assert store.incr("m") == 42, "a value written as digits is a counter"


def test_incr_gives_the_ttl_only_to_a_new_counter(store: Store) -> None:
    assert store.incr("window", ttl=LONG_TTL_S) == 1
    first = store.ttl("window")
    assert first is not None
    assert 0 < first <= LONG_TTL_S
    assert store.incr("window", ttl=LONG_TTL_S * 10) == 2
    later = store.ttl("window")
    assert later is not None
    assert later <= first, "an existing counter keeps its expiry"

    assert store.incr("forever") == 1
    assert store.incr("forever", ttl=LONG_TTL_S) == 2
    assert store.ttl("forever") is None, "a counter without expiry does not gain one"


def test_cas_on_an_absent_key(store: Store) -> None:
    assert store.cas("k", b"something", b"new") is False
    assert store.get("k") is None
    assert store.cas("k", None, b"v1") is True
    assert store.get("k") == b"v1"
    assert store.cas("k", None, b"v2") is False, "None means absent, and it is present"
    assert store.get("k") == b"v1"


def test_cas_compares_the_current_value(store: Store) -> None:
    store.set("k", b"v1")
    assert store.cas("k", b"v2", b"v3") is False
    assert store.get("k") == b"v1"
    assert store.cas("k", b"v1", b"v2") is True
    assert store.get("k") == b"v2"
    assert store.cas("k", b"v1", b"v3") is False, "the old value no longer matches"
    assert store.cas("k", b"v2", None) is True, "new=None deletes"
    assert store.get("k") is None
    assert store.cas("k", None, None) is True, "absent stays absent"
    assert store.get("k") is None


def test_cas_sets_or_clears_the_ttl(store: Store) -> None:
    assert store.cas("k", None, b"v1", ttl=LONG_TTL_S) is True
    assert store.ttl("k") is not None
    assert store.cas("k", b"v1", b"v2") is True
    assert store.ttl("k") is None, "a cas without ttl writes a value without expiry"


def test_ttl_reports_seconds_left(store: Store) -> None:
    store.set("forever", b"v")
    store.set("soon", b"v", ttl=LONG_TTL_S)
    assert store.ttl("forever") is None
    remaining = store.ttl("soon")
    assert remaining is not None
    assert LONG_TTL_S - 60 < remaining <= LONG_TTL_S


@pytest.mark.parametrize("bad_ttl", [0, -1.0])
def test_a_ttl_must_be_positive(store: Store, bad_ttl: float) -> None:
    with pytest.raises(ValueError, match="ttl must be positive"):
        store.set("k", b"v", ttl=bad_ttl)
    with pytest.raises(ValueError, match="ttl must be positive"):
        store.add("k", b"v", ttl=bad_ttl)
    assert store.get("k") is None


def test_sets(store: Store) -> None:
    assert store.sadd("s", "a", "b") == 2
    assert store.sadd("s", "b", "c") == 1, "only new members count"
    assert store.smembers("s") == {"a", "b", "c"}
    assert store.srem("s", "a", "x") == 1, "only members that were there count"
    assert store.smembers("s") == {"b", "c"}
    assert store.srem("s", "b", "c") == 2
    assert store.smembers("s") == set()
    assert list(store.scan("s")) == [], "an emptied set is gone"
    assert store.srem("s", "a") == 0


def test_expired_keys_are_gone_everywhere(store: Store) -> None:
    store.set("value", b"v", ttl=SHORT_TTL_S)
    store.add("added", b"v", ttl=SHORT_TTL_S)
    store.incr("counter", 5, ttl=SHORT_TTL_S)
    store.cas("swapped", None, b"v", ttl=SHORT_TTL_S)
    store.sadd("set", "a", ttl=SHORT_TTL_S)
    store.sadd("set", "late")  # joins the set's expiry
    store.sadd("renewed", "a", ttl=SHORT_TTL_S)
    store.sadd("renewed", "b", ttl=LONG_TTL_S)  # re-sets the expiry of the whole set
    store.set("kept", b"v", ttl=LONG_TTL_S)
    time.sleep(PAST_SHORT_TTL_S)

    for key in ("value", "added", "counter", "swapped"):
        assert store.get(key) is None, key
        assert store.ttl(key) is None, key
        assert store.take(key) is None, key
    assert store.smembers("set") == set()
    assert store.smembers("renewed") == {"a", "b"}
    assert sorted(store.scan("")) == ["kept", "renewed"]
    assert store.add("added", b"again") is True, "an expired key counts as absent"
    assert store.incr("counter") == 1, "an expired counter starts again"
    assert store.cas("swapped", None, b"again") is True
    assert store.get("kept") == b"v"


def test_scan_lists_live_keys_under_a_prefix(store: Store) -> None:
    for key in ("user:1", "user:2", "user:30", "users", "other:1"):
        store.set(key, b"v")
    store.sadd("user:sessions", "s1")
    assert sorted(store.scan("user:")) == ["user:1", "user:2", "user:30", "user:sessions"]
    assert sorted(store.scan("user")) == [
        "user:1", "user:2", "user:30", "user:sessions", "users"
    ]  # fmt: skip
    assert sorted(store.scan("")) == sorted(
        ["user:1", "user:2", "user:30", "users", "other:1", "user:sessions"]
    )
    assert list(store.scan("nothing")) == []


def test_scan_matches_glob_and_like_characters_literally(store: Store) -> None:
    keys = ["a*b:1", "a?b:1", "a[b]:1", "a\\b:1", "a%b:1", "a_b:1", "axb:1", "ab:1"]
    for key in keys:
        store.set(key, b"v")
    for literal in ("a*b", "a?b", "a[b]", "a\\b", "a%b", "a_b"):
        assert list(store.scan(literal)) == [f"{literal}:1"], literal
    assert list(store.scan("a[")) == ["a[b]:1"]
    assert sorted(store.scan("a")) == sorted(keys)


def test_scan_does_not_list_duplicates(store: Store) -> None:
    keys = {f"many:{i}" for i in range(300)}
    for key in keys:
        store.set(key, b"v")
    listed = list(store.scan("many:"))
    assert len(listed) == len(set(listed))
    assert set(listed) == keys


def test_prefixes_isolate_stores_on_one_backend(backend: Backend, store: Store) -> None:
    with backend.open(new_prefix()) as other:
        store.set("shared", b"mine")
        other.set("shared", b"theirs")
        store.sadd("set", "mine")
        other.sadd("set", "theirs")
        assert store.get("shared") == b"mine"
        assert other.get("shared") == b"theirs"
        assert store.smembers("set") == {"mine"}
        assert sorted(store.scan("")) == ["set", "shared"]
        assert store.take("shared") == b"mine"
        assert other.get("shared") == b"theirs"
        assert store.add("shared", b"again") is True
        assert other.incr("n") == 1
        assert store.get("n") is None


def test_a_glob_in_the_store_prefix_matches_literally(backend: Backend) -> None:
    base = new_prefix()
    with backend.open(base + "*:") as star, backend.open(base + "x:") as plain:
        plain.set("k", b"plain")
        star.set("k", b"star")
        assert list(star.scan("")) == ["k"]
        assert list(plain.scan("")) == ["k"]
        assert star.get("k") == b"star"


def test_binary_values_round_trip(store: Store) -> None:
    every_byte = bytes(range(256))
    store.set("k", every_byte)
    assert store.get("k") == every_byte
    assert store.cas("k", every_byte, every_byte[::-1]) is True
    assert store.get("k") == every_byte[::-1]
    assert store.cas("k", every_byte, b"x") is False
    assert store.take("k") == every_byte[::-1]
    assert store.add("k", b"\x00\x00") is True
    assert store.get("k") == b"\x00\x00"


def test_unicode_keys_and_members(store: Store) -> None:
    key = "利用者:ユーザー:😀"
    store.set(key, "値".encode())
    store.sadd("集合", "メンバー", "😀")
    assert store.get(key) == "値".encode()
    assert store.get("利用者:ユーザー") is None
    assert list(store.scan("利用者:")) == [key]
    assert store.smembers("集合") == {"メンバー", "😀"}


def test_empty_values_are_values(store: Store) -> None:
    store.set("empty", b"")
    assert store.get("empty") == b""
    assert store.add("empty", b"x") is False
    assert store.cas("empty", None, b"x") is False, "empty is not absent"
    assert store.cas("empty", b"", b"") is True
    assert store.take("empty") == b""
    assert store.get("empty") is None


def test_records_round_trip(store: Store) -> None:
    store.set("record", dump_record({"user": "u1", "amr": ["pwd", "otp"]}, version=2))
    assert load_record(store.get("record")) == {"user": "u1", "amr": ["pwd", "otp"], "v": 2}
    assert load_record(store.get("absent")) is None


def test_ping_and_close(backend: Backend) -> None:
    opened = backend.open(new_prefix())
    opened.ping()
    opened.set("k", b"v")
    opened.close()
    with pytest.raises(StoreError, match="closed"):
        opened.get("k")
