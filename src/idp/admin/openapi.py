"""The OpenAPI 3.1 description of /admin/api/v1, written as data (served as is at
``/admin/api/v1/openapi.json``). The tests validate every response they get against it, and
fail when an operation is served but not described or described but not served.

The schemas of clients come from :class:`idp.oidc.clients.ClientConfig` itself (pydantic's
JSON Schema, draft 2020-12), so a setting added there is described here without a second
list; the rest are in :mod:`idp.admin.schemas`."""

from __future__ import annotations

from typing import Any, Final

from idp.admin.schemas import SCHEMAS

__all__ = ["DOCUMENT"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: str, description: str, *, etag: bool = False,
          replay: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description,
                              "content": {"application/json": {"schema": _ref(schema)}}}
    headers: dict[str, Any] = {}
    if etag:
        headers["ETag"] = {"$ref": "#/components/headers/ETag"}
    if replay:
        headers["Idempotent-Replayed"] = {"$ref": "#/components/headers/IdempotentReplayed"}
    if headers:
        answer["headers"] = headers
    return answer


def _none(description: str) -> dict[str, Any]:
    return {"description": description}


def _problems(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": f"#/components/responses/Problem{status}"}
            for status in statuses}


def _path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string"}}


_USER: Final = _path("user_id", "The user's id.")
_CLIENT: Final = _path("client_id", "The client's id.")
_METHOD: Final = _path("method_id", "The method's id (from listMethods).")
_SID: Final = _path("sid", "The session's public id (the sid claim).")
_IF_MATCH: Final = {"name": "If-Match", "in": "header", "required": True,
                    "description": "The ETag of the user as last read (428 if missing, "
                                   "412 if stale).",
                    "schema": {"type": "string"}}
_IDEMPOTENCY: Final = {"name": "Idempotency-Key", "in": "header", "required": True,
                       "description": "A fresh random value per intended call (1-255 "
                                      "printable ASCII). The same key again, from the same "
                                      "client, within 24 hours, returns the first answer and "
                                      "changes nothing; with another request: 422.",
                       "schema": {"type": "string", "minLength": 1, "maxLength": 255}}
_LIMIT: Final = {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}
_CURSOR: Final = {"name": "cursor", "in": "query", "schema": {"type": "string"},
                  "description": "next_cursor of the previous page."}
_BODY_PROBLEMS: Final = (400, 415, 422)  # not JSON, not application/json, invalid field


def _op(op_id: str, scope: str, summary: str, responses: dict[str, Any], *,
        parameters: list[dict[str, Any]] | None = None, body: str | None = None,
        body_required: bool = True) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": op_id, "summary": summary,
        "security": [{"nidan": [scope]}],
        "parameters": parameters or [],
        "responses": {**responses, **_problems(401, 403, 503)},
    }
    if body is not None:
        operation["requestBody"] = {"required": body_required, "content": {
            "application/json": {"schema": _ref(body)}}}
        operation["responses"].update(_problems(*_BODY_PROBLEMS))
    return operation


_READ, _WRITE = "admin:users:read", "admin:users:write"
_MFA, _SESSIONS = "admin:mfa:reset", "admin:sessions:revoke"
_CLIENTS, _AUDIT = "admin:clients:write", "admin:audit:read"
_STATUS_CHANGE: Final = {"200": _json("User", "The user as now stored.", etag=True),
                         **_problems(404, 412, 422, 428)}

