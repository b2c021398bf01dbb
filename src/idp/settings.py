"""Typed settings, read once at start-up and passed explicitly.

Sources, later ones winning, key by key: the defaults below, one TOML file, then ``IDP_*``
environment variables (``[store] url`` is ``IDP_STORE__URL``), then overrides given in code
(``load_settings(path, server={...})``: tests and tools). Any secret field ``x`` may instead
be given as ``x_file``: a path whose content is the secret (Kubernetes Secrets mount files);
``x_file`` wins over ``x`` whichever sources gave them. Library code never reads the
environment itself; only :func:`load_settings` does.

Every key, its default and the reason for it is documented in ``config/idp.toml``.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

__all__ = [
    "ConfigModel",
    "DeliverySettings",
    "EnrollmentSettings",
    "LifetimeSettings",
    "LimitSettings",
    "LoggingSettings",
    "MetricsSettings",
    "NoticeEvents",
    "NotificationSettings",
    "OidcSettings",
    "PasswordSettings",
    "RegistrationSettings",
    "SecretSettings",
    "ServerSettings",
    "Settings",
    "SettingsError",
    "StoreSettings",
    "TracingSettings",
    "UiSettings",
    "describe_validation_error",
    "load_settings",
]

DEFAULT_CONFIG_PATH = Path("config/idp.toml")


class SettingsError(Exception):
    """Invalid configuration. The message is one or more lines fit to show an operator."""


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_is_secret(arg) for arg in get_args(annotation))


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) is list:
        return True
    return any(_is_list(arg) for arg in get_args(annotation))


class ConfigModel(BaseModel):
    """Base of every config section, the core's and each plugin's.

    Unknown keys are errors (a typo must not silently fall back to a default). A secret field
    ``x`` (typed ``SecretStr`` or ``list[SecretStr]``) may be given as ``x_file`` instead: the
    file's content, stripped, is the value; for a list, one value per non-empty line. Given
    both ways (say ``x`` in the file and ``x_file`` from the environment), the file path wins.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, field in cls.model_fields.items():
            file_key = f"{name}_file"
            if file_key not in data:
                continue
            if not _is_secret(field.annotation):
                continue
            path = Path(str(data.pop(file_key)))
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(
                    f"{file_key}: cannot read {str(path)!r}: {exc.strerror or exc}"
                ) from None
            if _is_list(field.annotation):
                data[name] = [line.strip() for line in text.splitlines() if line.strip()]
            else:
                data[name] = text.strip()
        return data


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ServerSettings(ConfigModel):
    # The issuer is the public URL clients see; it must match what they configured exactly.
    issuer: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    # Dev mode: SQLite under var/, a demo user, the outbox "phone" page, plain-http cookies.
    dev: bool = False
    # Conformance mode (docs/conformance.md): the OpenID Foundation's certification suite runs
    # against this deployment. Lets the `conformance` method (a fixed code) load and shows a
    # "CONFORMANCE TEST MODE" banner on every page. NEVER on a deployment real people use.
    conformance: bool = False
    # Addresses (IPs or CIDR networks) of the proxies in front of us whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; the client address is the right-most hop not in this
    # list. Loopback only by default (a proxy on the same machine or pod). "*" trusts every
    # peer, which lets anyone choose their address: dev mode only.
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1"])
    # SIGTERM: seconds to finish requests in flight after the listener closes; requests still
    # running then are cut off. Long enough for a sign-in whose SMS gateway is slow; the pod's
    # grace period must exceed it + oidc.backchannel_timeout_s + 1 s + any preStop pause.
    shutdown_timeout: int = Field(default=20, ge=0, le=3600)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry.strip() == "*":
                continue
            try:
                ipaddress.ip_network(entry.strip(), strict=True)
            except ValueError as exc:
                raise ValueError(
                    f"{entry!r} is not an IP address or network such as 10.0.0.0/8 ({exc})"
                ) from None
        return [entry.strip() for entry in value]

    @model_validator(mode="after")
    def _wildcard_only_in_dev(self) -> ServerSettings:
        if "*" in self.trusted_proxies and not self.dev:
            raise ValueError(
                "trusted_proxies: '*' (believe X-Forwarded-For from anyone) is allowed only in "
                "dev mode; list the proxies' addresses or networks, e.g. [\"10.0.0.0/8\"]"
            )
        return self

    @field_validator("issuer")
    @classmethod
    def _issuer_is_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an absolute http(s) URL such as https://id.example.com")
        if parts.query or parts.fragment:
            raise ValueError("an issuer has no query or fragment (OIDC Discovery 3)")
        return value.rstrip("/")

    @property
    def secure(self) -> bool:
        """True when cookies can carry ``Secure`` and the ``__Host-`` prefix."""
        return urlsplit(self.issuer).scheme == "https"


