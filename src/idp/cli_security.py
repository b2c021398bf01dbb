"""Operator commands about second factors, trusted browsers and data keys.

``idp users show`` (methods and trusted browsers included), ``idp users reset-2sv``,
``idp devices list|revoke``, ``idp keys new-data-key|rotate-data-key``. Registered on the
``idp`` group by :mod:`idp.cli`.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from typing import Any

import click

from idp.cli_common import State, fail, pass_state
from idp.crypto import DataKeys, generate_data_key
from idp.login import unlock
from idp.methods.credentials import rotate_data_key
from idp.resets import reset_two_step
from idp.services import Services
from idp.users import method_user

__all__ = ["register"]


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


def user_report(services: Services, email: str) -> dict[str, Any]:
    """Everything an operator may see of a person: never a secret, hash or full number."""
    user = services.accounts.require(email)
    methods = services.methods.credentials(method_user(user, "en"))
    browsers = services.devices.list(user)
    return {
        **user.public(),
        "methods": [
            {"role": view.role, "method": view.method, "description": view.description,
             "disabled": view.disabled, "source": view.source, "created_at": view.created_at}
            for view in sorted(methods.values(), key=lambda v: v.role != "primary")
        ],
        "enrolled": services.methods.is_enrolled(user.id),
        "recovery_codes_left": services.methods.recovery_codes_left(user.id),
        "trusted_browsers": [asdict(browser) for browser in browsers],
        # A1: many trusted browsers on one account suggests it is shared.
        "many_trusted_browsers": services.devices.many(user),
    }


def print_user(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, sort_keys=True))
        return
    for key in ("id", "email", "display_name", "locale", "status", "security_epoch",
                "has_password", "enrolled", "recovery_codes_left"):
        click.echo(f"{key:20} {report[key]}")
    click.echo("methods:")
    if not report["methods"]:
        click.echo("  (none: two-step verification will be set up at the next sign-in)")
    for method in report["methods"]:
        flag = " [disabled]" if method["disabled"] else ""
        click.echo(f"  {method['role']:8} {method['description']}{flag}")
    browsers = report["trusted_browsers"]
    click.echo(f"trusted browsers: {len(browsers)}")
    for browser in browsers:
        click.echo(f"  {browser['device_id'][:12]}  {browser['name']}  added "
                   f"{_when(browser['created'])}, last used {_when(browser['last_used'])}, "
                   f"{browser['ip'] or '-'}")
    if report["many_trusted_browsers"]:
        click.echo("warning: this account has many trusted browsers; is it shared? "
                   "Each person should have their own account.")


def register(main: click.Group) -> None:
    users = main.commands["users"]
    assert isinstance(users, click.Group)

    @users.command("show")
    @click.argument("email")
    @click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
    @pass_state
    def users_show(state: State, email: str, as_json: bool) -> None:
        """Show a user with methods and trusted browsers (never a secret)."""
        with state.services() as services:
            print_user(user_report(services, email), as_json)

    @users.command("unlock")
    @click.argument("email")
    @pass_state
    def users_unlock(state: State, email: str) -> None:
        """Clear the password limits of EMAIL (delay, lock, hard stop; BEHAVIOUR S4)."""
        with state.services() as services:
            cleared = unlock(services, email, actor="cli")
        click.echo(f"unlocked {email}" if cleared else f"{email}: nothing to unlock")

    @users.command("reset-2sv")
    @click.argument("email")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @pass_state
    def users_reset_2sv(state: State, email: str, yes: bool) -> None:
        """Clear a user's methods, recovery codes, trusted browsers and sessions; they set
        up two-step verification again at the next sign-in with the one-time enrollment code
        printed here, handed over to them (BEHAVIOUR C3)."""
        with state.services() as services:
            user = services.accounts.require(email)
            if not yes and sys.stdin.isatty():
                click.confirm(f"Reset two-step verification of {user.email}?", abort=True)
            done = reset_two_step(services, user, actor="cli")
        click.echo(f"reset {user.email}: {done.methods_removed} method(s) removed, "
                   f"{done.browsers_revoked} trusted browser(s) revoked, sessions ended, "
                   f"{done.logouts_queued} client logout(s) queued")
        click.echo(f"enrollment code (give it to {user.email}; it works once, for "
                   f"{services.settings.lifetimes.reenrollment_code_s // 86400} days): "
                   f"{done.enrollment_code}")

    @main.group()
    def devices() -> None:
        """Trusted browsers ("don't require codes on this browser")."""

    @devices.command("list")
    @click.argument("email")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
    @pass_state
    def devices_list(state: State, email: str, as_json: bool) -> None:
        """List a user's trusted browsers."""
        with state.services() as services:
            user = services.accounts.require(email)
            for browser in services.devices.list(user):
                if as_json:
                    click.echo(json.dumps(asdict(browser), ensure_ascii=False, sort_keys=True))
                else:
                    click.echo(f"{browser.device_id}\t{browser.name}\t"
                               f"{_when(browser.last_used)}\t{browser.ip or '-'}")

    @devices.command("revoke")
    @click.argument("email")
    @click.argument("device_id", required=False)
    @click.option("--all", "revoke_all", is_flag=True, help="Revoke every trusted browser.")
    @pass_state
    def devices_revoke(state: State, email: str, device_id: str | None, revoke_all: bool) -> None:
        """Revoke one trusted browser (by id) or --all; effective at once everywhere."""
        if bool(device_id) == revoke_all:
            raise click.UsageError("give a DEVICE_ID or --all")
        with state.services() as services:
            user = services.accounts.require(email)
            if revoke_all:
                count = services.devices.revoke_all(user.id, actor="cli")
                click.echo(f"revoked {count} trusted browser(s) of {user.email}")
                return
            assert device_id is not None
            if not services.devices.revoke(user.id, device_id, actor="cli"):
                fail(f"{user.email} has no trusted browser {device_id!r}")
            click.echo(f"revoked trusted browser {device_id} of {user.email}")

    @main.group()
    def keys() -> None:
        """Data keys (secrets at rest) and token signing keys."""

    @keys.command("new-data-key")
    @click.option("--id", "kid", default=lambda: time.strftime("k%Y%m%d"),
                  help="Key id [default: kYYYYMMDD].")
    def keys_new(kid: str) -> None:
        """Print a new random data key, to put first in secrets.data_keys."""
        try:
            click.echo(generate_data_key(kid))
        except ValueError as exc:
            fail(f"--id {kid!r}: {exc}")

    @keys.command("rotate-data-key")
    @pass_state
    def keys_rotate(state: State) -> None:
        """Re-encrypt every secret at rest with the first (current) data key."""
        with state.services() as services:
            data_keys = DataKeys.from_settings(services.settings.secrets)
            count = rotate_data_key(services.store, data_keys)
        click.echo(f"re-encrypted {count} value(s) with data key {data_keys.current_id!r}")
