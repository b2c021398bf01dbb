"""Registration (RFC 7591) and the client configuration endpoint (RFC 7592) over the
services: every rule of self-registered clients in one place, with no HTTP in it.

A registered client is an ordinary stored client (:class:`idp.oidc.clients.Clients`, the
same lookup the authorization and token endpoints use) marked ``registered``: consent is
asked every time and, for a public client, a loopback redirect URI matches on any port. What
registration adds is kept beside it under ``registration:``: the registration access token's
digest and the descriptive metadata (``client:<id>``), the time it last got a token
(``used:<id>``), and the set of registered ids (``clients``) that the cap counts and the
pruning walks.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError

from idp.observability import AuditEvent
from idp.oidc.clients import Client, ClientConfig, ClientError, hash_secret, new_secret
from idp.oidc.provider import REGISTRATION_PATH
from idp.registration.errors import (
    InvalidClientMetadata,
    InvalidToken,
    RegistrationError,
    Throttled,
    TooManyClients,
)
from idp.registration.metadata import ClientMetadata, parse_metadata
from idp.registration.tokens import InitialTokens, bearer, new_token, token_matches
from idp.services import Services
from idp.store import dump_record, load_record

__all__ = ["CLIENT_ID_PREFIX", "Caller", "Registration"]

# Every registered client's id starts so: a token issued to any other client costs nothing.
CLIENT_ID_PREFIX: Final = "dyn-"
_RECORD: Final = "registration:client:"
_USED: Final = "registration:used:"
_IDS: Final = "registration:clients"
_RATE: Final = "registration:rate:"
_PRUNE_LOCK: Final = "registration:prune-lock"
# Pruning walks every registered client: at most once an hour (across replicas), or when the
# cap is reached.
PRUNE_EVERY_S: Final = 3600
DAY_S: Final = 24 * 3600
# RFC 7592 2.2: fields a client must not send in an update.
_SERVER_FIELDS: Final = ("registration_access_token", "registration_client_uri",
                         "client_secret_expires_at", "client_id_issued_at")


@dataclass(frozen=True)
class Caller:
    """Who calls: the client's address (rate limits, audit) and its Authorization header."""

    address: str
    authorization: str | None = None


