"""The Redis store: standalone, Sentinel or Cluster, chosen by URL (see docs/store.md).

    redis://[user:password@]host:port[/db]          rediss:// for TLS
    redis+sentinel://host:port,host:port/master      rediss+sentinel:// for TLS
    redis+cluster://host:port,host:port              rediss+cluster:// for TLS

Every operation is one command or one Lua script on one key, so it is atomic against every
other caller and runs unchanged on Cluster. Connection errors, timeouts and ``READONLY``
replies (a demoted master during a Sentinel failover) are retried with exponential backoff;
after the last retry the caller gets :class:`StoreUnavailable`.

A retried write whose first reply was lost may already have happened: ``add`` then answers
``False``, ``take`` ``None``, ``cas`` ``False`` and ``incr`` counts twice. Each of these fails
closed for the callers (a code looks used, a limit looks nearer), which is the safe side.
"""

from __future__ import annotations

import builtins
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

import redis
from redis import exceptions as rx
from redis.backoff import EqualJitterBackoff, NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.commands.core import Script
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelManagedConnection

from idp.settings import StoreSettings
from idp.store import Store, StoreError, StoreUnavailable

__all__ = ["RedisStore", "RedisUrl", "open_redis_store", "parse_redis_url"]

# Backoff between retries: attempt n waits between half and all of min(cap, base * 2**n), so
# the default 5 retries wait 2.5-5 s in total, longer than a Sentinel failover (about 2 s in
# tests/store), and replicas that lost the same server do not come back in step.
RETRY_BASE_S = 0.1
RETRY_CAP_S = 2.0
# A Sentinel failover shows up as a dropped connection or as READONLY from the old master.
RETRY_ON = (rx.ConnectionError, rx.TimeoutError, rx.ReadOnlyError, socket.timeout)
# "No usable server", as opposed to a refused command. RedisClusterException (no node
# reachable) is not a RedisError.
UNAVAILABLE = (*RETRY_ON, rx.ClusterDownError, rx.MasterDownError, rx.RedisClusterException)
SCAN_BATCH = 1000
DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379
# URL query parameters handed to redis-py's TLS connection as they are.
TLS_OPTIONS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs")
CERT_REQS = ("required", "optional", "none")

# KEYS[1] counter; ARGV[1] amount; ARGV[2] ttl in ms or "". Only a new counter gets the TTL,
# so a rate-limit window is fixed from its first hit.
_INCR = """
local fresh = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if fresh and ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
"""

# KEYS[1]; ARGV[1] "1" if a value is expected, ARGV[2] that value; ARGV[3] "1" to write
# ARGV[4], "0" to delete; ARGV[5] ttl in ms or "". Lua strings are byte strings: exact compare.
_CAS = """
local current = redis.call('GET', KEYS[1])
if (ARGV[1] == '1' and current ~= ARGV[2]) or (ARGV[1] == '0' and current) then return 0 end
if ARGV[3] == '0' then redis.call('DEL', KEYS[1])
elseif ARGV[5] == '' then redis.call('SET', KEYS[1], ARGV[4])
else redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5]) end
return 1
"""

# KEYS[1] set; ARGV[1] ttl in ms or ""; ARGV[2..] members, in slices because Lua's unpack()
# has a stack limit of a few thousand values.
_SADD = """
local added = 0
for i = 2, #ARGV, 1000 do
  added = added + redis.call('SADD', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if ARGV[1] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return added
"""

Client = redis.Redis | RedisCluster
Closers = list[Callable[[], None]]


# -- URLs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedisUrl:
    """What a store URL names. ``password`` is never shown in ``repr`` or messages."""

    kind: Literal["standalone", "sentinel", "cluster"]
    tls: bool
    hosts: tuple[tuple[str, int], ...]
    db: int = 0
    master: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls_options: tuple[tuple[str, str], ...] = ()

    @property
    def where(self) -> str:
        """The servers, for messages: ``127.0.0.1:6379``, or a list and the kind."""
        hosts = ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in self.hosts)
        if self.kind == "sentinel":
            return f"{hosts} (sentinel master {self.master!r})"
        return f"{hosts} (cluster)" if self.kind == "cluster" else hosts


