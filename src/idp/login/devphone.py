"""``/dev/outbox`` (dev mode only): the outbox shown as a phone's screen and a mailbox, newest
first, so a newcomer can walk the whole sign-in in a browser - SMS texts, the words of voice
calls, and the security notices and verification mails (subject and text part; the HTML part
is not rendered here). ``/dev/phone``, its old address, redirects to it.

The outbox transport writes every message, codes included, to a local file; it exists only
for development and tests, and so does this page: without ``[server] dev`` it is a 404.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.delivery.outbox import read_outbox
from idp.login.state import LoginState

__all__ = ["OUTBOX_PATH", "old_phone_page", "phone_page"]

DEFAULT_OUTBOX: Final = "var/outbox.jsonl"
OUTBOX_PATH: Final = "/dev/outbox"
# A phone shows the latest few; the page refreshes itself (no script needed).
SHOWN: Final = 20
REFRESH_S: Final = 5


def _messages(path: Path) -> list[dict[str, Any]]:
    shown = []
    for record in read_outbox(path, limit=SHOWN):
        at = record.get("at")
        channel = record.get("channel")
        shown.append({
            "channel": channel if channel in ("voice", "email") else "sms",
            "subject": str(record.get("subject", "")),
            "to": str(record.get("to", "")),
            "text": str(record.get("text", "")),
            "segments": [str(s) for s in record.get("segments") or []],
            "when": time.strftime("%H:%M:%S", time.localtime(at))
            if isinstance(at, int | float) else "",
        })
    return shown


async def phone_page(request: Request[LoginState]) -> Response:
    services = request.state["services"]
    if not services.settings.server.dev:
        raise HTTPException(404)
    transport = services.settings.delivery.transports.get("outbox") or {}
    path = Path(str(transport.get("path", DEFAULT_OUTBOX)))
    messages = await run_in_threadpool(_messages, path)
    return request.state["templates"].render(
        request, "login/phone.html", {"messages": messages, "refresh_s": REFRESH_S},
        headers={"Refresh": str(REFRESH_S)},
    )


async def old_phone_page(request: Request[LoginState]) -> Response:
    """``/dev/phone``: the page's old address (bookmarks, older docs)."""
    services = request.state["services"]
    if not services.settings.server.dev:
        raise HTTPException(404)
    return RedirectResponse(OUTBOX_PATH, status_code=308)
