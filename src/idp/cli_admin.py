"""Operator commands of the audit stream: ``idp audit verify|export``."""

from __future__ import annotations

import json
import sys

import click

from idp.cli_common import State, fail, pass_state, with_config_option

__all__ = ["register"]


def register(main: click.Group) -> None:
    @main.group()
    def audit() -> None:
        """The audit stream kept in the store (append-only, hash-chained)."""

    @audit.command("verify")
    @with_config_option
    @pass_state
    def audit_verify(state: State) -> None:
        """Check the hash chain; fails naming the first changed or removed event."""
        with state.services() as services:
            checked, broken = services.audit_log.verify()
        if broken is not None:
            fail(f"{broken}; {checked} event(s) before it verified")
        click.echo(f"audit stream intact: {checked} event(s) verified")

    @audit.command("export")
    @with_config_option
    @click.option("--since", type=float, help="Only events at or after (seconds since epoch).")
    @click.option("--after", type=click.IntRange(min=0), default=0,
                  help="Only events numbered above this.")
    @pass_state
    def audit_export(state: State, since: float | None, after: int) -> None:
        """Every event as JSON lines, oldest first (to anchor the chain elsewhere)."""
        with state.services() as services:
            for event in services.audit_log.events(after=after, since=since):
                sys.stdout.write(json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n")