def parse_redis_url(url: str) -> RedisUrl:
    """Read a ``redis*://`` store URL; :class:`StoreError` names the first problem in one
    line, with any credentials masked."""
    scheme, sep, rest = url.partition("://")
    shown = f"{scheme}://***@{rest.rpartition('@')[2]}" if "@" in rest else url

    def bad(problem: str) -> StoreError:
        return StoreError(f"store.url {shown!r}: {problem}")

    base, _, mode = scheme.partition("+")
    if not sep or base not in ("redis", "rediss") or mode not in ("", "sentinel", "cluster"):
        raise bad("expected redis://, rediss://, redis+sentinel:// or redis+cluster://")
    kind: Literal["standalone", "sentinel", "cluster"] = (
        "sentinel" if mode == "sentinel" else "cluster" if mode == "cluster" else "standalone"
    )
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise bad(str(exc)) from None
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    user, colon, secret = userinfo.partition(":")
    default_port = DEFAULT_SENTINEL_PORT if kind == "sentinel" else DEFAULT_PORT
    hosts = tuple(_host(item, default_port, bad) for item in hostlist.split(",") if item)
    if not hosts:
        raise bad("no host: expected host:port after the scheme")
    if kind == "standalone" and len(hosts) > 1:
        raise bad("several hosts: use redis+sentinel:// or redis+cluster://")

    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name != "db" and name not in TLS_OPTIONS:
            raise bad(f"unknown query parameter {name!r} (known: db, {', '.join(TLS_OPTIONS)})")
        if name in TLS_OPTIONS and base != "rediss":
            raise bad(f"{name} needs TLS: use rediss")
        if name == "ssl_cert_reqs" and value not in CERT_REQS:
            raise bad(f"ssl_cert_reqs must be one of {', '.join(CERT_REQS)}")
        query[name] = value
    path, db_text = parts.path.strip("/"), query.pop("db", "")
    if kind == "sentinel" and (not path or "/" in path):
        raise bad("no master name: expected redis+sentinel://host:port,host:port/master-name")
    if kind == "cluster" and (path not in ("", "0") or db_text not in ("", "0")):
        raise bad("Redis Cluster has only database 0")
    if kind == "standalone" and path:
        if db_text and db_text != path:
            raise bad("the database is given twice, in the path and in ?db=")
        db_text = path
    if db_text and not db_text.isdigit():
        raise bad(f"database {db_text!r} is not a number")
    return RedisUrl(
        kind=kind,
        tls=base == "rediss",
        hosts=hosts,
        db=int(db_text or 0),
        master=unquote(path) if kind == "sentinel" else None,
        username=unquote(user) if user else None,
        password=unquote(secret) if colon and secret else None,
        tls_options=tuple(query.items()),
    )


def _host(item: str, default_port: int, bad: Callable[[str], StoreError]) -> tuple[str, int]:
    if item.startswith("["):  # [IPv6]:port
        host, _, port_text = item[1:].partition("]")
        if port_text and not port_text.startswith(":"):
            raise bad(f"bad host {item!r}")
        port_text = port_text[1:]
    else:
        host, colon, port_text = item.rpartition(":")
        if not colon:
            host, port_text = item, ""
    if not host:
        raise bad(f"no host name in {item!r}")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise bad(f"bad port {port_text!r} in {item!r}: expected 1-65535")
    return host, int(port_text)


# -- the store -----------------------------------------------------------------------------


def _ms(ttl: float | None) -> int | None:
    """Milliseconds for PX/PEXPIRE, at least 1 (scripts get "" for no expiry)."""
    if ttl is None:
        return None
    if ttl <= 0:
        raise ValueError("ttl must be positive (seconds), or None for no expiry")
    return max(1, round(ttl * 1000))


