"""Back-channel logout delivery (OpenID Connect Back-Channel Logout 1.0).

When an SSO session ends, each client it served that registered a
``backchannel_logout_uri`` gets a POST with a signed logout token (2.4: ``typ: logout+jwt``,
``iss``, ``aud``, ``iat``, ``exp``, ``jti``, ``events``, ``sub`` and ``sid``; never a
``nonce``). Deliveries are records in the Store, so they survive a restart and any replica
may send them: a background task (started in the application's lifespan) looks for due
ones every ``backchannel_poll_s``, claims each with ``Store.add`` so one replica sends it,
and retries failures with exponential backoff until ``backchannel_give_up_s``.

The token is signed at each attempt (fresh ``iat``/``exp``, same ``jti``), so a delivery
that waited hours still carries a token the client accepts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

import httpx
from joserfc import jwt
from starlette.concurrency import run_in_threadpool

from idp.observability import Audit
from idp.oidc.clients import Clients
from idp.oidc.config import OidcSettings
from idp.oidc.keys import SigningKeys
from idp.store import Store, StoreError, dump_record, load_record

__all__ = ["BACKCHANNEL_EVENT", "BackchannelLogout"]

BACKCHANNEL_EVENT: Final = "http://schemas.openid.net/event/backchannel-logout"
_PENDING = "oidc-bcl:"
_INDEX = "oidc-bcl-pending"
_CLAIM = "oidc-bcl-claim:"
logger = logging.getLogger("idp.oidc.backchannel")


class BackchannelLogout:
    def __init__(self, store: Store, keys: SigningKeys, clients: Clients, audit: Audit, *,
                 issuer: str, settings: OidcSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._keys = keys
        self._clients = clients
        self._audit = audit
        self._issuer = issuer
        self._settings = settings
        self._clock = clock
        self._stopping = threading.Event()
        self._wake: asyncio.Event | None = None

    def enqueue(self, *, sid: str, user_id: str, client_ids: Iterable[str]) -> int:
        """Queue a logout for every client of ``client_ids`` that asked for them."""
        count = 0
        now = self._clock()
        for client_id in sorted(client_ids):
            client = self._clients.get(client_id)
            if client is None or not client.config.backchannel_logout_uri:
                continue
            delivery_id = secrets.token_urlsafe(16)
            record = {"client_id": client_id, "uri": client.config.backchannel_logout_uri,
                      "sid": sid, "sub": user_id, "jti": secrets.token_urlsafe(16),
                      "created_at": now, "attempts": 0, "next_at": now}
            self._store.set(_PENDING + delivery_id, dump_record(record), ttl=self._keep_s())
            self._store.sadd(_INDEX, delivery_id)
            self._audit.emit("oidc.backchannel_queued", user_id=user_id, client_id=client_id,
                             sid=sid)
            count += 1
        return count

    def pending(self) -> int:
        return len(self._store.smembers(_INDEX))

    def logout_token(self, record: dict[str, Any]) -> str:
        client = self._clients.get(record["client_id"])
        alg = client.config.id_token_signed_response_alg if client is not None else "RS256"
        now = int(self._clock())
        claims = {"iss": self._issuer, "aud": record["client_id"], "iat": now,
                  "exp": now + self._settings.logout_token_lifetime_s, "jti": record["jti"],
                  "sub": record["sub"], "sid": record["sid"],
                  "events": {BACKCHANNEL_EVENT: {}}}
        kid, key = self._keys.signing_key(alg)
        token: str = jwt.encode({"alg": alg, "kid": kid, "typ": "logout+jwt"}, claims, key,
                                [alg])
        return token

    def deliver_due(self) -> int:
        """Send every due delivery once; returns how many arrived. Synchronous."""
        waiting = self._store.smembers(_INDEX)
        if not waiting:
            return 0
        delivered = 0
        with httpx.Client(timeout=self._settings.backchannel_timeout_s,
                          follow_redirects=False) as http:
            for delivery_id in sorted(waiting):
                if self._stopping.is_set():
                    break  # shutting down: the rest stay in the store for any replica
                delivered += self._attempt(delivery_id, http)
        return delivered

    async def run(self) -> None:
        """The background task: deliver what is due until :meth:`stop`."""
        self._wake = asyncio.Event()
        while not self._stopping.is_set():
            try:
                await run_in_threadpool(self.deliver_due)
            except StoreError as exc:  # the store is away for a while: try again later
                logger.warning("back-channel logout: store unavailable: %s", type(exc).__name__)
            except Exception as exc:  # never let the loop die
                logger.error("back-channel logout: unexpected %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.backchannel_poll_s)

    def stop(self) -> None:
        """Ask :meth:`run` to end (from its event loop): the delivery being sent is finished,
        within ``backchannel_timeout_s``; the others stay pending in the store, unclaimed, for
        whichever replica looks next. A process killed mid-send loses nothing either: its
        claim lapses and the delivery is sent again (same ``jti``)."""
        self._stopping.set()
        if self._wake is not None:
            self._wake.set()

    # -- internals -----------------------------------------------------------------------

    def _keep_s(self) -> float:
        return self._settings.backchannel_give_up_s + 3600.0

    def _attempt(self, delivery_id: str, http: httpx.Client) -> int:
        raw = self._store.get(_PENDING + delivery_id)
        record = load_record(raw)
        if record is None:
            self._store.srem(_INDEX, delivery_id)
            return 0
        now = self._clock()
        if record["next_at"] > now:
            return 0
        if now - record["created_at"] > self._settings.backchannel_give_up_s:
            self._finish(delivery_id)
            self._audit.emit("oidc.backchannel_abandoned", user_id=record["sub"],
                             client_id=record["client_id"], attempts=record["attempts"])
            return 0
        # One replica per attempt: the claim lapses on its own if this process dies.
        if not self._store.add(_CLAIM + delivery_id, b"1",
                               ttl=self._settings.backchannel_timeout_s * 2 + 1):
            return 0
        try:
            started = time.perf_counter()
            status = self._post(http, record)
            took = round(time.perf_counter() - started, 4)
            if status in (200, 204):
                self._finish(delivery_id)
                self._audit.emit("oidc.backchannel_delivered", user_id=record["sub"],
                                 client_id=record["client_id"], attempts=record["attempts"] + 1,
                                 duration_s=took)
                return 1
            attempts = record["attempts"] + 1
            delay = min(self._settings.backchannel_retry_max_s,
                        self._settings.backchannel_retry_base_s * 2 ** (attempts - 1))
            record.update(attempts=attempts, next_at=now + delay)
            record.pop("v", None)
            self._store.cas(_PENDING + delivery_id, raw, dump_record(record), ttl=self._keep_s())
            self._audit.emit("oidc.backchannel_failed", user_id=record["sub"],
                             client_id=record["client_id"], attempts=attempts, status=status,
                             retry_in_s=round(delay, 3), duration_s=took)
            return 0
        finally:
            self._store.delete(_CLAIM + delivery_id)

    def _post(self, http: httpx.Client, record: dict[str, Any]) -> int:
        try:
            response = http.post(record["uri"], data={"logout_token": self.logout_token(record)},
                                 headers={"Cache-Control": "no-store"})
        except httpx.HTTPError:
            return 0  # unreachable or timed out: retry later
        return response.status_code

    def _finish(self, delivery_id: str) -> None:
        self._store.delete(_PENDING + delivery_id)
        self._store.srem(_INDEX, delivery_id)
