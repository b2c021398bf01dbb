"""[server] trusted_proxies: the settings it accepts, and the middleware over real HTTP (an
application that shows the address and scheme it was given; the whole provider behind
proxies is in tests/replicas)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from idp.settings import ServerSettings, SettingsError
from idp.web.proxies import ForwardedHeadersMiddleware, TrustedProxies, parse_address
from tests.conftest import make_settings
from tests.live_server import live_server


async def shown(scope: Scope, receive: Receive, send: Send) -> None:
    body = json.dumps({"client": scope["client"][0], "scheme": scope["scheme"]}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


@contextmanager
def serving(trusted: list[str]) -> Iterator[str]:
    """The middleware in front of ``shown``, on a real uvicorn that reads no header itself."""
    with live_server(ForwardedHeadersMiddleware(shown, trusted), proxy_headers=False,
                     lifespan="off") as base:
        yield base + "/"


def seen(url: str, headers: list[tuple[str, str]], local: str = "127.0.0.1") -> dict[str, str]:
    transport = httpx.HTTPTransport(local_address=local)
    with httpx.Client(transport=transport) as client:
        data: dict[str, str] = client.get(url, headers=headers).json()
        return data


def test_headers_of_a_trusted_peer_are_believed_and_of_others_not() -> None:
    with serving(["127.0.0.1"]) as url:
        forwarded = [("X-Forwarded-For", "198.51.100.1, 203.0.113.5"),
                     ("X-Forwarded-Proto", "https")]
        assert seen(url, forwarded) == {"client": "203.0.113.5", "scheme": "https"}
        assert seen(url, forwarded, local="127.0.0.5") == {"client": "127.0.0.5",
                                                           "scheme": "http"}


@pytest.mark.parametrize("proto", ["https, http", "ftp", "", "HTTPS"])
def test_x_forwarded_proto_is_one_value_or_ignored(proto: str) -> None:
    with serving(["127.0.0.1"]) as url:
        got = seen(url, [("X-Forwarded-Proto", proto)])
    assert got["scheme"] == ("https" if proto == "HTTPS" else "http")


def test_two_proto_headers_are_ignored() -> None:
    with serving(["127.0.0.1"]) as url:
        got = seen(url, [("X-Forwarded-Proto", "https"), ("X-Forwarded-Proto", "https")])
    assert got["scheme"] == "http"


def test_the_default_trusts_loopback_only() -> None:
    trusted = TrustedProxies(ServerSettings().trusted_proxies)
    assert trusted.client_address("127.0.0.8", ["203.0.113.1"]) == "203.0.113.1"
    assert trusted.client_address("::1", ["203.0.113.1"]) == "203.0.113.1"
    assert trusted.client_address("10.0.0.1", ["203.0.113.1"]) == "10.0.0.1"
    # An IPv4 peer on a dual-stack socket is the same address.
    assert trusted.client_address("::ffff:10.0.0.1", []) == "10.0.0.1"


@pytest.mark.parametrize(("text", "expected"), [
    ("192.0.2.1", "192.0.2.1"), ("192.0.2.1:8080", "192.0.2.1"), ("[2001:db8::1]:443",
     "2001:db8::1"), ("2001:DB8::1", "2001:db8::1"), ("::ffff:192.0.2.1", "192.0.2.1"),
    ("unknown", None), ("", None), ("192.0.2.1:http", None), ("[2001:db8::1", None),
    ("example.com", None), ("1" * 100, None),
])
def test_hops_are_addresses_or_nothing(text: str, expected: str | None) -> None:
    found = parse_address(text)
    assert (None if found is None else str(found)) == expected


def test_the_wildcard_is_for_dev_mode_only(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"server.trusted_proxies: '\*'.*dev mode"):
        make_settings(tmp_path, server={"trusted_proxies": ["*"]})
    dev = make_settings(tmp_path, server={"trusted_proxies": ["*"], "dev": True})
    trusted = TrustedProxies(dev.server.trusted_proxies)
    assert trusted.client_address("192.0.2.9", ["203.0.113.1, 198.51.100.1"]) == "203.0.113.1"


@pytest.mark.parametrize("entry", ["10.0.0.1/8", "proxy.internal", "10.0.0.0/33", ""])
def test_entries_must_be_addresses_or_networks(tmp_path: Path, entry: str) -> None:
    with pytest.raises(SettingsError, match=r"server\.trusted_proxies.*not an IP address"):
        make_settings(tmp_path, server={"trusted_proxies": [entry]})


def test_proxies_and_shutdown_timeout_come_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_SERVER__TRUSTED_PROXIES", '["10.0.0.0/8", "fd00::/8"]')
    monkeypatch.setenv("IDP_SERVER__SHUTDOWN_TIMEOUT", "7")
    settings = make_settings(tmp_path)
    assert settings.server.trusted_proxies == ["10.0.0.0/8", "fd00::/8"]
    assert settings.server.shutdown_timeout == 7
