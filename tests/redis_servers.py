"""Real redis-server processes for tests, on free loopback ports, in a temporary directory.

Three set-ups, each a context manager whose ``url`` is the store URL that reaches it::

    with RedisStandalone() as server:            # redis://127.0.0.1:P/0
        ...
    with RedisSentinelSet() as sentinels:        # redis+sentinel://127.0.0.1:P1,.../mymaster
        sentinels.failover()                     # returns once the new master is in place
    with RedisClusterSet() as cluster:           # redis+cluster://127.0.0.1:P1,P2,P3
        ...

``RedisStandalone(password=...)`` sets ``requirepass``; ``RedisStandalone(tls=True)`` serves
TLS with a throwaway CA (its URL carries ``ssl_ca_certs``). Data nodes run with AOF
(``appendonly yes``, ``appendfsync everysec``) as docs/store.md recommends. A missing
``redis-server`` raises :class:`RedisServerMissing`; fixtures make that a failure, not a skip.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self
from urllib.parse import quote

import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "REDIS_SERVER_MISSING",
    "RedisClusterSet",
    "RedisProcess",
    "RedisSentinelSet",
    "RedisServerMissing",
    "RedisStandalone",
    "free_port",
    "redis_server_binary",
]

REDIS_SERVER_MISSING = "redis-server not found: run the README's test command, which installs it"
HOST = "127.0.0.1"
# Below Linux's ephemeral range (32768+), so outgoing connections rarely take our ports; a
# cluster node also needs port + 10000 for its bus, which must stay <= 65535.
PORT_RANGE = (20000, 32000)
START_TIMEOUT_S = 20.0  # generous: 2 cores, shared with the tests themselves
POLL_S = 0.02

Argv = Callable[[int], list[str]]


class RedisServerMissing(RuntimeError):
    """No ``redis-server`` binary on PATH."""


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise RedisServerMissing(REDIS_SERVER_MISSING)
    return found


_ports_lock = threading.Lock()
_ports_given: set[int] = set()


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port(*, cluster_bus: bool = False) -> int:
    """A loopback port nothing listens on (and its bus port, for a cluster node). Random, so
    parallel test runs rarely collide; :class:`RedisProcess` starts again if they do."""
    for _ in range(1000):
        port = random.randint(*PORT_RANGE)
        with _ports_lock:
            if port in _ports_given or not _bindable(port):
                continue
            if cluster_bus and not _bindable(port + 10000):
                continue
            _ports_given.add(port)
            return port
    raise RuntimeError("no free loopback port found")


def _wait_until(what: str, check: Callable[[], bool], timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"redis test servers: timed out waiting until {what}")
        time.sleep(POLL_S)


@dataclass(frozen=True)
class TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost (P-256)."""

    ca: Path
    cert: Path
    key: Path

    @classmethod
    def create(cls, directory: Path) -> TlsFiles:
        ca_key, key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(2))
        names = [x509.DNSName("localhost"), x509.IPAddress(IPv4Address(HOST))]
        ca = _certificate("nidan test CA", ca_key, ca_key, None, [x509.BasicConstraints(True, 0)])
        cert = _certificate("localhost", key, ca_key, ca.subject, [
            x509.SubjectAlternativeName(names),
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
        ])  # fmt: skip
        files = cls(directory / "ca.pem", directory / "server.pem", directory / "server.key")
        files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pkcs8 = serialization.PrivateFormat.PKCS8
        pem = key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption())
        files.key.write_bytes(pem)
        return files


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, signer: ec.EllipticCurvePrivateKey,
    issuer: x509.Name | None, extensions: list[x509.ExtensionType],
) -> x509.Certificate:  # fmt: skip
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    for extension in extensions:
        critical = isinstance(extension, x509.BasicConstraints)  # RFC 5280 4.2.1.9
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signer, hashes.SHA256())


def _data_node_args(port: int, tls: TlsFiles | None = None) -> list[str]:
    args = ["--bind", HOST, "--daemonize", "no", "--dir", ".", "--save", ""]
    args += ["--appendonly", "yes", "--appendfsync", "everysec"]
    if tls is None:
        return ["--port", str(port), *args]
    return [
        "--port", "0", "--tls-port", str(port), "--tls-auth-clients", "no",
        "--tls-cert-file", str(tls.cert), "--tls-key-file", str(tls.key),
        "--tls-ca-cert-file", str(tls.ca), *args,
    ]  # fmt: skip


