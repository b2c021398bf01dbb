"""What every ``idp`` subcommand shares: the lazily loaded settings and services, the
``--config`` option, and the one-line failure."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from idp.devmode import VAR, ensure_dev_secrets
from idp.services import Services, build_services
from idp.settings import Settings, SettingsError, load_settings

__all__ = ["EXIT_FAILED", "EXIT_USAGE", "State", "fail", "pass_state", "with_config_option"]

F = TypeVar("F", bound=Callable[..., Any])

EXIT_USAGE = 2
EXIT_FAILED = 1


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    click.echo(f"idp: error: {message}", err=True)
    sys.exit(code)


class State:
    def __init__(self, config: Path | None) -> None:
        self.config = config
        self._settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            try:
                settings = load_settings(self.config)
            except SettingsError as exc:
                raise SettingsError(_with_dev_hint(str(exc))) from None
            # Dev mode (IDP_SERVER__DEV=true or `serve --dev`) makes its own secrets.
            if settings.server.dev and ensure_dev_secrets(settings):
                settings = load_settings(self.config)
            self._settings = settings
        return self._settings

    def reload(self) -> None:
        self._settings = None

    @contextmanager
    def services(self) -> Iterator[Services]:
        services = build_services(self.settings())
        try:
            yield services
        finally:
            services.close()




def _with_dev_hint(message: str) -> str:
    """After ``./scripts/run`` (``idp serve --dev``) the dev server's secrets are in var/:
    say how a command in the same checkout uses them, instead of only that they are missing."""
    if "required outside dev mode" not in message or not (VAR / "dev-data-keys").exists():
        return message
    return (message + "\nthis checkout has the dev server's secrets in var/ (from "
            "./scripts/run): put --dev first to use them, e.g. `uv run idp --dev users add "
            "EMAIL` (or set IDP_SERVER__DEV=true)")


pass_state = click.make_pass_decorator(State)


def with_config_option(command: F) -> F:
    """Also accept ``--config`` after the subcommand (``idp check-config --config x``)."""

    def remember(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
        if value is not None:
            ctx.find_object(State).config = value  # type: ignore[union-attr]

    return click.option(
        "--config", type=click.Path(path_type=Path, dir_okay=False), expose_value=False,
        callback=remember, is_eager=True, help="TOML config file.",
    )(command)


