"""The application state as the provider's pages (and the rooms above that reach the
provider) see it: the sign-in's view, with services that include the provider."""

from __future__ import annotations

from typing import Protocol

from typing_extensions import ReadOnly

from idp.login.core import LoginServices
from idp.login.state import LoginState
from idp.oidc.provider import OidcProvider

__all__ = ["OidcServices", "OidcState"]


class OidcServices(LoginServices, Protocol):
    """The services of the sign-in journey and the provider (``idp.services.Services``)."""

    @property
    def oidc(self) -> OidcProvider: ...


class OidcState(LoginState):
    services: ReadOnly[OidcServices]
