"""Three ``idp serve`` replicas (two workers each) on one real Redis, behind a load balancer.

The test process is one more client of the same store: it creates people and clients there
with the same services the replicas run (as ``idp users import`` and ``idp clients add``
would), and reads back what it checks. Everything a person does goes over HTTP through the
balancer, whose address is the issuer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp

from idp.oidc.clients import ClientConfig, hash_secret, new_secret
from idp.services import Services, build_services
from idp.settings import Settings, load_settings
from idp.users import User, method_user
from tests.balancer import Balancer
from tests.conftest import FAST_PASSWORDS, TEST_DATA_KEY
from tests.login.helpers import Authenticator
from tests.redis_servers import free_port
from tests.served import Served, write_config

REPLICAS = 3
WORKERS = 2
PASSWORD = "correct horse battery staple"
REDIRECT = "https://rp.example.com/callback"
BYE = "https://rp.example.com/bye"
COOKIE_KEY = "test-cookie-key-0123456789"
# Low enough that a test reaches it in a few requests; the other tests never fail a password.
PER_IP_PER_MINUTE = 5
# The balancer connects from 127.0.0.1; 10.0.0.0/8 stands for proxies further out.
TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
SHUTDOWN_TIMEOUT_S = 4


def replica_config(tmp: Path, store_url: str, issuer: str, **extra: dict[str, Any]
                   ) -> dict[str, dict[str, Any]]:
    clients_file = tmp / "clients.toml"
    clients_file.write_text("")
    sections: dict[str, dict[str, Any]] = {
        "server": {"issuer": issuer, "trusted_proxies": TRUSTED_PROXIES,
                   "shutdown_timeout": SHUTDOWN_TIMEOUT_S},
        "store": {"url": store_url},
        "passwords": dict(FAST_PASSWORDS),
        "secrets": {"data_keys": [TEST_DATA_KEY], "cookie_keys": [COOKIE_KEY]},
        "delivery": {"allow_outbox": True,
                     "transports": {"outbox": {"path": str(tmp / "outbox.jsonl")}}},
        "limits": {"password_per_ip_per_minute": PER_IP_PER_MINUTE},
        "oidc": {"clients_file": str(clients_file), "key_refresh_s": 1.0,
                 "backchannel_poll_s": 0.2, "backchannel_retry_base_s": 0.2,
                 "backchannel_retry_max_s": 0.5, "backchannel_timeout_s": 2.0},
        "logging": {"level": "INFO"},
    }
    for name, values in extra.items():
        sections[name] = {**sections.get(name, {}), **values}
    return sections


@dataclass
class Person:
    user: User
    email: str
    authenticator: Authenticator

    def code(self) -> str:
        """A code of a time step not entered before (S5: each step once; +-1 step)."""
        return self.authenticator.code()


@dataclass
class Deployment:
    kind: str
    tmp: Path
    config: Path
    settings: Settings
    services: Services
    replicas: list[Served]
    balancer: Balancer
    secrets: dict[str, str] = field(default_factory=dict)
    _people: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def issuer(self) -> str:
        return self.balancer.base

    def url(self, path: str) -> str:
        return self.balancer.url(path)

    def add_client(self, client_id: str, **overrides: Any) -> str:
        secret = new_secret()
        data: dict[str, Any] = {"client_id": client_id, "client_name": f"Tool {client_id}",
                                "redirect_uris": [REDIRECT], "secret_hash": hash_secret(secret),
                                "post_logout_redirect_uris": [BYE], "skip_consent": False}
        data.update(overrides)
        self.services.oidc.clients.add(ClientConfig.model_validate(data), actor="test")
        self.secrets[client_id] = secret
        return secret

    def person(self, label: str = "seller") -> Person:
        """A new person with a password, a TOTP app (primary) and an SMS number (backup)."""
        with self._lock:
            self._people += 1
            number = self._people
        email = f"{label}-{number}@example.com"
        secret = pyotp.random_base32()
        user = self.services.accounts.create(email, display_name=f"Seller {number}",
                                             locale="en", password=PASSWORD, actor="test")
        self.services.methods.import_credentials(method_user(user), [
            ("totp", "primary", {"secret": secret}),
            ("sms", "backup", {"phone": f"+8190{12340000 + number}"}),
        ])
        fresh = self.services.accounts.get(user.id)
        assert fresh is not None
        return Person(fresh, email, Authenticator(secret))

    def alive(self) -> list[int]:
        return [index for index, replica in enumerate(self.replicas) if replica.alive()]


@contextmanager
def deployment(kind: str, tmp: Path, store_url: str, **extra: dict[str, Any]
               ) -> Iterator[Deployment]:
    ports = [free_port() for _ in range(REPLICAS)]
    balancer = Balancer([f"http://127.0.0.1:{port}" for port in ports])
    config = write_config(tmp / "idp.toml",
                          replica_config(tmp, store_url, balancer.base, **extra))
    settings = load_settings(config)
    services = build_services(settings)
    services.oidc.keys.ring()  # the first signing keys, made once before the replicas race
    replicas: list[Served] = []
    try:
        for index, port in enumerate(ports):  # started together, then waited for
            replicas.append(Served.start(config, workers=WORKERS, port=port, name=f"r{index}",
                                         wait=False))
        for replica in replicas:
            replica.wait_ready()
        with balancer:
            yield Deployment(kind, tmp, config, settings, services, replicas, balancer)
    finally:
        for replica in replicas:
            replica.stop()
        services.close()
