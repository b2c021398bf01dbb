"""Operator commands of the provider: ``idp clients add|list|show|rotate-secret|delete|
new-secret`` and ``idp keys list|rotate`` (beside the data-key commands). Registered on the
``idp`` group by :mod:`idp.cli`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from idp.cli_common import State, fail, pass_state
from idp.oidc.clients import (
    MAX_SECRET_OVERLAP_S,
    MIN_SECRET_CHARS,
    Client,
    ClientConfigError,
    ClientError,
    client_config,
    hash_secret,
    new_secret,
)
from idp.oidc.config import ADMIN_SCOPES
from idp.oidc.keys import ALGORITHMS

__all__ = ["register"]


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


def client_report(client: Client) -> dict[str, Any]:
    """What an operator may see of a client: everything but the secret's hash."""
    return client.public()


def _print_client(report: dict[str, Any]) -> None:
    for key in ("client_id", "client_name", "source", "token_endpoint_auth_method",
                "has_secret", "previous_secret_valid_until", "grant_types", "scopes",
                "admin_scopes", "redirect_uris",
                "post_logout_redirect_uris", "backchannel_logout_uri", "require_pkce",
                "skip_consent", "introspection", "id_token_signed_response_alg", "jwks_uri",
                "access_token_lifetime_s", "id_token_lifetime_s", "refresh_token_lifetime_s"):
        value = report[key]
        shown = ", ".join(value) if isinstance(value, list) else value
        click.echo(f"{key:30} {'-' if shown in (None, '') else shown}")


def _read_secret() -> str:
    secret = sys.stdin.readline().rstrip("\r\n")
    if len(secret) < MIN_SECRET_CHARS:
        fail(f"--secret-stdin: a client secret must be at least {MIN_SECRET_CHARS} characters "
             "(or omit the option and one is generated)")
    return secret


