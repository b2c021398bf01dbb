"""The suite's standard authorization flow (``AbstractOIDCCServerTest``): configure from
discovery, authorize, check the response, exchange the code with the client's own
authentication, check the token response and the ID token, call UserInfo. Modules vary
the request or add a second authorization; they build on :func:`happy`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from tests.conformance.checks import (
    check_id_token,
    check_server_configuration,
    check_success,
    check_token_response,
    check_userinfo,
)
from tests.conformance.harness import Op, SuiteClient
from tests.conformance.rp import Flow, authorization_request, authorize, exchange, userinfo

__all__ = ["Result", "complete", "happy", "second_authorization"]


@dataclass(frozen=True)
class Result:
    flow: Flow
    tokens: dict[str, Any]
    claims: dict[str, Any]  # of the token endpoint's ID token

    @property
    def access_token(self) -> str:
        token: str = self.tokens["access_token"]
        return token


def happy(op: Op, browser: httpx.Client, mode: str, *, client: SuiteClient | None = None,
          method: str = "GET", call_userinfo: bool = True, **extra: str) -> Result:
    """One complete flow whose every step must succeed; ``extra`` joins the request."""
    client = client or op.client
    check_server_configuration(op, client)
    request = {**authorization_request(op, mode, client=client), **extra}
    flow = authorize(op, browser, request, method=method)
    return complete(op, flow, mode, client, call_userinfo=call_userinfo)


def complete(op: Op, flow: Flow, mode: str, client: SuiteClient | None = None,
             *, call_userinfo: bool = True) -> Result:
    """The flow from the authorization response on (performPostAuthorizationFlow)."""
    client = client or op.client
    code = check_success(op, flow, mode)
    tokens = check_token_response(exchange(op, code, client))
    claims = check_id_token(op, tokens["id_token"], flow.request, client,
                            access_token=tokens["access_token"])
    if call_userinfo:  # requestProtectedResource: UserInfo answers the new access token
        check_userinfo(userinfo(op, tokens["access_token"]), claims)
    return Result(flow, tokens, claims)


def second_authorization(op: Op, browser: httpx.Client, mode: str, *, sign_in: bool,
                         **extra: str) -> Result:
    """The second authorization of the two-authorization modules, in the same browser."""
    request = {**authorization_request(op, mode), **extra}
    flow = authorize(op, browser, request, sign_in=sign_in)
    return complete(op, flow, mode)
