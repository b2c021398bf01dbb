"""Operator commands of dynamic client registration (docs/registration.md):
``idp clients registration-token`` and ``idp clients registration-prune``. Registered on
the ``clients`` group by :mod:`idp.cli`."""

from __future__ import annotations

import click

from idp.cli_common import State, fail, pass_state
from idp.registration import Registration

__all__ = ["register"]


def register(main: click.Group) -> None:
    clients = main.commands["clients"]
    assert isinstance(clients, click.Group)

    @clients.command("registration-token")
    @click.option("--uses", type=click.IntRange(1, 10_000), default=1, show_default=True,
                  help="How many clients may register with it.")
    @click.option("--expires-in", "lifetime_s", type=click.IntRange(60, 365 * 24 * 3600),
                  default=None, help="Seconds it works (default [registration] "
                  "initial_token_s, 7 days).")
    @pass_state
    def registration_token(state: State, uses: int, lifetime_s: int | None) -> None:
        """Make an initial access token for `[registration] mode = "initial-token"` (printed
        once; only its digest is kept)."""
        with state.services() as services:
            if services.settings.registration.mode != "initial-token":
                fail('[registration] mode is not "initial-token": no client could use it')
            token, short = Registration(services).create_initial_token(
                uses=uses, lifetime_s=lifetime_s, actor="cli")
        click.echo(f"initial access token {short} (shown once; send it as "
                   f"'Authorization: Bearer ...' to /register): {token}")

    @clients.command("registration-prune")
    @pass_state
    def registration_prune(state: State) -> None:
        """Remove registered clients that got no token for [registration] prune_after_days
        (registration also does it, at most hourly)."""
        with state.services() as services:
            removed = Registration(services).prune()
        click.echo(f"removed {len(removed)} unused registered client(s)")
        for client_id in removed:
            click.echo(client_id)
