"""Every bad input yields a specific, translatable error and an audit event, and no code,
secret or phone number reaches an exception, a log record or an audit event (S5, E5, L1)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import TypeVar

import pytest

from idp.methods import (
    BudgetExhausted,
    CodeExpired,
    DeliveryFailed,
    MethodDisabled,
    MethodError,
    MethodUser,
    PhoneInvalid,
    PhoneNotSmsCapable,
    PhoneNotSupported,
    ResendTooSoon,
    TooManyTries,
    WrongCode,
    error_catalogue,
)
from idp.observability import AuditEvent
from tests.delivery.gateways import (
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    Reply,
    TwilioStandIn,
    twilio_error,
)
from tests.live_server import free_port
from tests.methods.helpers import World, event_texts, leaked

E = TypeVar("E", bound=MethodError)

PHONE = "090-1234-5678"
PHONE_SECRETS = ["+819012345678", "9012345678", "09012345678"]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


class Case:
    """Runs one bad input and checks the error, the audit event and the absence of leaks."""

    def __init__(self, world: World, caplog: pytest.LogCaptureFixture) -> None:
        self.world = world
        self.caplog = caplog
        caplog.set_level(logging.DEBUG)

    def expect(self, error_type: type[E], event: str, action: Callable[[], object]) -> E:
        """``action`` raises exactly ``error_type`` (its ``code``), audited as ``event``."""
        before = len(self.world.events)
        with pytest.raises(MethodError) as raised:
            action()
        error = raised.value
        assert type(error) is error_type, repr(error)
        code = error_type.code
        # Translatable: a message in both languages, placeholders filled.
        assert code in error_catalogue()
        for locale in ("en", "ja"):
            text = error.message(locale)
            assert text
            assert "{" not in text
        new: list[AuditEvent] = self.world.events[before:]
        assert any(e["event"] == event and e.get("error_code") == code for e in new), new
        self.assert_no_leaks(error)
        return error

    def assert_no_leaks(self, error: MethodError | None = None) -> None:
        texts = event_texts(self.world.events)
        texts += [r.getMessage() for r in self.caplog.records]
        texts += [r.exc_text or "" for r in self.caplog.records]
        if error is not None:
            texts += [str(error), repr(error), error.message("en"), error.message("ja"),
                      error.detail or ""]
        assert not leaked(texts, [*self.world.issued, *PHONE_SECRETS])


@pytest.fixture
def case(world: World, caplog: pytest.LogCaptureFixture) -> Case:
    return Case(world, caplog)


def enrolled(world: World) -> MethodUser:
    user = world.user()
    world.enroll_both(user, phone=PHONE)
    return user


def test_bad_phone_number(world: World, case: Case) -> None:
    # covers E5
    user = world.user()
    error = case.expect(PhoneInvalid, "method.enroll.failed",
                        lambda: world.service.begin_enrollment(user, "backup", "sms",
                                                               {"phone": "090-1234"}))
    assert error.field == "phone"


def test_number_that_cannot_receive_sms(world: World, case: Case) -> None:
    # covers E5
    user = world.user()
    case.expect(PhoneNotSmsCapable, "method.enroll.failed",
                lambda: world.service.begin_enrollment(user, "backup", "sms",
                                                       {"phone": "050-1234-5678"}))


def test_premium_rate_number(world: World, case: Case) -> None:
    user = world.user()
    case.expect(PhoneNotSupported, "method.enroll.failed",
                lambda: world.service.begin_enrollment(user, "backup", "voice",
                                                       {"phone": "0990-123-456"}))


def test_wrong_code(world: World, case: Case) -> None:
    # covers S5
    user = enrolled(world)
    world.service.send_challenge(user, "backup")
    code = world.last_code()
    error = case.expect(WrongCode, "method.verify.failed",
                        lambda: world.service.verify(user, "backup", {"code": wrong(code)}))
    assert error.tries_left == 4
    world.service.verify(user, "backup", {"code": code})  # the right one still works
    case.assert_no_leaks()


def test_wrong_app_code(world: World, case: Case) -> None:
    user = enrolled(world)
    case.expect(WrongCode, "method.verify.failed",
                lambda: world.service.verify(user, "primary", {"code": "not a code"}))


def test_expired_code(world: World, case: Case) -> None:
    # covers S5 (valid 10 minutes)
    user = enrolled(world)
    world.service.send_challenge(user, "backup")
    code = world.last_code()
    world.advance(world.settings.lifetimes.code_s + 1)
    case.expect(CodeExpired, "method.verify.failed",
                lambda: world.service.verify(user, "backup", {"code": code}))


def test_replayed_code(world: World, case: Case) -> None:
    # covers S5 (single use)
    user = enrolled(world)
    world.service.send_challenge(user, "backup")
    code = world.last_code()
    world.service.verify(user, "backup", {"code": code})
    case.expect(CodeExpired, "method.verify.failed",
                lambda: world.service.verify(user, "backup", {"code": code}))


def test_replayed_app_code(world: World, case: Case) -> None:
    # covers S5 (a TOTP code never twice)
    user = world.user()
    secret = world.enroll_both(user)
    code = world.totp_code(secret)
    world.service.verify(user, "primary", {"code": code})
    case.expect(WrongCode, "method.verify.failed",
                lambda: world.service.verify(user, "primary", {"code": code}))
    assert world.events_named("method.verify.failed")[-1]["reason"] == "replay"


def test_too_many_tries_and_a_new_code_does_not_reset_them(world: World, case: Case) -> None:
    # covers S5 (at most 5 tries); NIST SP 800-63B: resending does not reset the count
    user = enrolled(world)
    world.service.send_challenge(user, "backup")
    for _ in range(3):
        with pytest.raises(MethodError):
            world.service.verify(user, "backup", {"code": wrong(world.last_code())})
    world.store.delete(f"methods:cooldown:{user.id}:{world.service.credentials(user)['backup'].id}")
    world.service.send_challenge(user, "backup")  # "send a new code"
    for _ in range(2):
        with pytest.raises(MethodError):
            world.service.verify(user, "backup", {"code": wrong(world.last_code())})
    error = case.expect(TooManyTries, "method.verify.failed",
                        lambda: world.service.verify(user, "backup",
                                                     {"code": world.last_code()}))
    assert error.retry_after_s > 0
    # Sending yet another code is refused too: it could not be entered.
    case.expect(TooManyTries, "method.challenge.failed",
                lambda: world.service.send_challenge(user, "backup"))


def test_resend_too_soon(world: World, case: Case) -> None:
    # covers S5 (resend throttled)
    user = enrolled(world)
    first = world.service.send_challenge(user, "backup")
    code = world.last_code()
    error = case.expect(ResendTooSoon, "method.challenge.failed",
                        lambda: world.service.send_challenge(user, "backup"))
    assert 0 < error.retry_after_s <= world.settings.limits.resend_cooldown_s
    assert first.resend_at is not None
    # The code already sent is still good: a refused resend voids nothing.
    world.service.verify(user, "backup", {"code": code})


def test_resend_too_soon_during_enrollment(world: World, case: Case) -> None:
    user = world.user()
    world.service.begin_enrollment(user, "primary", "sms", {"phone": PHONE})
    case.expect(ResendTooSoon, "method.enroll.failed",
                lambda: world.service.resend_enrollment_code(user, "primary"))
    case.expect(ResendTooSoon, "method.enroll.failed",
                lambda: world.service.begin_enrollment(user, "primary", "sms", {"phone": PHONE}))
    # Neither refusal replaced the pending enrollment: the code already sent completes it.
    world.service.complete_enrollment(user, "primary", {"code": world.last_code()})


def test_budget_exhausted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # DESIGN "Limits": sends per phone number per window, whoever asks
    with closing(World(tmp_path, limits={"resend_per_window": 2})) as world:
        case = Case(world, caplog)
        for name in ("a", "b"):
            world.service.begin_enrollment(world.user(name), "primary", "sms", {"phone": PHONE})
        error = case.expect(BudgetExhausted, "method.enroll.failed",
                            lambda: world.service.begin_enrollment(
                                world.user("c"), "primary", "sms", {"phone": PHONE}))
        assert error.limit == "phone"
        assert error.retry_after_s > 0
        assert len(world.messages()) == 2


def test_method_disabled_after_consecutive_failures(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # DESIGN "Limits": 100 consecutive failures disable the method (3 here)
    with closing(World(tmp_path, limits={"code_disable_after": 3})) as world:
        case = Case(world, caplog)
        user = world.user()
        secret = world.enroll_both(user)
        for _ in range(2):
            with pytest.raises(MethodError):
                world.service.verify(user, "primary", {"code": "000000"})
        case.expect(MethodDisabled, "method.verify.failed",
                    lambda: world.service.verify(user, "primary", {"code": "000000"}))
        assert world.events_named("method.disabled")
        assert world.service.credentials(user)["primary"].disabled
        case.expect(MethodDisabled, "method.verify.failed",
                    lambda: world.service.verify(user, "primary",
                                                 {"code": world.totp_code(secret)}))
        world.service.reset(user.id, actor="admin")
        assert not world.service.credentials(user)


@pytest.fixture
def twilio() -> Iterator[TwilioStandIn]:
    gateway = TwilioStandIn()
    yield gateway
    gateway.close()


def twilio_world(tmp_path: Path, api_base: str) -> World:
    transport = {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN,
                 "from_number": TWILIO_FROM, "api_base": api_base, "retries": 0}
    return World(tmp_path, delivery={"sms": ["twilio"], "voice": ["twilio"],
                                     "transports": {"twilio": transport}})


@pytest.mark.parametrize(
    "reply",
    [twilio_error(400, 21211, "Invalid 'To' Phone Number: +819012345678"),
     twilio_error(400, 21614, "'To' number +819012345678 is not a valid mobile number"),
     twilio_error(401, 20003, "Authenticate"),
     twilio_error(429, 20429, "Too Many Requests"),
     twilio_error(500, 20500, "Internal Server Error"),
     Reply(503, b"<html>Service Unavailable</html>", content_type="text/html")],
    ids=["400-invalid-number", "400-not-mobile", "401", "429", "500", "503-html"],
)
def test_gateway_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, twilio: TwilioStandIn, reply: Reply
) -> None:
    with closing(twilio_world(tmp_path, twilio.url)) as world:
        case = Case(world, caplog)
        user = world.user()
        twilio.script(reply)
        error = case.expect(DeliveryFailed, "method.enroll.failed",
                            lambda: world.service.begin_enrollment(user, "primary", "sms",
                                                                   {"phone": PHONE}))
        assert "twilio" in (error.detail or "")
        assert twilio.requests  # the gateway was really asked
        # The gateway answers again: "send again" delivers, and the code works.
        world.store.delete(f"methods:cooldown:{user.id}:enroll-primary")
        world.service.resend_enrollment_code(user, "primary")
        body = twilio.requests[-1].form["Body"]
        assert world.issued[-1] in body
        world.service.complete_enrollment(user, "primary", {"code": world.issued[-1]})


def test_gateway_down(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with closing(twilio_world(tmp_path, f"http://127.0.0.1:{free_port()}")) as world:
        case = Case(world, caplog)
        user = world.user()
        world.enroll_totp(user, "primary")
        case.expect(DeliveryFailed, "method.enroll.failed",
                    lambda: world.service.begin_enrollment(user, "backup", "voice",
                                                           {"phone": PHONE}))
        # At sign-in, a failed send of the backup is audited as a challenge failure.
        world.service.import_credential(user, "voice", "backup", {"phone": PHONE})
        case.expect(DeliveryFailed, "method.challenge.failed",
                    lambda: world.service.send_challenge(user, "backup"))
