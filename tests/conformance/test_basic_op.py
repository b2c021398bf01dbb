"""The OpenID Foundation's Basic OP certification plan (``oidcc-basic-certification-test-plan``:
response_type=code, client_secret_basic - client_secret_post for
``oidcc-server-client-secret-post`` -, default response mode, static clients, discovery),
one test per module, named after it. What each module asserts and how modules that don't
apply to our provider are answered: tests/conformance/PLANS.md.
"""

from __future__ import annotations

import httpx
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


def test_oidcc_server(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_server(op, agent, QUERY)


def test_oidcc_response_type_missing(op: Op, agent: httpx.Client) -> None:
    basic_refusals.oidcc_response_type_missing(op, agent, QUERY)


def test_oidcc_idtoken_signature(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_idtoken_signature(op, agent, QUERY)


def test_oidcc_idtoken_unsigned(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_idtoken_unsigned(op, agent, QUERY)


def test_oidcc_userinfo_get(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_userinfo_get(op, agent, QUERY)


def test_oidcc_userinfo_post_header(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_userinfo_post_header(op, agent, QUERY)


def test_oidcc_userinfo_post_body(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_userinfo_post_body(op, agent, QUERY)


def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(
        op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_ensure_request_without_nonce_succeeds_for_code_flow(op, agent, QUERY)


def test_oidcc_scope_profile(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_scope_profile(op, agent, QUERY)


def test_oidcc_scope_email(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_scope_email(op, agent, QUERY)


def test_oidcc_scope_address(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_scope_address(op, agent, QUERY)


def test_oidcc_scope_phone(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_scope_phone(op, agent, QUERY)


def test_oidcc_scope_all(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_scope_all(op, agent, QUERY)


def test_oidcc_ensure_other_scope_order_succeeds(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_ensure_other_scope_order_succeeds(op, agent, QUERY)


def test_oidcc_display_page(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_display_page(op, agent, QUERY)


def test_oidcc_display_popup(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_display_popup(op, agent, QUERY)


def test_oidcc_prompt_login(op: Op, agent: httpx.Client) -> None:
    basic_session.oidcc_prompt_login(op, agent, QUERY)


def test_oidcc_prompt_none_not_logged_in(op: Op, agent: httpx.Client) -> None:
    basic_session.oidcc_prompt_none_not_logged_in(op, agent, QUERY)


def test_oidcc_prompt_none_logged_in(op: Op, agent: httpx.Client) -> None:
    basic_session.oidcc_prompt_none_logged_in(op, agent, QUERY)


def test_oidcc_max_age_1(op: Op, agent: httpx.Client) -> None:
    basic_session.oidcc_max_age_1(op, agent, QUERY)


def test_oidcc_max_age_10000(op: Op, agent: httpx.Client) -> None:
    basic_session.oidcc_max_age_10000(op, agent, QUERY)


def test_oidcc_ensure_request_with_unknown_parameter_succeeds(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_ensure_request_with_unknown_parameter_succeeds(op, agent, QUERY)


def test_oidcc_id_token_hint(op: Op, agent: httpx.Client) -> None:
    basic_session.oidcc_id_token_hint(op, agent, QUERY)


def test_oidcc_login_hint(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_login_hint(op, agent, QUERY)


def test_oidcc_ui_locales(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_ui_locales(op, agent, QUERY)


def test_oidcc_claims_locales(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_claims_locales(op, agent, QUERY)


def test_oidcc_ensure_request_with_acr_values_succeeds(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_ensure_request_with_acr_values_succeeds(op, agent, QUERY)


def test_oidcc_codereuse(op: Op, agent: httpx.Client) -> None:
    basic_refusals.oidcc_codereuse(op, agent, QUERY)


def test_oidcc_codereuse_30seconds(op: Op, agent: httpx.Client) -> None:
    basic_refusals.oidcc_codereuse_30seconds(op, agent, QUERY)


def test_oidcc_ensure_registered_redirect_uri(op: Op, agent: httpx.Client) -> None:
    basic_refusals.oidcc_ensure_registered_redirect_uri(op, agent, QUERY)


def test_oidcc_ensure_post_request_succeeds(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_ensure_post_request_succeeds(op, agent, QUERY)


def test_oidcc_server_client_secret_post(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_server_client_secret_post(op, agent, QUERY)


def test_oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(
        op: Op, agent: httpx.Client) -> None:
    basic_refusals.oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(
        op, agent, QUERY)


def test_oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(
        op: Op, agent: httpx.Client) -> None:
    basic_refusals.oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(
        op, agent, QUERY)


def test_oidcc_claims_essential(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_claims_essential(op, agent, QUERY)


def test_oidcc_ensure_request_object_with_redirect_uri(op: Op, agent: httpx.Client) -> None:
    basic_refusals.oidcc_ensure_request_object_with_redirect_uri(op, agent, QUERY)


def test_oidcc_refresh_token(op: Op, agent: httpx.Client) -> None:
    basic_refusals.oidcc_refresh_token(op, agent, QUERY)


def test_oidcc_ensure_request_with_valid_pkce_succeeds(op: Op, agent: httpx.Client) -> None:
    basic_happy.oidcc_ensure_request_with_valid_pkce_succeeds(op, agent, QUERY)


# Every module of the plan has its test, under its own name.
assert {"test_" + name.replace("-", "_") for name in MODULES} <= set(globals())