class StoreSettings(ConfigModel):
    # sqlite:///path (embedded, one machine) or redis://, rediss://,
    # redis+sentinel://h:p,h:p/master, redis+cluster://h:p,h:p (production).
    url: str = "sqlite:///var/nidan.sqlite3"
    # Every key starts with this, so one Redis can serve several deployments.
    prefix: str = "nidan:"
    # Redis AUTH; a URL may also carry user:password, but a file keeps it out of env dumps.
    password: SecretStr | None = None
    username: str | None = None
    socket_timeout_s: float = Field(default=2.0, gt=0, le=60)
    connect_timeout_s: float = Field(default=2.0, gt=0, le=60)
    # Retries on connection errors, with exponential backoff: rides out a Sentinel failover.
    retries: int = Field(default=5, ge=0, le=20)
    max_connections: int = Field(default=64, ge=1, le=10_000)
    # Redis replicates asynchronously: a write confirmed by the master can vanish in a
    # failover (and the old master keeps accepting writes until Sentinel demotes it). With
    # wait_replicas = N a write counts as done only once N replicas have it (Redis WAIT,
    # within wait_timeout_ms; else it is retried, then fails): nothing confirmed to a person
    # is lost. The price: writes fail while fewer than N replicas are in sync. For
    # redis:// and redis+sentinel:// (1 with Sentinel); not for Cluster.
    wait_replicas: int = Field(default=0, ge=0, le=10)
    wait_timeout_ms: int = Field(default=500, ge=1, le=60_000)
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0, le=600_000)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        scheme = value.split("://", 1)[0] if "://" in value else ""
        known = (
            "sqlite",
            "redis",
            "rediss",
            "redis+sentinel",
            "rediss+sentinel",
            "redis+cluster",
            "rediss+cluster",
        )
        if scheme not in known:
            raise ValueError(
                "expected a URL starting with sqlite://, redis://, rediss://, "
                "redis+sentinel:// or redis+cluster://"
            )
        return value


class PasswordSettings(ConfigModel):
    # argon2id, OWASP Password Storage Cheat Sheet: m=19 MiB, t=2, p=1 (~20 ms here).
    argon2_time_cost: int = Field(default=2, ge=1, le=20)
    argon2_memory_kib: int = Field(default=19_456, ge=8_192, le=1_048_576)
    argon2_parallelism: int = Field(default=1, ge=1, le=16)
    # NIST SP 800-63B 5.1.1.1: at least 8 characters, at most something generous.
    min_length: int = Field(default=8, ge=8, le=64)
    max_length: int = Field(default=128, ge=64, le=1024)
    # ASVS 5.0 6.1.2/6.2.11: words no new password may contain (case-folded, NFKC), besides
    # the person's email local part. The service's name in both languages by default.
    context_words: list[str] = Field(default_factory=lambda: ["nidan", "二段"])