def register(main: click.Group) -> None:
    @main.group()
    def clients() -> None:
        """OpenID Connect clients (relying parties)."""

    @clients.command("add")
    @click.argument("client_id")
    @click.option("--redirect-uri", "redirect_uris", multiple=True,
                  help="Exact redirect URI (repeat for several).")
    @click.option("--public", is_flag=True, help="Public client: no secret, PKCE required.")
    @click.option("--secret-stdin", is_flag=True,
                  help=f"Read the secret (>= {MIN_SECRET_CHARS} chars) from standard input.")
    @click.option("--auth-method", type=click.Choice(
        ["client_secret_basic", "client_secret_post", "private_key_jwt"]),
        default="client_secret_basic", show_default=True, help="Token endpoint authentication.")
    @click.option("--jwks-uri", help="private_key_jwt: URL of the client's public keys.")
    @click.option("--jwks-file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
                  help="private_key_jwt: file with the client's public JWKS.")
    @click.option("--post-logout-redirect-uri", "post_logout", multiple=True,
                  help="Exact post-logout redirect URI (repeat for several).")
    @click.option("--backchannel-logout-uri", help="Where back-channel logout tokens go.")
    @click.option("--skip-consent", is_flag=True, help="First-party tool: no consent page.")
    @click.option("--no-require-pkce", "no_pkce", is_flag=True,
                  help="Confidential client that sends no PKCE (Keycloak's broker default). "
                       "Refused for public clients.")
    @click.option("--name", default="", help="Name shown to people (consent, sign-in).")
    @click.option("--grant-type", "grant_types", multiple=True, type=click.Choice(
        ["authorization_code", "refresh_token", "client_credentials"]),
        help="Grant types [default: authorization_code, refresh_token].")
    @click.option("--id-token-alg", type=click.Choice(list(ALGORITHMS)), default="RS256",
                  show_default=True)
    @click.option("--admin-scope", "admin_scopes", multiple=True,
                  type=click.Choice(list(ADMIN_SCOPES)),
                  help="Grant an /admin/api/v1 scope or scim:provision (/scim/v2) "
                       "(repeatable); the client must then be client_credentials only.")
    @pass_state
    def clients_add(state: State, client_id: str, redirect_uris: tuple[str, ...], public: bool,
                    secret_stdin: bool, auth_method: str, jwks_uri: str | None,
                    jwks_file: Path | None, post_logout: tuple[str, ...],
                    backchannel_logout_uri: str | None, skip_consent: bool, no_pkce: bool,
                    name: str,
                    grant_types: tuple[str, ...], id_token_alg: str,
                    admin_scopes: tuple[str, ...]) -> None:
        """Register a client in the store. A confidential client's secret is printed once."""
        if public and (secret_stdin or auth_method != "client_secret_basic"):
            raise click.UsageError("--public takes no secret and no --auth-method")
        secret: str | None = None
        data: dict[str, Any] = {
            "client_id": client_id, "client_name": name, "redirect_uris": list(redirect_uris),
            "post_logout_redirect_uris": list(post_logout),
            "backchannel_logout_uri": backchannel_logout_uri, "skip_consent": skip_consent,
            "require_pkce": not no_pkce, "id_token_signed_response_alg": id_token_alg,
            "token_endpoint_auth_method": "none" if public else auth_method,
        }
        if grant_types:
            data["grant_types"] = list(grant_types)
        if admin_scopes:
            data["admin_scopes"] = list(admin_scopes)
        if auth_method == "private_key_jwt" and not public:
            if jwks_file is not None:
                try:
                    data["jwks"] = json.loads(jwks_file.read_text(encoding="utf-8"))
                except ValueError:
                    fail(f"--jwks-file {jwks_file}: not JSON")
            data["jwks_uri"] = jwks_uri
        elif not public:
            secret = _read_secret() if secret_stdin else new_secret()
            data["secret_hash"] = hash_secret(secret)
        with state.services() as services:
            try:
                client = services.oidc.clients.add(client_config(data, "client"), actor="cli")
            except (ClientError, ClientConfigError) as exc:
                fail("; ".join(str(exc).splitlines()) or "client refused")
        click.echo(f"added client {client.client_id}")
        if secret is not None and not secret_stdin:
            click.echo(f"client secret (shown once; store it now): {secret}")

    @clients.command("list")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
    @pass_state
    def clients_list(state: State, as_json: bool) -> None:
        """List every client, from the clients file and the store."""
        with state.services() as services:
            for client in services.oidc.clients.all():
                if as_json:
                    click.echo(json.dumps(client_report(client), sort_keys=True))
                else:
                    click.echo(f"{client.client_id}\t{client.source}\t"
                               f"{client.config.token_endpoint_auth_method}\t{client.name}")

    @clients.command("show")
    @click.argument("client_id")
    @click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
    @pass_state
    def clients_show(state: State, client_id: str, as_json: bool) -> None:
        """Show one client (never its secret)."""
        with state.services() as services:
            client = services.oidc.clients.get(client_id)
        if client is None:
            fail(f"no client {client_id!r}")
        report = client_report(client)
        if as_json:
            click.echo(json.dumps(report, sort_keys=True))
        else:
            _print_client(report)

    @clients.command("rotate-secret")
    @click.argument("client_id")
    @click.option("--overlap", "overlap_s", type=click.IntRange(0, MAX_SECRET_OVERLAP_S),
                  default=0, show_default=True, metavar="SECONDS",
                  help="Keep the old secret valid this long beside the new one.")
    @pass_state
    def clients_rotate(state: State, client_id: str, overlap_s: int) -> None:
        """Give a stored client a new secret (printed once). The old one stops at once, or
        after --overlap seconds (both work meanwhile)."""
        with state.services() as services:
            try:
                secret = services.oidc.clients.rotate_secret(client_id, actor="cli",
                                                             overlap_s=overlap_s)
            except ClientError as exc:
                fail(str(exc))
        click.echo(f"client secret of {client_id} (shown once; store it now): {secret}")
        if overlap_s:
            until = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(time.time() + overlap_s))
            click.echo(f"the old secret stays valid until {until}")

    @clients.command("delete")
    @click.argument("client_id")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @pass_state
    def clients_delete(state: State, client_id: str, yes: bool) -> None:
        """Remove a client added with `idp clients add`."""
        if not yes and sys.stdin.isatty():
            click.confirm(f"Delete client {client_id}?", abort=True)
        with state.services() as services:
            try:
                services.oidc.clients.delete(client_id, actor="cli")
            except ClientError as exc:
                fail(str(exc))
        click.echo(f"deleted client {client_id}")

    @clients.command("new-secret")
    def clients_new_secret() -> None:
        """Print a new secret and the secret_hash line to put in the clients file."""
        secret = new_secret()
        click.echo(f"secret: {secret}")
        click.echo(f'secret_hash = "{hash_secret(secret)}"')

    keys = main.commands.get("keys")
    if not isinstance(keys, click.Group):  # pragma: no cover - registered by cli_security
        raise RuntimeError("the `idp keys` group must be registered first")

    @keys.command("list")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
    @pass_state
    def keys_list(state: State, as_json: bool) -> None:
        """List the ID-token signing keys and their state (next, current, previous)."""
        with state.services() as services:
            listing = services.oidc.keys.listing()
        for info, key_state in listing:
            if as_json:
                click.echo(json.dumps({"kid": info.kid, "alg": info.alg, "state": key_state,
                                       "created_at": info.created_at,
                                       "activates_at": info.activates_at,
                                       "retires_at": info.retires_at}, sort_keys=True))
            else:
                click.echo(f"{info.kid}\t{info.alg}\t{key_state}\tsigns from "
                           f"{_when(info.activates_at)}\tretires {_when(info.retires_at)}")

    @keys.command("rotate")
    @click.option("--prepublish-s", type=click.IntRange(0, 30 * 24 * 3600),
                  help="Seconds the new keys are published before they sign "
                       "[default: oidc.key_prepublish_s].")
    @pass_state
    def keys_rotate(state: State, prepublish_s: int | None) -> None:
        """Create the next signing keys (RS256, ES256): published now, signing after the
        pre-publication delay; the current ones retire once their tokens have expired."""
        with state.services() as services:
            delay = services.oidc.oidc.key_prepublish_s if prepublish_s is None else prepublish_s
            created = services.oidc.keys.rotate(float(delay), actor="cli")
        for info in created:
            click.echo(f"new {info.alg} key {info.kid}: published now, signs from "
                       f"{_when(info.activates_at)}")
