"""The discovery checks of the Config OP plan and of the two logout plans' discovery modules,
and a deployment-shaped provider to run the ``https`` checks against.

The test provider's issuer is its loopback URL (``http://127.0.0.1:PORT``) so that clients
can reach it; a deployment's issuer is ``https``. The suite's
CheckDiscEndpointAllEndpointsAreHttps and CheckDiscEndpointIssuerIsValidUrl are therefore
asserted on the document a provider configured with an ``https`` issuer serves (fetched over
loopback HTTP, as behind a TLS-terminating proxy), and everything else on the live one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
from tests.conftest import make_settings
from tests.live_server import live_server
from tests.oidc.helpers import Clock, build_env_services

from idp.app import create_app

__all__ = ["DEPLOYED_ISSUER", "WELL_KNOWN", "check_all_endpoints_https", "check_issuer",
           "check_locales_and_scopes", "check_url", "fetch_discovery", "https_deployment"]

DEPLOYED_ISSUER: Final = "https://idp.example.com"
WELL_KNOWN: Final = "/.well-known/openid-configuration"
# RFC 6749 3.3: scope-token = 1*NQCHAR; NQCHAR = %x21 / %x23-5B / %x5D-7E.
SCOPE_TOKEN: Final = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
# BCP 47 language tags as RFC 8414 2 wants them (CheckDiscEndpointLocalesSyntax), and
# their canonical casing (CheckDiscEndpointLocalesCanonicalCasing): language lower-case,
# script title-case, region upper-case.
LOCALE: Final = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
CANONICAL_LOCALE: Final = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2}|-[0-9]{3})?$")


def fetch_discovery(base: str) -> tuple[str, dict[str, Any]]:
    """GetDynamicServerConfiguration, EnsureDiscoveryEndpointResponseStatusCodeIs200,
    CheckDiscoveryEndpointReturnedJsonContentType. Returns the URL and the document."""
    url = base + WELL_KNOWN
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0].strip() == "application/json"
    document: dict[str, Any] = response.json()
    return url, document


def check_url(value: Any, *, https: bool) -> None:
    """AbstractJsonUriIsValidAndHttps: an absolute URL (https when ``https``)."""
    assert isinstance(value, str), value
    parts = urlsplit(value)
    assert parts.scheme in (("https",) if https else ("http", "https")), value
    assert parts.hostname, value
    assert not parts.fragment, value


def check_all_endpoints_https(document: dict[str, Any]) -> None:
    """CheckDiscEndpointAllEndpointsAreHttps: every ``*_endpoint`` member."""
    endpoints = [key for key in document if key.endswith("_endpoint")]
    assert endpoints, "no endpoints in the document"
    for key in endpoints:
        check_url(document[key], https=True)


def check_issuer(document: dict[str, Any], discovery_url: str, *, https: bool) -> None:
    """CheckDiscEndpointDiscoveryUrl, CheckDiscEndpointIssuer, CheckDiscEndpointIssuerIsValidUrl."""
    assert discovery_url.endswith(WELL_KNOWN)
    assert document["issuer"] + WELL_KNOWN == discovery_url, document["issuer"]
    check_url(document["issuer"], https=https)
    parts = urlsplit(document["issuer"])
    assert not parts.query
    assert not parts.fragment


def check_locales_and_scopes(document: dict[str, Any]) -> None:
    """CheckDiscEndpointScopesSupportedContainsOpenId, CheckDiscEndpointScopesSupportedSyntax,
    CheckDiscEndpointLocalesSyntax, CheckDiscEndpointLocalesCanonicalCasing."""
    scopes = document["scopes_supported"]
    assert "openid" in scopes
    assert all(isinstance(s, str) and SCOPE_TOKEN.match(s) for s in scopes), scopes
    for key in ("ui_locales_supported", "claims_locales_supported"):
        if key in document:
            assert isinstance(document[key], list), key
            assert all(LOCALE.match(tag) and CANONICAL_LOCALE.match(tag)
                       for tag in document[key]), document[key]


@contextmanager
def https_deployment(tmp_path: Path) -> Iterator[str]:
    """A provider configured as deployed (``https`` issuer), serving on loopback; yields the
    base URL to fetch its documents from."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    settings = make_settings(tmp_path, server={"issuer": DEPLOYED_ISSUER})
    with (
        closing(build_env_services(settings, Clock())) as services,
        live_server(create_app(settings, services)) as base,
    ):
        yield base