def _glob_escape(text: str) -> str:
    """Make ``text`` match only itself in a SCAN MATCH pattern."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def _bytes(value: object) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    raise StoreError("unexpected reply type from redis")


class _Errors:
    """Turns redis-py's exceptions into the store's: one line, no traceback, no values
    (redis-py's messages name hosts and errors, never keys' contents)."""

    __slots__ = ("_where",)

    def __init__(self, where: str) -> None:
        self._where = where

    def __enter__(self) -> None:
        pass

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None or not isinstance(exc, rx.RedisError | rx.RedisClusterException):
            return
        # MasterNotFoundError appends the repr of every sentinel client: noise for an operator.
        text = " ".join(str(exc).split()).split(" : ", 1)[0][:300] or type(exc).__name__
        if isinstance(exc, rx.AuthenticationError):  # wrong or missing password
            hint = "check store.password_file and store.username"
            raise StoreUnavailable(f"redis at {self._where} refused the login ({hint})") from None
        if isinstance(exc, UNAVAILABLE):
            raise StoreUnavailable(f"cannot reach redis at {self._where}: {text}") from None
        raise StoreError(f"redis refused the command: {text}") from None


@dataclass(frozen=True)
class _Connection:
    client: Client
    incr: Script
    cas: Script
    sadd: Script
    closers: Closers


class RedisStore(Store):
    """The :class:`Store` contract on Redis. Thread-safe; one instance per process.

    ``connect`` builds the client on first use (a Cluster client contacts a node as soon as
    it is built) and returns it with what closes it.
    """

    def __init__(
        self, connect: Callable[[], tuple[Client, Closers]], *, prefix: str, where: str,
        wait_replicas: int = 0, wait_timeout_ms: int = 500, retries: int = 5,
    ) -> None:
        self._connect = connect
        self._prefix = prefix
        self._where = where
        self._wait_replicas = wait_replicas
        self._wait_timeout_ms = wait_timeout_ms
        self._retries = retries
        self._errors = _Errors(where)
        self._lock = threading.Lock()
        self._conn: _Connection | None = None
        self._closed = False

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> RedisStore:
        url = parse_redis_url(settings.url)
        if settings.wait_replicas and url.kind == "cluster":
            raise StoreError("store.wait_replicas: not for Redis Cluster (redis:// and "
                             "redis+sentinel:// only)")
        return cls(lambda: _connect(url, settings), prefix=settings.prefix, where=url.where,
                   wait_replicas=settings.wait_replicas,
                   wait_timeout_ms=settings.wait_timeout_ms, retries=settings.retries)

    @property
    def _c(self) -> _Connection:
        return self._conn or self._open()

    def _open(self) -> _Connection:
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            if self._conn is None:
                with self._errors:
                    client, closers = self._connect()
                script = client.register_script  # registered once, loaded on first use
                self._conn = _Connection(
                    client, script(_INCR), script(_CAS), script(_SADD), closers
                )
            return self._conn

    def _k(self, key: str) -> str:
        return self._prefix + key

    def _write(self, command: Callable[[Any], Any]) -> Any:
        """Run one write command (``command(client)``); with ``wait_replicas``, in a pipeline
        with ``WAIT`` on the same connection, answered only once enough replicas have it.
        Not replicated in time (a replica lagging, or an old master that Sentinel has not
        demoted yet): sent again, with backoff; after the retries, :class:`StoreUnavailable`.
        """
        if not self._wait_replicas:
            return command(self._c.client)
        backoff = EqualJitterBackoff(cap=RETRY_CAP_S, base=RETRY_BASE_S)
        for attempt in range(self._retries + 1):
            # Connection errors and READONLY are retried inside, as for every command.
            pipe = self._c.client.pipeline(transaction=False)
            command(pipe)
            pipe.execute_command("WAIT", self._wait_replicas, self._wait_timeout_ms)
            result, acked = pipe.execute()
            if int(acked) >= self._wait_replicas:
                return result
            if attempt < self._retries:
                time.sleep(backoff.compute(attempt + 1))
        raise StoreUnavailable(
            f"redis at {self._where}: writes reach fewer than store.wait_replicas "
            f"({self._wait_replicas}) replicas")

    def get(self, key: str) -> bytes | None:
        with self._errors:
            return _bytes(self._c.client.get(self._k(key)))

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        px = _ms(ttl)
        with self._errors:
            self._write(lambda c: c.set(self._k(key), bytes(value), px=px))

    def delete(self, key: str) -> bool:
        with self._errors:
            return bool(self._write(lambda c: c.delete(self._k(key))))

    def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        px = _ms(ttl)
        with self._errors:
            return bool(self._write(lambda c: c.set(self._k(key), bytes(value), nx=True, px=px)))

    def take(self, key: str) -> bytes | None:
        with self._errors:
            return _bytes(self._write(lambda c: c.getdel(self._k(key))))

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        args = [int(amount), _ms(ttl) or ""]
        with self._errors:
            return int(self._write(lambda c: self._c.incr(keys=[self._k(key)], args=args,
                                                          client=c)))

    def cas(
        self, key: str, expected: bytes | None, new: bytes | None, ttl: float | None = None
    ) -> bool:
        args: list[Any] = [
            "0" if expected is None else "1",
            b"" if expected is None else bytes(expected),
            "0" if new is None else "1",
            b"" if new is None else bytes(new),
            "" if new is None else _ms(ttl) or "",
        ]
        with self._errors:
            return bool(self._write(lambda c: self._c.cas(keys=[self._k(key)], args=args,
                                                          client=c)))

    def ttl(self, key: str) -> float | None:
        with self._errors:
            ms = int(self._c.client.pttl(self._k(key)))
        return None if ms < 0 else ms / 1000  # -2: no such key; -1: no expiry

    def sadd(self, key: str, *members: str, ttl: float | None = None) -> int:
        args: list[Any] = [_ms(ttl) or "", *members]
        if args == [""]:
            return 0
        with self._errors:
            return int(self._write(lambda c: self._c.sadd(keys=[self._k(key)], args=args,
                                                          client=c)))

    def srem(self, key: str, *members: str) -> int:
        if not members:
            return 0
        with self._errors:
            return int(self._write(lambda c: c.srem(self._k(key), *members)))

    def smembers(self, key: str) -> builtins.set[str]:
        with self._errors:
            raw = self._c.client.smembers(self._k(key))
        return {m.decode() if isinstance(m, bytes) else m for m in raw}

    def scan(self, prefix: str) -> Iterator[str]:
        pattern = _glob_escape(self._k(prefix)) + "*"
        strip = len(self._prefix)
        # SCAN may return a key twice (when the table is resized); Cluster scans each primary.
        seen: builtins.set[bytes] = set()
        with self._errors:
            for raw in self._c.client.scan_iter(match=pattern, count=SCAN_BATCH):
                if raw not in seen:
                    seen.add(raw)
                    yield raw.decode()[strip:]

    def ping(self) -> None:
        with self._errors:
            self._c.client.ping()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
        for close in conn.closers if conn is not None else ():
            close()


def open_redis_store(settings: StoreSettings) -> Store:
    """A :class:`RedisStore` for ``settings.url``; :class:`StoreError` for a URL it cannot use.
    Nothing is contacted until the first operation."""
    return RedisStore.from_settings(settings)


# -- connections ---------------------------------------------------------------------------


class _SentinelConnection(SentinelManagedConnection):
    """Asks Sentinel for the master on every reconnect, a retry's included.

    Works around redis/redis-py#3874 (open in redis-py 8.1): a dropped connection is
    reconnected by ``connect_check_health()``, which skips the Sentinel lookup in
    ``connect()``, so a command retried after a failover went back to the old master until
    the retries ran out (tests/store/test_redis.py shows it).
    """

    _looked_up = False

    def connect_to(self, address: tuple[str, int]) -> None:
        self._looked_up = True
        try:
            super().connect_to(address)  # type: ignore[no-untyped-call]
        finally:
            self._looked_up = False

    def connect_check_health(
        self, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        if self._looked_up or self._sock:
            super().connect_check_health(check_health, retry_socket_connect)
        else:  # connect() looks the master up, then comes back here through connect_to()
            self.connect()  # type: ignore[no-untyped-call]


class _SentinelSSLConnection(_SentinelConnection, redis.SSLConnection):
    pass


def _retry(retries: int) -> Retry:
    return Retry(EqualJitterBackoff(cap=RETRY_CAP_S, base=RETRY_BASE_S), retries, RETRY_ON)


def _connect(url: RedisUrl, settings: StoreSettings) -> tuple[Client, Closers]:
    """Build the client; redis-py's Sentinel, pool and node constructors are unannotated."""
    # The password setting (or password_file) wins over one in the URL.
    password = settings.password.get_secret_value() if settings.password is not None else None
    options: dict[str, Any] = {
        "username": settings.username if settings.username is not None else url.username,
        "password": password if password is not None else url.password,
        "socket_timeout": settings.socket_timeout_s,
        "socket_connect_timeout": settings.connect_timeout_s,
        "socket_keepalive": True,
        "max_connections": settings.max_connections,
    }
    tls: dict[str, Any] = dict(url.tls_options) if url.tls else {}
    ssl: dict[str, Any] = {"ssl": True, **tls} if url.tls else {}  # for plain Redis clients
    if url.kind == "cluster":
        cluster = RedisCluster(
            startup_nodes=[ClusterNode(h, p) for h, p in url.hosts],  # type: ignore[no-untyped-call]
            retry=_retry(settings.retries),
            **options,
            **ssl,
        )
        return cluster, [cluster.close]
    options["retry"] = _retry(settings.retries)
    if url.kind == "sentinel":
        # One attempt per sentinel and lookup: the store's own retries bring the backoff
        # (redis-py's default of 10 retries per sentinel made an outage take half a minute).
        to_sentinels = {k: v for k, v in options.items() if k.startswith("socket_")}
        to_sentinels.update(retry=Retry(NoBackoff(), 0), **ssl)
        sentinel = Sentinel(list(url.hosts), sentinel_kwargs=to_sentinels, **options)  # type: ignore[no-untyped-call]
        master: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
            url.master,
            db=url.db,
            connection_class=_SentinelSSLConnection if url.tls else _SentinelConnection,
            **tls,
        )
        return master, [master.close, sentinel.close]
    (host, port) = url.hosts[0]
    pool = redis.BlockingConnectionPool(  # type: ignore[no-untyped-call]
        connection_class=redis.SSLConnection if url.tls else redis.Connection,
        host=host,
        port=port,
        db=url.db,
        timeout=settings.socket_timeout_s,  # waiting for a free connection when all are busy
        **options,
        **tls,
    )
    client = redis.Redis(connection_pool=pool)
    return client, [client.close, pool.disconnect]
