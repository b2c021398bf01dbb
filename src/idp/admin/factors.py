"""``/users/{user_id}/methods`` and ``:mfa:reset``: a person's second factors, described and
never secret; the operator's reset (BEHAVIOUR C3), the very function ``idp users reset-2sv``
calls (:func:`idp.resets.reset_two_step`); and removing one method, refused when it would
leave fewer than a verified pair (E2, E3: :meth:`idp.methods.service.MethodService.remove`,
the rule the person's own settings pages follow) unless forced with a reason."""

from __future__ import annotations

import json
from typing import Any, Final

from starlette.responses import JSONResponse, Response

from idp.admin.auth import Caller
from idp.admin.calls import Call, Refused, fields
from idp.admin.idempotency import TTL_S, once
from idp.admin.problems import problem
from idp.admin.users import existing
from idp.crypto import DataKeys
from idp.methods import MethodError, TooFewMethods
from idp.methods.core import CredentialView
from idp.methods.credentials import Role
from idp.resets import reset_two_step
from idp.services import Services
from idp.users import User, method_user

__all__ = ["list_methods", "remove_method", "reset_mfa"]

# A reason is for people reading the audit later: a sentence, not an essay.
_MAX_REASON: Final = 500


def _last_used(view: CredentialView) -> float | None:
    # Only methods with several keys record each use (the signature counter); code methods
    # are not written to on every sign-in, so for them this is unknown (null).
    used = [key.last_used_at for key in view.keys if key.last_used_at is not None]
    return max(used) if used else None


def _method_json(view: CredentialView) -> dict[str, Any]:
    return {"id": view.id, "kind": view.method, "role": view.role, "label": view.label,
            "description": view.description,
            "channel": None if view.channel is None else view.channel.value,
            "created_at": view.created_at, "last_used_at": _last_used(view),
            "disabled": view.disabled, "source": view.source,
            "keys": [{"id": key.id, "name": key.name, "created_at": key.created_at,
                      "last_used_at": key.last_used_at, "blocked": key.blocked}
                     for key in view.keys]}


def _views(services: Services, call: Call) -> tuple[User, dict[Role, CredentialView]]:
    user = existing(services, call, write=False)
    views = services.methods.credentials(method_user(user, "en"))
    return user, views


def list_methods(services: Services, caller: Caller, call: Call) -> Response:
    user, views = _views(services, call)
    ordered = sorted(views.values(), key=lambda view: view.role != "primary")
    return JSONResponse({"items": [_method_json(view) for view in ordered],
                         "enrolled": services.methods.is_enrolled(user.id),
                         "recovery_codes_left": services.methods.recovery_codes_left(user.id)},
                        headers={"Cache-Control": "no-store"})


def _reason(body: dict[str, Any], *, required: bool) -> str | None:
    reason = body.get("reason")
    if reason is None and not required:
        return None
    if not isinstance(reason, str) or not reason.strip() or len(reason) > _MAX_REASON:
        raise Refused(problem(422, f"reason must be a sentence of 1-{_MAX_REASON} characters "
                                   "saying why (it goes in the audit).", kind="invalid-body"))
    return reason.strip()


def reset_mfa(services: Services, caller: Caller, call: Call) -> Response:
    body = fields(call.body, {"reason": str}, required=("reason",))
    reason = _reason(body, required=True)
    user = existing(services, call, write=False)

    def work() -> Response:
        done = reset_two_step(services, user, actor=caller.actor, reason=reason)
        lifetime = services.settings.lifetimes.reenrollment_code_s
        return JSONResponse({
            "user_id": user.id, "methods_removed": done.methods_removed,
            "browsers_revoked": done.browsers_revoked, "logouts_queued": done.logouts_queued,
            "enrollment_code": done.enrollment_code,
            "enrollment_code_expires_at": round(services.oidc.clock() + lifetime, 3),
        }, headers={"Cache-Control": "no-store"})

    fingerprint = json.dumps(["resetMfa", user.id, reason])
    return once(services.store, DataKeys.from_settings(services.settings.secrets),
                client_id=caller.client_id, key=call.idempotency_key,
                fingerprint=fingerprint, work=work, secret_fields=("enrollment_code",),
                ttl_s=min(TTL_S, services.settings.lifetimes.reenrollment_code_s))


def remove_method(services: Services, caller: Caller, call: Call) -> Response:
    body = fields(call.body, {"force": bool, "reason": str})
    force = body.get("force", False)
    reason = _reason(body, required=force)
    user, views = _views(services, call)
    view = next((v for v in views.values() if v.id == call.params["method_id"]), None)
    if view is None:
        return problem(404, "The user has no method with this id.", kind="method-not-found")
    try:
        services.methods.remove(method_user(user), view.role,
                                forced_by=caller.actor if force else None)
    except TooFewMethods:
        return problem(409, "Removing it would leave fewer than two verified methods (E2, "
                            "E3): the person should replace it from their settings, or send "
                            '{"force": true, "reason": "..."} to remove it anyway.',
                       kind="too-few-methods")
    except MethodError as exc:
        return problem(409, exc.detail or str(exc), kind=exc.code.replace("_", "-"))
    services.audit.emit("admin.method_removed", actor=caller.actor, target=user.id,
                        credential_id=view.id, method=view.method, role=view.role,
                        forced=force, reason=reason)
    return Response(status_code=204)
