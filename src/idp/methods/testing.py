"""The contract kit: one line runs the method-plugin contract against your plugin.

::

    from idp.methods.testing import MethodContract
    from my_plugin import MyMethod

    class TestMyMethod(MethodContract):
        method_class = MyMethod
        enrollment_form = {"phone": "090-1234-5678"}   # what begin_enrollment needs

pytest then runs every ``test_*`` below against a *real* core: a SQLite store in a temporary
directory, the ``outbox`` delivery transport, the real limits, encryption and audit, and a
clock the kit can move. Methods whose code the person reads from a device (``delivers_code
= False``) override :meth:`MethodContract.code_for`; delivered codes are read from the
core's one-time-code service.

Checked: the plugin's info and entry point, config validation (defaults, unknown keys,
``invalid_configs``), the enrollment round trip, challenge and verify, wrong codes and the
core's try limit, replay refusal under concurrency, serialisability of everything the core
stores, import (``import_data``), and that no code, secret or phone number appears in
``describe()``, audit events, log records, exception messages or reprs.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar

import pytest

from idp.crypto import generate_data_key
from idp.delivery.outbox import read_outbox
from idp.delivery.registry import load_transports
from idp.methods.base import Credential, Interaction, Method, MethodUser
from idp.methods.codes import IssuedCode
from idp.methods.errors import (
    CeremonyCancelled,
    CodeExpired,
    EnrollmentInvalid,
    MethodError,
    TooManyTries,
    WrongCode,
)
from idp.methods.phone import parse_phone
from idp.methods.registry import ENTRY_POINT_GROUP, validate_config
from idp.methods.service import MethodService, Role
from idp.observability import Audit, AuditEvent
from idp.settings import ConfigModel, Settings
from idp.store.sqlite import SqliteStore

__all__ = ["ContractHarness", "MethodContract", "install_distribution"]


def install_distribution(site: Path, pyproject: Path) -> Path:
    """Write, under ``site``, the ``*.dist-info`` an installer would write for the
    distribution described by ``pyproject`` (METADATA and entry_points.txt), so that
    ``importlib.metadata.entry_points`` finds its entry points once ``site`` is on
    ``sys.path``: an install without touching the environment. Returns the directory.
    Use it with ``monkeypatch.syspath_prepend(str(site))`` in a fixture."""
    import tomllib

    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    lines = []
    for group, entries in project.get("entry-points", {}).items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {value}" for name, value in entries.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return info


class ContractHarness:
    """A real core around one method, for one test. ``events`` are the audit events,
    ``issued`` every code the core issued (newest last)."""

    def __init__(
        self, tmp_path: Path, method_class: type[Method[Any]], config: Mapping[str, Any]
    ) -> None:
        method_id = method_class.info.id
        self.method_id = method_id
        self.outbox_path = tmp_path / "outbox.jsonl"
        self.offset = 0.0
        self.settings = Settings(
            store={"url": f"sqlite:///{tmp_path}/kit.sqlite3"},
            secrets={
                "data_keys": [generate_data_key("kit")],
                "cookie_keys": [secrets.token_urlsafe(32)],
            },
            delivery={
                "sms": ["outbox"],
                "voice": ["outbox"],
                # The kit reads the codes from the outbox: a test, never a deployment.
                "allow_outbox": True,
                "transports": {"outbox": {"path": str(self.outbox_path)}},
            },
            methods={method_id: dict(config)},
            # One method alone must be able to fill a role; pairs are the policy's tests.
            enrollment={"primary": [method_id], "backup": [method_id], "require_phone": False},
        )
        self.store = SqliteStore.open(tmp_path / "kit.sqlite3")
        self.audit = Audit()
        self.events: list[AuditEvent] = []
        self.audit.listeners.append(self.events.append)
        self.issued: list[IssuedCode] = []
        self.delivery = load_transports(self.settings.delivery)
        try:
            self.service = MethodService.from_settings(
                self.settings,
                self.store,
                audit=self.audit,
                delivery=self.delivery,
                clock=self.now,
                classes={method_id: method_class},
                code_observer=lambda scope, code: self.issued.append(code),
            )
        except BaseException:
            self.close()
            raise
        self.method = self.service.methods[method_id]
        self.user = MethodUser(id="kit-user", email="kit@example.com", display_name="Kit",
                               locale="en")

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the clock the methods see (not the Store's TTLs)."""
        self.offset += seconds

    def last_code(self) -> str:
        if not self.issued:
            raise AssertionError("the method sent no code through ctx.issue_code")
        return self.issued[-1].value

    def outbox(self) -> list[dict[str, Any]]:
        return read_outbox(self.outbox_path)

    def credential(self, role: Role = "primary") -> Credential:
        """The stored credential, decrypted (as the core hands it to the plugin)."""
        credentials = self.service._core.credentials
        return credentials.open_credential(self.user.id, credentials.load(self.user.id)[role])

    def close(self) -> None:
        self.delivery.close()
        self.store.close()


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, bytes):
        if value:
            yield value.hex()
    elif value is not None:
        yield str(value)


