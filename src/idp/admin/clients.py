"""``/clients``: the relying parties and service clients, as ``idp clients ...`` manages them
(:class:`idp.oidc.clients.Clients`): list, add, show, change, delete, and rotate a secret
with an overlap window (old and new both valid until a time; the new one shown once).

Secrets are never shown again nor stored in clear (only their hashes). A caller reaches only
clients whose admin scopes it holds itself: ``admin:clients:write`` alone never lets one
create, change, rotate the secret of, or delete a client that could do more than it can
(otherwise it would grant itself every scope through a client of its own making).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from idp.admin.auth import Caller
from idp.admin.calls import PREFIX, Call, Refused, fields
from idp.admin.problems import problem
from idp.oidc.clients import (
    MAX_SECRET_OVERLAP_S,
    SECRET_METHODS,
    Client,
    ClientConfigError,
    ClientError,
    client_config,
    hash_secret,
    new_secret,
)
from idp.services import Services

__all__ = ["create_client", "delete_client", "get_client", "list_clients",
           "rotate_client_secret", "update_client"]

_NO_STORE = {"Cache-Control": "no-store"}
# Set by the provider, never sent: secrets come from here, once.
_NOT_SENT = frozenset({"secret_hash", "previous_secret_hash", "previous_secret_valid_until"})


def _caller_scopes(services: Services, caller: Caller) -> set[str]:
    own = services.oidc.clients.get(caller.client_id)
    return set() if own is None else set(own.config.admin_scopes)


def _within_reach(services: Services, caller: Caller, admin_scopes: list[str]) -> None:
    beyond = sorted(set(admin_scopes) - _caller_scopes(services, caller))
    if beyond:
        raise Refused(problem(403, f"This client holds admin scope(s) the caller does not: "
                                   f"{', '.join(beyond)}.", kind="beyond-caller-scopes"))


def _existing(services: Services, call: Call) -> Client:
    client = services.oidc.clients.get(call.params["client_id"])
    if client is None:
        raise Refused(problem(404, "No such client.", kind="client-not-found"))
    return client


def _refusal(exc: Exception) -> Response:
    if isinstance(exc, ClientConfigError):
        return problem(422, "; ".join(str(exc).splitlines()), kind="invalid-client")
    return problem(409, str(exc), kind="client-conflict")


def _sent_settings(body: dict[str, Any]) -> dict[str, Any]:
    sent = sorted(set(body) & _NOT_SENT)
    if sent:
        raise Refused(problem(422, f"{', '.join(sent)} cannot be sent: the provider makes "
                                   "secrets (rotate with secret:rotate).", kind="invalid-body"))
    return body


def list_clients(services: Services, caller: Caller, call: Call) -> Response:
    return JSONResponse({"items": [client.public() for client in services.oidc.clients.all()]},
                        headers=_NO_STORE)


def get_client(services: Services, caller: Caller, call: Call) -> Response:
    return JSONResponse(_existing(services, call).public(), headers=_NO_STORE)


def create_client(services: Services, caller: Caller, call: Call) -> Response:
    data = dict(_sent_settings(call.body))
    scopes = data.get("admin_scopes", [])
    _within_reach(services, caller, scopes if isinstance(scopes, list) else [])
    secret: str | None = None
    if data.get("token_endpoint_auth_method", "client_secret_basic") in SECRET_METHODS:
        secret = new_secret()
        data["secret_hash"] = hash_secret(secret)
    try:
        client = services.oidc.clients.add(client_config(data, "client"), actor=caller.actor)
    except (ClientError, ClientConfigError) as exc:
        return _refusal(exc)
    return JSONResponse({"client": client.public(), "client_secret": secret}, status_code=201,
                        headers={**_NO_STORE,
                                 "Location": f"{PREFIX}/clients/{client.client_id}"})


def update_client(services: Services, caller: Caller, call: Call) -> Response:
    changes = _sent_settings(call.body)
    if "client_id" in changes:
        return problem(422, "client_id names the client: it cannot change (add another).",
                       kind="invalid-body")
    client = _existing(services, call)
    _within_reach(services, caller, client.config.admin_scopes)
    scopes = changes.get("admin_scopes", [])
    _within_reach(services, caller, scopes if isinstance(scopes, list) else [])
    try:
        updated = services.oidc.clients.update(client.client_id, dict(changes),
                                               actor=caller.actor)
    except (ClientError, ClientConfigError) as exc:
        return _refusal(exc)
    return JSONResponse(updated.public(), headers=_NO_STORE)


def delete_client(services: Services, caller: Caller, call: Call) -> Response:
    client = _existing(services, call)
    _within_reach(services, caller, client.config.admin_scopes)
    try:
        services.oidc.clients.delete(client.client_id, actor=caller.actor)
    except ClientError as exc:
        return _refusal(exc)
    return Response(status_code=204)


def rotate_client_secret(services: Services, caller: Caller, call: Call) -> Response:
    body = fields(call.body, {"overlap_s": int})
    overlap = body.get("overlap_s", 0)
    if not 0 <= overlap <= MAX_SECRET_OVERLAP_S:
        return problem(422, f"overlap_s must be 0 to {MAX_SECRET_OVERLAP_S}.",
                       kind="invalid-body")
    client = _existing(services, call)
    _within_reach(services, caller, client.config.admin_scopes)
    try:
        secret = services.oidc.clients.rotate_secret(client.client_id, actor=caller.actor,
                                                     overlap_s=overlap)
    except ClientError as exc:
        return _refusal(exc)
    rotated = services.oidc.clients.get(client.client_id)
    until = None if rotated is None else rotated.config.previous_secret_valid_until
    return JSONResponse({"client_id": client.client_id, "client_secret": secret,
                         "previous_secret_valid_until": until}, headers=_NO_STORE)
