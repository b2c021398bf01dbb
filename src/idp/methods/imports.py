"""Importing credentials from another system (BEHAVIOUR A2: ``idp users import``).

A row names a method, a role and the method's own columns (TOTP: ``secret``, optional
``algorithm``, ``digits``, ``period``; SMS and voice: ``phone``). Each row is validated by
the plugin as strictly as an enrollment, and a person's rows against each other by the
enrollment policy (E3, E4) — all without writing anything, so a whole file can be checked
before the first user is created. Storing a person's rows is then one compare-and-set: they
are all imported, or none is.

Imported credentials skip the proof by code (the person proved them to the old system);
they are marked ``source="imported"``. No recovery codes are made: nobody could be shown
them; the person generates a set from the security settings page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from idp.methods.base import Channel, Credential, MethodUser
from idp.methods.core import CredentialView, MethodChange, MethodCore
from idp.methods.credentials import Credentials, Role
from idp.methods.enrollment import check_role, other_role, prepare_credential
from idp.methods.errors import EnrollmentInvalid, MethodError
from idp.methods.policy import Choice

__all__ = ["ImportRow", "Imports", "PreparedImport"]

# Stands in for the person while an import file is validated before anyone exists.
_IMPORT_USER = MethodUser(id="(import)", email="", locale="en")

# (method id, role, the method's columns), as the import file gives them.
ImportRow = tuple[str, str, Mapping[str, str]]


@dataclass(frozen=True)
class PreparedImport:
    """A validated import row, not yet stored. ``repr`` hides the credential."""

    method: str
    role: Role
    credential: Credential = field(repr=False)
    channel: Channel

    def choice(self) -> Choice:
        # Rows of one file are compared by E.164: no Store is needed to validate a file.
        return Choice(self.method, self.channel, self.credential.phone)


def _located(exc: MethodError, method_id: str, role: str) -> MethodError:
    """The same error, its ``detail`` prefixed with the row it is about (for operators)."""
    where = f"{role} method {method_id!r}"
    params = dict(exc.params)
    return type(exc)(detail=f"{where}: {exc.detail or exc.code}", **params)


class Imports:
    """Validation and storage of imported credentials; ``MethodService`` exposes them."""

    def __init__(self, core: MethodCore) -> None:
        self.core = core

    def prepare(
        self, method_id: str, role: str, data: Mapping[str, str], user: MethodUser | None = None
    ) -> PreparedImport:
        core = self.core
        checked = check_role(role)
        method = core.method(method_id)
        core.policy.check_role(checked, method_id)
        credential = method.import_credential(user or _IMPORT_USER, data)
        credential = prepare_credential(method, credential)
        return PreparedImport(method_id, checked, credential, method.info.channel)

    def check_pair(self, primary: PreparedImport | None, backup: PreparedImport | None) -> None:
        if primary is not None and backup is not None:
            self.core.policy.check_pair(primary.choice(), backup.choice())

    def prepare_set(
        self, rows: Sequence[ImportRow], user: MethodUser | None = None
    ) -> dict[Role, PreparedImport]:
        """Validate one person's rows: each row, one row per role, the pair. Raises the
        first problem as a :class:`MethodError` whose ``detail`` names the row."""
        prepared: dict[Role, PreparedImport] = {}
        for method_id, role, data in rows:
            try:
                row = self.prepare(method_id, role, data, user)
            except MethodError as exc:
                raise _located(exc, method_id, role) from None
            if row.role in prepared:
                raise EnrollmentInvalid(detail=f"two {role} methods", field="role")
            prepared[row.role] = row
        try:
            self.check_pair(prepared.get("primary"), prepared.get("backup"))
        except MethodError as exc:
            raise _located(exc, prepared["backup"].method, "backup") from None
        return prepared

    def store(self, user: MethodUser, rows: Sequence[ImportRow]) -> list[CredentialView]:
        """Validate and store one person's rows atomically; each role must be empty, and the
        policy holds against any method the person already has. Audited per row."""
        core = self.core
        try:
            prepared = self.prepare_set(rows, user)
            new = {
                role: core.credentials.to_stored(user.id, role, row.credential,
                                                 source="imported")
                for role, row in prepared.items()
            }

            def change(current: Credentials) -> tuple[Credentials, None]:
                for role, stored in new.items():
                    if role in current:
                        raise EnrollmentInvalid(
                            detail=f"the user already has a {role} method", field="role"
                        )
                    other = new.get(other_role(role)) or current.get(other_role(role))
                    candidate = core.choice(stored)
                    assert candidate is not None
                    core.policy.check(role, candidate, core.choice(other))
                return {**current, **new}, None

            core.credentials.update(user.id, change)
        except MethodError as exc:
            fields: dict[str, Any] = {"methods": [f"{r}:{m}" for m, r, _ in rows]}
            core.audit.emit("method.import.failed", user_id=user.id, error_code=exc.code,
                            **fields)
            raise
        for role, stored in new.items():
            core.audit.emit("method.imported", user_id=user.id, role=role,
                            method=stored.method, credential_id=stored.id)
            core.announce(MethodChange(user.id, "imported", role))
        return [core.view(user.id, stored, user.locale) for stored in new.values()]
