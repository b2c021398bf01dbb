"""``/users/{user_id}/sessions``: a person's SSO sessions, and ending them (a stolen laptop).

Ending one goes through :meth:`idp.oidc.logout.Logout.end`, as the person's own logout does:
the session's grants are revoked (refresh tokens included; offline ones outlive a session by
design, OIDC Back-Channel Logout 2.7) and every client it served gets a back-channel logout.
Ending all is :func:`idp.resets.end_access`: every session and trusted browser, and the
security epoch moves, so offline refresh tokens and sign-ins in progress stop too."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from idp.admin.auth import Caller
from idp.admin.calls import Call
from idp.admin.problems import problem
from idp.admin.users import existing
from idp.resets import end_access
from idp.services import Services
from idp.sessions import SsoSession

__all__ = ["end_all_sessions", "end_one_session", "list_sessions"]


def _session_json(services: Services, session: SsoSession) -> dict[str, Any]:
    return {"sid": session.sid, "browser": session.browser or None,
            "address": session.address, "created_at": session.created,
            "last_seen_at": session.last_seen, "auth_time": session.auth_time,
            "acr": session.acr, "amr": list(session.amr),
            "clients": sorted(services.sessions.clients(session.sid))}


def list_sessions(services: Services, caller: Caller, call: Call) -> Response:
    user = existing(services, call, write=False)
    live = [session for session in services.sessions.of_user(user.id)
            if session.epoch == user.security_epoch]
    return JSONResponse({"items": [_session_json(services, s) for s in live]},
                        headers={"Cache-Control": "no-store"})


def end_one_session(services: Services, caller: Caller, call: Call) -> Response:
    user = existing(services, call, write=False)
    session = services.sessions.by_sid(call.params["sid"])
    if session is None or session.user_id != user.id:
        return problem(404, "The user has no session with this sid.", kind="session-not-found")
    queued = services.oidc.logout.end(session, reason="admin", actor=caller.actor)
    return JSONResponse({"sessions_ended": 1, "browsers_revoked": 0,
                         "logouts_queued": queued}, headers={"Cache-Control": "no-store"})


def end_all_sessions(services: Services, caller: Caller, call: Call) -> Response:
    user = existing(services, call, write=False)
    before = len(services.sessions.of_user(user.id))
    ended = end_access(services, user.id, actor=caller.actor, reason="admin")
    return JSONResponse({"sessions_ended": before, "browsers_revoked": ended.browsers_revoked,
                         "logouts_queued": ended.logouts_queued},
                        headers={"Cache-Control": "no-store"})
