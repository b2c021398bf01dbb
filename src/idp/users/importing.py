"""``idp users import``: bring existing users over with their hashes and second factors (A2).

The file is JSON lines, one user a line::

    {"email": "a@example.com", "name": "A", "locale": "ja", "password_hash": "$2b$12$...",
     "email_verified": true,
     "methods": [{"type": "totp", "secret": "JBSWY3DPEHPK3PXP", "role": "primary"},
                 {"type": "sms", "phone": "+819012345678", "role": "backup"}]}

All or nothing per file: every line is validated first, and every bad line is reported with its
number; nothing is written unless all are good. Idempotent by email: a user whose email exists
already is left exactly as it is, so importing the same file twice changes nothing. If writing
fails half-way (the store goes away), the users created by this run are removed again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from idp.observability import Audit
from idp.users import AccountError, Accounts, InvalidEmail, User, normalise_email
from idp.users.passwords import PasswordPolicyError, UnsupportedHash

__all__ = ["ImportError_", "ImportLine", "ImportReport", "MethodImporter", "import_users"]

MAX_LINE_BYTES = 64 * 1024


class ImportError_(Exception):
    """The file was refused; ``problems`` lists every bad line as ``line N: what``."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


class ImportMethod(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    type: str = Field(min_length=1)
    role: Literal["primary", "backup"]

    def data(self) -> dict[str, str]:
        extra = self.model_extra or {}
        return {key: str(value) for key, value in extra.items()}


class ImportLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: str
    name: str = ""
    locale: Literal["ja", "en"] = "ja"
    password: str | None = Field(default=None, repr=False)
    password_hash: str | None = Field(default=None, repr=False)
    methods: list[ImportMethod] = Field(default_factory=list)
    # The old system proved the person reads mail at this address: email_verified is true.
    email_verified: bool = False

    @model_validator(mode="after")
    def _one_password(self) -> ImportLine:
        if self.password is not None and self.password_hash is not None:
            raise ValueError("give either password or password_hash, not both")
        roles = [method.role for method in self.methods]
        if len(roles) != len(set(roles)):
            raise ValueError("each role (primary, backup) may appear only once")
        return self


class MethodImporter(Protocol):
    """What the import needs from the method layer (``idp.methods.service``)."""

    def validate_import(self, methods: Sequence[tuple[str, str, dict[str, str]]]) -> None:
        """Raise ``ValueError`` (any subclass) naming the problem if the set of
        ``(method_id, role, data)`` cannot be imported as it is."""

    def import_credentials(
        self, user: User, methods: Sequence[tuple[str, str, dict[str, str]]]
    ) -> None:
        """Store the user's credentials, already validated."""

    def remove_all(self, user: User) -> None:
        """Remove every credential of the user (to undo a failed import)."""


@dataclass
class ImportReport:
    created: int = 0
    unchanged: int = 0
    emails_created: list[str] = field(default_factory=list)


def _methods_of(line: ImportLine) -> list[tuple[str, str, dict[str, str]]]:
    return [(m.type, m.role, m.data()) for m in line.methods]


def _short(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _parse(lines: Iterable[str]) -> tuple[list[tuple[int, ImportLine]], list[str]]:
    parsed: list[tuple[int, ImportLine]] = []
    problems: list[str] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        if len(text) > MAX_LINE_BYTES:
            problems.append(f"line {number}: longer than {MAX_LINE_BYTES} bytes")
            continue
        try:
            raw: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(raw, dict):
            problems.append(f"line {number}: expected a JSON object")
            continue
        try:
            parsed.append((number, ImportLine.model_validate(raw)))
        except ValidationError as exc:
            problems.append(f"line {number}: {_short(exc)}")
    return parsed, problems


def import_users(
    path: Path,
    accounts: Accounts,
    methods: MethodImporter | None,
    audit: Audit,
    *,
    actor: str = "cli",
    hash_workers: int = 4,
) -> ImportReport:
    """Validate the whole file, then create the users it names that do not exist yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportError_([f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}"]) \
            from None
    parsed, problems = _parse(text.splitlines())

    seen: dict[str, int] = {}
    todo: list[tuple[int, ImportLine]] = []
    report = ImportReport()
    for number, line in parsed:
        try:
            norm = normalise_email(line.email)
        except InvalidEmail as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if norm in seen:
            problems.append(f"line {number}: email also on line {seen[norm]}")
            continue
        seen[norm] = number
        try:
            if line.password is not None:
                accounts.passwords.check_policy(line.password, email=line.email)
            if line.password_hash is not None:
                accounts.passwords.check_importable(line.password_hash)
            if line.methods:
                if methods is None:
                    raise ValueError("second-factor methods cannot be imported: none enabled")
                methods.validate_import(_methods_of(line))
        except (PasswordPolicyError, UnsupportedHash, ValueError, AccountError) as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if accounts.find_by_email(line.email) is not None:
            report.unchanged += 1
            continue
        todo.append((number, line))

    if problems:
        audit.emit("users.import_refused", actor=actor, file=path.name, problems=len(problems))
        raise ImportError_(problems)

    # Hash plain passwords in parallel: argon2 releases the GIL, and hashing dominates.
    with ThreadPoolExecutor(max_workers=hash_workers) as pool:
        hashes = list(pool.map(
            lambda item: accounts.passwords.hash(item[1].password)
            if item[1].password is not None else item[1].password_hash,
            todo,
        ))

    created: list[User] = []
    try:
        for (_, line), password_hash in zip(todo, hashes, strict=True):
            user = accounts.create(
                line.email, display_name=line.name, locale=line.locale,
                password_hash=password_hash, actor=actor,
            )
            if line.email_verified:
                user = accounts.update(user.id, actor=actor,
                                       verified_email=normalise_email(user.email))
            created.append(user)
            if line.methods and methods is not None:
                methods.import_credentials(user, _methods_of(line))
    except BaseException:
        for user in created:
            if methods is not None:
                methods.remove_all(user)
            accounts.delete(user.id, actor="import-rollback")
        raise
    report.created = len(created)
    report.emails_created = [user.email for user in created]
    audit.emit("users.imported", actor=actor, file=path.name, created=report.created,
               unchanged=report.unchanged)
    return report
