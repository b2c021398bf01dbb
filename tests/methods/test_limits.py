"""The core's limits on their own: tries, consecutive failures, cooldown, budgets (S5)."""

from __future__ import annotations

import pytest

from idp.methods import BudgetExhausted, MethodDisabled, ResendTooSoon, TooManyTries
from idp.methods.limits import AttemptLimiter, SendGuard
from idp.settings import LimitSettings
from idp.store import Store
from tests.races import winners


def test_five_tries_then_refused_with_the_time_to_wait(store: Store) -> None:
    # covers S5 (at most 5 tries)
    limiter = AttemptLimiter(store, LimitSettings(), window_s=600)
    assert [limiter.reserve("u1", "c1") for _ in range(5)] == [4, 3, 2, 1, 0]
    with pytest.raises(TooManyTries) as refused:
        limiter.reserve("u1", "c1")
    assert 0 < refused.value.retry_after_s <= 600
    with pytest.raises(TooManyTries):
        limiter.check("u1", "c1")


def test_concurrent_guesses_get_only_five_checks(store: Store) -> None:
    limiter = AttemptLimiter(store, LimitSettings(), window_s=600)
    assert sum(winners(20, lambda _: limiter.reserve("u1", "c1"), TooManyTries)) == 5


def test_success_starts_the_tries_again(store: Store) -> None:
    limiter = AttemptLimiter(store, LimitSettings(), window_s=600)
    for _ in range(4):
        limiter.reserve("u1", "c1")
    limiter.succeeded("u1", "c1")
    assert limiter.reserve("u1", "c1") == 4


def test_a_success_spends_its_scope_and_the_next_scope_starts_a_new_window(
    store: Store,
) -> None:
    # covers S5 (a right code racing wrong ones buys them no fresh window)
    limiter = AttemptLimiter(store, LimitSettings(), window_s=600)
    assert limiter.reserve("u1", "c1", scope="tx1") == 4
    limiter.reserve("u1", "c1", scope="tx1")  # a wrong code racing the right one
    limiter.succeeded("u1", "c1", scope="tx1")
    for _ in range(3):  # tries of the spent sign-in after its success: refused
        with pytest.raises(TooManyTries):
            limiter.reserve("u1", "c1", scope="tx1")
    limiter.check("u1", "c1")  # the next sign-in may send a code
    assert limiter.reserve("u1", "c1", scope="tx2") == 4
    assert [limiter.reserve("u1", "c1", scope="tx2") for _ in range(4)] == [3, 2, 1, 0]
    with pytest.raises(TooManyTries):
        limiter.reserve("u1", "c1", scope="tx2")
    with pytest.raises(TooManyTries):  # the spent sign-in gets nothing from the new window
        limiter.reserve("u1", "c1", scope="tx1")


def test_racing_a_success_never_passes_more_than_the_limit_per_window(store: Store) -> None:
    limiter = AttemptLimiter(store, LimitSettings(), window_s=600)

    def guess(index: int) -> None:
        limiter.reserve("u1", "c1", scope="tx1")
        if index == 0:
            limiter.succeeded("u1", "c1", scope="tx1")

    assert sum(winners(30, guess, TooManyTries)) <= 5


def test_subjects_and_people_are_counted_apart(store: Store) -> None:
    limiter = AttemptLimiter(store, LimitSettings(code_tries=1), window_s=600)
    limiter.reserve("u1", "c1")
    assert limiter.reserve("u1", "c2") == 0
    assert limiter.reserve("u2", "c1") == 0


def test_consecutive_failures_disable_until_reset(store: Store) -> None:
    limiter = AttemptLimiter(store, LimitSettings(code_disable_after=3), window_s=600)
    assert [limiter.failed("u1", "c1") for _ in range(3)] == [False, False, True]
    assert limiter.is_disabled("u1", "c1")
    with pytest.raises(MethodDisabled):
        limiter.reserve("u1", "c1")
    limiter.reset("u1", "c1")
    assert not limiter.is_disabled("u1", "c1")


def test_resend_cooldown_returns_when_the_next_send_may_go(store: Store) -> None:
    # covers S5 (resend throttled)
    guard = SendGuard(store, LimitSettings(resend_cooldown_s=30), clock=lambda: 1000.0)
    assert guard.reserve("u1", "c1") == 1030.0
    with pytest.raises(ResendTooSoon) as refused:
        guard.reserve("u1", "c1")
    assert 0 < refused.value.retry_after_s <= 30
    next_at = guard.next_send_at("u1", "c1")
    assert next_at is not None
    assert 1000.0 < next_at <= 1030.0
    guard.reserve("u1", "c2")  # another credential has its own cooldown


def _no_cooldown(**overrides: int) -> LimitSettings:
    return LimitSettings(resend_cooldown_s=1, **overrides)


def test_per_person_budget(store: Store) -> None:
    guard = SendGuard(store, _no_cooldown(resend_per_window=2), clock=lambda: 0.0)
    guard.reserve("u1", "a")
    guard.reserve("u1", "b")
    with pytest.raises(BudgetExhausted) as refused:
        guard.reserve("u1", "c")
    assert refused.value.limit == "user"
    assert refused.value.retry_after_s > 0


def test_per_number_budget_spans_people(store: Store) -> None:
    guard = SendGuard(store, _no_cooldown(resend_per_window=2), clock=lambda: 0.0)
    guard.reserve("u1", "a", phone_key="n1")
    guard.reserve("u2", "a", phone_key="n1")
    with pytest.raises(BudgetExhausted) as refused:
        guard.reserve("u3", "a", phone_key="n1")
    assert refused.value.limit == "phone"
    guard.reserve("u3", "b", phone_key="n2")


def test_per_country_daily_budget(store: Store) -> None:
    # The SMS-pumping guard: one country calling code, many people and numbers.
    guard = SendGuard(store, _no_cooldown(sends_per_country_per_day=3), clock=lambda: 0.0)
    for n in range(3):
        guard.reserve(f"u{n}", "a", phone_key=f"n{n}", country_code=44)
    with pytest.raises(BudgetExhausted) as refused:
        guard.reserve("u9", "a", phone_key="n9", country_code=44)
    assert refused.value.limit == "country"
    assert refused.value.retry_after_s > 15 * 60
    guard.reserve("u9", "b", phone_key="n9", country_code=81)
