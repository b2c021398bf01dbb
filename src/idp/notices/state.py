"""The application state as the notice pages see it: the provider's view, with services that
include the notices (``idp.services.Services``; ``idp.app.AppState`` derives from it, so
mypy checks that the services satisfy it)."""

from __future__ import annotations

from typing import Any, Protocol, cast

from starlette.requests import Request
from typing_extensions import ReadOnly

from idp.notices.service import Notices
from idp.oidc.state import OidcServices, OidcState

__all__ = ["NoticeServices", "NoticeState", "notices_of"]


class NoticeServices(OidcServices, Protocol):
    @property
    def notices(self) -> Notices: ...


class NoticeState(OidcState):
    services: ReadOnly[NoticeServices]


def notices_of(request: Request[Any]) -> Notices:
    """The notices of the app serving ``request``, for a page of a room whose own view of the
    state is narrower (the /account overview). The app's state is an ``AppState``, which is a
    ``NoticeState``."""
    state = cast(NoticeState, request.state)
    return state["services"].notices
