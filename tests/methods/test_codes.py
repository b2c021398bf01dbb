"""The one-time-code service for delivered codes (BEHAVIOUR S5)."""

from __future__ import annotations

import re

import pytest

from idp.methods import CodeExpired
from idp.methods.codes import CODE_DIGITS, CodeService
from idp.store import Store

LIFETIME_S = 600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def codes(store: Store, clock: Clock) -> CodeService:
    return CodeService(store, lifetime_s=LIFETIME_S, pepper=lambda: b"k" * 32, clock=clock)


def test_a_code_is_six_digits_and_its_repr_hides_it(codes: CodeService) -> None:
    # covers S5
    issued = codes.issue("u1:sms:c1")
    assert CODE_DIGITS == 6
    assert re.fullmatch(r"[0-9]{6}", issued.value)
    assert issued.value not in repr(issued)


def test_the_store_never_holds_a_code_in_clear(codes: CodeService, store: Store) -> None:
    # covers S5 (stored only as a salted hash)
    issued = [codes.issue(f"u1:sms:c{n}") for n in range(20)]
    stored = b"".join(store.get(key) or b"" for key in store.scan(""))
    for code in issued:
        assert code.value.encode() not in stored


def test_a_right_code_works_once(codes: CodeService) -> None:
    # covers S5
    issued = codes.issue("u1:sms:c1")
    assert codes.check("u1:sms:c1", issued.value) == issued.id
    with pytest.raises(CodeExpired):
        codes.check("u1:sms:c1", issued.value)


def test_a_wrong_code_leaves_the_right_one_usable(codes: CodeService) -> None:
    issued = codes.issue("u1:sms:c1")
    wrong = f"{(int(issued.value) + 1) % 10**6:06d}"
    assert codes.check("u1:sms:c1", wrong) is None
    assert codes.check("u1:sms:c1", issued.value) == issued.id


def test_a_new_code_voids_the_old_one(codes: CodeService) -> None:
    # covers S5
    first = codes.issue("u1:sms:c1")
    second = codes.issue("u1:sms:c1")
    if first.value != second.value:  # one in a million they coincide
        assert codes.check("u1:sms:c1", first.value) is None
    assert codes.check("u1:sms:c1", second.value) == second.id


def test_codes_expire_after_their_lifetime(codes: CodeService, clock: Clock) -> None:
    # covers S5 (valid 10 minutes)
    issued = codes.issue("u1:sms:c1")
    clock.now += LIFETIME_S - 1
    assert codes.check("u1:sms:c1", "x") is None  # still live: a wrong code is just wrong
    clock.now += 1
    with pytest.raises(CodeExpired):
        codes.check("u1:sms:c1", issued.value)


def test_scopes_are_independent(codes: CodeService) -> None:
    one = codes.issue("u1:sms:c1")
    two = codes.issue("u2:sms:c1")
    assert codes.check("u2:sms:c1", two.value) == two.id
    assert codes.check("u1:sms:c1", one.value) == one.id


def test_nothing_sent_means_expired(codes: CodeService) -> None:
    with pytest.raises(CodeExpired):
        codes.check("u1:sms:never", "123456")


def test_full_width_digits_and_separators_are_accepted(codes: CodeService) -> None:
    issued = codes.issue("u1:sms:c1")
    typed = " ".join(chr(ord("０") + int(d)) for d in issued.value)
    assert codes.check("u1:sms:c1", typed) == issued.id
