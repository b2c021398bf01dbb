"""One place decides a refusal's status: the error says whether it is a throttle."""

from __future__ import annotations

import idp.login.model
import idp.methods
from idp.login.model import JourneyError
from idp.methods import MethodError
from idp.web.errors import status_for

THROTTLES = {"too_many_tries", "resend_too_soon", "budget_exhausted", "temporarily_locked",
             "slow_down"}


def _refusals() -> list[type[MethodError] | type[JourneyError]]:
    found: list[type[MethodError] | type[JourneyError]] = []
    for module, base in ((idp.methods, MethodError), (idp.login.model, JourneyError)):
        found += [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, base)]
    return found


def test_throttles_answer_429_and_every_other_refusal_400() -> None:
    refusals = _refusals()
    assert {c.code for c in refusals} >= THROTTLES
    for cls in refusals:
        error = cls.__new__(cls)  # the class decides; no parameters needed
        assert status_for(error) == (429 if cls.code in THROTTLES else 400), cls.code


def test_an_error_that_is_no_refusal_is_400() -> None:
    assert status_for(ValueError("x")) == 400
