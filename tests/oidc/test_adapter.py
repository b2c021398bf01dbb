"""The adapter's one answer to authlib refusing to quote a malformed request."""

from __future__ import annotations

import pytest

from idp.oidc._authlib import InvalidRequestError, OAuth2Error
from idp.oidc.adapter import AUTHLIB_FORBIDDEN_DESCRIPTION, malformed_as


def test_authlib_still_says_what_the_adapter_listens_for() -> None:
    # The wording malformed_as() relies on: if authlib rewords it, this fails first.
    with pytest.raises(ValueError, match=f"^{AUTHLIB_FORBIDDEN_DESCRIPTION}"):
        OAuth2Error(description='a "quoted" value\n')


def test_the_refusal_becomes_the_given_error() -> None:
    with pytest.raises(InvalidRequestError), malformed_as(lambda: InvalidRequestError("x")):
        OAuth2Error(description="bad\\value")


def test_any_other_value_error_stays_loud() -> None:
    with pytest.raises(ValueError, match="something else"), malformed_as(
        lambda: InvalidRequestError("x")
    ):
        raise ValueError("something else")
