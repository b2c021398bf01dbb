"""The public documents (discovery, JWKS) as bytes encoded once, with an ETag, answered
``304 Not Modified`` when the client already holds them (RFC 9110 8.8.3, 13.1.2)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from starlette.responses import Response

__all__ = ["conditional_response", "entity_tag"]

_JSON = "application/json"


def entity_tag(body: bytes) -> str:
    """A strong validator of ``body``: the same bytes give the same tag on every replica."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(if_none_match: str, tag: str) -> bool:
    """RFC 9110 13.1.2: a list of entity tags (or ``*``), compared weakly."""
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == tag:
            return True
    return False


def conditional_response(if_none_match: str | None, body: bytes, tag: str,
                         headers: Mapping[str, str]) -> Response:
    """``body`` with its ETag, or an empty 304 when ``If-None-Match`` names it."""
    all_headers = {**headers, "ETag": tag}
    if if_none_match and _matches(if_none_match, tag):
        return Response(status_code=304, headers=all_headers)
    return Response(body, media_type=_JSON, headers=all_headers)
