"""The OpenID Foundation's Basic OP certification plan (``oidcc-basic-certification-test-plan``:
response_type=code, client_secret_basic - client_secret_post for
``oidcc-server-client-secret-post`` -, default response mode, static clients, discovery),
one test per module, named after it (``test_module[oidcc-server]``). What each module
asserts and how modules that don't apply to our provider are answered:
tests/conformance/PLANS.md.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from tests.conformance import basic_happy, basic_refusals, basic_session
from tests.conformance.harness import Op
from tests.conformance.rp import QUERY

PLAN = "oidcc-basic-certification-test-plan"
MODULES = (
    "oidcc-server",
    "oidcc-response-type-missing",
    "oidcc-idtoken-signature",
    "oidcc-idtoken-unsigned",
    "oidcc-userinfo-get",
    "oidcc-userinfo-post-header",
    "oidcc-userinfo-post-body",
    "oidcc-ensure-request-without-nonce-succeeds-for-code-flow",
    "oidcc-scope-profile",
    "oidcc-scope-email",
    "oidcc-scope-address",
    "oidcc-scope-phone",
    "oidcc-scope-all",
    "oidcc-ensure-other-scope-order-succeeds",
    "oidcc-display-page",
    "oidcc-display-popup",
    "oidcc-prompt-login",
    "oidcc-prompt-none-not-logged-in",
    "oidcc-prompt-none-logged-in",
    "oidcc-max-age-1",
    "oidcc-max-age-10000",
    "oidcc-ensure-request-with-unknown-parameter-succeeds",
    "oidcc-id-token-hint",
    "oidcc-login-hint",
    "oidcc-ui-locales",
    "oidcc-claims-locales",
    "oidcc-ensure-request-with-acr-values-succeeds",
    "oidcc-codereuse",
    "oidcc-codereuse-30seconds",
    "oidcc-ensure-registered-redirect-uri",
    "oidcc-ensure-post-request-succeeds",
    "oidcc-server-client-secret-post",
    "oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported",
    "oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported",
    "oidcc-claims-essential",
    "oidcc-ensure-request-object-with-redirect-uri",
    "oidcc-refresh-token",
    "oidcc-ensure-request-with-valid-pkce-succeeds",
)


def module_test(module: str) -> Callable[[Op, httpx.Client, str], None]:
    """The test of ``module`` (in basic_happy, basic_refusals or basic_session), which takes
    the response mode: the Basic plan runs it with ``QUERY``, the Form Post plan with
    ``FORM_POST``."""
    name = module.replace("-", "_")
    found = [getattr(part, name) for part in (basic_happy, basic_refusals, basic_session)
             if hasattr(part, name)]
    assert len(found) == 1, f"{module}: {len(found)} tests"
    test: Callable[[Op, httpx.Client, str], None] = found[0]
    return test


# Every module of the plan is its own test, under its own name (the id).
@pytest.mark.parametrize("module", MODULES)
def test_module(module: str, op: Op, agent: httpx.Client) -> None:
    module_test(module)(op, agent, QUERY)
