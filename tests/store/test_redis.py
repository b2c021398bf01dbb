"""What only the Redis backend has: URLs, reaching servers (auth, TLS, databases), errors an
operator reads, and riding out a Sentinel failover in the middle of a test."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from idp.settings import StoreSettings
from idp.store import StoreError, StoreUnavailable, open_store
from idp.store.redis import RedisUrl, parse_redis_url
from tests.redis_servers import RedisSentinelSet, RedisStandalone
from tests.store.conftest import new_prefix, running

PASSWORD = "correct-horse-battery"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6380", RedisUrl("standalone", False, (("127.0.0.1", 6380),))),
        ("redis://cache", RedisUrl("standalone", False, (("cache", 6379),))),
        ("redis://h:1/3", RedisUrl("standalone", False, (("h", 1),), db=3)),
        ("redis://h:1?db=4", RedisUrl("standalone", False, (("h", 1),), db=4)),
        ("redis://[::1]:7000/0", RedisUrl("standalone", False, (("::1", 7000),))),
        (
            "rediss://app:s%40cret@h:1/0?ssl_ca_certs=/ca.pem&ssl_cert_reqs=required",
            RedisUrl(
                "standalone", True, (("h", 1),), username="app", password="s@cret",
                tls_options=(("ssl_ca_certs", "/ca.pem"), ("ssl_cert_reqs", "required")),
            ),
        ),
        (
            "redis+sentinel://s1:26379,s2,s3:26380/mymaster?db=2",
            RedisUrl(
                "sentinel", False, (("s1", 26379), ("s2", 26379), ("s3", 26380)),
                db=2, master="mymaster",
            ),
        ),
        (
            "rediss+cluster://:pw@n1:7000,n2:7001",
            RedisUrl("cluster", True, (("n1", 7000), ("n2", 7001)), password="pw"),
        ),
    ],
)  # fmt: skip
def test_urls_are_read(url: str, expected: RedisUrl) -> None:
    parsed = parse_redis_url(url)
    assert parsed == expected
    assert parsed.password == expected.password


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://", "no host"),
        ("redis://:hunter2@", "no host"),
        ("redis://user:hunter2@:6379/0", "no host name"),
        ("redis://127.0.0.1:http/0", "bad port 'http'"),
        ("redis://:hunter2@127.0.0.1:70000", "bad port '70000'"),
        ("redis://a:1,b:2/0", "several hosts"),
        ("redis://h:1/zero", "database 'zero' is not a number"),
        ("redis://h:1/1?db=2", "the database is given twice"),
        ("redis://h:1/0?timeout=3", "unknown query parameter 'timeout'"),
        ("redis://h:1/0?ssl_ca_certs=/ca.pem", "ssl_ca_certs needs TLS"),
        ("rediss://h:1/0?ssl_cert_reqs=maybe", "ssl_cert_reqs must be one of"),
        ("redis+sentinel://s1:26379,s2:26379", "no master name"),
        ("redis+sentinel://:hunter2@s1:26379/", "no master name"),
        ("redis+cluster://n1:7000/2", "only database 0"),
        ("redis+cluster://,,", "no host"),
        ("redis+queue://h:1", "expected redis://, rediss://"),
    ],
)
def test_bad_urls_name_the_problem_in_one_line(url: str, problem: str) -> None:
    with pytest.raises(StoreError) as caught:
        parse_redis_url(url)
    message = str(caught.value)
    assert problem in message
    assert message.startswith("store.url '")
    assert "\n" not in message
    assert "hunter2" not in message


def test_open_store_refuses_a_bad_url_before_connecting() -> None:
    with pytest.raises(StoreError, match="no master name"):
        open_store(StoreSettings(url="redis+sentinel://:hunter2@127.0.0.1:26379"))


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("redis://127.0.0.1:1/0", "cannot reach redis at 127.0.0.1:1: "),
        (
            "redis+sentinel://127.0.0.1:1,127.0.0.1:2/mymaster",
            "cannot reach redis at 127.0.0.1:1,127.0.0.1:2 (sentinel master 'mymaster'): ",
        ),
        ("redis+cluster://127.0.0.1:1", "cannot reach redis at 127.0.0.1:1 (cluster): "),
    ],
)
def test_an_unreachable_server_is_one_clear_line(url: str, where: str) -> None:
    store = open_store(StoreSettings(url=url, retries=1, password="hunter2"))
    operations: list[Callable[[], object]] = [store.ping, lambda: store.get("k")]
    for operation in operations:
        with pytest.raises(StoreUnavailable) as caught:
            operation()
        message = str(caught.value)
        assert message.startswith(where), message
        assert "\n" not in message
        assert "Traceback" not in message
        assert "hunter2" not in message
        assert caught.value.__cause__ is None
    store.close()


@pytest.fixture(scope="module")
def protected() -> Iterator[RedisStandalone]:
    with running(RedisStandalone(password=PASSWORD)) as server:
        yield server


@pytest.mark.redis
def test_password_from_settings_file_or_url(protected: RedisStandalone, tmp_path: Path) -> None:
    secret_file = tmp_path / "redis-password"
    secret_file.write_text(PASSWORD + "\n")
    with_url = protected.url.replace("redis://", f"redis://:{PASSWORD}@")
    wrong_in_url = protected.url.replace("redis://", "redis://:wrong@")
    for settings in (
        StoreSettings(url=protected.url, password=PASSWORD),
        StoreSettings.model_validate({"url": protected.url, "password_file": str(secret_file)}),
        StoreSettings(url=with_url),
        StoreSettings(url=wrong_in_url, password=PASSWORD),  # the setting wins over the URL
    ):
        with open_store(settings.model_copy(update={"prefix": new_prefix()})) as store:
            store.set("k", b"v")
            assert store.get("k") == b"v"


@pytest.mark.redis
def test_a_wrong_password_is_refused_without_showing_it(protected: RedisStandalone) -> None:
    for settings in (
        StoreSettings(url=protected.url, password="hunter2", retries=0),
        StoreSettings(url=protected.url, retries=0),
    ):
        with open_store(settings) as store, pytest.raises(StoreUnavailable) as caught:
            store.ping()
        assert str(caught.value) == (
            f"redis at 127.0.0.1:{protected.port} refused the login "
            "(check store.password_file and store.username)"
        )
        assert "\n" not in str(caught.value)


@pytest.mark.redis
def test_tls_with_the_servers_ca() -> None:
    with running(RedisStandalone(tls=True)) as server:
        assert server.url.startswith("rediss://")
        with open_store(StoreSettings(url=server.url, prefix=new_prefix())) as store:
            store.set("k", b"over tls")
            assert store.get("k") == b"over tls"
        # Without the CA the certificate is refused; plain text gets no answer it accepts.
        untrusted = f"rediss://127.0.0.1:{server.port}/0"
        plain = f"redis://127.0.0.1:{server.port}/0"
        untrusted_store = open_store(StoreSettings(url=untrusted, retries=0))
        with untrusted_store, pytest.raises(StoreUnavailable, match="certificate verify failed"):
            untrusted_store.ping()
        plain_store = open_store(StoreSettings(url=plain, retries=0, socket_timeout_s=1))
        with plain_store, pytest.raises(StoreUnavailable, match=f"at 127.0.0.1:{server.port}: "):
            plain_store.ping()


@pytest.mark.redis
def test_keys_carry_the_prefix_and_the_database(redis_standalone: RedisStandalone) -> None:
    prefix = new_prefix()
    url = redis_standalone.url.removesuffix("/0") + "?db=3"
    with open_store(StoreSettings(url=url, prefix=prefix)) as store:
        store.set("k", b"in db 3")
    server = redis_standalone.server
    assert server is not None
    with server.client(db=3) as db3, server.client(db=0) as db0:
        assert db3.get(prefix + "k") == b"in db 3"
        assert db0.get(prefix + "k") is None


@pytest.mark.redis
def test_a_sentinel_failover_mid_test_loses_nothing_written_before(
    redis_sentinel: RedisSentinelSet,
) -> None:
    """Operations keep succeeding through a forced failover (retries with backoff, default
    settings), and what was replicated before it is readable from the new master."""
    prefix = new_prefix()
    with open_store(StoreSettings(url=redis_sentinel.url, prefix=prefix)) as store:
        for i in range(50):
            store.set(f"before:{i}", f"value-{i}".encode())
        redis_sentinel.wait_in_sync()
        old_master = redis_sentinel.master.port

        stop = threading.Event()
        failover_done = threading.Event()
        errors: list[BaseException] = []
        done = {"before": 0, "after": 0}

        def keep_working() -> None:
            i = 0
            while not stop.is_set():
                phase = "after" if failover_done.is_set() else "before"
                try:
                    store.set(f"during:{i}", b"v")
                    store.get(f"before:{i % 50}")
                    store.incr("ops")
                except BaseException as exc:  # any failure is the finding
                    errors.append(exc)
                    return
                done[phase] += 1
                i += 1

        worker = threading.Thread(target=keep_working)
        worker.start()
        try:
            redis_sentinel.failover()
            failover_done.set()
            deadline = time.monotonic() + 30
            while done["after"] < 20 and worker.is_alive() and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            worker.join(timeout=60)

        assert errors == []
        assert done["before"] > 0
        assert done["after"] >= 20
        assert redis_sentinel.master.port != old_master
        for i in range(50):
            assert store.get(f"before:{i}") == f"value-{i}".encode()
        assert store.add("after", b"v") is True
        assert store.take("after") == b"v"
