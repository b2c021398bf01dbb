"""HTTP routes of `idp.oidc`, mounted by `idp.app.create_app`."""

from __future__ import annotations

from starlette.routing import BaseRoute

__all__ = ["routes"]


def routes() -> list[BaseRoute]:
    """The routes of this area. Handlers find the services at ``request.app.state.services``
    and the templates at ``request.app.state.templates``."""
    return []
