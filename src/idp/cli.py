"""The ``idp`` command: serve, check-config, users, keys.

Every failure an operator can cause (bad config, unreachable store, bad input) ends with one
line ``idp: error: ...`` on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from pydantic import SecretStr

from idp.cli_admin import register as register_admin_commands
from idp.cli_common import EXIT_USAGE, State, fail, pass_state, with_config_option
from idp.cli_oidc import register as register_oidc_commands
from idp.cli_plugins import register as register_plugin_commands
from idp.cli_registration import register as register_registration_commands
from idp.cli_scim import register as register_scim_commands
from idp.cli_security import register as register_security_commands
from idp.devmode import prepare_dev
from idp.methods import MethodError
from idp.resets import delete_person, disable_person
from idp.services import MethodImporter
from idp.settings import SettingsError
from idp.store import StoreError
from idp.users import AccountError, PasswordPolicyError
from idp.users.directory import search
from idp.users.importing import ImportError_, import_users

__all__ = ["main"]



class _Group(click.Group):
    """Turns the errors an operator can cause into one clear line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            for line in str(exc).splitlines():
                click.echo(f"idp: error: {line}", err=True)
            sys.exit(EXIT_USAGE)
        except (StoreError, AccountError, PasswordPolicyError) as exc:
            fail(str(exc))
        except MethodError as exc:
            fail(exc.detail or exc.message("en"))
        except ImportError_ as exc:
            for problem in exc.problems:
                click.echo(f"idp: error: {problem}", err=True)
            fail(f"nothing imported: {len(exc.problems)} problem(s)")
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
            fail(f"unexpected {type(exc).__name__}; this is a bug, please report it", 70)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config", "config", type=click.Path(path_type=Path, dir_okay=False),
    help="TOML config file [default: $IDP_CONFIG, else config/idp.toml].",
)
@click.option(
    "--dev", is_flag=True,
    help="Act on the dev server's checkout (as `idp serve --dev` / ./scripts/run): dev mode "
         "settings and the throw-away secrets under var/.",
)
@click.pass_context
def main(ctx: click.Context, config: Path | None, dev: bool) -> None:
    """Nidan: an OpenID Connect provider that never issues a token without a second factor."""
    if dev:
        os.environ["IDP_SERVER__DEV"] = "true"
    if config is None and os.environ.get("IDP_CONFIG"):
        config = Path(os.environ["IDP_CONFIG"])
    ctx.obj = State(config)


# -- check-config -------------------------------------------------------------------------


def _masked(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return "********"
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _mask_plugin_secrets(data: dict[str, Any]) -> dict[str, Any]:
    # Plugin and transport sections are plain dicts until their plugin validates them: mask
    # anything whose name says it is secret.
    secret_words = ("secret", "token", "password", "key")
    result: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            result[key] = _mask_plugin_secrets(value)
        elif any(word in key.lower() for word in secret_words):
            result[key] = "********"
        else:
            result[key] = value
    return result


@main.command("check-config")
@with_config_option
@pass_state
def check_config(state: State) -> None:
    """Validate the configuration and print the effective settings, secrets masked."""
    settings = state.settings()
    data = _masked(settings.model_dump(by_alias=True))
    data["methods"] = _mask_plugin_secrets(data["methods"])
    data["delivery"] = _mask_plugin_secrets(data["delivery"])
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True, default=str))
    click.echo("configuration is valid", err=True)


# -- serve --------------------------------------------------------------------------------


@main.command()
@with_config_option
@click.option("--host", help="Address to listen on [default: server.host].")
@click.option("--port", type=click.IntRange(1, 65535), help="Port [default: server.port].")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--dev", is_flag=True, help="Development mode: SQLite under var/, demo data.")
@pass_state
def serve(
    state: State, host: str | None, port: int | None, workers: int | None, dev: bool
) -> None:
    """Run the identity provider (uvicorn). SIGTERM stops it gracefully: see idp.serving."""
    from idp.serving import serve as run_server  # only the server needs uvicorn

    if dev:
        os.environ["IDP_SERVER__DEV"] = "true"
    settings = state.settings()
    host = host or settings.server.host
    port = port or settings.server.port
    workers = workers or settings.server.workers
    if settings.server.dev and "issuer" not in settings.server.model_fields_set:
        # Dev mode with the default issuer: the issuer is wherever we listen.
        os.environ["IDP_SERVER__ISSUER"] = f"http://{host}:{port}"
        state.reload()
        settings = state.settings()
    if settings.server.dev:
        prepare_dev(settings)
    # Worker processes build the app from the same config: hand it over by path.
    if state.config is not None:
        os.environ["IDP_CONFIG"] = str(state.config)
    click.echo(f"Nidan listening on http://{host}:{port} (issuer {settings.server.issuer})",
               err=True)
    # /metrics on its own listener, summing every worker (before any worker starts).
    from idp.metrics.exporter import serve_metrics

    exporter = serve_metrics(settings.metrics)
    if exporter is not None:
        click.echo("Metrics on http://{}:{}/metrics".format(*exporter.address), err=True)
    try:
        run_server(settings, host=host, port=port, workers=workers)
    finally:
        if exporter is not None:
            exporter.stop()


