"""The SCIM view of Nidan's user directory: a :class:`scim2_server.storage.ScimStorage` over
:class:`idp.users.Accounts`, for one provisioning client at a time.

What lives where:

- the account (``user:<id>``, :class:`idp.users.User`) holds what Nidan acts on: the email
  (the primary entry of ``emails``, else ``userName`` when it is an address), ``displayName``,
  the language (``locale``/``preferredLanguage`` starting with ``ja`` or ``en``), ``active``
  (status) and the password (write-only, hashed with argon2id by :class:`Accounts`, never
  returned nor kept anywhere else);
- the SCIM profile (``scim-user:<id>``) holds ``userName`` and every other attribute the
  directory sent (``name``, ``title``, the Enterprise extension, ...), kept and returned as
  sent; a unique index ``scim-username:<folded userName>`` makes ``userName`` unique (case
  insensitive, RFC 7643 4.1.1);
- ``externalId`` is the provisioning client's own (``scim-ext:<user id>:<client id>``): client
  A's value is invisible to client B, which sees none (and can set its own).

A user created by the ``idp`` command or the admin API has no profile: their ``userName`` is
their email. Every write goes through :class:`Accounts` (audited, with the actor
``scim:<client id>``). ``active: false`` disables the account and ends its sessions (with
back-channel logout), refresh tokens and trusted browsers at once (:func:`idp.resets.end_access`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Final, cast

from pydantic import EmailStr
from scim2_models import (
    AnyExtension,
    EnterpriseUser,
    InvalidValueException,
    NotFoundException,
    PreconditionFailedException,
    Required,
    Resource,
    ResourceType,
    ResponseParameters,
    SCIMException,
    ScimFilter,
    SearchRequest,
    UniquenessException,
)
from scim2_models import Email as CoreEmail
from scim2_models import User as CoreUser
from scim2_server.storage import ScimStorage, SearchPage
from scim2_server.utils import parametrize

from idp.resets import delete_person, end_access
from idp.services import Services
from idp.store import dump_record, load_record
from idp.users import (
    LOCALES,
    AccountError,
    EmailTaken,
    InvalidEmail,
    PasswordPolicyError,
    normalise_email,
)
from idp.users import User as Account

__all__ = ["MODEL", "Directory", "Email", "User"]


class Email(CoreEmail):
    """An email of the core schema, whose ``value`` is required (an entry without one is
    nothing Nidan can use)."""

    value: Annotated[EmailStr | None, Required.true] = None


class User(CoreUser[AnyExtension]):
    """The core User schema as Nidan serves it: ``emails`` is required, because a Nidan
    account signs in with an email address (``userName`` need not be one). Published so in
    ``/Schemas``; everything else is RFC 7643's."""

    emails: Annotated[list[Email] | None, Required.true] = None  # type: ignore[assignment]


MODEL: Final = User[EnterpriseUser]
_PROFILE: Final = "scim-user:"
_USERNAME: Final = "scim-username:"
_EXTERNAL: Final = "scim-ext:"
_LOCK: Final = "scim-lock:"  # + user id: one SCIM writer at a time
_LOCK_TTL_S: Final = 10.0  # a holder that died frees it after this
_LOCK_WAIT_S: Final = 3.0  # a second writer waits this long, then gets 409
# What the account holds (or the request computes): never copied into the profile.
_NOT_PROFILE: Final = ("schemas", "id", "meta", "externalId", "userName", "displayName",
                       "active", "password", "groups")


def _fold(user_name: str) -> str:
    return unicodedata.normalize("NFKC", user_name).strip().casefold()


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def _nidan_locale(value: Any) -> str | None:
    if isinstance(value, str):
        language = value.strip().replace("_", "-").split("-")[0].casefold()
        if language in LOCALES:
            return language
    return None


def _account_email(data: dict[str, Any]) -> str:
    """The address Nidan signs the person in with: the primary email, else the first, else
    ``userName`` when it is an address."""
    emails = [entry for entry in data.get("emails") or [] if entry.get("value")]
    chosen = next((e for e in emails if e.get("primary")), emails[0] if emails else None)
    candidate = str(chosen["value"]) if chosen else str(data.get("userName", ""))
    try:
        normalise_email(candidate)
    except InvalidEmail:
        raise InvalidValueException(
            detail="A Nidan user needs an email address: give emails (or a userName that "
                   "is an address).") from None
    return candidate


class _Busy(SCIMException):
    status = 409
    _default_detail = "Another request is changing this user; try again."