class SecretSettings(ConfigModel):
    # AES-256-GCM keys for secrets at rest, "key-id:base64(32 bytes)"; the first encrypts,
    # all decrypt, so a new key can be put in front and old data re-encrypted later.
    data_keys: list[SecretStr] = Field(default_factory=list)
    # itsdangerous keys for signed cookies; the first signs, all verify.
    cookie_keys: list[SecretStr] = Field(default_factory=list)


class EnrollmentSettings(ConfigModel):
    # BEHAVIOUR E3: which methods may be chosen in each role.
    primary: list[str] = Field(default_factory=lambda: ["totp", "sms", "voice"])
    backup: list[str] = Field(default_factory=lambda: ["totp", "sms", "voice"])
    # E3: at least one of the two must be a phone, so the app is never both.
    require_phone: bool = True
    # E4: the same normalised number may not serve as both primary and backup.
    allow_same_phone: bool = False
    # E5: numbers without a country code are read in this region.
    default_region: str = "JP"
    # E7: how many recovery codes a person gets.
    recovery_codes: int = Field(default=10, ge=4, le=20)


class LimitSettings(ConfigModel):
    # Passwords (NIST SP 800-63B 5.2.2): per account, then per IP, kept apart from codes.
    password_delay_after: int = 5
    password_lock_after: int = 10
    password_lock_s: int = 15 * 60
    password_per_ip_per_minute: int = 30
    password_hard_stop: int = 100
    # Codes: tries per challenge; consecutive failures that disable a method until reset.
    code_tries: int = 5
    code_disable_after: int = 100
    # Resend: cooldown, and budgets per user and per phone number in a window.
    resend_cooldown_s: int = 30
    resend_per_window: int = 5
    resend_window_s: int = 15 * 60
    # SMS-pumping guard: sends per day to one country calling code (e.g. "81").
    sends_per_country_per_day: int = 10_000
    totp_window_steps: int = Field(default=1, ge=0, le=2)
    # Trusted browsers per person; beyond this the oldest is dropped (BEHAVIOUR T3).
    max_trusted_browsers: int = Field(default=10, ge=1, le=100)
    # A1: more trusted browsers than this on one account is flagged as possible sharing.
    many_trusted_browsers_warning: int = Field(default=3, ge=0, le=100)


class LifetimeSettings(ConfigModel):
    login_transaction_s: int = 15 * 60
    code_s: int = 10 * 60
    authorization_code_s: int = 60
    access_token_s: int = 10 * 60
    refresh_token_s: int = 30 * 24 * 3600
    sso_session_s: int = 12 * 3600
    sso_idle_s: int = 2 * 3600
    trusted_browser_s: int = 30 * 24 * 3600
    # C2: how recent a second factor must be to change methods.
    fresh_second_factor_s: int = 10 * 60
    # C3: the one-time enrollment code an operator's reset prints works this long.
    reenrollment_code_s: int = 7 * 24 * 3600


class DeliverySettings(ConfigModel):
    # Transport instance names tried in order for each channel.
    sms: list[str] = Field(default_factory=lambda: ["outbox"])
    voice: list[str] = Field(default_factory=lambda: ["outbox"])
    # Instance name -> that transport's own config; "type" defaults to the instance name.
    transports: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {"outbox": {"path": "var/outbox.jsonl"}}
    )
    # The outbox transport writes every code in clear to a file: it is refused outside dev
    # and conformance mode unless this is set (a test deployment nobody real signs in to).
    allow_outbox: bool = False


class NoticeEvents(ConfigModel):
    """Which security events mail the person (docs/notifications.md). All on by default."""

    new_browser: bool = True
    trusted_browser: bool = True
    method_added: bool = True
    method_replaced: bool = True
    method_removed: bool = True
    methods_swapped: bool = True
    password_changed: bool = True
    recovery_codes_used: bool = True
    recovery_codes_regenerated: bool = True
    reset_by_operator: bool = True
    account_locked: bool = True
    email_changed: bool = True


