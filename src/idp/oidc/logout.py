"""RP-Initiated Logout 1.0 (the end-session endpoint) and what ending a session sets off.

- With a valid ``id_token_hint`` (ours, any age: RP-Initiated Logout 2) naming the person
  signed in here, the session ends at once, and the browser goes to the
  ``post_logout_redirect_uri`` (exact match of a registered one, with ``state``) or sees the
  signed-out page.
- Without one, the person is asked to confirm first (section 6: a logout request without a
  hint is a means of denial of service); after a yes, a registered
  ``post_logout_redirect_uri`` of ``client_id`` is followed.
- Anything we can't verify (a bad hint, an unregistered redirect URI, a ``client_id`` that
  isn't the hint's audience) gets an error page: no logout, no redirect (section 4).

Ending a session revokes its grants (except offline ones) and queues back-channel logout
tokens for every client it served (:mod:`idp.oidc.backchannel`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from joserfc import jwk
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.login import current_session
from idp.oidc._authlib import EndSessionEndpoint, OAuth2Error
from idp.oidc.adapter import HttpRequest, malformed_as
from idp.oidc.backchannel import BackchannelLogout
from idp.oidc.clients import Client, Clients
from idp.oidc.introspection import TokenReader
from idp.oidc.keys import ALGORITHMS, SigningKeys
from idp.oidc.pages import LOGOUT_PURPOSE, Pages
from idp.oidc.server import ProviderServer
from idp.oidc.tokens import TokenStore
from idp.sessions import SsoSession, SsoSessions

if TYPE_CHECKING:
    from idp.login.core import LoginServices
    from idp.login.state import LoginStateT

__all__ = ["EndSession", "Logout"]


class EndSession(EndSessionEndpoint):  # type: ignore[misc]
    """authlib's validation of an end-session request (hint signature, client, exact
    post-logout redirect URI); the rest is :class:`Logout`'s."""

    def __init__(self, keys: SigningKeys) -> None:
        super().__init__()
        self._keys = keys

    def get_server_jwks(self) -> jwk.KeySet:
        return self._keys.public_key_set()

    def get_algorithms(self) -> list[str]:
        return list(ALGORITHMS)

    def end_session(self, end_session_request: Any) -> None:
        """Not used: :class:`Logout` ends sessions itself, after its own checks."""


class Logout:
    def __init__(self, *, server: ProviderServer, clients: Clients, sessions: SsoSessions,
                 tokens: TokenStore, backchannel: BackchannelLogout, reader: TokenReader,
                 issuer: str) -> None:
        self._server = server
        self._clients = clients
        self._sessions = sessions
        self._tokens = tokens
        self._backchannel = backchannel
        self._reader = reader
        self._issuer = issuer

    def end(self, session: SsoSession, *, reason: str = "logout", actor: str = "user") -> int:
        """End ``session`` everywhere: its grants (offline ones excepted) and, through the
        back channel, every client it served. Returns how many logouts were queued."""
        clients = self._sessions.end(session, reason=reason, actor=actor)
        self._tokens.revoke_session_grants(session.sid)
        return self._backchannel.enqueue(sid=session.sid, user_id=session.user_id,
                                         client_ids=clients)

    def end_all(self, user_id: str, *, reason: str, actor: str = "system") -> int:
        """End every session of a person (an operator's reset, sign out everywhere), with
        the same consequences as :meth:`end`. Returns how many logouts were queued."""
        queued = 0
        for sid, clients in self._sessions.end_all(user_id, reason=reason, actor=actor).items():
            self._tokens.revoke_session_grants(sid)
            queued += self._backchannel.enqueue(sid=sid, user_id=user_id, client_ids=clients)
        return queued

    def end_session(self, request: Request[LoginStateT], http: HttpRequest, services: LoginServices,
                    pages: Pages) -> Response:
        """``GET|POST /logout``. Synchronous: call it in the thread pool."""
        data = dict(http.values)
        try:
            with malformed_as(lambda: OAuth2Error("Malformed request.")):
                checked = self._server.validate_endpoint_request("end_session", http)
        except OAuth2Error:
            return pages.error(request, "bad_logout", ui_locales=data.get("ui_locales"))
        claims = checked.id_token_claims
        # Ours, and an ID token (not an access or logout token passed off as one).
        if claims is not None and self._reader.id_token(data.get("id_token_hint", "")) is None:
            return pages.error(request, "bad_logout", ui_locales=data.get("ui_locales"))
        wanted_uri = data.get("post_logout_redirect_uri")
        client: Client | None = checked.client
        if wanted_uri and not self._registered(client, wanted_uri):
            return pages.error(request, "bad_logout", ui_locales=data.get("ui_locales"))
        session = current_session(request, services)
        if claims is None:
            if session is None:
                return self._signed_out(request, services, pages, client, wanted_uri, data)
            context = {"purpose": LOGOUT_PURPOSE, "client_name": client.name if client else None,
                       "client_id": client.client_id if client else "",
                       "post_logout_redirect_uri": wanted_uri or "",
                       "state": data.get("state", ""), "ui_locales": data.get("ui_locales", "")}
            return pages.render(request, "oidc/logout_confirm.html", context,
                                ui_locales=data.get("ui_locales"))
        if session is not None and session.user_id == claims.get("sub"):
            self.end(session, actor="client")
        if checked.redirect_uri:  # registered, with state appended by authlib
            return self._clear(RedirectResponse(checked.redirect_uri, status_code=303), services)
        return self._signed_out(request, services, pages, client, None, data)

    def confirm(self, request: Request[LoginStateT], form: dict[str, str], services: LoginServices,
                pages: Pages) -> Response:
        """``POST /logout/confirm`` (CSRF checked by the caller). Synchronous."""
        client = self._clients.get(form.get("client_id", "")) if form.get("client_id") else None
        wanted_uri = form.get("post_logout_redirect_uri") or None
        if wanted_uri and not self._registered(client, wanted_uri):
            return pages.error(request, "bad_logout")
        if form.get("decision") != "logout":
            return pages.render(request, "oidc/logged_out.html",
                                {"still_signed_in": True, "back_url": None, "client_name": None},
                                ui_locales=form.get("ui_locales"))
        session = current_session(request, services)
        if session is not None:
            self.end(session, actor="user")
        if wanted_uri and client is not None:
            target = wanted_uri
            if form.get("state"):
                separator = "&" if "?" in target else "?"
                target += separator + urlencode({"state": form["state"]})
            return self._clear(RedirectResponse(target, status_code=303), services)
        return self._signed_out(request, services, pages, client, None, form)

    # -- internals -----------------------------------------------------------------------

    @staticmethod
    def _registered(client: Client | None, uri: str) -> bool:
        return client is not None and uri in client.config.post_logout_redirect_uris

    def _signed_out(self, request: Request[LoginStateT], services: LoginServices, pages: Pages,
                    client: Client | None, back_url: str | None, data: dict[str, str]
                    ) -> Response:
        response = pages.render(request, "oidc/logged_out.html",
                                {"still_signed_in": False, "back_url": back_url,
                                 "client_name": client.name if client else None},
                                ui_locales=data.get("ui_locales"))
        return self._clear(response, services)

    @staticmethod
    def _clear(response: Response, services: LoginServices) -> Response:
        response.set_cookie(**services.sessions.clear_cookie().set_cookie_kwargs())
        return response
