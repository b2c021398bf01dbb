"""The authorization endpoint's journey (DESIGN "Data path" steps 1 and 5).

1. An unknown client or an unregistered redirect URI gets an error page, never a redirect.
2. authlib validates the rest (response type, scope, PKCE, nonce); errors go back to the
   client with ``state`` and ``iss``.
3. The browser's SSO session is weighed against the request (``prompt``, ``max_age``,
   ``acr_values``, ``id_token_hint``). Not enough: the validated request is saved (single
   use, the login transaction's lifetime) and the sign-in journey starts; it comes back to
   ``/authorize/resume``, which checks the session now suffices (else an error, never a
   loop). ``prompt=none`` never shows a page.
4. Consent, when due; then the code, bound to the session's authentication.

Every method here is synchronous (store work): call it in the thread pool.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from idp.login import LoginRequirements, current_session, start_login
from idp.oidc._authlib import (
    AccessDeniedError,
    ConsentRequiredError,
    InvalidRequestError,
    LoginRequiredError,
    OAuth2Error,
)
from idp.oidc.adapter import HttpRequest, StarletteOAuth2Request, malformed_as
from idp.oidc.clients import Client, Clients
from idp.oidc.config import ACR_2SV, ACR_VALUES
from idp.oidc.consent import Consents, consent_scopes
from idp.oidc.pages import CONSENT_PURPOSE, SCOPE_TEXT, Pages
from idp.oidc.pending import LoginNeeds, SavedAuthorization, SavedConsent
from idp.oidc.records import Approval, Authentication
from idp.oidc.request import AuthParams, Force, validate_params
from idp.oidc.responses import authorization_response, response_mode
from idp.oidc.server import ProviderServer
from idp.sessions import SsoSession
from idp.store import Store
from idp.users import User

if TYPE_CHECKING:
    from idp.login.core import LoginServices
    from idp.login.state import LoginStateT

__all__ = ["Asked", "Authorization", "ForWhom"]

# A request saved in the store meanwhile: for the sign-in journey, or for the consent page.
_Saved = TypeVar("_Saved", SavedAuthorization, SavedConsent)

_SAVED = "oidc-authz:"
_CONSENT_TXN = "oidc-consent-txn:"
TXN_ID_BYTES: Final = 16
_TXN_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# Seconds of clock difference between replicas tolerated when comparing auth_time.
SKEW_S: Final = 2


@dataclass(frozen=True)
class Asked:
    """One authorization request on its way through this module: the browser's request,
    the services and pages to answer with, authlib's view of the OAuth request, and the
    client with its exactly registered redirect URI (checked before anything else)."""

    request: Request[Any]
    services: LoginServices
    pages: Pages
    oauth: StarletteOAuth2Request
    client: Client
    redirect_uri: str


@dataclass(frozen=True)
class ForWhom:
    """The request once weighed: its validated parameters, authlib's grant, and the signed-in
    person and session it will be answered for."""

    asked: Asked
    params: AuthParams
    grant: Any
    session: SsoSession
    user: User


class Authorization:
    """The authorization endpoint's journey, from ``/authorize`` to the code: it checks the
    client and redirect URI, weighs the browser's session against the request, sends the
    browser through the sign-in journey or the consent page when due (saving the request in
    the store meanwhile) and issues the code through authlib. One per provider; it keeps no
    per-request state."""

    def __init__(self, *, server: ProviderServer, clients: Clients, consents: Consents,
                 store: Store, issuer: str, transaction_s: int,
                 id_token_claims: Callable[[str], dict[str, Any] | None],
                 clock: Callable[[], float] = time.time) -> None:
        self._server = server
        self._clients = clients
        self._consents = consents
        self._store = store
        self._issuer = issuer
        self._transaction_s = transaction_s
        self._id_token_claims = id_token_claims  # claims of an ID token we issued, or None
        self._clock = clock

    # -- entry points --------------------------------------------------------------------

    def authorize(self, request: Request[LoginStateT], http: HttpRequest, services: LoginServices,
                  pages: Pages) -> Response:
        oauth = StarletteOAuth2Request(http)
        checked = self._client_and_redirect(oauth)
        if isinstance(checked, str):
            return pages.error(request, checked, ui_locales=oauth.payload.data.get("ui_locales"))
        asked = Asked(request, services, pages, oauth, *checked)
        try:
            if response_mode(oauth.payload.data.get("response_mode")) is None:
                raise InvalidRequestError("Unsupported response_mode.")
            params = validate_params(oauth, self._id_token_claims, self._clock())
            session, user = self._signed_in(asked)
            grant = self._consent_grant(oauth, user)
            force = params.login_needed(session)
            if force is not None:
                if "none" in params.prompt:
                    raise LoginRequiredError()
                return self._start_login(request, asked, params, force)
            if session is None or user is None:  # login_needed() said no session is missing
                raise LoginRequiredError()
            return self._proceed(ForWhom(asked, params, grant, session, user))
        except OAuth2Error as error:
            return self._error(error, asked)

    def resume(self, request: Request[LoginStateT], txn_id: str, services: LoginServices,
               pages: Pages) -> Response:
        def go(saved: SavedAuthorization, asked: Asked, params: AuthParams,
               session: SsoSession, user: User) -> Response:
            if not self._satisfies(session, saved.needs, params):
                # The journey ended without what the client asked for: say so, don't loop.
                raise LoginRequiredError()
            grant = self._consent_grant(asked.oauth, user)
            return self._proceed(ForWhom(asked, params, grant, session, user))

        saved = SavedAuthorization.load(self._take(_SAVED, txn_id))
        return self._taken_up(request, services, pages, saved, go)

    def decide_consent(self, request: Request[LoginStateT], txn_id: str, *, approve: bool,
                       services: LoginServices, pages: Pages) -> Response:
        def go(saved: SavedConsent, asked: Asked, params: AuthParams, session: SsoSession,
               user: User) -> Response:
            if session.sid != saved.sid:
                raise LoginRequiredError()  # the page was answered from another sign-in
            grant = self._consent_grant(asked.oauth, user)
            client_id = asked.client.client_id
            if not approve:
                services.audit.emit("oidc.consent_refused", user_id=user.id, client_id=client_id)
                raise AccessDeniedError()
            if not asked.client.always_consent:
                self._consents.remember(user.id, client_id,
                                        consent_scopes(saved.scope, params.claims))
            services.audit.emit("oidc.consent_given", user_id=user.id, client_id=client_id,
                                scope=saved.scope)
            offline = "offline_access" in saved.scope.split()
            return self._issue(ForWhom(asked, params, grant, session, user), saved.scope,
                               offline=offline)

        saved = SavedConsent.load(self._take(_CONSENT_TXN, txn_id))
        return self._taken_up(request, services, pages, saved, go)

    def _taken_up(self, request: Request[LoginStateT], services: LoginServices, pages: Pages,
                  saved: _Saved | None,
                  go: Callable[[_Saved, Asked, AuthParams, SsoSession, User], Response]
                  ) -> Response:
        """A saved request taken up again (back from the sign-in, or the consent page's
        answer): re-checked against the clients and validated again, then ``go`` for the
        signed-in person. Gone: the "expired" page; nobody signed in: ``login_required``."""
        if saved is None:
            return pages.error(request, "expired")
        asked = self._restore(request, services, pages, saved.params)
        if isinstance(asked, Response):
            return asked
        try:
            params = validate_params(asked.oauth, self._id_token_claims, self._clock())
            session, user = self._signed_in(asked)
            if session is None or user is None:
                raise LoginRequiredError()
            return go(saved, asked, params, session, user)
        except OAuth2Error as error:
            return self._error(error, asked)

    # -- the steps -----------------------------------------------------------------------

    def _client_and_redirect(self, oauth: StarletteOAuth2Request) -> tuple[Client, str] | str:
        """The client and its exactly registered redirect URI, or the error page's name."""
        datalist = oauth.payload.datalist
        ids = datalist.get("client_id", [])
        client = self._clients.get(ids[0]) if len(ids) == 1 else None
        if client is None:
            return "unknown_client"
        uris = datalist.get("redirect_uri", [])
        if len(uris) != 1 or not client.check_redirect_uri(uris[0]):
            return "bad_redirect_uri"
        return client, uris[0]

    @staticmethod
    def _signed_in(asked: Asked) -> tuple[SsoSession | None, User | None]:
        """The browser's live session and its person (either may be missing)."""
        session = current_session(asked.request, asked.services)
        user = asked.services.accounts.get(session.user_id) if session is not None else None
        return session, user

    def _consent_grant(self, oauth: StarletteOAuth2Request, user: User | None) -> Any:
        with malformed_as(lambda: InvalidRequestError("Malformed request.")):
            return self._server.get_consent_grant(oauth, end_user=user)

    def _start_login(self, request: Request[LoginStateT], asked: Asked, params: AuthParams,
                     force: Force) -> Response:
        txn_id = secrets.token_urlsafe(TXN_ID_BYTES)
        needs = LoginNeeds(fresh_after=params.now if force.password else None,
                           two_sv=force.code, max_age=params.max_age, sub=params.claims.sub)
        saved = SavedAuthorization(params=asked.oauth.payload.data, needs=needs)
        self._store.set(_SAVED + txn_id, saved.dump(), ttl=self._transaction_s)
        services, client = asked.services, asked.client
        login_hint = params.login_hint
        if login_hint is None and params.hint_sub is not None:
            hinted = services.accounts.get(params.hint_sub)
            login_hint = hinted.email if hinted is not None else None
        services.audit.emit("oidc.login_started", client_id=client.client_id,
                            ask_credentials=force.password, ask_second_factor=force.code)
        return start_login(request, LoginRequirements(
            resume=f"/authorize/resume?r={txn_id}", force_password=force.password,
            force_code=force.code, login_hint=login_hint, ui_locales=params.ui_locales,
            client_id=client.client_id, client_name=client.name,
        ))

    @staticmethod
    def _satisfies(session: SsoSession, needs: LoginNeeds, params: AuthParams) -> bool:
        if session.acr not in ACR_VALUES:
            return False
        fresh = needs.fresh_after is not None and session.auth_time >= needs.fresh_after - SKEW_S
        if needs.fresh_after is not None and not fresh:
            return False
        if needs.two_sv and session.acr != ACR_2SV:
            return False
        if (needs.max_age is not None and not fresh
                and params.now - session.auth_time > needs.max_age + SKEW_S):
            return False
        return needs.sub is None or needs.sub == session.user_id

    def _proceed(self, who: ForWhom) -> Response:
        asked, params, user = who.asked, who.params, who.user
        scope: str = asked.oauth.scope or ""
        decision = self._consents.decide(
            user_id=user.id, client_id=asked.client.client_id,
            skip_consent=asked.client.config.skip_consent,
            scope=scope, claims=params.claims, prompt=params.prompt,
            remembered=not asked.client.always_consent)
        if not decision.ask:
            return self._issue(who, decision.scope, offline=decision.offline)
        if "none" in params.prompt:
            raise ConsentRequiredError()
        txn_id = secrets.token_urlsafe(TXN_ID_BYTES)
        saved = SavedConsent(params=asked.oauth.payload.data, sid=who.session.sid, scope=scope)
        self._store.set(_CONSENT_TXN + txn_id, saved.dump(), ttl=self._transaction_s)
        asked_scopes = sorted(consent_scopes(scope, params.claims) | {"openid"},
                              key=lambda s: list(SCOPE_TEXT).index(s) if s in SCOPE_TEXT else 99)
        context = {"client_name": asked.client.name, "email": user.email, "txn_id": txn_id,
                   "scopes": [SCOPE_TEXT[s] for s in asked_scopes if s in SCOPE_TEXT],
                   "purpose": CONSENT_PURPOSE}
        return asked.pages.render(asked.request, "oidc/consent.html", context,
                                  ui_locales=params.ui_locales)

    def _issue(self, who: ForWhom, scope: str, *, offline: bool) -> Response:
        session, user, client = who.session, who.user, who.asked.client
        if session.acr not in ACR_VALUES:  # the promise: a second factor, or a trusted browser
            raise LoginRequiredError()
        services = who.asked.services
        services.sessions.add_client(session, client.client_id)
        approval = Approval(
            user=user,
            auth=Authentication(sid=session.sid, auth_time=int(session.auth_time),
                                amr=session.amr, acr=session.acr),
            scope=scope, claims=who.params.claims, offline=offline,
        )
        response: Response = self._server.create_authorization_response(
            request=who.asked.oauth, grant_user=approval, grant=who.grant)
        services.audit.emit("oidc.code_issued", user_id=user.id, client_id=client.client_id,
                            sid=session.sid, acr=session.acr, scope=scope)
        return response

    def _error(self, error: OAuth2Error, asked: Asked) -> Response:
        """The error, sent to the client's (validated) redirect URI with state and iss, in
        the response mode it asked for (query when that was the problem)."""
        data = asked.oauth.payload.data
        # A refused request object may carry the only response_mode and state (the Form Post
        # conformance plan sends them there): read them, unverified, to deliver the error as
        # the client expects. Only to the redirect URI already checked; nothing secret goes.
        hints = _request_object_hints(data.get("request")) if "request" in data else {}
        state = data.get("state") or hints.get("state")
        mode = response_mode(data.get("response_mode") or hints.get("response_mode")) or "query"
        params = [("error", str(error.error))]
        description = error.get_error_description() or error.description
        if description:
            params.append(("error_description", str(description)))
        if state:
            params.append(("state", state))
        response: Response = self._server.handle_response(
            *authorization_response(asked.redirect_uri, params, mode, self._issuer))
        return response

    def _restore(self, request: Request[LoginStateT], services: LoginServices, pages: Pages,
                 saved: dict[str, Any]) -> Asked | Response:
        """A saved request's parameters, re-checked against the clients as they are now; or
        the error page."""
        oauth = StarletteOAuth2Request(HttpRequest.from_params(
            self._issuer + "/authorize", saved))
        checked = self._client_and_redirect(oauth)
        if isinstance(checked, str):
            return pages.error(request, checked)
        return Asked(request, services, pages, oauth, *checked)

    def _take(self, prefix: str, txn_id: str) -> bytes | None:
        if not isinstance(txn_id, str) or not _TXN_ID.match(txn_id):
            return None
        return self._store.take(prefix + txn_id)


_MAX_REQUEST_OBJECT_CHARS = 16_384


def _request_object_hints(token: str | None) -> dict[str, str]:
    """``response_mode`` and ``state`` of an unsigned-or-signed (never decrypted, never
    trusted) request object, for delivering the error that refuses it."""
    if not token or len(token) > _MAX_REQUEST_OBJECT_CHARS:
        return {}
    parts = token.split(".")
    if len(parts) != 3:  # a JWE's payload is encrypted: nothing to read
        return {}
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return {}
    if not isinstance(payload, dict):
        return {}
    return {name: value for name in ("response_mode", "state")
            if isinstance(value := payload.get(name), str) and len(value) <= 512}
