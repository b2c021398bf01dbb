"""What the conformance plugin's tests share.

- Until the workspace installs ``nidan-conformance`` in the dev environment, this stands in
  for ``uv pip install -e plugins/nidan-conformance`` without touching the venv (as
  ``tests/plugin_example`` does): the package goes on ``sys.path`` and, for each test, a
  ``*.dist-info`` made from this distribution's own ``pyproject.toml``, so the ``idp.methods``
  entry point is found exactly as an installed one would be. Once it is installed the two are
  the same entry point and the registry counts it once.
- Settings in conformance mode: ``[server] conformance = true``, given as a ``ServerSettings``
  subclass so the tests run before and after ``ServerSettings`` declares the field.
- :class:`ConformanceHarness`: the contract kit's real core, in conformance mode.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent.parent
SRC = HERE / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from idp.crypto import generate_data_key  # noqa: E402
from idp.delivery.registry import load_transports  # noqa: E402
from idp.methods import Method, MethodUser  # noqa: E402
from idp.methods.service import MethodService  # noqa: E402
from idp.methods.testing import ContractHarness, install_distribution  # noqa: E402
from idp.observability import Audit, AuditEvent  # noqa: E402
from idp.settings import ServerSettings, Settings  # noqa: E402
from idp.store.sqlite import SqliteStore  # noqa: E402

CODE = "493817"  # the fixed code these tests configure
TEST_DATA_KEY = "conf1:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="  # 32 bytes, base64


class ConformanceServer(ServerSettings):
    """``[server]`` with the conformance flag on."""

    conformance: bool = True


def write_dist_info(site: Path) -> None:
    """The metadata an installer writes (the contract kit's ``install_distribution``)."""
    install_distribution(site, HERE / "pyproject.toml")


@pytest.fixture(autouse=True)
def installed(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path_factory.mktemp("site")
    write_dist_info(site)
    monkeypatch.syspath_prepend(str(site))
    return site


@pytest.fixture(autouse=True)
def _no_idp_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read IDP_* variables: the developer's must not leak in."""
    for name in list(os.environ):
        if name.startswith("IDP_"):
            monkeypatch.delenv(name)


def conformance_settings(tmp_path: Path, *, conformance: bool = True,
                         **sections: Mapping[str, Any]) -> Settings:
    """Test settings: SQLite and the outbox in ``tmp_path``, fast hashing, fixed keys,
    ``[methods.conformance] code = CODE`` and totp, the pair allowed; then ``sections``."""
    server = dict(sections.pop("server", {}))
    values: dict[str, Any] = {
        "store": {"url": f"sqlite:///{tmp_path}/idp.sqlite3"},
        "passwords": {"argon2_time_cost": 1, "argon2_memory_kib": 8192,
                      "argon2_parallelism": 1},
        "secrets": {"data_keys": [TEST_DATA_KEY],
                    "cookie_keys": ["conformance-test-cookie-key-0123"]},
        "delivery": {"allow_outbox": True,
                     "transports": {"outbox": {"path": str(tmp_path / "outbox.jsonl")}}},
        "methods": {"conformance": {"code": CODE}, "totp": {}},
        "enrollment": {"primary": ["conformance"], "backup": ["totp"],
                       "require_phone": False},
        "oidc": {"clients_file": None},
        **sections,
    }
    server_class = ConformanceServer if conformance else ServerSettings
    return Settings(server=server_class(**server), **values)


class ConformanceHarness(ContractHarness):
    """:class:`ContractHarness` (the same real core: SQLite, outbox, limits, encryption,
    audit, a movable clock) with the server in conformance mode."""

    def __init__(self, tmp_path: Path, method_class: type[Method[Any]],
                 config: Mapping[str, Any]) -> None:
        # Mirrors ContractHarness.__init__, whose Settings have no way to set the flag.
        method_id = method_class.info.id
        self.method_id = method_id
        self.outbox_path = tmp_path / "outbox.jsonl"
        self.offset = 0.0
        self.settings = Settings(
            server=ConformanceServer(),
            store={"url": f"sqlite:///{tmp_path}/kit.sqlite3"},
            secrets={"data_keys": [generate_data_key("kit")],
                     "cookie_keys": [secrets.token_urlsafe(32)]},
            delivery={"sms": ["outbox"], "voice": ["outbox"],
                      "transports": {"outbox": {"path": str(self.outbox_path)}}},
            methods={method_id: dict(config)},
            enrollment={"primary": [method_id], "backup": [method_id], "require_phone": False},
        )
        self.store = SqliteStore.open(tmp_path / "kit.sqlite3")
        self.audit = Audit()
        self.events: list[AuditEvent] = []
        self.audit.listeners.append(self.events.append)
        self.issued = []
        self.delivery = load_transports(self.settings.delivery)
        try:
            self.service = MethodService.from_settings(
                self.settings, self.store, audit=self.audit, delivery=self.delivery,
                clock=self.now, classes={method_id: method_class},
                code_observer=lambda scope, code: self.issued.append(code),
            )
        except BaseException:
            self.close()
            raise
        self.method = self.service.methods[method_id]
        self.user = MethodUser(id="kit-user", email="kit@example.com", display_name="Kit",
                               locale="en")


@pytest.fixture
def conformance_harness(tmp_path: Path) -> Iterator[ContractHarness]:
    from idp_conformance import ConformanceMethod

    with closing(ConformanceHarness(tmp_path, ConformanceMethod, {"code": CODE})) as built:
        yield built


@pytest.fixture
def fixed_code() -> str:
    """The fixed code :func:`conformance_settings` configures."""
    return CODE


@pytest.fixture
def settings_for() -> Callable[..., Settings]:
    """:func:`conformance_settings`, for tests (a test module can't import this conftest)."""
    return conformance_settings
