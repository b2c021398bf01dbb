"""Operator commands of SCIM provisioning: ``idp clients scim-token``, the long-lived token a
directory that cannot fetch client_credentials tokens is configured with."""

from __future__ import annotations

import time

import click

from idp.cli_common import State, fail, pass_state
from idp.scim.auth import SCOPE
from idp.scim.tokens import MAX_LIFETIME_S, ProvisioningTokens

__all__ = ["register"]


def register(main: click.Group) -> None:
    clients = main.commands.get("clients")
    if not isinstance(clients, click.Group):  # pragma: no cover - registered by cli_oidc
        raise RuntimeError("the `idp clients` group must be registered first")

    @clients.command("scim-token")
    @click.argument("client_id")
    @click.option("--days", type=click.IntRange(1, MAX_LIFETIME_S // 86400), default=365,
                  show_default=True, help="How long the new token works.")
    @click.option("--list", "listing", is_flag=True, help="List the client's live tokens.")
    @click.option("--revoke", is_flag=True, help="End every token of the client now.")
    @pass_state
    def clients_scim_token(state: State, client_id: str, days: int, listing: bool,
                           revoke: bool) -> None:
        """Issue a long-lived /scim/v2 bearer token for a client granted scim:provision
        (printed once; only its hash is kept), list its tokens or revoke them all."""
        with state.services() as services:
            tokens = ProvisioningTokens(services.store, services.audit)
            if revoke:
                click.echo(f"revoked {tokens.revoke_all(client_id, actor='cli')} token(s)")
                return
            if listing:
                for info in tokens.listing(client_id):
                    expires = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(info.expires_at))
                    click.echo(f"{info.fingerprint}\texpires {expires}")
                return
            client = services.oidc.clients.get(client_id)
            if client is None:
                fail(f"no client {client_id!r}")
            if SCOPE not in client.config.admin_scopes:
                fail(f"client {client_id!r} is not granted {SCOPE} "
                     f"(idp clients add ... --admin-scope {SCOPE})")
            click.echo(tokens.issue(client_id, days * 86400, actor="cli"))
