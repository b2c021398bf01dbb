"""``/audit``: the one audit stream (sign-in and admin events), oldest first, cursor paging
and ``since`` (:class:`idp.audit.AuditLog`, as ``idp audit export`` reads it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse, Response

from idp.admin.auth import Caller
from idp.admin.calls import Call, Refused, limit
from idp.admin.problems import problem
from idp.services import Services

__all__ = ["read_audit"]


def _since(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise Refused(problem(400, "since must be seconds since the epoch or an ISO 8601 "
                                   "time with a zone.", kind="invalid-query")) from None
    if moment.tzinfo is None:
        raise Refused(problem(400, "since needs a time zone (e.g. 2026-12-03T10:00:00Z).",
                              kind="invalid-query"))
    return moment.timestamp()


def read_audit(services: Services, caller: Caller, call: Call) -> Response:
    size = limit(call)
    cursor = call.query.get("cursor", "0")
    if not cursor.isdigit():
        return problem(400, "cursor must be the next_cursor of an earlier page.",
                       kind="invalid-query")
    items: list[dict[str, Any]] = []
    more = False
    since = _since(call.query.get("since"))
    for event in services.audit_log.events(after=int(cursor), since=since):
        if len(items) == size:
            more = True
            break
        items.append(event)
    next_cursor = str(items[-1]["seq"]) if more else None
    return JSONResponse({"items": items, "next_cursor": next_cursor},
                        headers={"Cache-Control": "no-store"})
