"""The application state as the sign-in pages see it.

The app (:mod:`idp.app`) returns one state from its lifespan, ``idp.app.AppState``; each
room reads it through the narrowest view it may know, so no room imports the composition
root. Handlers annotate ``request: Request[LoginState]`` and read ``request.state["login"]``.
The keys are read-only: a room narrows the type of ``services``, never writes it.
"""

from __future__ import annotations

from typing import TypeVar

from typing_extensions import ReadOnly, TypedDict

from idp.login.core import LoginServices
from idp.login.machine import LoginMachine
from idp.web.templating import Templates

__all__ = ["LoginState", "LoginStateT"]


class LoginState(TypedDict):
    services: ReadOnly[LoginServices]
    templates: ReadOnly[Templates]
    login: ReadOnly[LoginMachine]  # built once per app; it keeps no per-person state


# For the ways in that other rooms call with their own (wider) view of the state.
LoginStateT = TypeVar("LoginStateT", bound=LoginState)
