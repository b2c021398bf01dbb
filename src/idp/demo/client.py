"""The demo relying party's registration: a confidential client in the Store, made by dev mode.

``idp serve --dev`` calls :func:`register_demo_client` at start-up. The client secret is
random, made once and kept in ``var/`` (mode 0600) like the other dev secrets, so the demo
pages (in every worker) and the registration agree on it across restarts; only its hash is
in the Store, as for any client. The redirect URIs follow the issuer, which in dev mode is
wherever the server listens, so the registration is replaced when they change.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from idp.oidc.clients import (
    MIN_SECRET_CHARS,
    SECRET_BYTES,
    ClientConfig,
    ClientConfigError,
    ClientError,
    client_config,
    hash_secret,
)

if TYPE_CHECKING:
    from idp.oidc.state import OidcServices

__all__ = [
    "CALLBACK_PATH",
    "CLIENT_ID",
    "DEMO_PATH",
    "SECRET_FILE",
    "DemoClient",
    "demo_client_config",
    "read_secret",
    "register_demo_client",
]

CLIENT_ID: Final = "nidan-demo"
DEMO_PATH: Final = "/demo"
CALLBACK_PATH: Final = "/demo/callback"
# Beside the dev data and cookie keys (idp.devmode): relative to the working directory.
SECRET_FILE: Final = Path("var") / "dev-demo-client-secret"


@dataclass(frozen=True)
class DemoClient:
    """What the demo pages need to act as the client."""

    client_id: str
    secret: str
    redirect_uri: str
    post_logout_redirect_uri: str


def _make_secret_file(path: Path) -> str:
    path.parent.mkdir(exist_ok=True)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return secret


def read_secret(path: Path = SECRET_FILE) -> str | None:
    """The demo client's secret, or None when dev mode never registered the client here."""
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return secret if len(secret) >= MIN_SECRET_CHARS else None


def demo_client_config(issuer: str, secret: str) -> ClientConfig:
    """The demo's registration for ``issuer``; :class:`ClientConfigError` when the issuer
    can't have it (plain http off loopback, which dev mode allows but redirect URIs don't)."""
    return client_config({
        "client_id": CLIENT_ID,
        "client_name": "Nidan demo",
        "token_endpoint_auth_method": "client_secret_basic",
        "secret_hash": hash_secret(secret),
        "redirect_uris": [issuer + CALLBACK_PATH],
        "post_logout_redirect_uris": [issuer + DEMO_PATH],
        "scopes": ["openid", "profile", "email"],
        # The demo uses its access token once (UserInfo) and keeps no refresh token.
        "grant_types": ["authorization_code"],
        # First-party: the demo is part of the product; no consent page in the way.
        "skip_consent": True,
    }, "demo client")


def demo_client(issuer: str, secret: str) -> DemoClient:
    return DemoClient(CLIENT_ID, secret, issuer + CALLBACK_PATH, issuer + DEMO_PATH)


def register_demo_client(services: OidcServices, path: Path = SECRET_FILE) -> str | None:
    """Make sure the Store holds the demo client for this issuer with the secret kept in
    ``path`` (created if missing). Returns None when done, else why the demo can't run (one
    line for the dev banner)."""
    secret = read_secret(path) or _make_secret_file(path)
    issuer = services.settings.server.issuer
    try:
        wanted = demo_client_config(issuer, secret)
    except ClientConfigError:
        return f"not available with issuer {issuer} (redirect URIs must be https or loopback)"
    clients = services.oidc.clients
    existing = clients.get(CLIENT_ID)
    if existing is not None and existing.config == wanted:
        return None
    try:
        if existing is not None:
            clients.delete(CLIENT_ID, actor="dev-mode")
        clients.add(wanted, actor="dev-mode")
    except ClientError as exc:  # e.g. the id is taken in the operator's clients file
        return str(exc)
    return None