class NotificationSettings(ConfigModel):
    """The ``[notifications]`` section: security notices by email (docs/notifications.md)."""

    # Transport instances of [delivery.transports] tried in order; empty: no email at all.
    email: list[str] = Field(default_factory=list)
    events: NoticeEvents = Field(default_factory=NoticeEvents)
    # At most this many notices per person in a window; the rest are dropped and audited.
    cap_per_window: int = Field(default=10, ge=1, le=1000)
    cap_window_s: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    # The sending worker (every replica runs one): poll interval, retry schedule, give-up.
    poll_s: float = Field(default=2.0, gt=0, le=60)
    retry_base_s: float = Field(default=5.0, gt=0, le=3600)
    retry_max_s: float = Field(default=600.0, gt=0, le=24 * 3600)
    give_up_s: float = Field(default=24 * 3600.0, gt=0, le=7 * 24 * 3600)
    # "This wasn't me" links and email verification links stay valid this long.
    report_link_s: int = Field(default=48 * 3600, ge=300, le=30 * 24 * 3600)
    verify_link_s: int = Field(default=24 * 3600, ge=300, le=30 * 24 * 3600)
    # Entries kept in each person's recent-activity list on /account.
    activity_kept: int = Field(default=30, ge=5, le=200)
    # Times in mails and on /account are shown in this IANA time zone.
    timezone: str = "Asia/Tokyo"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as Asia/Tokyo or UTC") from None
        return value


class UiSettings(ConfigModel):
    default_locale: Literal["ja", "en"] = "ja"
    # Shown in page titles, SMS texts and authenticator apps (otpauth issuer).
    service_name: str = "Nidan"