class MethodContract:
    """Subclass with ``method_class`` set; override the inputs below as your method needs."""

    method_class: ClassVar[type[Method[Any]]]
    # [methods.<id>] for the tests; must be valid.
    config: ClassVar[Mapping[str, Any]] = {}
    # Configs that MUST be refused, each with a line naming the key.
    invalid_configs: ClassVar[Sequence[Mapping[str, Any]]] = ()
    # The form begin_enrollment needs, and forms it MUST refuse with EnrollmentInvalid.
    enrollment_form: ClassVar[Mapping[str, str]] = {}
    invalid_enrollment_forms: ClassVar[Sequence[Mapping[str, str]]] = ()
    # A valid import row (None: the method does not import) and rows it MUST refuse.
    import_data: ClassVar[Mapping[str, str] | None] = None
    invalid_import_data: ClassVar[Sequence[Mapping[str, str]]] = ()

    def code_for(self, harness: ContractHarness, credential: Credential) -> str:
        """The right code now for ``credential`` (decrypted). Default: the newest code the
        core issued. A method whose code is read from a device MUST override this and
        compute it from ``credential.secret`` at ``harness.now()``."""
        return harness.last_code()

    def wrong_code(self, right: str) -> str:
        """A code that is certainly wrong: the right one with its last digit changed."""
        return right[:-1] + str((int(right[-1]) + 1) % 10) if right[-1:].isdigit() else "0"

    def answer(
        self, harness: ContractHarness, credential: Credential,
        ceremony: Mapping[str, Any] | None,
    ) -> dict[str, str]:
        """The form a person submits for the challenge now out. A CODE method: ``{"code":
        code_for(...)}``. A CEREMONY method MUST override this (the WebAuthn kit's
        ``WebAuthnContract`` does) and answer ``ceremony`` (the options the page got)."""
        return {"code": self.code_for(harness, credential)}

    def wrong_answer(
        self, harness: ContractHarness, credential: Credential,
        ceremony: Mapping[str, Any] | None,
    ) -> dict[str, str]:
        """A form that is certainly wrong. Default: a wrong code."""
        return {"code": self.wrong_code(self.code_for(harness, credential))}

    @staticmethod
    def is_ceremony(h: ContractHarness) -> bool:
        return h.method.info.interaction is Interaction.CEREMONY

    @pytest.fixture
    def harness(self, tmp_path: Path) -> Iterator[ContractHarness]:
        built = ContractHarness(tmp_path, self.method_class, self.config)
        try:
            yield built
        finally:
            built.close()

    # -- helpers ---------------------------------------------------------------------------

    def enroll(self, h: ContractHarness, role: Role = "primary") -> Credential:
        pending = h.service.begin_enrollment(h.user, role, h.method_id, self.enrollment_form)
        credential = self._pending_credential(h, role, pending.credential_id)
        h.service.complete_enrollment(h.user, role, self.answer(h, credential, pending.ceremony))
        # A new step for methods that read codes off a clock: the enrollment code is used.
        h.advance(120)
        return h.credential(role)

    @staticmethod
    def _pending_credential(h: ContractHarness, role: Role, credential_id: str) -> Credential:
        enrollments = h.service._enroll
        _, credential, _ = enrollments._load_pending(h.user, role)
        assert credential.id == credential_id
        return credential

    def _failures(self, h: ContractHarness, event: str, code: str) -> list[AuditEvent]:
        return [e for e in h.events if e["event"] == event and e.get("error_code") == code]

    # -- the contract ----------------------------------------------------------------------

    def test_info_is_complete(self) -> None:
        info = self.method_class.info
        assert re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", info.id)
        assert info.amr
        assert all(re.fullmatch(r"[a-z]+", a) for a in info.amr)
        assert issubclass(self.method_class.config_class, ConfigModel)

    def test_entry_point_name_is_the_id(self) -> None:
        target = f"{self.method_class.__module__}:{self.method_class.__qualname__}"
        names = [ep.name for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.value == target]
        if not names:
            pytest.skip(f"{target} is not installed under the {ENTRY_POINT_GROUP!r} group")
        assert names == [self.method_class.info.id]

    def test_config_is_validated(self) -> None:
        method_id = self.method_class.info.id
        valid = validate_config(method_id, self.method_class, self.config)
        assert isinstance(valid, ConfigModel), valid
        unknown = validate_config(method_id, self.method_class,
                                  {**self.config, "no_such_setting_x": 1})
        assert unknown == [f"methods.{method_id}.no_such_setting_x: unknown setting"]
        for bad in self.invalid_configs:
            lines = validate_config(method_id, self.method_class, bad)
            assert isinstance(lines, list), f"{bad!r} was accepted"
            assert all(line.startswith(f"methods.{method_id}.") for line in lines), lines

    def test_enrollment_round_trip(self, harness: ContractHarness) -> None:
        credential = self.enroll(harness)
        views = harness.service.credentials(harness.user)
        assert views["primary"].method == harness.method_id
        for locale in ("en", "ja"):
            text = harness.method.describe(credential.public_only(), locale)
            assert isinstance(text, str)
            assert text.strip()
        assert any(e["event"] == "method.enroll.completed" for e in harness.events)

    def test_invalid_enrollment_forms_are_refused(self, harness: ContractHarness) -> None:
        for form in self.invalid_enrollment_forms:
            with pytest.raises(EnrollmentInvalid):
                harness.service.begin_enrollment(harness.user, "primary", harness.method_id, form)
        failed = [e for e in harness.events if e["event"] == "method.enroll.failed"]
        assert len(failed) == len(self.invalid_enrollment_forms)

    def test_enrollment_needs_the_right_code(self, harness: ContractHarness) -> None:
        h = harness
        pending = h.service.begin_enrollment(h.user, "primary", h.method_id, self.enrollment_form)
        credential = self._pending_credential(h, "primary", pending.credential_id)
        wrong = self.wrong_answer(h, credential, pending.ceremony)
        with pytest.raises(WrongCode) as refused:
            h.service.complete_enrollment(h.user, "primary", wrong)
        assert h.service.credentials(h.user) == {}
        assert self._failures(h, "method.enroll.verify.failed", refused.value.code)
        if self.is_ceremony(h):
            # The refused answer took its challenge: the page starts a new ceremony.
            fresh = h.service.pending_enrollment(h.user, "primary")
            assert fresh is not None
            right = self.answer(h, credential, fresh.ceremony)
        else:
            right = self.answer(h, credential, None)
        result = h.service.complete_enrollment(h.user, "primary", right)
        assert result.credential.role == "primary"

    def test_challenge_and_verify(self, harness: ContractHarness) -> None:
        h = harness
        credential = self.enroll(h)
        sent = h.service.send_challenge(h.user, "primary")
        if h.method.info.delivers_code:
            assert sent.sent_to
            assert sent.resend_at is not None
        form = self.answer(h, credential, sent.ceremony)
        result = h.service.verify(h.user, "primary", form)
        if self.is_ceremony(h):
            # amr from the evidence: within what the method declared, never a code's.
            assert set(result.amr) <= set(h.method.info.amr)
            assert not set(result.amr) & {"otp", "sms", "tel"}
        else:
            assert result.amr == h.method.info.amr
        with pytest.raises(MethodError) as replay:
            h.service.verify(h.user, "primary", form)
        assert replay.value.code in ("wrong_code", "code_expired")

    def test_wrong_codes_use_up_the_tries(self, harness: ContractHarness) -> None:
        h = harness
        credential = self.enroll(h)
        sent = h.service.send_challenge(h.user, "primary")
        tries = h.settings.limits.code_tries
        code = None
        for expected_left in range(tries - 1, -1, -1):
            if self.is_ceremony(h) and expected_left < tries - 1:
                sent = h.service.send_challenge(h.user, "primary")  # each try its own
            with pytest.raises(WrongCode) as wrong:
                h.service.verify(h.user, "primary", self.wrong_answer(h, credential,
                                                                      sent.ceremony))
            code = wrong.value.code
            assert wrong.value.tries_left == expected_left
        if self.is_ceremony(h):
            # A ceremony is not even started once the tries are used up.
            with pytest.raises(TooManyTries):
                h.service.send_challenge(h.user, "primary")
            assert self._failures(h, "method.challenge.failed", "too_many_tries")
        else:
            right = self.answer(h, credential, sent.ceremony)
            with pytest.raises(TooManyTries):
                h.service.verify(h.user, "primary", right)
            assert self._failures(h, "method.verify.failed", "too_many_tries")
        assert len(self._failures(h, "method.verify.failed", str(code))) == tries

    def test_one_code_is_accepted_once_under_concurrency(self, harness: ContractHarness) -> None:
        h = harness
        credential = self.enroll(h)
        sent = h.service.send_challenge(h.user, "primary")
        form = self.answer(h, credential, sent.ceremony)
        barrier = threading.Barrier(8)

        def attempt(_: int) -> bool:
            barrier.wait()
            try:
                h.service.verify(h.user, "primary", form)
            except MethodError:
                return False
            return True

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(attempt, range(8)))
        assert outcomes.count(True) == 1

    def test_state_is_serialisable(self, harness: ContractHarness) -> None:
        h = harness
        enrollment = h.method.begin_enrollment(h.user, self.enrollment_form)
        for part in (enrollment.credential.public, enrollment.display):
            assert json.loads(json.dumps(dict(part))) == dict(part)
        secret = enrollment.credential.secret
        if not isinstance(secret, bytes):
            assert json.loads(json.dumps(dict(secret))) == dict(secret)
        credential = self.enroll(h)
        if self.is_ceremony(h):
            challenges = [h.method.begin_ceremony(h.user, credential, purpose)
                          for purpose in ("sign-in", "enrollment", "add-key")]
        else:
            challenges = [h.method.send_challenge(h.user, credential)]
        for challenge in challenges:
            assert json.loads(json.dumps(dict(challenge.data))) == dict(challenge.data)

    def test_import(self, harness: ContractHarness) -> None:
        h = harness
        if self.import_data is None:
            with pytest.raises(EnrollmentInvalid):
                h.service.validate_import(h.method_id, "primary", {})
            return
        h.service.validate_import(h.method_id, "primary", self.import_data)
        assert h.service.credentials(h.user) == {}  # validation writes nothing
        view = h.service.import_credential(h.user, h.method_id, "primary", self.import_data)
        assert view.source == "imported"
        credential = h.credential("primary")
        sent = h.service.send_challenge(h.user, "primary")
        h.service.verify(h.user, "primary", self.answer(h, credential, sent.ceremony))
        for row in self.invalid_import_data:
            with pytest.raises(EnrollmentInvalid) as refused:
                h.service.validate_import(h.method_id, "backup", row)
            for value in row.values():
                if len(value) >= 6:
                    assert value not in str(refused.value)

    def test_nothing_secret_leaks(
        self, harness: ContractHarness, caplog: pytest.LogCaptureFixture
    ) -> None:
        h = harness
        caplog.set_level(logging.DEBUG)
        seen: list[str] = []
        credential = self.enroll(h)
        sent = h.service.send_challenge(h.user, "primary")
        try:
            h.service.verify(h.user, "primary", self.wrong_answer(h, credential, sent.ceremony))
        except MethodError as exc:
            seen += [str(exc), repr(exc), exc.message("en"), exc.message("ja")]
        if self.is_ceremony(h):
            sent = h.service.send_challenge(h.user, "primary")
        form = self.answer(h, credential, sent.ceremony)
        right = next(iter(form.values()))
        h.service.verify(h.user, "primary", form)
        try:  # a phone method meets E4 here (same number twice): that text counts too
            pending = h.service.begin_enrollment(
                h.user, "backup", h.method_id, self.enrollment_form
            )
            seen.append(repr(pending))
        except MethodError as exc:
            seen += [str(exc), repr(exc)]
        seen += [repr(credential), repr(h.service.credentials(h.user))]
        seen += [h.method.describe(credential.public_only(), loc) for loc in ("en", "ja")]
        seen += [json.dumps(e, ensure_ascii=False, default=str) for e in h.events]
        seen += [record.getMessage() for record in caplog.records]
        secrets_ = {code.value for code in h.issued}
        if not self.is_ceremony(h):
            secrets_.add(right)  # a ceremony's answer is signed, public data
        secrets_ |= {leaf for leaf in _leaves(credential.secret) if len(leaf) >= 6}
        if credential.phone:
            phone = parse_phone(credential.phone, "ZZ")
            national = credential.phone.removeprefix(f"+{phone.country_code}")
            secrets_ |= {credential.phone, national}
        text = "\n".join(seen)
        for secret in secrets_:
            pattern = rf"(?<![0-9]){re.escape(secret)}(?![0-9])"
            assert not re.search(pattern, text), "a code, secret or phone number leaked"

    # -- ceremonies: what the core guarantees every CEREMONY method ---------------------------

    def _ceremony_only(self, h: ContractHarness) -> None:
        if not self.is_ceremony(h):
            pytest.skip(f"{h.method_id} is a CODE method: no browser ceremony to check")

    def test_a_ceremony_answers_once_even_when_refused(self, harness: ContractHarness) -> None:
        h = harness
        self._ceremony_only(h)
        credential = self.enroll(h)
        sent = h.service.send_challenge(h.user, "primary", transaction="tx-1")
        with pytest.raises(WrongCode):
            h.service.verify(h.user, "primary", self.wrong_answer(h, credential, sent.ceremony),
                             transaction="tx-1")
        # The refused answer took the challenge: the right answer to it is now too late.
        with pytest.raises(CodeExpired):
            h.service.verify(h.user, "primary", self.answer(h, credential, sent.ceremony),
                             transaction="tx-1")

    def test_a_ceremony_is_bound_to_its_transaction(self, harness: ContractHarness) -> None:
        h = harness
        self._ceremony_only(h)
        credential = self.enroll(h)
        sent = h.service.send_challenge(h.user, "primary", transaction="tx-1")
        form = self.answer(h, credential, sent.ceremony)
        with pytest.raises(CodeExpired):
            h.service.verify(h.user, "primary", form, transaction="tx-2")
        h.service.verify(h.user, "primary", form, transaction="tx-1")

    def test_a_cancelled_ceremony_is_not_a_try(self, harness: ContractHarness) -> None:
        h = harness
        self._ceremony_only(h)
        self.enroll(h)
        for _ in range(h.settings.limits.code_tries + 1):
            h.service.send_challenge(h.user, "primary")
            with pytest.raises(CeremonyCancelled):
                h.service.verify(h.user, "primary", {h.method.info.answer_field: ""})
        assert not self._failures(h, "method.verify.failed", "too_many_tries")
        assert not [e for e in h.events if e["event"] == "method.verify.failed"]
