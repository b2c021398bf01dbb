"""The demo relying party's own state: a signed, HttpOnly cookie holding a random demo-session
id, and everything else server-side in the Store.

- ``demo:flow:<sha256(state)>`` - one authorization request in flight: the PKCE verifier, the
  nonce and the demo session it belongs to (so a callback is accepted only in the browser that
  started it: login CSRF, OIDC Core 3.1.2.7). Taken (read and deleted at once) by the
  callback: a state is used once.
- ``demo:session:<sha256(id)>`` - after a sign-in: the ID token (kept for ``id_token_hint``
  at sign-out), its verified claims and the UserInfo answer. No access or refresh token is
  kept: the demo uses the access token once, for UserInfo, and asks for no refresh token.

Keys hold hashes of the cookie value and of ``state``, so reading the Store gives neither.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, Final

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

from idp.settings import Settings
from idp.store import Store, dump_record, load_record

__all__ = ["DemoState"]

_FLOW_PREFIX: Final = "demo:flow:"
_SESSION_PREFIX: Final = "demo:session:"
_SALT: Final = "nidan.demo.v1"
# 256 bits, like every other random identifier of the product.
_ID_BYTES: Final = 32
# Cookie prefixes as for the CSRF cookie: __Host- needs Secure, which plain http can't carry.
_SECURE_NAME: Final = "__Host-nidan_demo"
_PLAIN_NAME: Final = "nidan_demo"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class DemoState:
    """Cookie and Store records of the demo. Synchronous: call it in the thread pool."""

    def __init__(self, settings: Settings, store: Store) -> None:
        keys = [key.get_secret_value() for key in settings.secrets.cookie_keys]
        # Settings list the newest key first; itsdangerous signs with the last of its list.
        self._serializer = URLSafeSerializer(list(reversed(keys)), salt=_SALT)
        self._secure = settings.server.secure
        self.cookie_name = _SECURE_NAME if self._secure else _PLAIN_NAME
        self._store = store
        # A flight lives as long as the sign-in it waits for; a demo session like an SSO one.
        self._flow_ttl = settings.lifetimes.login_transaction_s
        self._session_ttl = settings.lifetimes.sso_session_s

    # -- the cookie ---------------------------------------------------------------------

    def session_id(self, request: Request[Any]) -> str | None:
        """This browser's demo-session id, if its cookie is ours."""
        raw = request.cookies.get(self.cookie_name)
        if not raw:
            return None
        try:
            value = self._serializer.loads(raw)
        except BadSignature:
            return None
        return value if isinstance(value, str) and len(value) >= _ID_BYTES else None

    @staticmethod
    def new_session_id() -> str:
        return secrets.token_urlsafe(_ID_BYTES)

    def set_cookie(self, response: Response, session_id: str) -> None:
        # Lax: sent on the top-level GET back from the provider (the callback), not on
        # cross-site posts. A browser-session cookie: the record in the Store expires anyway.
        response.set_cookie(self.cookie_name, self._serializer.dumps(session_id), path="/",
                            secure=self._secure, httponly=True, samesite="lax")

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(self.cookie_name, path="/", secure=self._secure,
                               httponly=True, samesite="lax")

    # -- flows --------------------------------------------------------------------------

    def save_flow(self, session_id: str, state: str, *, verifier: str, nonce: str,
                  acr_values: str | None) -> None:
        record = {"session": _digest(session_id), "verifier": verifier, "nonce": nonce,
                  "acr_values": acr_values}
        self._store.set(_FLOW_PREFIX + _digest(state), dump_record(record), ttl=self._flow_ttl)

    def take_flow(self, state: str) -> dict[str, Any] | None:
        """The flow ``state`` names, removed from the Store (a state is used once)."""
        return load_record(self._store.take(_FLOW_PREFIX + _digest(state)))

    @staticmethod
    def flow_belongs_to(flow: dict[str, Any], session_id: str | None) -> bool:
        expected = str(flow.get("session", ""))
        actual = _digest(session_id) if session_id else ""
        return secrets.compare_digest(expected.encode(), actual.encode()) and bool(actual)

    # -- signed-in sessions -------------------------------------------------------------

    def save_session(self, session_id: str, record: dict[str, Any]) -> None:
        self._store.set(_SESSION_PREFIX + _digest(session_id), dump_record(record),
                        ttl=self._session_ttl)

    def load_session(self, session_id: str | None) -> dict[str, Any] | None:
        if session_id is None:
            return None
        return load_record(self._store.get(_SESSION_PREFIX + _digest(session_id)))

    def end_session(self, session_id: str | None) -> dict[str, Any] | None:
        """Remove and return the signed-in record (sign-out)."""
        if session_id is None:
            return None
        return load_record(self._store.take(_SESSION_PREFIX + _digest(session_id)))
