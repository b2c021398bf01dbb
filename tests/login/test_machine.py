"""The state machine on its own (no HTTP, no Starlette): every way to reach "done" without a
second factor is refused, and every journey that should end does."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp.login.core import Browser
from idp.login.machine import LoginMachine
from idp.login.model import (
    ACR_2SV,
    InvalidCredentials,
    LoginRequirements,
    Outcome,
    Step,
    TransactionExpired,
    WrongStep,
)
from idp.login.transactions import Transactions
from idp.methods import WrongCode
from idp.services import Services
from tests.login.helpers import MOBILE_E164, PASSWORD, Enrolled, Outbox, create_user, enroll
from tests.races import race

HERE = Browser(cookies={}, ip="192.0.2.10", user_agent="pytest", locale=lambda ui, user: "en")


@pytest.fixture
def machine(services: Services) -> LoginMachine:
    return LoginMachine(services)


@pytest.fixture
def outbox(services: Services) -> Outbox:
    return Outbox(Path(str(services.settings.delivery.transports["outbox"]["path"])))


@pytest.fixture
def someone(services: Services, outbox: Outbox) -> Enrolled:
    return enroll(services, outbox, create_user(services, "someone@example.com"))


def begin(machine: LoginMachine, resume: str = "/account", *, force_code: bool = False
          ) -> tuple[str, str]:
    started = machine.start(LoginRequirements(resume=resume, force_code=force_code), None)
    assert started.token is not None
    held = machine.transactions.load(started.token)
    assert held is not None
    return started.token, held.tx.id


def to_code_step(machine: LoginMachine, person: Enrolled) -> tuple[str, str]:
    token, tx_id = begin(machine)
    outcome = machine.submit_password(token, tx_id, person.email, PASSWORD, browser=HERE,
                                      session=None)
    assert outcome.step is Step.CODE
    return token, tx_id


def test_a_journey_ends_with_a_session_after_password_and_code(machine: LoginMachine,
                                                              someone: Enrolled) -> None:
    # covers S1
    token, tx_id = to_code_step(machine, someone)
    view = machine.code_view(token, HERE)
    assert (view.role, view.delivers_code) == ("primary", False)
    assert someone.app is not None
    outcome = machine.submit_code(token, tx_id, someone.app.code(), browser=HERE, session=None)
    assert outcome.completion is not None
    assert outcome.completion.acr == ACR_2SV
    assert outcome.completion.amr == ("pwd", "otp", "mfa")
    assert outcome.completion.session_cookie is not None
    # The transaction finished once: anything more with it is refused.
    with pytest.raises(TransactionExpired):
        machine.submit_code(token, tx_id, someone.app.code(), browser=HERE, session=None)


def test_the_password_is_the_first_step_and_cannot_be_skipped(machine: LoginMachine,
                                                             someone: Enrolled) -> None:
    # covers S1
    token, tx_id = begin(machine)
    assert someone.app is not None
    with pytest.raises(WrongStep) as wrong:
        machine.submit_code(token, tx_id, someone.app.code(), browser=HERE, session=None,
                            trust=True)
    assert wrong.value.step is Step.PASSWORD
    with pytest.raises(WrongStep):
        machine.finish_enrollment(token, tx_id, browser=HERE, session=None, trust=True)
    with pytest.raises(WrongStep):
        machine.submit_recovery(token, tx_id, someone.recovery_codes[0], browser=HERE)
    with pytest.raises(InvalidCredentials):
        machine.submit_password(token, tx_id, someone.email, "not the password", browser=HERE,
                                session=None)


def test_finish_refuses_a_transaction_without_a_second_factor(machine: LoginMachine,
                                                             someone: Enrolled) -> None:
    # covers S1, T1
    token, _ = to_code_step(machine, someone)
    held = machine.held(token, Step.CODE)
    with pytest.raises(TransactionExpired, match="no_second_factor"):
        machine.finish(held, someone.user, HERE, None, trust=True)
    # Refused for good: the transaction is gone and no browser was trusted.
    assert machine.transactions.load(token) is None
    assert machine.services.devices.count(someone.user) == 0


def test_finish_refuses_a_trusted_browser_when_a_fresh_code_is_demanded(
        machine: LoginMachine, someone: Enrolled) -> None:
    # covers T5
    token, tx_id = begin(machine, force_code=True)
    machine.submit_password(token, tx_id, someone.email, PASSWORD, browser=HERE, session=None)
    held = machine.held(token, Step.CODE)
    forged = machine.transactions.save(held, trusted=True)  # as if a step had set it
    assert forged is not None
    with pytest.raises(TransactionExpired, match="no_second_factor"):
        machine.finish(forged, someone.user, HERE, None)


def test_a_step_of_another_transaction_is_refused(machine: LoginMachine, services: Services,
                                                 outbox: Outbox, someone: Enrolled) -> None:
    other = enroll(services, outbox, create_user(services, "other@example.com"),
                   backup=("sms", "080-9999-0000"))
    mine, mine_id = to_code_step(machine, someone)
    theirs, theirs_id = to_code_step(machine, other)
    assert someone.app is not None
    assert other.app is not None
    with pytest.raises(WrongStep):
        machine.submit_code(mine, theirs_id, someone.app.code(), browser=HERE, session=None)
    assert machine.services.audit is not None
    # Their right code in my transaction is a wrong code for me.
    with pytest.raises(WrongCode):
        machine.submit_code(mine, mine_id, other.app.code(), browser=HERE, session=None)
    outcome = machine.submit_code(theirs, theirs_id, other.app.code(), browser=HERE, session=None)
    assert outcome.completion is not None
    assert outcome.completion.session.user_id == other.user.id


def test_two_requests_finishing_one_transaction_make_one_session(
        machine: LoginMachine, someone: Enrolled) -> None:
    token, _ = to_code_step(machine, someone)
    held = machine.held(token, Step.CODE)
    ready = machine.transactions.save(held, second_factor_at=1.0, verified_amr=("otp",),
                                      step=Step.DONE)
    assert ready is not None

    def finish(_: int) -> Outcome | Exception:
        assert ready is not None
        try:
            return machine.finish(ready, someone.user, HERE, None)
        except TransactionExpired as exc:
            return exc

    results = race(8, finish)
    assert sum(isinstance(r, Outcome) for r in results) == 1
    assert sum(isinstance(r, TransactionExpired) for r in results) == 7


def test_a_disabled_person_and_a_reset_mid_journey_end_it(machine: LoginMachine,
                                                          services: Services,
                                                          someone: Enrolled) -> None:
    token, tx_id = to_code_step(machine, someone)
    services.accounts.set_status(someone.user.id, "disabled")
    assert someone.app is not None
    with pytest.raises(TransactionExpired, match="user_disabled"):
        machine.submit_code(token, tx_id, someone.app.code(), browser=HERE, session=None)
    services.accounts.set_status(someone.user.id, "active")

    token, tx_id = to_code_step(machine, someone)
    services.methods.reset(someone.user.id, actor="test")  # bumps the epoch (C4)
    with pytest.raises(TransactionExpired, match="security_changed"):
        machine.submit_code(token, tx_id, someone.app.code(), browser=HERE, session=None)
    # covers E1, C3: the next journey sets the methods up again, once the operator's
    # enrollment code is entered (the password alone never sets up methods after a reset).
    token, tx_id = begin(machine)
    outcome = machine.submit_password(token, tx_id, someone.email, PASSWORD, browser=HERE,
                                      session=None)
    assert outcome.step is Step.REENROLL
    code = services.methods.issue_enrollment_code(someone.user.id, actor="test")
    outcome = machine.submit_recovery(token, tx_id, code, browser=HERE)
    assert outcome.step is Step.ENROLL


def test_step_up_skips_the_password_and_updates_the_session(machine: LoginMachine,
                                                           services: Services, outbox: Outbox,
                                                           someone: Enrolled) -> None:
    # covers T5
    token, tx_id = to_code_step(machine, someone)
    assert someone.app is not None
    first = machine.submit_code(token, tx_id, someone.app.code(), browser=HERE, session=None)
    assert first.completion is not None
    session = first.completion.session
    # Nothing asked: the session already does.
    assert machine.start(LoginRequirements(resume="/x"), session).token is None
    started = machine.start(LoginRequirements(resume="/x", force_code=True), session)
    assert started.step is Step.CODE
    assert started.token is not None
    held = machine.held(started.token, Step.CODE)
    assert held.tx.auth_time == session.auth_time
    # A step-up has no password of its own: no recovery code sign-in from it.
    with pytest.raises(WrongStep):
        machine.submit_recovery(started.token, held.tx.id, someone.recovery_codes[0],
                                browser=HERE)
    # The session it stands on must still be this browser's when it ends (the backup's
    # code here: an app gives three codes a minute and this test needs four).
    machine.code_view(started.token, HERE, use="backup")
    with pytest.raises(TransactionExpired, match="session_gone"):
        machine.submit_code(started.token, held.tx.id, outbox.code(MOBILE_E164),
                            browser=HERE, session=None)

    started = machine.start(LoginRequirements(resume="/x", force_code=True), session)
    assert started.token is not None
    held = machine.held(started.token, Step.CODE)
    outcome = machine.submit_code(started.token, held.tx.id, someone.app.code(),
                                  browser=HERE, session=session)
    assert outcome.completion is not None
    assert outcome.completion.session.sid == session.sid
    assert outcome.completion.session_cookie is None  # updated in place
    stored = services.sessions.by_sid(session.sid)
    assert stored is not None
    assert stored.second_factor_at is not None
    assert session.second_factor_at is not None
    assert stored.second_factor_at > session.second_factor_at


def test_force_password_asks_the_password_even_with_a_session(machine: LoginMachine,
                                                             someone: Enrolled) -> None:
    token, tx_id = to_code_step(machine, someone)
    assert someone.app is not None
    done = machine.submit_code(token, tx_id, someone.app.code(), browser=HERE, session=None)
    assert done.completion is not None
    started = machine.start(LoginRequirements(resume="/x", force_password=True),
                            done.completion.session)
    assert started.step is Step.PASSWORD


@pytest.mark.parametrize("resume", ["https://evil.example/", "//evil.example/x", "/\\evil",
                                    "relative", "", "/a b", "/a\nb"])
def test_resume_must_be_a_local_path(resume: str) -> None:
    with pytest.raises(ValueError, match="local path"):
        LoginRequirements(resume=resume)


def test_a_transaction_lives_fifteen_minutes_and_is_stored_hashed(services: Services) -> None:
    now = [1000.0]
    transactions = Transactions(services.store, lifetime_s=900, secure=False,
                                clock=lambda: now[0])
    token, held = transactions.create(LoginRequirements(resume="/account"))
    assert token not in held.key  # only the SHA-256 of the cookie's value is a key
    assert services.store.get(held.key) is not None
    now[0] += 899
    assert transactions.load(token) is not None
    now[0] += 2
    assert transactions.load(token) is None
    cookie = transactions.cookie(token)
    assert (cookie.name, cookie.httponly, cookie.samesite) == ("nidan_login", True, "lax")
    secure = Transactions(services.store, lifetime_s=900, secure=True)
    assert secure.cookie(token).name == "__Host-nidan_login"
    assert secure.cookie(token).secure