class RedisProcess:
    """One ``redis-server`` process (data node or sentinel), its directory and its log.

    ``argv_for(port)`` gives its arguments for a port; if that port turns out to be taken,
    the process is started again on another one.
    """

    def __init__(
        self, name: str, workdir: Path, argv_for: Argv, *, cluster_bus: bool = False,
        password: str | None = None, tls: TlsFiles | None = None,
    ) -> None:  # fmt: skip
        self.name, self.workdir, self.port = name, workdir, 0
        self._argv_for, self._cluster_bus = argv_for, cluster_bus
        self._password, self._tls = password, tls
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._admin: redis.Redis | None = None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def log_path(self) -> Path:
        return self.workdir / "redis.log"

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def client(self, **options: Any) -> redis.Redis:
        """A new client to this process alone (the caller closes it)."""
        tls = {"ssl": True, "ssl_ca_certs": str(self._tls.ca)} if self._tls else {}
        settings: dict[str, Any] = {"host": HOST, "port": self.port, "password": self._password}
        settings.update({"socket_timeout": 5, "socket_connect_timeout": 5, **tls, **options})
        return redis.Redis(**settings)

    @property
    def admin(self) -> redis.Redis:
        """A shared client for checks from the test side (decoded replies)."""
        if self._admin is None:
            self._admin = self.client(decode_responses=True)
        return self._admin

    def info(self, section: str) -> dict[str, Any]:
        return dict(self.admin.info(section))

    def command(self, *args: str | int) -> Any:
        """Run a raw command (``SENTINEL ...``, ``CLUSTER ...``); the reply, decoded."""
        return self.admin.execute_command(*args)  # type: ignore[no-untyped-call]

    def start(self) -> Self:
        binary = redis_server_binary()
        for _ in range(5):
            self.port = free_port(cluster_bus=self._cluster_bus)
            self._log = self.log_path.open("ab")
            self._proc = subprocess.Popen(
                [binary, *self._argv_for(self.port)],
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
            if self._wait_ready(self._proc):
                return self
            self.stop()
            if "Address already in use" not in self.log_tail():
                raise RuntimeError(f"redis {self.name} did not start:\n{self.log_tail()}")
        raise RuntimeError(f"redis {self.name}: no free port after 5 tries")

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> bool:
        """True once our process answers; False if it exited (its port was taken)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        with self.client(socket_timeout=1, socket_connect_timeout=1) as probe:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    return False
                try:
                    # Another test's server may hold the port: check that it is ours.
                    if probe.info("server")["process_id"] == proc.pid:
                        return True
                except redis.ConnectionError:
                    pass
                time.sleep(POLL_S)
        raise TimeoutError(f"redis {self.name} did not answer:\n{self.log_tail()}")

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


class _ServerSet:
    """A temporary directory and the processes in it, stopped in reverse order."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.processes: list[RedisProcess] = []

    @property
    def directory(self) -> Path:
        assert self._tmp is not None, "start() first"
        return Path(self._tmp.name)

    def _process(self, name: str, argv_for: Argv, **options: Any) -> RedisProcess:
        process = RedisProcess(name, self.directory / name, argv_for, **options)
        self.processes.append(process)
        return process.start()

    def start(self) -> Self:
        redis_server_binary()
        self._tmp = tempfile.TemporaryDirectory(prefix=f"nidan-{self._label}-")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class RedisStandalone(_ServerSet):
    """One server. ``password`` sets ``requirepass``; ``tls`` serves TLS only."""

    def __init__(self, *, password: str | None = None, tls: bool = False) -> None:
        super().__init__("redis")
        self.password = password
        self.tls: TlsFiles | None = None
        self._want_tls = tls
        self.server: RedisProcess | None = None

    def _start(self) -> None:
        tls = self.tls = TlsFiles.create(self.directory) if self._want_tls else None
        auth = ["--requirepass", self.password] if self.password else []
        self.server = self._process(
            "server", lambda p: [*_data_node_args(p, tls), *auth], password=self.password, tls=tls
        )

    @property
    def port(self) -> int:
        assert self.server is not None, "start() first"
        return self.server.port

    @property
    def url(self) -> str:
        """The store URL, without the password (give that in the store settings)."""
        if self.tls is None:
            return f"redis://{HOST}:{self.port}/0"
        return f"rediss://{HOST}:{self.port}/0?ssl_ca_certs={quote(str(self.tls.ca))}"


class RedisSentinelSet(_ServerSet):
    """A master, one replica and three sentinels (quorum 2), converged when started.

    The sentinels run with short INFO and hello periods (``SENTINEL DEBUG``, Redis 7), so a
    failover and the demotion of the old master take about two seconds instead of ten.
    """

    SENTINELS = 3

    def __init__(self, master_name: str = "mymaster") -> None:
        super().__init__("sentinel")
        self.master_name = master_name
        self.data_nodes: list[RedisProcess] = []
        self.sentinels: list[RedisProcess] = []

    def _start(self) -> None:
        sync = ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]
        master = self._process("node0", lambda p: [*_data_node_args(p), *sync])
        replica = self._process(
            "node1", lambda p: [*_data_node_args(p), *sync, "--replicaof", HOST, str(master.port)]
        )
        self.data_nodes = [master, replica]
        # Sentinels started before the replica is in sync may not see it for a while.
        _wait_until(
            "the replica is in sync",
            lambda: replica.info("replication").get("master_link_status") == "up",
        )
        for index in range(self.SENTINELS):
            sentinel = self._process(f"sentinel{index}", self._sentinel_argv(index, master.port))
            sentinel.command("SENTINEL", "DEBUG", "INFO-PERIOD", 200, "PUBLISH-PERIOD", 200)
            self.sentinels.append(sentinel)
        _wait_until("every sentinel sees the others and a good replica", self._converged)

    def _sentinel_argv(self, index: int, master_port: int) -> Argv:
        def argv(port: int) -> list[str]:
            # Each sentinel rewrites its own config file: it must be private and writable.
            conf = self.directory / f"sentinel{index}" / "sentinel.conf"
            name = self.master_name
            conf.write_text(
                f"port {port}\nbind {HOST}\ndir .\n"
                f"sentinel monitor {name} {HOST} {master_port} 2\n"
                # Long enough that a busy test machine never starts a failover by itself.
                f"sentinel down-after-milliseconds {name} 10000\n"
                f"sentinel failover-timeout {name} 10000\n"
            )
            return [str(conf), "--sentinel"]

        return argv

    @property
    def url(self) -> str:
        hosts = ",".join(f"{HOST}:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.master_name}"

    def _view(self, sentinel: RedisProcess) -> tuple[int, int, bool]:
        """One sentinel's view: (master port, other sentinels seen, a replica fit to promote)."""
        state = sentinel.command("SENTINEL", "MASTER", self.master_name)
        replicas = sentinel.command("SENTINEL", "REPLICAS", self.master_name)
        fit = any(
            r["flags"] == "slave" and r["master-link-status"] == "ok"
            # Sentinel will not promote a replica whose INFO is older than 5 ping periods.
            and int(r["info-refresh"]) < 2000
            for r in replicas
        )  # fmt: skip
        return int(state["port"]), int(state["num-other-sentinels"]), fit

    def _converged(self) -> bool:
        views = [self._view(s) for s in self.sentinels]
        ports = {port for port, _, _ in views}
        return (
            len(ports) == 1
            and all(others == self.SENTINELS - 1 and fit for _, others, fit in views)
            and self._node(ports.pop()).info("replication").get("role") == "master"
        )

    def _node(self, port: int) -> RedisProcess:
        return next(node for node in self.data_nodes if node.port == port)

    @property
    def master(self) -> RedisProcess:
        """The data node the sentinels name as master now."""
        return self._node(self._view(self.sentinels[0])[0])

    @property
    def replica(self) -> RedisProcess:
        master = self.master
        return next(node for node in self.data_nodes if node is not master)

    def wait_in_sync(self) -> None:
        """Return once the replica has every write the master had when this was called."""
        offset = int(self.master.info("replication")["master_repl_offset"])
        replica = self.replica
        _wait_until(
            "the replica has caught up",
            lambda: int(replica.info("replication").get("slave_repl_offset", -1)) >= offset,
        )

    def failover(self, timeout: float = 30.0) -> None:
        """Force ``SENTINEL FAILOVER``; return once it is complete: every sentinel names the
        new master, which says so itself, and the old master replicates from it."""
        _wait_until("a replica is fit for promotion", self._converged, timeout)
        old = self.master

        def started() -> bool:
            try:
                self.sentinels[0].command("SENTINEL", "FAILOVER", self.master_name)
            except redis.ResponseError as exc:
                if "NOGOODSLAVE" in str(exc) or "INPROG" in str(exc):
                    return False  # not ready yet: ask again
                raise
            return True

        def done() -> bool:
            ports = {self._view(s)[0] for s in self.sentinels}
            if len(ports) != 1 or old.port in ports:
                return False
            new, demoted = self._node(ports.pop()), old.info("replication")
            return (
                new.info("replication").get("role") == "master"
                and demoted.get("role") == "slave"
                and demoted.get("master_port") == new.port
                and demoted.get("master_link_status") == "up"
            )

        _wait_until("sentinel accepted the failover", started, timeout)
        _wait_until("the failover completed", done, timeout)


class RedisClusterSet(_ServerSet):
    """A Redis Cluster of ``size`` primaries without replicas, the slots split evenly."""

    SLOTS = 16384

    def __init__(self, size: int = 3) -> None:
        super().__init__("cluster")
        self.size = size
        self.nodes: list[RedisProcess] = []

    def _start(self) -> None:
        cluster = [
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            # Long enough that a busy test machine never marks a node as failed.
            "--cluster-node-timeout", "15000",
        ]  # fmt: skip
        for index in range(self.size):
            self.nodes.append(
                self._process(
                    f"node{index}", lambda p: [*_data_node_args(p), *cluster], cluster_bus=True
                )
            )
        # What `redis-cli --cluster create` does, without its one-second pauses.
        for index, node in enumerate(self.nodes):
            first, last = index * self.SLOTS // self.size, (index + 1) * self.SLOTS // self.size
            node.command("CLUSTER", "ADDSLOTSRANGE", first, last - 1)
            node.command("CLUSTER", "SET-CONFIG-EPOCH", index + 1)
        for node in self.nodes[1:]:
            self.nodes[0].command("CLUSTER", "MEET", HOST, node.port)
        _wait_until("the cluster is up", self._healthy)

    def _healthy(self) -> bool:
        for node in self.nodes:
            info = node.command("CLUSTER", "INFO")
            if "cluster_state:ok" not in info or f"cluster_known_nodes:{self.size}" not in info:
                return False
        return True

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"{HOST}:{node.port}" for node in self.nodes)