class Registration:
    def __init__(self, services: Services) -> None:
        self._settings = services.settings.registration
        self._store = services.store
        self._audit = services.audit
        self._clients = services.oidc.clients
        self._issuer = services.oidc.issuer
        self._clock: Callable[[], float] = services.oidc.clock
        self.initial_tokens = InitialTokens(services.store)

    @property
    def mode(self) -> str:
        return self._settings.mode

    # -- RFC 7591 ------------------------------------------------------------------------

    def register(self, body: Any, caller: Caller) -> dict[str, Any]:
        """Register a client; its information (RFC 7591 3.2.1) with the registration access
        token, shown this once. Raises :class:`RegistrationError`."""
        try:
            self._throttle(caller.address)
            now = self._clock()
            initial = (self.initial_tokens.check(caller.authorization, now)
                       if self.mode == "initial-token" else None)
            metadata = parse_metadata(body)
            method = self._auth_method(metadata)
            scopes = self._scopes(metadata.scope)
            self._make_room()
            if initial is not None:
                self.initial_tokens.use(initial, now)
            client_id = CLIENT_ID_PREFIX + secrets.token_urlsafe(18)
            secret = new_secret() if method != "none" else None
            config = self._config(client_id, metadata, method, scopes, secret_hash=(
                hash_secret(secret) if secret else None))
            token = new_token()
            self._clients.add(config, actor="registration")
            self._store.sadd(_IDS, client_id)
            self._store.set(_RECORD + client_id, dump_record({
                "token_hash": hash_secret(token), "created_at": now, "mode": self.mode,
                "metadata": metadata.extras()}))
        except RegistrationError as error:
            if not error.throttled:  # a throttle is audited once per window (_throttle)
                self._refused("register", error, caller)
            raise
        self._audit.emit("registration.client_registered", client_id=client_id,
                         mode=self.mode, address=caller.address,
                         auth_method=method, redirect_uris=list(config.redirect_uris))
        info = self._info(config, metadata.extras(), now)
        info["registration_access_token"] = token
        if secret is not None:
            info["client_secret"] = secret
        return info

    # -- RFC 7592 ------------------------------------------------------------------------

    def read(self, client_id: str, caller: Caller) -> dict[str, Any]:
        client, record = self._authorized(client_id, caller, "read")
        return self._info(client.config, record.get("metadata", {}), record["created_at"])

    def update(self, client_id: str, body: Any, caller: Caller) -> dict[str, Any]:
        client, record = self._authorized(client_id, caller, "update")
        try:
            if not isinstance(body, dict):
                raise InvalidClientMetadata("The body must be a JSON object of client metadata.")
            if body.get("client_id") != client_id:
                raise InvalidClientMetadata("client_id: must be given, and be this client's")
            sent = [name for name in _SERVER_FIELDS if name in body]
            if sent:
                raise InvalidClientMetadata(f"{', '.join(sent)}: must not be sent in an update")
            if "client_secret" in body and not (
                    isinstance(body["client_secret"], str)
                    and client.check_client_secret(body["client_secret"])):
                raise InvalidClientMetadata("client_secret: does not match the client's")
            metadata = parse_metadata(body)
            method = metadata.token_endpoint_auth_method or client.config.token_endpoint_auth_method
            if method != client.config.token_endpoint_auth_method:
                raise InvalidClientMetadata("token_endpoint_auth_method: cannot be changed; "
                                            "register a new client")
            config = self._config(client_id, metadata, method, self._scopes(metadata.scope),
                                  secret_hash=client.config.secret_hash)
            try:
                self._clients.replace(config, actor="registration")
            except ClientError:
                raise InvalidToken("The client no longer exists.") from None
            record["metadata"] = metadata.extras()
            self._store.set(_RECORD + client_id, dump_record(record))
        except RegistrationError as error:
            self._refused("update", error, caller, client_id)
            raise
        self._audit.emit("registration.client_updated", client_id=client_id,
                         address=caller.address, redirect_uris=list(config.redirect_uris))
        return self._info(config, record["metadata"], record["created_at"])

    def delete(self, client_id: str, caller: Caller) -> None:
        self._authorized(client_id, caller, "delete")
        self._remove(client_id)
        self._audit.emit("registration.client_deleted", client_id=client_id,
                         address=caller.address)

    # -- upkeep --------------------------------------------------------------------------

    def prune(self) -> list[str]:
        """Remove every registered client that got no token for ``prune_after_days`` (and
        was registered longer ago than that); the ids removed."""
        now = self._clock()
        horizon = now - self._settings.prune_after_days * DAY_S
        removed = []
        for client_id in sorted(self._store.smembers(_IDS)):
            record = load_record(self._store.get(_RECORD + client_id))
            used = self._store.get(_USED + client_id)
            last = max(float(record["created_at"]) if record else 0.0,
                       float(used) if used is not None else 0.0)
            gone = self._clients.get(client_id) is None  # deleted by an operator meanwhile
            if last < horizon or gone:
                self._remove(client_id)
                removed.append(client_id)
                self._audit.emit("registration.client_pruned", client_id=client_id,
                                 last_used=round(last), reason="deleted" if gone else "unused")
        return removed

    def note_use(self, event: AuditEvent) -> None:
        """An audit listener: remember when a registered client last got a token."""
        client_id = event.get("client_id")
        if event.get("event") != "oidc.token_issued" or not isinstance(client_id, str):
            return
        if not client_id.startswith(CLIENT_ID_PREFIX):
            return
        ttl = self._settings.prune_after_days * DAY_S + DAY_S
        self._store.set(_USED + client_id, str(self._clock()).encode(), ttl=ttl)

    def create_initial_token(self, *, uses: int, lifetime_s: int | None = None,
                             actor: str = "cli") -> tuple[str, str]:
        """A new initial access token (shown once) and its short id."""
        lifetime = lifetime_s or self._settings.initial_token_s
        token, short = self.initial_tokens.create(uses=uses, lifetime_s=lifetime,
                                                  now=self._clock())
        self._audit.emit("registration.initial_token_created", id=short, uses=uses,
                         lifetime_s=lifetime, actor=actor)
        return token, short

    # -- the rules -----------------------------------------------------------------------

    def _throttle(self, address: str) -> None:
        key = _RATE + address
        count = self._store.incr(key, ttl=self._settings.window_s)
        if count > self._settings.per_address:
            left = self._store.ttl(key)
            wait = max(1, int(left + 0.999)) if left is not None else self._settings.window_s
            if count == self._settings.per_address + 1:
                self._audit.emit("registration.throttled", address=address, retry_after_s=wait)
            raise Throttled(f"Too many registrations from this address; try again in {wait} s.",
                            retry_after_s=wait)

    def _auth_method(self, metadata: ClientMetadata) -> str:
        method = metadata.token_endpoint_auth_method
        if self.mode == "open":
            # Open registration is for public clients only: nothing to keep secret, PKCE.
            if method not in (None, "none"):
                raise InvalidClientMetadata("token_endpoint_auth_method: only none is "
                                            "accepted here (a public client with PKCE)")
            return "none"
        # RFC 7591 2: the default is client_secret_basic.
        return method or "client_secret_basic"

    def _scopes(self, scope: str | None) -> list[str]:
        allowed: list[str] = list(self._settings.scopes)
        if scope is None:
            return allowed
        asked = list(dict.fromkeys(scope.split()))
        refused = [item for item in asked if item not in allowed]
        if refused:
            raise InvalidClientMetadata(f"scope: {' '.join(refused)} not offered to registered "
                                        f"clients; allowed: {' '.join(allowed)}")
        if not asked:
            raise InvalidClientMetadata("scope: empty")
        return asked

    def _make_room(self) -> None:
        count = len(self._store.smembers(_IDS))
        full = count >= self._settings.max_clients
        if self._store.add(_PRUNE_LOCK, b"1", ttl=PRUNE_EVERY_S) or full:
            count -= len(self.prune())
        if count >= self._settings.max_clients:
            raise TooManyClients(f"This server accepts no more registered clients (at most "
                                 f"{self._settings.max_clients}); ask its operator.")

    def _config(self, client_id: str, metadata: ClientMetadata, method: str,
                scopes: list[str], *, secret_hash: str | None) -> ClientConfig:
        data: dict[str, Any] = {
            "client_id": client_id, "client_name": metadata.client_name or "",
            "token_endpoint_auth_method": method, "secret_hash": secret_hash,
            "redirect_uris": list(metadata.redirect_uris),
            "post_logout_redirect_uris": list(metadata.post_logout_redirect_uris),
            "grant_types": list(dict.fromkeys(metadata.grant_types)), "scopes": scopes,
            "require_pkce": True, "registered": True,
        }
        try:
            return ClientConfig.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(str(item["msg"]).removeprefix("Value error, ")
                                 for item in exc.errors(include_url=False))
            raise InvalidClientMetadata(problems) from None

    def _info(self, config: ClientConfig, extras: dict[str, Any], created_at: float
              ) -> dict[str, Any]:
        info: dict[str, Any] = {
            "client_id": config.client_id,
            "client_id_issued_at": int(created_at),
            "registration_client_uri": f"{self._issuer}{REGISTRATION_PATH}/{config.client_id}",
            "token_endpoint_auth_method": config.token_endpoint_auth_method,
            "grant_types": list(config.grant_types),
            "response_types": ["code"],
            "redirect_uris": list(config.redirect_uris),
            "scope": " ".join(config.scopes),
            **extras,
        }
        if config.client_name:
            info["client_name"] = config.client_name
        if config.post_logout_redirect_uris:
            info["post_logout_redirect_uris"] = list(config.post_logout_redirect_uris)
        if config.secret_hash:
            info["client_secret_expires_at"] = 0  # RFC 7591 3.2.1: does not expire
        return info

    def _authorized(self, client_id: str, caller: Caller, action: str
                    ) -> tuple[Client, dict[str, Any]]:
        """The client and its registration record, if the caller's registration access token
        is this very client's. Anything else is the same 401 (RFC 7592 2.1: whether the
        client exists is not told)."""
        record = load_record(self._store.get(_RECORD + client_id)) if client_id.startswith(
            CLIENT_ID_PREFIX) and len(client_id) <= 128 else None
        client = self._clients.get(client_id) if record is not None else None
        presented = bearer(caller.authorization)
        # Compare even when there is no record, so the answer takes as long either way.
        digest = record["token_hash"] if record is not None else hash_secret(new_token())
        if not token_matches(presented, digest) or record is None or client is None:
            self._throttle(caller.address)  # wrong tokens count against the address too
            error = InvalidToken("The registration access token is not valid for this client.")
            self._refused(action, error, caller, client_id)
            raise error
        return client, record

    def _remove(self, client_id: str) -> None:
        with contextlib.suppress(ClientError):  # already gone (an operator deleted it)
            self._clients.delete(client_id, actor="registration")
        self._store.delete(_RECORD + client_id)
        self._store.delete(_USED + client_id)
        self._store.srem(_IDS, client_id)

    def _refused(self, action: str, error: RegistrationError, caller: Caller,
                 client_id: str | None = None) -> None:
        self._audit.emit("registration.refused", action=action, error_code=error.error,
                         reason=error.description, address=caller.address,
                         **({"client_id": client_id[:128]} if client_id else {}))