_PATHS: Final[dict[str, Any]] = {
    "/users": {
        "get": _op("listUsers", _READ, "List or search users.", {
            "200": _json("UserPage", "A page of users, ordered by id."), **_problems(400)},
            parameters=[
                {"name": "q", "in": "query", "schema": {"type": "string"},
                 "description": "Substring of the email or display name."},
                {"name": "status", "in": "query", "schema": {"enum": ["active", "disabled"]}},
                _LIMIT, _CURSOR]),
        "post": _op("createUser", _WRITE, "Create a user.", {
            "201": _json("User", "Created.", etag=True), **_problems(409)}, body="NewUser"),
    },
    "/users/{user_id}": {
        "get": _op("getUser", _READ, "One user.", {
            "200": _json("User", "The user.", etag=True), **_problems(404)},
            parameters=[_USER]),
        "patch": _op("updateUser", _WRITE, "Change name or language.", {
            "200": _json("User", "The user as now stored.", etag=True),
            **_problems(404, 412, 428)}, parameters=[_USER, _IF_MATCH], body="UserChange"),
        "delete": _op("deleteUser", _WRITE, "Delete a user and what is theirs.", {
            "204": _none("Deleted."), **_problems(404, 412, 422, 428)},
            parameters=[_USER, _IF_MATCH]),
    },
    "/users/{user_id}:disable": {
        "post": _op("disableUser", _WRITE, "Disable a user: sessions, trusted browsers and "
                    "refresh tokens end, the clients get back-channel logout.",
                    dict(_STATUS_CHANGE), parameters=[_USER, _IF_MATCH]),
    },
    "/users/{user_id}:enable": {
        "post": _op("enableUser", _WRITE, "Enable a user again.", dict(_STATUS_CHANGE),
                    parameters=[_USER, _IF_MATCH]),
    },
    "/users/{user_id}/methods": {
        "get": _op("listMethods", _READ, "The user's second factors (never a secret).", {
            "200": _json("MethodList", "The methods, primary first."), **_problems(404)},
            parameters=[_USER]),
    },
    "/users/{user_id}/methods/{method_id}": {
        "delete": _op("removeMethod", _WRITE, "Remove one method; refused (409) when it "
                      "would leave fewer than a verified pair (E2, E3) unless forced.", {
                          "204": _none("Removed."), **_problems(404, 409)},
                      parameters=[_USER, _METHOD], body="MethodRemoval", body_required=False),
    },
    "/users/{user_id}/mfa:reset": {
        "post": _op("resetMfa", _MFA, "Reset two-step verification (BEHAVIOUR C3): methods, "
                    "recovery codes, trusted browsers, sessions and refresh tokens go at "
                    "once; the answer carries the one-time enrollment code.", {
                        "200": _json("MfaResetResult", "Done (or the first answer to this "
                                     "Idempotency-Key again).", replay=True),
                        **_problems(404, 409)},
                    parameters=[_USER, _IDEMPOTENCY], body="MfaReset"),
    },
    "/users/{user_id}/sessions": {
        "get": _op("listSessions", _READ, "The user's live SSO sessions.", {
            "200": _json("SessionList", "Oldest first."), **_problems(404)},
            parameters=[_USER]),
        "delete": _op("endAllSessions", _SESSIONS, "End every session and trusted browser "
                      "(back-channel logout, refresh tokens revoked, offline ones too).", {
                          "200": _json("SessionsEnded", "Ended."), **_problems(404)},
                      parameters=[_USER]),
    },
    "/users/{user_id}/sessions/{sid}": {
        "delete": _op("endSession", _SESSIONS, "End one session (back-channel logout, its "
                      "refresh tokens revoked).", {
                          "200": _json("SessionsEnded", "Ended."), **_problems(404)},
                      parameters=[_USER, _SID]),
    },
    "/clients": {
        "get": _op("listClients", _CLIENTS, "Every client, from the file and the store.", {
            "200": _json("ClientList", "The clients.")}),
        "post": _op("createClient", _CLIENTS, "Add a client; a secret client's secret is in "
                    "the answer, once.", {
                        "201": _json("ClientCreated", "Added."), **_problems(409)},
                    body="NewClient"),
    },
    "/clients/{client_id}": {
        "get": _op("getClient", _CLIENTS, "One client (never its secret).", {
            "200": _json("Client", "The client."), **_problems(404)}, parameters=[_CLIENT]),
        "patch": _op("updateClient", _CLIENTS, "Change a stored client's settings.", {
            "200": _json("Client", "The client as now stored."), **_problems(404, 409)},
            parameters=[_CLIENT], body="ClientChange"),
        "delete": _op("deleteClient", _CLIENTS, "Delete a stored client.", {
            "204": _none("Deleted."), **_problems(404, 409)}, parameters=[_CLIENT]),
    },
    "/clients/{client_id}/secret:rotate": {
        "post": _op("rotateClientSecret", _CLIENTS, "A new secret (shown once); the old one "
                    "stays valid for overlap_s seconds, then only the new one works.", {
                        "200": _json("RotatedSecret", "Rotated."), **_problems(404, 409)},
                    parameters=[_CLIENT], body="SecretRotation", body_required=False),
    },
    "/audit": {
        "get": _op("readAudit", _AUDIT, "The audit stream, oldest first.", {
            "200": _json("AuditPage", "A page of events."), **_problems(400)},
            parameters=[{"name": "since", "in": "query", "schema": {"type": "string"},
                         "description": "Seconds since the epoch, or ISO 8601 with zone."},
                        _LIMIT, _CURSOR]),
    },
}

_PROBLEM_TITLES: Final = (
    (400, "Bad request (query, body or Idempotency-Key)"), (401, "No valid token"),
    (403, "The token lacks the scope, or the client is beyond the caller's scopes"),
    (404, "Not found"), (409, "Conflict"), (412, "Stale ETag"), (415, "Not JSON"),
    (422, "Invalid field"), (428, "If-Match missing"), (503, "The store did not answer"))

DOCUMENT: Final[dict[str, Any]] = {
    "openapi": "3.1.0",
    "info": {"title": "Nidan admin API", "version": "1",
             "description": "Operators' API of the Nidan identity provider. Authenticate "
                            "with a client_credentials access token from Nidan carrying the "
                            "route's admin scope (granted with `idp clients add "
                            "--admin-scope`). Errors are RFC 9457 problem details; every "
                            "refused call is an audit event (admin.refused)."},
    "servers": [{"url": "/admin/api/v1"}],
    "paths": _PATHS,
    "components": {
        "securitySchemes": {"nidan": {
            "type": "oauth2", "flows": {"clientCredentials": {
                "tokenUrl": "/token", "scopes": {
                    _READ: "Read users, their methods and sessions.",
                    _WRITE: "Create, change, disable and delete users; remove a method.",
                    _MFA: "Reset a user's two-step verification.",
                    _SESSIONS: "End a user's sessions.",
                    _CLIENTS: "Read, add, change, delete clients; rotate their secrets.",
                    _AUDIT: "Read the audit stream."}}}}},
        "headers": {
            "ETag": {"description": "Send it back in If-Match to write.", "required": True,
                     "schema": {"type": "string"}},
            "IdempotentReplayed": {"description": "true when this is the stored first "
                                                  "answer to the Idempotency-Key.",
                                   "schema": {"const": "true"}}},
        "responses": {f"Problem{status}": {
            "description": title,
            "content": {"application/problem+json": {"schema": _ref("Problem")}}}
            for status, title in _PROBLEM_TITLES},
        "schemas": SCHEMAS,
    },
}