class LoggingSettings(ConfigModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = Field(default=True, alias="json")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class OidcSettings(ConfigModel):
    """The ``[oidc]`` section. Every value has a safe default."""

    # Clients declared by the operator (TOML, [[client]] tables). A missing file at the
    # default path means "none"; a missing file named explicitly is an error.
    clients_file: Path | None = Path("config/clients.toml")
    # ID token lifetime when a client sets none. Short: an RP checks it once, at sign-in.
    id_token_lifetime_s: int = Field(default=600, ge=60, le=24 * 3600)
    # A new signing key is published in the JWKS this long before it signs anything, so
    # clients that cache our JWKS (max-age below) already know it when they first see it.
    key_prepublish_s: int = Field(default=3600, ge=0, le=30 * 24 * 3600)
    # How often each replica re-reads the signing keys from the store, so a rotation made
    # elsewhere (another replica, `idp keys rotate`) is published everywhere within it. Keep
    # key_prepublish_s above this plus jwks_max_age_s.
    key_refresh_s: float = Field(default=30.0, gt=0, le=3600)
    # How long clients may cache discovery and the JWKS (Cache-Control max-age).
    jwks_max_age_s: int = Field(default=300, ge=0, le=24 * 3600)
    # How long a person's consent to a client's scopes is remembered.
    consent_s: int = Field(default=365 * 24 * 3600, ge=0)
    # Back-channel logout (OIDC Back-Channel Logout 1.0 2.5): how long one POST may take,
    # how often pending deliveries are looked at, and the retry schedule (exponential
    # backoff from base to max, abandoned after give_up; kept in the store across restarts).
    backchannel_timeout_s: float = Field(default=5.0, gt=0, le=60)
    backchannel_poll_s: float = Field(default=1.0, gt=0, le=60)
    backchannel_retry_base_s: float = Field(default=2.0, gt=0, le=3600)
    backchannel_retry_max_s: float = Field(default=600.0, gt=0, le=24 * 3600)
    backchannel_give_up_s: float = Field(default=24 * 3600.0, gt=0, le=7 * 24 * 3600)
    # A logout token is signed at each delivery attempt and valid this long (2.4: short).
    logout_token_lifetime_s: int = Field(default=120, ge=10, le=3600)


RegistrationScope = Literal["openid", "profile", "email", "offline_access"]


def _registration_scopes() -> list[RegistrationScope]:
    return ["openid", "profile", "email"]


class RegistrationSettings(ConfigModel):
    """The ``[registration]`` section: dynamic client registration (RFC 7591/7592), off by
    default (docs/registration.md)."""

    # "off": no /register and nothing in discovery. "initial-token": a client registers with
    # an initial access token from `idp clients registration-token`. "open": anyone may
    # register a public client (token_endpoint_auth_method none, PKCE S256), as MCP clients do.
    mode: Literal["off", "initial-token", "open"] = "off"
    # What a registered client may ask for (a subset of the provider's scopes, idp.oidc.config).
    scopes: list[RegistrationScope] = Field(default_factory=_registration_scopes)
    # At most this many registered clients at once; beyond it a registration is refused.
    max_clients: int = Field(default=1000, ge=1, le=100_000)
    # Registration attempts per client address per window (429 with Retry-After beyond it).
    per_address: int = Field(default=10, ge=1, le=10_000)
    window_s: int = Field(default=3600, ge=1, le=7 * 24 * 3600)
    # A registered client that got no token for this many days is removed.
    prune_after_days: int = Field(default=30, ge=1, le=3650)
    # `idp clients registration-token`: how long an initial access token works by default.
    initial_token_s: int = Field(default=7 * 24 * 3600, ge=60, le=365 * 24 * 3600)


class MetricsSettings(ConfigModel):
    # Prometheus /metrics on a listener of its own, served by the supervising process (the
    # sum of every worker); never on the public port. docs/observability.md.
    enabled: bool = True
    listen: str = "127.0.0.1:9464"
    # Port 0: any free port (logged). Optional: scrapes must send "Authorization: Bearer
    # <token>" (or give bearer_token_file).
    bearer_token: SecretStr | None = None
    # Where workers keep their metric files; wiped at start. Empty: a fresh temporary folder.
    multiprocess_dir: str = ""
    # A client label on the funnel and token metrics (registered clients; others are "other").
    # Off: every client is counted as "all" (many clients, or client ids that are sensitive).
    per_client_labels: bool = True
    # The operator's price of one billable unit (an SMS segment, a call) per country calling
    # code ("81" Japan, "1" NANP), and for any other code under "default"; for the estimated
    # cost metric only (nidan_code_delivery_cost_total), in the currency named here.
    currency: str = "USD"
    sms_prices: dict[str, float] = Field(default_factory=dict)
    voice_prices: dict[str, float] = Field(default_factory=dict)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError("expected host:port such as 127.0.0.1:9464 or [::1]:9464")
        return value

    @field_validator("sms_prices", "voice_prices")
    @classmethod
    def _calling_codes(cls, value: dict[str, float]) -> dict[str, float]:
        for code, price in value.items():
            if code != "default" and not (code.isdigit() and 1 <= len(code) <= 3):
                raise ValueError(f"{code!r}: expected a country calling code such as \"81\", "
                                 "or \"default\"")
            if price < 0:
                raise ValueError(f"{code!r}: a price cannot be negative")
        return value

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class TracingSettings(ConfigModel):
    # OpenTelemetry traces (docs/observability.md), off by default. Where they go and how
    # they are sampled come from the standard OTEL_* environment (OTEL_EXPORTER_OTLP_ENDPOINT,
    # OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER...); needs the "otel" extra installed.
    enabled: bool = False


def _default_methods() -> dict[str, dict[str, Any]]:
    return {"totp": {}, "sms": {}, "voice": {}}


class Settings(BaseSettings):
    """Everything the provider is told at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="IDP_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    server: ServerSettings = Field(default_factory=ServerSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    passwords: PasswordSettings = Field(default_factory=PasswordSettings)
    secrets: SecretSettings = Field(default_factory=SecretSettings)
    enrollment: EnrollmentSettings = Field(default_factory=EnrollmentSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    lifetimes: LifetimeSettings = Field(default_factory=LifetimeSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    # Method id -> that plugin's config (validated by the plugin's config_class). A method is
    # enabled when its section exists.
    methods: dict[str, dict[str, Any]] = Field(default_factory=_default_methods)
    ui: UiSettings = Field(default_factory=UiSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    oidc: OidcSettings = Field(default_factory=OidcSettings)
    registration: RegistrationSettings = Field(default_factory=RegistrationSettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)

    _toml_data: ClassVar[dict[str, Any]] = {}

    @model_validator(mode="after")
    def _production_is_safe(self) -> Settings:
        parts = urlsplit(self.server.issuer)
        if (
            not self.server.dev
            and parts.scheme == "http"
            and not _is_loopback(parts.hostname or "")
        ):
            raise ValueError(
                "server.issuer: an http issuer is allowed only on loopback or in dev mode; "
                "use https"
            )
        if not self.server.dev:
            missing = [name for name in ("data_keys", "cookie_keys")
                       if not getattr(self.secrets, name)]
            if missing:
                raise ValueError(
                    "secrets." + " and secrets.".join(missing) + ": required outside dev mode "
                    "(give them, or *_file paths; see config/idp.toml)"
                )
        self._outbox_is_safe()
        return self

    def _outbox_is_safe(self) -> None:
        """The outbox writes codes in clear: dev, conformance, or an explicit override."""
        delivery = self.delivery
        if self.server.dev or self.server.conformance or delivery.allow_outbox:
            return
        used = dict.fromkeys([*delivery.sms, *delivery.voice])
        outboxes = [name for name in used
                    if delivery.transports.get(name, {}).get("type", name) == "outbox"]
        if outboxes:
            raise ValueError(
                "delivery: the outbox transport (" + ", ".join(outboxes) + ") writes codes "
                "in clear to a file and is refused outside dev and conformance mode; configure "
                "a real transport (docs/delivery.md), or set delivery.allow_outbox = true on "
                "a test deployment"
            )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # init (overrides given in code, e.g. --dev) > environment > TOML file > defaults.
        return (init_settings, env_settings, _TomlSource(settings_cls, cls._toml_data))


class _TomlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def describe_validation_error(error: ValidationError, source: str) -> str:
    """One line per problem: where, the key, the value given, what is expected."""
    lines = []
    for item in error.errors(include_url=False):
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            lines.append(f"{source}: {key}: unknown setting")
            continue
        # A section's own validator names the key first ("data_keys_file: ..."): join them.
        head, sep, rest = message.partition(": ")
        if sep and head.isidentifier() and item["type"] == "value_error":
            key, message = f"{key}.{head}", rest
        given = item.get("input")
        shown = (
            ""
            if isinstance(given, dict) or "secret" in key.lower() or "password" in key
            else f" (given {given!r})"
        )
        lines.append(f"{source}: {key}{shown}: {message}")
    return "\n".join(lines)


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read the TOML file at ``path`` (default ``config/idp.toml`` if it exists), then the
    ``IDP_*`` environment, and return validated settings or raise :class:`SettingsError`.

    ``overrides`` (sections, e.g. ``server={"dev": True}``) win over both, key by key.
    """
    explicit = path is not None
    path = path or DEFAULT_CONFIG_PATH
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise SettingsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    elif explicit:
        raise SettingsError(f"{path}: no such config file")
    _check_env_keys()
    source = str(path) if path.exists() else "settings"
    loaded_class = type("Settings", (Settings,), {"_toml_data": data})
    try:
        # Overrides are pydantic-settings' init source: merged key by key over the others.
        settings: Settings = loaded_class(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc, source)) from None
    return settings


def _check_env_keys() -> None:
    """Refuse ``IDP_*`` variables that name no section: a typo must not pass silently."""
    sections = set(Settings.model_fields)
    for name in os.environ:
        if not name.startswith("IDP_") or name == "IDP_CONFIG":
            continue
        section = name[4:].split("__", 1)[0].lower()
        if section not in sections:
            raise SettingsError(f"environment: {name}: unknown setting")
