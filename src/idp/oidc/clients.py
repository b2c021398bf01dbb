"""Relying parties: declared in a TOML file by the operator, or added at run time into the
Store (``idp clients add``). Client ids are unique across both.

A client secret is never stored: only ``sha256:<base64url digest>``. A slow password hash
(argon2) would buy nothing here, because every secret we issue is 256 random bits
(``secrets.token_urlsafe(32)``) and a secret given on standard input must be at least
:data:`MIN_SECRET_CHARS` long; it would only cost ~25 ms of CPU on every token request, the
hottest path of the provider. The hash is unkeyed so an operator can write one into
``clients.toml`` without access to the server's keys. Comparison is constant-time.

A rotation may keep the old secret valid for an overlap (``previous_secret_hash`` until
``previous_secret_valid_until``), so a tool's instances can take the new one one by one:
during it either secret authenticates, after it only the new one. Both hashes are compared
on every attempt, whichever matches, so timing tells nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator

from idp.observability import Audit
from idp.oidc.config import ADMIN_SCOPES, SUPPORTED_SCOPES
from idp.settings import ConfigModel, SettingsError, describe_validation_error
from idp.store import Store, dump_record, load_record

__all__ = [
    "AUTH_METHODS",
    "MAX_SECRET_OVERLAP_S",
    "MIN_SECRET_CHARS",
    "Client",
    "ClientConfig",
    "ClientConfigError",
    "ClientError",
    "Clients",
    "hash_secret",
    "new_secret",
]

AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
GrantType = Literal["authorization_code", "refresh_token", "client_credentials"]
AUTH_METHODS: Final = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
SECRET_METHODS: Final = frozenset({"client_secret_basic", "client_secret_post"})
# 256 bits, what `secrets.token_urlsafe(32)` gives; shorter operator secrets are refused.
SECRET_BYTES: Final = 32
MIN_SECRET_CHARS: Final = 32
_HASH_PREFIX: Final = "sha256:"
_CLIENT_ID_CHARS: Final = r"^[A-Za-z0-9._~-]{1,128}$"
_STORE_PREFIX: Final = "oidc-client:"
# Parsed stored clients kept per process (only clients that exist are ever kept).
_PARSED_MAX: Final = 4096
# Longest overlap of an old and a new secret: enough to redeploy every instance of a tool
# over a weekend; short enough that a leaked old secret dies soon.
MAX_SECRET_OVERLAP_S: Final = 7 * 24 * 3600
# Set only by rotate_secret, never by a client's own settings (update refuses them).
_SECRET_FIELDS: Final = frozenset({"client_id", "secret_hash", "previous_secret_hash",
                                   "previous_secret_valid_until"})


class ClientError(Exception):
    """An operator's request about clients that cannot be done (one line, no secret)."""


class ClientConfigError(SettingsError):
    """The clients file cannot be used; one line per problem."""


def new_secret() -> str:
    """A fresh client secret: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    digest = hashlib.sha256(secret.encode()).digest()
    return _HASH_PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "127.0.0.1", "::1", "[::1]")


def _without_port(value: str) -> tuple[str, str, str, str] | None:
    """(scheme, host, path, query) of a plain loopback http URL, or None."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError:
        return None
    host = parts.hostname or ""
    if (parts.scheme != "http" or not _is_loopback(host) or parts.username is not None
            or parts.password is not None or parts.fragment or "#" in value):
        return None
    return parts.scheme, host, parts.path, parts.query


def _loopback_any_port(presented: str, registered: str) -> bool:
    """RFC 8252 7.3: a loopback http redirect URI matches whatever its port."""
    mine = _without_port(registered)
    return mine is not None and _without_port(presented) == mine


