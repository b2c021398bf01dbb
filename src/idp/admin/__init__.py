"""``/admin/api/v1``: the operators' REST API (JSON, errors as RFC 9457 problems).

A room of its own above :mod:`idp.services` and below the composition root: it uses the same
services, and the same functions, as the ``idp`` commands (:class:`idp.users.Accounts`,
:mod:`idp.users.directory`, :mod:`idp.resets`, :class:`idp.oidc.clients.Clients`,
:class:`idp.audit.AuditLog`), so a rule holds the same whichever way an operator acts. Each
operation names the one scope it needs (:mod:`idp.admin.auth`) in :data:`OPERATIONS`; the
operations and their answers are described by :data:`idp.admin.openapi.DOCUMENT`, served at
``/admin/api/v1/openapi.json`` and checked against every response in the tests.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from idp.admin import clients, factors, sessions, stream, users
from idp.admin.calls import PREFIX, AdminState, Operation, route
from idp.admin.openapi import DOCUMENT
from idp.admin.problems import problem

__all__ = ["OPERATIONS", "PREFIX", "AdminState", "routes"]

USERS_READ, USERS_WRITE = "admin:users:read", "admin:users:write"
MFA_RESET, SESSIONS_REVOKE = "admin:mfa:reset", "admin:sessions:revoke"
CLIENTS_WRITE, AUDIT_READ = "admin:clients:write", "admin:audit:read"
_USER = "/users/{user_id}"
_CLIENT = "/clients/{client_id}"

# Order matters only where paths overlap: "...:disable" before "/users/{user_id}".
OPERATIONS: Final = (
    Operation("GET", "/users", "listUsers", USERS_READ, users.list_users),
    Operation("POST", "/users", "createUser", USERS_WRITE, users.create_user, "required"),
    Operation("POST", _USER + ":disable", "disableUser", USERS_WRITE, users.disable_user),
    Operation("POST", _USER + ":enable", "enableUser", USERS_WRITE, users.enable_user),
    Operation("POST", _USER + "/mfa:reset", "resetMfa", MFA_RESET, factors.reset_mfa,
              "required"),
    Operation("GET", _USER + "/methods", "listMethods", USERS_READ, factors.list_methods),
    Operation("DELETE", _USER + "/methods/{method_id}", "removeMethod", USERS_WRITE,
              factors.remove_method, "optional"),
    Operation("GET", _USER + "/sessions", "listSessions", USERS_READ, sessions.list_sessions),
    Operation("DELETE", _USER + "/sessions", "endAllSessions", SESSIONS_REVOKE,
              sessions.end_all_sessions),
    Operation("DELETE", _USER + "/sessions/{sid}", "endSession", SESSIONS_REVOKE,
              sessions.end_one_session),
    Operation("GET", _USER, "getUser", USERS_READ, users.get_user),
    Operation("PATCH", _USER, "updateUser", USERS_WRITE, users.update_user, "required"),
    Operation("DELETE", _USER, "deleteUser", USERS_WRITE, users.delete_user),
    Operation("GET", "/clients", "listClients", CLIENTS_WRITE, clients.list_clients),
    Operation("POST", "/clients", "createClient", CLIENTS_WRITE, clients.create_client,
              "required"),
    Operation("POST", _CLIENT + "/secret:rotate", "rotateClientSecret", CLIENTS_WRITE,
              clients.rotate_client_secret, "optional"),
    Operation("GET", _CLIENT, "getClient", CLIENTS_WRITE, clients.get_client),
    Operation("PATCH", _CLIENT, "updateClient", CLIENTS_WRITE, clients.update_client,
              "required"),
    Operation("DELETE", _CLIENT, "deleteClient", CLIENTS_WRITE, clients.delete_client),
    Operation("GET", "/audit", "readAudit", AUDIT_READ, stream.read_audit),
)


async def openapi(request: Request[AdminState]) -> Response:
    return JSONResponse(DOCUMENT)


async def not_found(request: Request[AdminState]) -> Response:
    return problem(404, "No such route in /admin/api/v1 (see openapi.json).")


_ANY_METHOD: Final = ("GET", "POST", "PUT", "PATCH", "DELETE")


def routes() -> list[BaseRoute]:
    return [Mount(PREFIX, routes=[
        Route("/openapi.json", openapi, methods=["GET"]),
        *(route(op) for op in OPERATIONS),
        Route("/{rest:path}", not_found, methods=list(_ANY_METHOD)),
    ])]
