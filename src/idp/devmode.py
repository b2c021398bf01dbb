"""Development mode (``idp serve --dev``): everything a newcomer needs, on 127.0.0.1 only.

Creates ``var/`` with throw-away secrets (mode 0600) unless secrets are configured, and a demo
user, and prints where to sign in. Never used in production: dev mode is what allows an http
issuer and cookies without ``Secure``.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

import click

from idp.demo import register_demo_client
from idp.services import build_services
from idp.settings import Settings

__all__ = ["DEMO_EMAIL", "DEMO_PASSWORD", "ensure_dev_secrets", "prepare_dev"]

DEMO_EMAIL = "demo@example.com"
# A published demo password is fine only because dev mode listens on loopback with a
# throw-away database.
DEMO_PASSWORD = "orange-kettle-harbour-seven"  # noqa: S105
VAR = Path("var")


def _secret_file(name: str, make: str) -> Path:
    path = VAR / name
    if not path.exists():
        VAR.mkdir(exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make + "\n")
    return path


def ensure_dev_secrets(settings: Settings) -> bool:
    """Point the settings at throw-away secrets under var/ (made once, mode 0600) where dev
    mode has none. Returns whether anything changed, so the caller reloads settings."""
    changed = False
    if not settings.secrets.data_keys:
        key = base64.b64encode(secrets.token_bytes(32)).decode()
        path = _secret_file("dev-data-keys", f"dev1:{key}")
        os.environ["IDP_SECRETS__DATA_KEYS_FILE"] = str(path.resolve())
        changed = True
    if not settings.secrets.cookie_keys:
        path = _secret_file("dev-cookie-keys", secrets.token_urlsafe(32))
        os.environ["IDP_SECRETS__COOKIE_KEYS_FILE"] = str(path.resolve())
        changed = True
    return changed


def prepare_dev(settings: Settings) -> None:
    """Create the demo user if missing, register the demo relying party (its secret in
    var/, like the other dev secrets) and print how to sign in."""
    services = build_services(settings)
    try:
        if services.accounts.find_by_email(DEMO_EMAIL) is None:
            services.accounts.create(
                DEMO_EMAIL, display_name="Demo Seller", locale="ja", password=DEMO_PASSWORD,
                actor="dev-mode",
            )
        demo_problem = register_demo_client(services)
    finally:
        services.close()
    issuer = settings.server.issuer
    demo = f"{issuer}/demo" if demo_problem is None else f"({demo_problem})"
    click.echo(
        "\n"
        f"  Nidan (dev mode) - sign in at {issuer}/account\n"
        f"  demo application (signs in through Nidan like your tools): {demo}\n"
        f"  demo user: {DEMO_EMAIL}   password: {DEMO_PASSWORD}\n"
        f"  health: {issuer}/healthz   ready: {issuer}/readyz\n",
        err=True,
    )
