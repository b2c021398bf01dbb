"""authlib's authorization server behind Starlette: the one module that knows both.

Written the way ``authlib/integrations/flask_oauth2`` is (authlib ships no Starlette server
integration): request conversion, response conversion, and an ``AuthorizationServer`` whose
``create_oauth2_request`` accepts what a handler read. Starlette reads a body with ``await``
while authlib is synchronous, so a handler first reads the request on the event loop
(:func:`read_request`, giving an immutable :class:`HttpRequest`), then calls authlib with it
in the thread pool.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from idp.oidc._authlib import AuthorizationServer as _AuthorizationServer
from idp.oidc._authlib import (
    InsecureTransportError,
    JsonPayload,
    JsonRequest,
    OAuth2Payload,
    OAuth2Request,
)

__all__ = [
    "AUTHLIB_FORBIDDEN_DESCRIPTION",
    "AuthorizationServer",
    "HttpRequest",
    "MalformedRequest",
    "OAuthResponse",
    "StarletteOAuth2Request",
    "malformed_as",
    "read_request",
]

# An OAuth request is a few hundred bytes; a request object or a long claims parameter a few
# KiB. Anything far larger is refused before it is parsed.
MAX_BODY_BYTES: Final = 64 * 1024
MAX_FIELDS: Final = 100
_FORM_TYPE: Final = "application/x-www-form-urlencoded"


# What authlib says when an OAuth error's description would quote request values holding
# characters RFC 6749 5.2 forbids (authlib/oauth2/base.py); tests/oidc/test_adapter.py pins it.
AUTHLIB_FORBIDDEN_DESCRIPTION: Final = "Error description contains forbidden characters"


@contextmanager
def malformed_as(error: Callable[[], Exception]) -> Iterator[None]:
    """Run the block; authlib's refusal to describe an error in the request's own forbidden
    characters (a ``ValueError``: the request was malformed either way) becomes ``error()``.
    Any other ``ValueError`` stays loud."""
    try:
        yield
    except ValueError as exc:
        if not str(exc).startswith(AUTHLIB_FORBIDDEN_DESCRIPTION):
            raise
        raise error() from None


class MalformedRequest(Exception):
    """The request can't be read as OAuth parameters (not UTF-8, too big, wrong type)."""


@dataclass(frozen=True)
class HttpRequest:
    """What authlib needs of one HTTP request, read on the event loop."""

    method: str
    uri: str  # absolute, built from the issuer (not from proxy-dependent request.url)
    headers: Headers
    query: tuple[tuple[str, str], ...] = ()
    form: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_params(cls, uri: str, params: Mapping[str, str], method: str = "GET") -> HttpRequest:
        """A request rebuilt from saved parameters (a resumed authorization request)."""
        pairs = tuple(params.items())
        if method == "GET":
            return cls(method, uri, Headers(), query=pairs)
        return cls(method, uri, Headers(), form=pairs)

    @property
    def values(self) -> tuple[tuple[str, str], ...]:
        """The OAuth parameters: the query of a GET, the form body of a POST (RFC 6749 3.1,
        OIDC Core 3.1.2.1), never the two mixed."""
        return self.query if self.method in ("GET", "HEAD") else self.form


def _parse(text: str) -> tuple[tuple[str, str], ...]:
    try:
        pairs = parse_qsl(text, keep_blank_values=False, strict_parsing=False,
                          encoding="utf-8", errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise MalformedRequest("parameters are not UTF-8 form encoding") from None
    return tuple(pairs)


async def read_request(request: Request[Any], base_uri: str) -> HttpRequest:
    """Read query and (for POST) an ``application/x-www-form-urlencoded`` body. Raises
    :class:`MalformedRequest` for anything else; nothing here raises otherwise."""
    raw_query = request.scope.get("query_string", b"")
    try:
        query_text = raw_query.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedRequest("the query string is not ASCII") from None
    if len(query_text) > MAX_BODY_BYTES:
        raise MalformedRequest("the query string is too long")
    query = _parse(query_text)
    form: tuple[tuple[str, str], ...] = ()
    if request.method == "POST":
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise MalformedRequest("the request body is too large")
        if body:
            if content_type != _FORM_TYPE:
                raise MalformedRequest(f"the body must be {_FORM_TYPE}")
            try:
                form = _parse(body.decode("utf-8"))
            except UnicodeDecodeError:
                raise MalformedRequest("the body is not UTF-8") from None
    uri = base_uri + request.url.path + (f"?{query_text}" if query_text else "")
    return HttpRequest(request.method, uri, request.headers, query, form)


def _first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in pairs:
        values.setdefault(key, value)
    return values


class StarletteOAuth2Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, pairs: tuple[tuple[str, str], ...]) -> None:
        self._data = _first_values(pairs)
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class StarletteOAuth2Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, http: HttpRequest) -> None:
        try:
            super().__init__(method=http.method, uri=http.uri, headers=http.headers)
        except InsecureTransportError:
            # authlib refuses plain http off loopback. Settings allow such an issuer only in
            # dev mode (``serve --dev --host 0.0.0.0``), where it must still work.
            secure = "https://" + http.uri.removeprefix("http://")
            super().__init__(method=http.method, uri=secure, headers=http.headers)
        self.http = http
        self.payload = StarletteOAuth2Payload(http.values)
        self._args = _first_values(http.query)
        self._form = _first_values(http.form)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class StarletteJsonPayload(JsonPayload):  # type: ignore[misc]
    def __init__(self, http: HttpRequest) -> None:
        self._http = http

    @property
    def data(self) -> dict[str, str]:
        return _first_values(self._http.values)


class StarletteJsonRequest(JsonRequest):  # type: ignore[misc]
    def __init__(self, http: HttpRequest) -> None:
        super().__init__(http.method, http.uri, http.headers)
        self.payload = StarletteJsonPayload(http)


class OAuthResponse(Response):
    """A Starlette response whose ``location`` can be read and rewritten by authlib hooks
    (RFC 9207's issuer parameter is added that way)."""

    @property
    def location(self) -> str | None:
        return self.headers.get("location")

    @location.setter
    def location(self, value: str) -> None:
        self.headers["location"] = value


class AuthorizationServer(_AuthorizationServer):  # type: ignore[misc]
    """Starlette implementation of :class:`authlib.oauth2.rfc6749.AuthorizationServer`::

        server = AuthorizationServer(query_client, save_token)
        http = await read_request(request, issuer)
        response = await run_in_threadpool(server.create_token_response, http)
    """

    def __init__(self, query_client: Callable[[str], Any],
                 save_token: Callable[[dict[str, Any], Any], None],
                 scopes_supported: list[str] | None = None) -> None:
        super().__init__(scopes_supported=scopes_supported)
        self._query_client = query_client
        self._save_token = save_token

    def query_client(self, client_id: str) -> Any:
        return self._query_client(client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        self._save_token(token, request)

    def create_oauth2_request(self, request: HttpRequest | StarletteOAuth2Request
                              ) -> StarletteOAuth2Request:
        if isinstance(request, StarletteOAuth2Request):
            return request
        return StarletteOAuth2Request(request)

    def create_json_request(self, request: HttpRequest) -> StarletteJsonRequest:
        return StarletteJsonRequest(request)

    def handle_response(self, status_code: int, payload: Any,
                        headers: Iterable[tuple[str, str]]) -> OAuthResponse:
        if isinstance(payload, dict):
            payload = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        response = OAuthResponse(payload, status_code=status_code)
        for name, value in headers:
            response.headers[name] = value
        return response

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """authlib's signals (after_authenticate_client, after_revoke_token): the provider
        audits in its own methods instead, so nothing listens here."""
