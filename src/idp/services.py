"""The services: everything a request or a command may use, wired once from settings.

The web application (:mod:`idp.app`) and the ``idp`` commands build them here; the rooms
below never import this module (they name what they need with a protocol, such as
:class:`idp.login.core.LoginServices`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from idp.audit import AuditLog
from idp.delivery.registry import Delivery, load_transports
from idp.devices import TrustedBrowsers
from idp.methods import MethodError
from idp.methods.codes import IssuedCode
from idp.methods.core import MethodChange
from idp.methods.service import MethodService
from idp.metrics import measured_store
from idp.notices import Notices
from idp.observability import Audit
from idp.oidc.provider import OidcProvider
from idp.sessions import SsoSessions
from idp.settings import Settings
from idp.store import Store, open_store
from idp.users import Accounts, User, method_user
from idp.users.passwords import Passwords

__all__ = ["MethodImporter", "Services", "build_services"]


@dataclass
class Services:
    """Everything a request or a command may use, built once from settings."""

    settings: Settings
    store: Store
    audit: Audit
    accounts: Accounts
    devices: TrustedBrowsers
    sessions: SsoSessions
    delivery: Delivery
    methods: MethodService
    oidc: OidcProvider
    notices: Notices
    audit_log: AuditLog

    def close(self) -> None:
        self.delivery.close()
        self.store.close()


def build_services(
    settings: Settings,
    store: Store | None = None,
    *,
    code_observer: Callable[[str, IssuedCode], None] | None = None,
) -> Services:
    """Wire every service from settings. Raises ``SettingsError`` subclasses, one line per
    problem, for configuration that cannot work (a method or transport not installed...).
    ``code_observer`` sees every issued code: for test harnesses only."""
    store = measured_store(store or open_store(settings.store), settings)
    audit = Audit()
    audit_log = AuditLog(store)
    audit.listeners.append(audit_log.listener)
    accounts = Accounts(store, Passwords(settings.passwords), audit)
    devices = TrustedBrowsers(
        store, settings, audit,
        max_per_user=settings.limits.max_trusted_browsers,
        warn_above=settings.limits.many_trusted_browsers_warning,
    )
    email = list(settings.notifications.email)
    if not email and settings.server.dev and "outbox" in settings.delivery.transports:
        email = ["outbox"]  # dev mode: notices land in the outbox, shown at /dev/outbox
    delivery = load_transports(settings.delivery, audit=audit, email=email)
    methods = MethodService.from_settings(
        settings, store, audit=audit, delivery=delivery, code_observer=code_observer
    )

    def security_changed(change: MethodChange) -> None:
        # C4: any change of methods or recovery codes ends trusted browsers.
        if accounts.get(change.user_id) is None:
            return
        accounts.bump_epoch(change.user_id, reason=f"methods.{change.kind}")
        devices.on_security_change(change.user_id, reason=f"methods.{change.kind}")

    methods.listeners.append(security_changed)
    sessions = SsoSessions(store, settings, audit)
    # Security notices, recent activity, verification mails: fed by the audit events.
    notices = Notices(settings, store, audit, accounts, delivery)
    audit.add_audit_listener(notices.on_audit)
    return Services(
        settings=settings, store=store, audit=audit, accounts=accounts, devices=devices,
        sessions=sessions, delivery=delivery, methods=methods,
        oidc=OidcProvider(settings, store, audit, accounts, sessions), notices=notices,
        audit_log=audit_log,
    )


class MethodImporter:
    """Lets ``idp users import`` validate and store second factors through the methods."""

    def __init__(self, methods: MethodService) -> None:
        self._methods = methods

    def validate_import(self, rows: Sequence[tuple[str, str, dict[str, str]]]) -> None:
        try:
            self._methods.validate_import_set(rows)
        except MethodError as exc:
            raise ValueError(exc.detail or str(exc)) from None

    def import_credentials(self, user: User, rows: Sequence[tuple[str, str, dict[str, str]]]
                           ) -> None:
        self._methods.import_credentials(method_user(user), rows)

    def remove_all(self, user: User) -> None:
        self._methods.reset(user.id, actor="import-rollback")