def _check_uri(value: str, what: str) -> str:
    """Absolute http(s), no fragment (RFC 6749 3.1.2); plain http only on loopback."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} {value!r}: expected an absolute http(s) URL")
    if parts.fragment or "#" in value:
        raise ValueError(f"{what} {value!r}: must not have a fragment")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(f"{what} {value!r}: plain http is allowed only on loopback")
    return value


def _default_grants() -> list[GrantType]:
    return ["authorization_code", "refresh_token"]


class ClientConfig(ConfigModel):
    """One client: a ``[[client]]`` table of the clients file, or a stored record."""

    client_id: str = Field(pattern=_CLIENT_ID_CHARS)
    client_name: str = ""
    # Exactly how the client authenticates at the token endpoint. Secret clients may use
    # either client_secret_basic or client_secret_post (as Keycloak-like brokers expect).
    token_endpoint_auth_method: AuthMethod = "client_secret_basic"  # noqa: S105 - a method name
    secret_hash: str | None = None
    # The secret before the last rotation, accepted until this time (epoch seconds).
    previous_secret_hash: str | None = None
    previous_secret_valid_until: float | None = None
    # private_key_jwt: the client's public keys, inline or at a URL the provider fetches.
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    redirect_uris: list[str] = Field(default_factory=list)
    post_logout_redirect_uris: list[str] = Field(default_factory=list)
    backchannel_logout_uri: str | None = None
    grant_types: list[GrantType] = Field(default_factory=_default_grants)
    scopes: list[str] = Field(default_factory=lambda: list(SUPPORTED_SCOPES))
    # Scopes of /admin/api/v1, granted by the operator only (see ADMIN_SCOPES).
    admin_scopes: list[str] = Field(default_factory=list)
    # RFC 7636 / RFC 9700 2.1.1: PKCE (S256) on every authorization request. Always true
    # for public clients.
    require_pkce: bool = True
    # First-party tools: no consent page (offline_access still asks).
    skip_consent: bool = False
    # A resource server that may introspect tokens issued to other clients (RFC 7662 4).
    introspection: bool = False
    id_token_signed_response_alg: Literal["RS256", "ES256"] = "RS256"  # noqa: S105 - alg name
    # Lifetimes; None means the provider's defaults ([lifetimes], [oidc]).
    access_token_lifetime_s: int | None = Field(default=None, ge=60, le=24 * 3600)
    id_token_lifetime_s: int | None = Field(default=None, ge=60, le=24 * 3600)
    refresh_token_lifetime_s: int | None = Field(default=None, ge=60, le=365 * 24 * 3600)
    # Registered by the client itself (RFC 7591, idp.registration): consent is asked every
    # time, and a public client's loopback redirect URIs match on any port (RFC 8252 7.3).
    registered: bool = False

    @field_validator("redirect_uris", "post_logout_redirect_uris")
    @classmethod
    def _uris(cls, values: list[str]) -> list[str]:
        return [_check_uri(value, "URI") for value in values]

    @field_validator("backchannel_logout_uri", "jwks_uri")
    @classmethod
    def _uri(cls, value: str | None) -> str | None:
        return None if value is None else _check_uri(value, "URI")

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, values: list[str]) -> list[str]:
        unknown = [value for value in values if value not in SUPPORTED_SCOPES]
        if unknown:
            raise ValueError(f"unknown scope(s) {unknown}; supported: {list(SUPPORTED_SCOPES)}")
        return values

    @field_validator("admin_scopes")
    @classmethod
    def _admin_scopes(cls, values: list[str]) -> list[str]:
        unknown = [value for value in values if value not in ADMIN_SCOPES]
        if unknown:
            raise ValueError(f"unknown admin scope(s) {unknown}; known: {list(ADMIN_SCOPES)}")
        return values

    @model_validator(mode="after")
    def _consistent(self) -> ClientConfig:
        method = self.token_endpoint_auth_method
        if self.admin_scopes and self.grant_types != ["client_credentials"]:
            raise ValueError("admin scopes are for a client_credentials client only "
                             "(--grant-type client_credentials)")
        if method in SECRET_METHODS and not self.secret_hash:
            raise ValueError(f"{method} needs secret_hash (see `idp clients new-secret`)")
        if self.secret_hash and not self.secret_hash.startswith(_HASH_PREFIX):
            raise ValueError("secret_hash must start with 'sha256:'")
        if self.previous_secret_hash is not None and (
                not self.secret_hash or self.previous_secret_valid_until is None
                or not self.previous_secret_hash.startswith(_HASH_PREFIX)):
            raise ValueError("previous_secret_hash needs secret_hash, a 'sha256:' value and "
                             "previous_secret_valid_until")
        if method == "private_key_jwt" and not (self.jwks or self.jwks_uri):
            raise ValueError("private_key_jwt needs jwks or jwks_uri")
        if method == "none":
            if self.secret_hash:
                raise ValueError("a public client (none) has no secret")
            if "client_credentials" in self.grant_types:
                raise ValueError("client_credentials needs a confidential client")
            if not self.require_pkce:
                raise ValueError("a public client must use PKCE (require_pkce = true)")
        if self.registered and (self.skip_consent or self.admin_scopes or self.introspection):
            raise ValueError("a registered client cannot skip consent or hold operator rights")
        if "authorization_code" in self.grant_types and not self.redirect_uris:
            raise ValueError("authorization_code needs at least one redirect URI")
        return self


class Client:
    """A client as authlib sees it (``ClientMixin``'s methods, duck-typed)."""

    def __init__(self, config: ClientConfig, source: Literal["file", "store"],
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.source = source
        self._clock = clock
        self.client_id = config.client_id
        self.id_token_signed_response_alg = config.id_token_signed_response_alg

    def __repr__(self) -> str:
        return f"Client({self.client_id!r}, source={self.source!r})"

    @property
    def name(self) -> str:
        return self.config.client_name or self.client_id

    @property
    def is_public(self) -> bool:
        return self.config.token_endpoint_auth_method == "none"  # noqa: S105 - a method name

    def public(self) -> dict[str, Any]:
        """What an operator may see of the client: its settings without the secrets' hashes
        (``has_secret``, and until when an old secret still works)."""
        data = self.config.model_dump(mode="json")
        data["has_secret"] = data.pop("secret_hash") is not None
        data.pop("previous_secret_hash")
        data["source"] = self.source
        return data

    @property
    def always_consent(self) -> bool:
        """Consent is asked on every authorization, never remembered (registered clients)."""
        return self.config.registered

    @property
    def client_metadata(self) -> dict[str, Any]:
        """Registration metadata (authlib's EndSessionEndpoint reads it)."""
        return {"post_logout_redirect_uris": list(self.config.post_logout_redirect_uris),
                "backchannel_logout_uri": self.config.backchannel_logout_uri}

    # -- authlib ClientMixin -------------------------------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # OIDC Core 3.1.2.1: redirect_uri is REQUIRED; never guess one.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = {*self.config.scopes, *self.config.admin_scopes}
        seen: list[str] = []
        for item in scope.split():
            if item in allowed and item not in seen:
                seen.append(item)
        return " ".join(seen)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # RFC 9700 2.1 / OIDC Core 3.1.2.1: exact string comparison, nothing else; except
        # that a native app that registered itself gets any port on loopback (RFC 8252 7.3).
        if any(hmac.compare_digest(redirect_uri.encode(), uri.encode())
               for uri in self.config.redirect_uris):
            return True
        return (self.config.registered and self.is_public
                and any(_loopback_any_port(redirect_uri, uri) for uri in self.config.redirect_uris))

    def check_client_secret(self, client_secret: str) -> bool:
        config = self.config
        if not config.secret_hash:
            return False
        given = hash_secret(client_secret).encode()
        current = hmac.compare_digest(given, config.secret_hash.encode())
        # Always a second comparison, so an overlap (or none) does not show in the timing.
        previous = hmac.compare_digest(
            given, (config.previous_secret_hash or config.secret_hash).encode())
        overlapping = (config.previous_secret_hash is not None
                       and config.previous_secret_valid_until is not None
                       and self._clock() < config.previous_secret_valid_until)
        return current or (previous and overlapping)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        registered = self.config.token_endpoint_auth_method
        if registered in SECRET_METHODS:
            return method in SECRET_METHODS
        return method == registered

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.config.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.config.grant_types


class Clients:
    """Every client: the file's (read once, at start-up) and the Store's (read per use).

    A stored client's record is read on every use, so a change made anywhere (another
    replica, ``idp clients rotate-secret`` or ``delete``) counts on the very next request:
    a rotated secret stops working at once. What is kept per process is only the parsed and
    validated :class:`Client` of the exact bytes last read (the record is its own version:
    different bytes, parsed again). A time-based cache would save the read too, but would
    let an old secret or a deleted client work for its lifetime on other replicas.
    """

    def __init__(self, store: Store, audit: Audit, file: Path | None = None,
                 *, file_required: bool = False, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._audit = audit
        self._clock = clock
        self._file: dict[str, Client] = {}
        self._parsed: dict[str, tuple[bytes, Client]] = {}
        if file is not None:
            self._file = {c.client_id: Client(c.config, "file", clock)
                          for c in load_clients_file(file, file_required)}
        clashes = [cid for cid in self._file if store.get(_STORE_PREFIX + cid) is not None]
        if clashes:
            raise ClientConfigError(
                f"{file}: client id(s) {clashes} also exist in the store (added with "
                "`idp clients add`); ids must be unique: rename one or `idp clients delete` it"
            )

    def get(self, client_id: str) -> Client | None:
        if not isinstance(client_id, str) or len(client_id) > 128:
            return None
        found = self._file.get(client_id)
        if found is not None:
            return found
        raw = self._store.get(_STORE_PREFIX + client_id)
        if raw is None:
            return None
        parsed = self._parsed.get(client_id)
        if parsed is not None and parsed[0] == raw:
            return parsed[1]
        data = load_record(raw)
        if data is None:
            return None
        data.pop("v", None)
        client = Client(ClientConfig.model_validate(data), "store", self._clock)
        if len(self._parsed) >= _PARSED_MAX:
            self._parsed.clear()
        self._parsed[client_id] = (raw, client)
        return client

    def all(self) -> Iterator[Client]:
        yield from self._file.values()
        for key in sorted(self._store.scan(_STORE_PREFIX)):
            client = self.get(key.removeprefix(_STORE_PREFIX))
            if client is not None and client.source == "store":
                yield client

    def add(self, config: ClientConfig, *, actor: str = "cli") -> Client:
        if config.client_id in self._file:
            raise ClientError(f"client {config.client_id!r} is declared in the clients file")
        record = dump_record(config.model_dump(mode="json"))
        if not self._store.add(_STORE_PREFIX + config.client_id, record):
            raise ClientError(f"client {config.client_id!r} already exists")
        self._audit.emit("oidc.client_added", client_id=config.client_id, actor=actor)
        return Client(config, "store", self._clock)

    def update(self, client_id: str, changes: dict[str, Any], *, actor: str = "cli") -> Client:
        """Change the settings of a stored client, validated as a whole (never its id or
        secret: see :meth:`rotate_secret`). Raises :class:`ClientError`,
        :class:`ClientConfigError`."""
        client = self._stored(client_id)
        fixed = sorted(set(changes) & _SECRET_FIELDS)
        if fixed:
            raise ClientError(f"{', '.join(fixed)} cannot be changed here (a client's id is "
                              "fixed; its secret changes by rotate_secret)")
        updated = client_config({**client.config.model_dump(mode="json"), **changes},
                                f"client {client_id}")
        self._store.set(_STORE_PREFIX + client_id, dump_record(updated.model_dump(mode="json")))
        self._audit.emit("oidc.client_updated", client_id=client_id, actor=actor,
                         fields=sorted(changes))
        return Client(updated, "store", self._clock)

    def rotate_secret(self, client_id: str, *, actor: str = "cli", overlap_s: float = 0) -> str:
        """A new secret for a stored secret client. The old one stops working at once, or,
        with ``overlap_s`` (at most :data:`MAX_SECRET_OVERLAP_S`), stays valid that long
        beside the new one (a secret from an earlier rotation's overlap ends now)."""
        client = self._stored(client_id)
        if client.config.token_endpoint_auth_method not in SECRET_METHODS:
            raise ClientError(f"client {client_id!r} does not authenticate with a secret")
        if not 0 <= overlap_s <= MAX_SECRET_OVERLAP_S:
            raise ClientError(f"the overlap must be 0 to {MAX_SECRET_OVERLAP_S} seconds")
        secret = new_secret()
        until = self._clock() + overlap_s if overlap_s else None
        updated = client.config.model_copy(update={
            "secret_hash": hash_secret(secret),
            "previous_secret_hash": client.config.secret_hash if until else None,
            "previous_secret_valid_until": until})
        self._store.set(_STORE_PREFIX + client_id, dump_record(updated.model_dump(mode="json")))
        self._audit.emit("oidc.client_secret_rotated", client_id=client_id, actor=actor,
                         overlap_s=overlap_s)
        return secret

    def replace(self, config: ClientConfig, *, actor: str = "cli") -> Client:
        """Replace a stored client's settings whole (not its id), compare-and-set; refused if
        it is gone or changed meanwhile."""
        self._stored(config.client_id)
        key = _STORE_PREFIX + config.client_id
        current = self._store.get(key)
        if current is None or not self._store.cas(
                key, current, dump_record(config.model_dump(mode="json"))):
            raise ClientError(f"client {config.client_id!r} changed meanwhile; try again")
        self._audit.emit("oidc.client_updated", client_id=config.client_id, actor=actor)
        return Client(config, "store", self._clock)

    def delete(self, client_id: str, *, actor: str = "cli") -> None:
        self._stored(client_id)
        self._store.delete(_STORE_PREFIX + client_id)
        self._audit.emit("oidc.client_deleted", client_id=client_id, actor=actor)

    def _stored(self, client_id: str) -> Client:
        if client_id in self._file:
            raise ClientError(
                f"client {client_id!r} is declared in the clients file: edit it there")
        client = self.get(client_id)
        if client is None:
            raise ClientError(f"no client {client_id!r}")
        return client


def client_config(data: dict[str, Any], source: str) -> ClientConfig:
    """Validate one client's settings; :class:`ClientConfigError` names every problem."""
    try:
        return ClientConfig.model_validate(data)
    except ValidationError as exc:
        raise ClientConfigError(describe_validation_error(exc, source)) from None


def load_clients_file(path: Path, required: bool = False) -> list[Client]:
    """The ``[[client]]`` tables of ``path``. A missing file is no clients unless
    ``required``. Raises :class:`ClientConfigError` with one line per problem."""
    if not path.exists():
        if required:
            raise ClientConfigError(f"{path}: no such clients file")
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ClientConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ClientConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    extra = set(data) - {"client"}
    if extra:
        raise ClientConfigError(f"{path}: unknown table(s) {sorted(extra)}; expected [[client]]")
    entries = data.get("client", [])
    if not isinstance(entries, list):
        raise ClientConfigError(f"{path}: expected [[client]] tables")
    clients: list[Client] = []
    problems: list[str] = []
    for index, entry in enumerate(entries):
        try:
            config = client_config(entry, f"{path}: client[{index}]")
        except ClientConfigError as exc:
            problems.append(str(exc))
            continue
        if any(c.client_id == config.client_id for c in clients):
            problems.append(f"{path}: client[{index}]: client_id {config.client_id!r} repeated")
        clients.append(Client(config, "file"))
    if problems:
        raise ClientConfigError("\n".join(problems))
    return clients