class Directory(ScimStorage):
    """The users as one provisioning client sees them (see the module)."""

    def __init__(self, services: Services, client_id: str) -> None:
        self._services = services
        self._accounts = services.accounts
        self._store = services.store
        self._client_id = client_id
        self.actor = f"scim:{client_id}"
        #: Set by :class:`idp.scim.Handler` while a PATCH is applied: only a PATCH that
        #: removes ``active`` withdraws it (a PUT without it keeps the status).
        self.patching = False

    # -- the records -------------------------------------------------------------------

    def _profile(self, user_id: str) -> dict[str, Any]:
        return load_record(self._store.get(_PROFILE + user_id)) or {}

    def _external_id(self, user_id: str) -> str | None:
        raw = self._store.get(f"{_EXTERNAL}{user_id}:{self._client_id}")
        return None if raw is None else raw.decode()

    def _set_external_id(self, user_id: str, value: str | None) -> None:
        key = f"{_EXTERNAL}{user_id}:{self._client_id}"
        if value is None:
            self._store.delete(key)
        else:
            self._store.set(key, value.encode())

    def _resource(self, user: Account) -> Resource[Any]:
        profile = self._profile(user.id)
        external_id = self._external_id(user.id)
        data: dict[str, Any] = dict(profile.get("attributes", {}))
        emails = [dict(entry) for entry in data.get("emails") or []]
        primary = next((e for e in emails if e.get("primary")), emails[0] if emails else None)
        if primary is None:
            emails = [{"value": user.email, "primary": True}]
        else:  # the account's address wins (an operator may have changed it)
            primary["value"] = user.email
        data["emails"] = emails
        if not profile:  # an account the directory never wrote: its own language
            data["locale"] = user.locale
        schemas = [str(User.__schema__)]
        if str(EnterpriseUser.__schema__) in data:
            schemas.append(str(EnterpriseUser.__schema__))
        data.update({
            "schemas": schemas, "id": user.id, "userName": profile.get("userName", user.email),
        })
        # ``active`` removed by the directory: the account is disabled (fail closed) and the
        # attribute stays unassigned until the directory, the CLI or the admin API sets it.
        if user.active or not profile.get("active_unassigned"):
            data["active"] = user.active
        if user.display_name:
            data["displayName"] = user.display_name
        if external_id is not None:
            data["externalId"] = external_id
        changed = max(user.updated_at, float(profile.get("updated_at", 0.0)))
        digest = hashlib.sha256(json.dumps([user.public(), profile, external_id],
                                           sort_keys=True, default=str).encode()).hexdigest()
        data["meta"] = {"resourceType": "User", "created": _iso(user.created_at),
                        "lastModified": _iso(changed), "version": f'W/"{digest[:32]}"'}
        resource: Resource[Any] = MODEL.model_validate(data)
        return resource

    def _user(self, user_id: str | None) -> Account:
        user = self._accounts.get(user_id) if user_id else None
        if user is None:
            raise NotFoundException(detail="No such user.")
        return user

    @staticmethod
    def _check_version(current: Resource[Any], expected: str | None) -> None:
        assert current.meta is not None
        if expected is not None and current.meta.version != expected:
            raise PreconditionFailedException(detail="The user changed since you read it.")

    def _claim_user_name(self, user_name: str, user_id: str) -> None:
        """Take ``userName`` for ``user_id``, or raise :class:`UniquenessException`."""
        if not user_name.strip():
            raise InvalidValueException(detail="userName must not be empty.")
        folded = _fold(user_name)
        holder = self._store.get(_USERNAME + folded)
        if holder is not None and holder.decode() == user_id:
            return
        # A user without a profile answers to their email as userName.
        other = self._accounts.find_by_email(user_name)
        if other is not None and other.id != user_id and not self._profile(other.id):
            raise UniquenessException(detail="userName is taken.")
        if not self._store.add(_USERNAME + folded, user_id.encode()):
            raise UniquenessException(detail="userName is taken.")

    def _release_user_name(self, user_name: str | None, user_id: str) -> None:
        if user_name:
            self._store.cas(_USERNAME + _fold(user_name), user_id.encode(), None)

    def _write_profile(self, user_id: str, data: dict[str, Any], *,
                       active_unassigned: bool = False) -> None:
        attributes = {k: v for k, v in data.items() if k not in _NOT_PROFILE}
        record = {"userName": data["userName"], "attributes": attributes,
                  "updated_at": time.time(), "active_unassigned": active_unassigned}
        self._store.set(_PROFILE + user_id, dump_record(record))

    # -- ScimStorage -------------------------------------------------------------------

    def get(self, resource_type: ResourceType, resource_id: str, *,
            response_parameters: ResponseParameters[Any] | None = None) -> Resource[Any]:
        return self._resource(self._user(resource_id))

    def search(self, resource_types: list[ResourceType], search_request: SearchRequest[Any],
               *, position: Any = None) -> SearchPage:
        """A full scan of the users, filtered by scim2-models (fine for an operator's
        directory of thousands; not for millions)."""
        scim_filter = search_request.filter
        if scim_filter is not None and not scim_filter.models:
            scim_filter = parametrize(ScimFilter, MODEL)(str(scim_filter))
        found = [resource for resource in self._all()
                 if scim_filter is None or scim_filter.match(resource)]
        descending = (search_request.sort_by is not None
                      and search_request.sort_order == SearchRequest.SortOrder.descending)

        def key(resource: Resource[Any]) -> tuple[bool, Any, str]:
            value = search_request.sort_value(resource)
            return value is None, value if value is not None else "", cast(str, resource.id)

        found.sort(key=key, reverse=descending)
        start = search_request.start_index_0 or 0
        stop = None if search_request.count is None else start + search_request.count
        return SearchPage(len(found), found[start:stop])

    def _all(self) -> Iterator[Resource[Any]]:
        for user in self._accounts.all():
            yield self._resource(user)

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        data = resource.model_dump()
        password = data.get("password")
        email = _account_email(data)
        locale = (_nidan_locale(data.get("locale")) or _nidan_locale(
            data.get("preferredLanguage")) or "ja")
        user_name = str(data.get("userName") or "")
        # The account first (its email index refuses a duplicate), then the userName.
        try:
            user = self._accounts.create(email, display_name=str(data.get("displayName") or ""),
                                         locale=locale, password=password, actor=self.actor)
        except EmailTaken:
            raise UniquenessException(detail="A user with this email exists.") from None
        except (PasswordPolicyError, AccountError) as exc:
            raise InvalidValueException(detail=str(exc)) from None
        try:
            self._claim_user_name(user_name, user.id)
        except BaseException:
            self._accounts.delete(user.id, actor=self.actor)
            raise
        self._write_profile(user.id, data)
        self._set_external_id(user.id, data.get("externalId"))
        if data.get("active") is False:
            user = self._accounts.set_status(user.id, "disabled", actor=self.actor)
        return self._resource(user)

    @contextmanager
    def _writing(self, user_id: str | None) -> Iterator[None]:
        """One SCIM writer of a user at a time, across workers and replicas (a lock in the
        store that expires if its holder dies), so the ``If-Match`` check and the writes of
        the account and the profile are one step for writers of SCIM."""
        key, mine = f"{_LOCK}{user_id}", secrets.token_bytes(16)
        deadline = time.monotonic() + _LOCK_WAIT_S
        while not self._store.add(key, mine, ttl=_LOCK_TTL_S):
            if time.monotonic() > deadline:
                raise _Busy()
            time.sleep(0.01)
        try:
            yield
        finally:
            self._store.cas(key, mine, None)

    def update(self, resource_type: ResourceType, resource: Resource[Any], *,
               expected_version: str | None = None) -> Resource[Any]:
        with self._writing(resource.id):
            return self._update(resource, expected_version)

    def _update(self, resource: Resource[Any], expected_version: str | None) -> Resource[Any]:
        user = self._user(resource.id)
        self._check_version(self._resource(user), expected_version)
        data = resource.model_dump()
        profile = self._profile(user.id)
        old_name = profile.get("userName")
        new_name = str(data.get("userName") or "")
        email = _account_email(data)
        changes: dict[str, Any] = {}
        display_name = str(data.get("displayName") or "").strip()
        if display_name != user.display_name:
            changes["display_name"] = display_name
        locale = _nidan_locale(data.get("locale")) or _nidan_locale(data.get("preferredLanguage"))
        if locale is not None and locale != user.locale:
            changes["locale"] = locale
        if data.get("password"):  # refused before anything changes
            try:
                self._accounts.passwords.check_policy(data["password"], email=email)
            except PasswordPolicyError as exc:
                raise InvalidValueException(detail=str(exc)) from None
        renamed = not old_name or _fold(old_name) != _fold(new_name)
        self._claim_user_name(new_name, user.id)
        try:
            if normalise_email(email) != normalise_email(user.email):
                self._accounts.change_email(user.id, email, actor=self.actor)
        except EmailTaken:
            if renamed:
                self._release_user_name(new_name, user.id)
            raise UniquenessException(detail="A user with this email exists.") from None
        try:
            if changes:
                self._accounts.update(user.id, actor=self.actor, **changes)
            if data.get("password"):
                self._accounts.set_password(user.id, data["password"], actor=self.actor)
        except (PasswordPolicyError, AccountError) as exc:
            raise InvalidValueException(detail=str(exc)) from None
        if old_name and _fold(old_name) != _fold(new_name):
            self._release_user_name(old_name, user.id)
        active = data.get("active")
        withdrawn = active is None and self.patching
        unassigned = withdrawn or (active is None and bool(profile.get("active_unassigned")))
        self._write_profile(user.id, data, active_unassigned=unassigned)
        self._set_external_id(user.id, data.get("externalId"))
        if (active is False or withdrawn) and user.active:
            self._accounts.set_status(user.id, "disabled", actor=self.actor)
            end_access(self._services, user.id, actor=self.actor, reason="scim-deactivated")
        elif active is True and not user.active:
            self._accounts.set_status(user.id, "active", actor=self.actor)
        return self._resource(self._user(user.id))

    def delete(self, resource_type: ResourceType, resource_id: str, *,
               expected_version: str | None = None) -> None:
        with self._writing(resource_id):
            self._delete(resource_id, expected_version)

    def _delete(self, resource_id: str, expected_version: str | None) -> None:
        user = self._user(resource_id)
        self._check_version(self._resource(user), expected_version)
        self._accounts.set_status(user.id, "disabled", actor=self.actor)
        profile = self._profile(user.id)
        self._release_user_name(profile.get("userName"), user.id)
        for key in list(self._store.scan(f"{_EXTERNAL}{user.id}:")):
            self._store.delete(key)
        self._store.delete(_PROFILE + user.id)
        delete_person(self._services, user, actor=self.actor)
