"""The rules without HTTP: RFC 8252 loopback matching of self-registered clients, the
redirect URI check, and the settings' scope list against the provider's."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from idp.oidc.clients import Client, ClientConfig
from idp.oidc.config import SUPPORTED_SCOPES
from idp.registration.errors import InvalidRedirectUri
from idp.registration.metadata import check_redirect_uri
from idp.settings import RegistrationScope

URIS = ["http://127.0.0.1/cb", "http://[::1]:8000/cb", "http://localhost/cb?x=1",
        "https://tool.example.com/cb"]


def _client(**overrides: Any) -> Client:
    data: dict[str, Any] = {"client_id": "dyn-t", "token_endpoint_auth_method": "none",
                            "redirect_uris": URIS, "registered": True, **overrides}
    return Client(ClientConfig.model_validate(data), "store")


@pytest.mark.parametrize(("uri", "matches"), [
    ("http://127.0.0.1/cb", True),
    ("http://127.0.0.1:1/cb", True),
    ("http://127.0.0.1:65535/cb", True),
    ("http://[::1]/cb", True),
    ("http://[::1]:9/cb", True),
    ("http://localhost:3000/cb?x=1", True),
    ("http://localhost:3000/cb", False),  # the query is part of it
    ("http://localhost:3000/cb?x=2", False),
    ("http://127.0.0.1:99999/cb", False),  # no such port
    ("http://127.0.0.1:abc/cb", False),
    ("http://127.0.0.1:80/cb/", False),
    ("http://127.0.0.1:80/cb#x", False),
    ("http://u@127.0.0.1:80/cb", False),
    ("http://127.0.0.1:80@evil.example/cb", False),
    ("https://127.0.0.1:80/cb", False),  # the scheme stays
    ("http://localhost:80/CB?x=1", False),
    ("https://tool.example.com:443/cb", False),  # never off loopback
    ("https://tool.example.com/cb", True),
])
def test_a_registered_public_client_may_use_any_loopback_port(uri: str, matches: bool) -> None:
    assert _client().check_redirect_uri(uri) is matches


def test_only_registered_public_clients_get_the_free_port() -> None:
    operator = _client(registered=False)
    confidential = _client(token_endpoint_auth_method="client_secret_basic",
                           secret_hash="sha256:" + "A" * 43)
    for client in (operator, confidential):
        assert client.check_redirect_uri("http://127.0.0.1/cb")
        assert not client.check_redirect_uri("http://127.0.0.1:5000/cb")


def test_a_registered_client_cannot_be_made_to_skip_consent() -> None:
    with pytest.raises(ValueError, match="cannot skip consent"):
        _client(skip_consent=True)
    assert _client().always_consent


@pytest.mark.parametrize("uri", ["http://127.0.0.1/cb", "http://[::1]:8080/cb",
                                 "http://localhost/cb", "https://x.example/cb?a=b"])
def test_good_redirect_uris_pass(uri: str) -> None:
    assert check_redirect_uri(uri) == uri


@pytest.mark.parametrize("uri", ["http://127.0.0.1:x/cb", "http://[::1/cb", "https:///cb",
                                 "vbscript:x", "DATA:text/html,x", "https://a.example/\ncb",
                                 "https://a.example/" + "a" * 2000])
def test_bad_redirect_uris_are_refused(uri: str) -> None:
    with pytest.raises(InvalidRedirectUri):
        check_redirect_uri(uri)


def test_the_settings_offer_only_scopes_the_provider_serves() -> None:
    assert set(get_args(RegistrationScope)) == set(SUPPORTED_SCOPES)
