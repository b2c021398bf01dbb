"""RFC 9457 problem details: every error of /admin/api/v1 is one of these."""

from __future__ import annotations

import json
from typing import Final

from starlette.responses import Response

__all__ = ["PROBLEM_TYPE", "problem"]

PROBLEM_TYPE: Final = "application/problem+json"
_TITLES: Final = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 412: "Precondition Failed",
    415: "Unsupported Media Type", 422: "Unprocessable Content",
    428: "Precondition Required", 503: "Service Unavailable",
}


def problem(status: int, detail: str, *, kind: str | None = None,
            headers: dict[str, str] | None = None) -> Response:
    """``detail`` is ours (a fixed text or an operator-fit message), never a stack trace."""
    body = {"type": f"urn:nidan:admin:{kind}" if kind else "about:blank",
            "title": _TITLES.get(status, "Error"), "status": status, "detail": detail}
    return Response(json.dumps(body, ensure_ascii=False), status_code=status,
                    media_type=PROBLEM_TYPE,
                    headers={"Cache-Control": "no-store", **(headers or {})})