# -- users --------------------------------------------------------------------------------


@main.group()
def users() -> None:
    """Manage user accounts."""


def _read_password(from_stdin: bool, confirm: bool = True) -> str | None:
    if from_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            fail("--password-stdin: no password on standard input")
        return line.rstrip("\r\n")
    if sys.stdin.isatty():
        value: str = click.prompt("Password", hide_input=True, confirmation_prompt=confirm)
        return value
    return None


@users.command("add")
@with_config_option
@click.argument("email")
@click.option("--name", default="", help="Display name.")
@click.option("--locale", type=click.Choice(["ja", "en"]), default="ja", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_state
def users_add(state: State, email: str, name: str, locale: str, password_stdin: bool) -> None:
    """Create a user. Prompts for the password when interactive."""
    password = _read_password(password_stdin)
    with state.services() as services:
        user = services.accounts.create(
            email, display_name=name, locale=locale, password=password, actor="cli"
        )
    note = "" if password else " (no password set: use 'idp users set-password')"
    click.echo(f"created {user.email} ({user.id}){note}")


@users.command("list")
@with_config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--search", "query", default="",
              help="Only users whose email or name contains this (as the admin API's q).")
@pass_state
def users_list(state: State, as_json: bool, query: str) -> None:
    """List users."""
    with state.services() as services:
        found = search(services.accounts, query)
        for user in sorted(found, key=lambda u: u.email.casefold()):
            if as_json:
                click.echo(json.dumps(user.public(), ensure_ascii=False, sort_keys=True))
            else:
                click.echo(f"{user.email}\t{user.status}\t{user.display_name}")


def _status_command(name: str, status: str, verb: str) -> None:
    @users.command(name)
    @with_config_option
    @click.argument("email")
    @pass_state
    def command(state: State, email: str) -> None:
        with state.services() as services:
            user = services.accounts.require(email)
            if status == "disabled":  # every way back in closes too (sessions, clients)
                disable_person(services, user.id, actor="cli")
            else:
                services.accounts.set_status(user.id, "active", actor="cli")
        click.echo(f"{verb} {user.email}")

    command.__doc__ = f"{verb.capitalize()} a user."


_status_command("disable", "disabled", "disabled")
_status_command("enable", "active", "enabled")


@users.command("delete")
@with_config_option
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def users_delete(state: State, email: str, yes: bool) -> None:
    """Delete a user."""
    with state.services() as services:
        user = services.accounts.require(email)
        if not yes and sys.stdin.isatty():
            click.confirm(f"Delete {user.email}?", abort=True)
        delete_person(services, user, actor="cli")
    click.echo(f"deleted {user.email}")


@users.command("set-password")
@with_config_option
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_state
def users_set_password(state: State, email: str, password_stdin: bool) -> None:
    """Set a user's password (ends their trusted browsers: C4)."""
    password = _read_password(password_stdin)
    if password is None:
        fail("no password given: use --password-stdin or run interactively")
    with state.services() as services:
        user = services.accounts.require(email)
        services.accounts.set_password(user.id, password, actor="cli")
    click.echo(f"password set for {user.email}")


@users.command("set-email")
@with_config_option
@click.argument("email")
@click.argument("new_email")
@pass_state
def users_set_email(state: State, email: str, new_email: str) -> None:
    """Change a user's email address; the old address is told, the new one gets a
    confirmation link (docs/notifications.md)."""
    with state.services() as services:
        user = services.accounts.require(email)
        try:
            services.notices.change_email(user.id, new_email, actor="cli")
        except AccountError as exc:
            fail(str(exc))
    click.echo(f"email of {user.email} changed to {new_email.strip()}")


@users.command("import")
@with_config_option
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@pass_state
def users_import(state: State, file: Path) -> None:
    """Import users from a JSON-lines FILE, all or nothing; existing emails are left as they are."""
    with state.services() as services:
        report = import_users(file, services.accounts, MethodImporter(services.methods),
                              services.audit)
    click.echo(f"imported {report.created} user(s); {report.unchanged} already present, unchanged")


register_security_commands(main)
register_admin_commands(main)
register_oidc_commands(main)  # after the security commands: it adds to their `keys` group
register_plugin_commands(main)
register_scim_commands(main)  # after the provider's: it adds to their `clients` group
register_registration_commands(main)  # after the OIDC commands: it adds to `clients`
