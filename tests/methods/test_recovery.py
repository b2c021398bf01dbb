"""Recovery codes (BEHAVIOUR E7, C3)."""

from __future__ import annotations

import re

import pytest

from idp.methods import MethodError, NotEnrolled, TooManyTries, WrongCode
from idp.methods.recovery import ALPHABET, RecoveryCodes, normalise_recovery_code
from idp.store import Store
from tests.methods.helpers import World, event_texts, leaked
from tests.races import race


def _codes(store: Store, count: int = 10) -> RecoveryCodes:
    return RecoveryCodes(store, lambda purpose, value: f"{purpose}|{value}"[::-1], count)


def test_enrollment_completion_hands_out_codes_once(world: World) -> None:
    # covers E7
    user = world.user()
    secret = world.enroll_totp(user, "primary")
    world.service.begin_enrollment(user, "backup", "sms", {"phone": "090-1234-5678"})
    result = world.service.complete_enrollment(user, "backup", {"code": world.last_code()})
    assert result.complete
    assert len(result.recovery_codes) == world.settings.enrollment.recovery_codes == 10
    for code in result.recovery_codes:
        assert re.fullmatch(rf"[{ALPHABET}]{{5}}-[{ALPHABET}]{{5}}", code)
        assert code not in repr(result)
    assert len(set(result.recovery_codes)) == 10
    # Replacing a method later hands out no new codes.
    world.service.begin_enrollment(user, "backup", "voice", {"phone": "03-1234-5678"})
    again = world.service.complete_enrollment(user, "backup", {"code": world.last_code()})
    assert again.recovery_codes == ()
    assert world.service.recovery_codes_left(user.id) == 10
    assert secret  # the app stays primary
    stored = b"".join(world.store.get(k) or b"" for k in world.store.scan(""))
    for code in result.recovery_codes:
        assert code.encode() not in stored
        assert code.replace("-", "").encode() not in stored


def test_a_recovery_code_signs_in_once(world: World) -> None:
    # covers C3
    user = world.user()
    world.enroll_totp(user, "primary")
    world.service.begin_enrollment(user, "backup", "sms", {"phone": "090-1234-5678"})
    codes = world.service.complete_enrollment(user, "backup", {"code": world.last_code()})
    first = codes.recovery_codes[0]
    assert world.service.use_recovery_code(user, first.lower().replace("-", " ")) == 9
    with pytest.raises(WrongCode):
        world.service.use_recovery_code(user, first)
    assert world.events_named("recovery.used")[0]["remaining"] == 9
    failed = world.events_named("recovery.failed")
    assert failed[0]["error_code"] == "wrong_code"
    assert not leaked(event_texts(world.events), codes.recovery_codes)


def test_regenerating_voids_every_old_code(world: World) -> None:
    # covers E7, C4
    user = world.user()
    changes: list[str] = []
    world.service.listeners.append(lambda change: changes.append(change.kind))
    with pytest.raises(NotEnrolled):
        world.service.regenerate_recovery_codes(user)
    world.enroll_both(user)
    old = _first_codes(world)
    new = world.service.regenerate_recovery_codes(user)
    assert set(new).isdisjoint(old)
    with pytest.raises(WrongCode):
        world.service.use_recovery_code(user, old[0])
    assert world.service.use_recovery_code(user, new[0]) == 9
    assert "recovery_codes" in changes


def _first_codes(world: World) -> tuple[str, ...]:
    # The set handed out at enrollment is gone after regenerate; use a fresh one to compare.
    return world.service.regenerate_recovery_codes(world.user())


def test_wrong_recovery_codes_are_limited_like_any_code(world: World) -> None:
    user = world.user()
    world.enroll_both(user)
    for _ in range(world.settings.limits.code_tries):
        with pytest.raises(WrongCode):
            world.service.use_recovery_code(user, "00000-00000")
    with pytest.raises(TooManyTries):
        world.service.use_recovery_code(user, "00000-00000")
    assert world.events_named("recovery.failed")[-1]["error_code"] == "too_many_tries"


def test_fifty_replicas_racing_with_one_code_let_one_in(store: Store) -> None:
    # covers C3 (each code usable once across replicas)
    codes = _codes(store)
    generated = codes.generate("u1").codes
    assert sum(race(50, lambda _: codes.use("u1", generated[3]) is not None)) == 1
    assert codes.remaining("u1") == 9


def test_counting_down_to_zero(store: Store) -> None:
    codes = _codes(store, count=4)
    generated = codes.generate("u1").codes
    assert [codes.use("u1", c) for c in generated] == [3, 2, 1, 0]
    assert codes.remaining("u1") == 0
    assert codes.remaining("nobody") == 0


def test_cleared_codes_stop_working(store: Store) -> None:
    codes = _codes(store)
    generated = codes.generate("u1").codes
    codes.clear("u1")
    assert codes.use("u1", generated[0]) is None
    assert not codes.exists("u1")


@pytest.mark.parametrize(
    ("typed", "read"),
    [("7k3qf-xm9pa", "7K3QFXM9PA"), (" 7K3QF XM9PA ", "7K3QFXM9PA"), ("IL0O1-23456", "1100123456"),
     ("７Ｋ３ＱＦ－ＸＭ９ＰＡ", "7K3QFXM9PA"), ("7K3QF-XM9P", None), ("7K3QF-XM9PU", None),
     ("", None)],
)
def test_what_people_type_is_read_forgivingly(typed: str, read: str | None) -> None:
    assert normalise_recovery_code(typed) == read


def test_fifty_bits_per_code() -> None:
    assert len(ALPHABET) == 32
    assert len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_a_method_error_is_raised_for_wrong_codes_not_a_crash(world: World) -> None:
    user = world.user()
    world.enroll_both(user)
    with pytest.raises(MethodError) as wrong:
        world.service.use_recovery_code(user, "💥" * 500)
    assert wrong.value.code == "wrong_code"
