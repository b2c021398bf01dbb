"""The OpenAPI 3.1 description of /admin/api/v1, written as data (served as is at
``/admin/api/v1/openapi.json``). The tests validate every response they get against it."""

from __future__ import annotations

from typing import Any, Final

__all__ = ["DOCUMENT"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, *, etag: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description,
                              "content": {"application/json": {"schema": schema}}}
    if etag:
        answer["headers"] = {"ETag": {"$ref": "#/components/headers/ETag"}}
    return answer


def _problems(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": f"#/components/responses/Problem{status}"}
            for status in statuses}


_AUTH: Final = (401, 403)
_USER_PARAM: Final = {"name": "user_id", "in": "path", "required": True,
                      "schema": {"type": "string"}}
_IF_MATCH: Final = {"name": "If-Match", "in": "header", "required": True,
                    "description": "The ETag of the user as last read (428 if missing, "
                                   "412 if stale).",
                    "schema": {"type": "string"}}
_LIMIT: Final = {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}
_CURSOR: Final = {"name": "cursor", "in": "query", "schema": {"type": "string"},
                  "description": "next_cursor of the previous page."}


def _op(op_id: str, scope: str, summary: str, responses: dict[str, Any], *,
        parameters: list[dict[str, Any]] | None = None,
        body: str | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": op_id, "summary": summary,
        "security": [{"nidan": [scope]}],
        "parameters": parameters or [],
        "responses": {**responses, **_problems(*_AUTH, 503)},
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _ref(body)}}}
    return operation


_STATUS_CHANGE: Final = {"200": _json(_ref("User"), "The user as now stored.", etag=True),
                         **_problems(404, 412, 428)}

DOCUMENT: Final[dict[str, Any]] = {
    "openapi": "3.1.0",
    "info": {"title": "Nidan admin API", "version": "1",
             "description": "Operators' API of the Nidan identity provider. Authenticate "
                            "with a client_credentials access token from Nidan carrying the "
                            "route's admin scope (granted with `idp clients add "
                            "--admin-scope`). Errors are RFC 9457 problem details."},
    "servers": [{"url": "/admin/api/v1"}],
    "paths": {
        "/users": {
            "get": _op("listUsers", "admin:users:read", "List or search users.", {
                "200": _json(_ref("UserPage"), "A page of users, ordered by id."),
                **_problems(400)}, parameters=[
                {"name": "q", "in": "query", "schema": {"type": "string"},
                 "description": "Substring of the email or display name."},
                {"name": "status", "in": "query",
                 "schema": {"enum": ["active", "disabled"]}}, _LIMIT, _CURSOR]),
            "post": _op("createUser", "admin:users:write", "Create a user.", {
                "201": _json(_ref("User"), "Created.", etag=True),
                **_problems(400, 409, 415, 422)}, body="NewUser"),
        },
        "/users/{user_id}": {
            "get": _op("getUser", "admin:users:read", "One user.", {
                "200": _json(_ref("User"), "The user.", etag=True), **_problems(404)},
                parameters=[_USER_PARAM]),
            "patch": _op("updateUser", "admin:users:write", "Change name or language.", {
                "200": _json(_ref("User"), "The user as now stored.", etag=True),
                **_problems(400, 404, 412, 415, 422, 428)},
                parameters=[_USER_PARAM, _IF_MATCH], body="UserChange"),
            "delete": _op("deleteUser", "admin:users:write", "Delete a user.", {
                "204": {"description": "Deleted."}, **_problems(404, 412, 428)},
                parameters=[_USER_PARAM, _IF_MATCH]),
        },
        "/users/{user_id}:disable": {
            "post": _op("disableUser", "admin:users:write", "Disable a user.",
                        dict(_STATUS_CHANGE), parameters=[_USER_PARAM, _IF_MATCH]),
        },
        "/users/{user_id}:enable": {
            "post": _op("enableUser", "admin:users:write", "Enable a user again.",
                        dict(_STATUS_CHANGE), parameters=[_USER_PARAM, _IF_MATCH]),
        },
        "/audit": {
            "get": _op("readAudit", "admin:audit:read", "The audit stream, oldest first.", {
                "200": _json(_ref("AuditPage"), "A page of events."), **_problems(400)},
                parameters=[{"name": "since", "in": "query", "schema": {"type": "string"},
                             "description": "Seconds since the epoch, or ISO 8601 with zone."},
                            _LIMIT, _CURSOR]),
        },
    },
    "components": {
        "securitySchemes": {"nidan": {
            "type": "oauth2", "flows": {"clientCredentials": {
                "tokenUrl": "/token", "scopes": {
                    "admin:users:read": "Read users.",
                    "admin:users:write": "Create, change, disable and delete users.",
                    "admin:audit:read": "Read the audit stream."}}}}},
        "headers": {"ETag": {"description": "Send it back in If-Match to write.",
                             "schema": {"type": "string"}}},
        "responses": {f"Problem{status}": {
            "description": title,
            "content": {"application/problem+json": {"schema": _ref("Problem")}}}
            for status, title in ((400, "Bad request"), (401, "No valid token"),
                                  (403, "The token lacks the scope"), (404, "Not found"),
                                  (409, "Conflict"), (412, "Stale ETag"),
                                  (415, "Not JSON"), (422, "Invalid field"),
                                  (428, "If-Match missing"),
                                  (503, "The store did not answer"))},
        "schemas": {
            "Problem": {"type": "object", "required": ["type", "title", "status", "detail"],
                        "additionalProperties": False, "properties": {
                            "type": {"type": "string"}, "title": {"type": "string"},
                            "status": {"type": "integer"}, "detail": {"type": "string"}}},
            "User": {"type": "object", "additionalProperties": False,
                     "required": ["id", "email", "display_name", "locale", "status",
                                  "security_epoch", "created_at", "updated_at",
                                  "has_password", "email_verified"],
                     "properties": {
                         "id": {"type": "string"}, "email": {"type": "string"},
                         "display_name": {"type": "string"},
                         "locale": {"enum": ["ja", "en"]},
                         "status": {"enum": ["active", "disabled"]},
                         "security_epoch": {"type": "integer"},
                         "created_at": {"type": "number"}, "updated_at": {"type": "number"},
                         "has_password": {"type": "boolean"},
                         "email_verified": {"type": "boolean"}}},
            "NewUser": {"type": "object", "required": ["email"], "additionalProperties": False,
                        "properties": {"email": {"type": "string"},
                                       "display_name": {"type": "string"},
                                       "locale": {"enum": ["ja", "en"]},
                                       "password": {"type": "string", "writeOnly": True}}},
            "UserChange": {"type": "object", "additionalProperties": False, "properties": {
                "display_name": {"type": "string"}, "locale": {"enum": ["ja", "en"]}}},
            "UserPage": {"type": "object", "required": ["items", "next_cursor"],
                         "additionalProperties": False, "properties": {
                             "items": {"type": "array", "items": _ref("User")},
                             "next_cursor": {"type": ["string", "null"]}}},
            "AuditEvent": {"type": "object", "additionalProperties": False,
                           "required": ["seq", "at", "actor", "action", "target", "result",
                                        "reason", "request_id", "address", "details",
                                        "prev", "hash"],
                           "properties": {
                               "seq": {"type": "integer", "minimum": 1},
                               "at": {"type": "number"}, "actor": {"type": "string"},
                               "action": {"type": "string"},
                               "target": {"type": ["string", "null"]},
                               "result": {"type": "string"},
                               "reason": {"type": ["string", "null"]},
                               "request_id": {"type": ["string", "null"]},
                               "address": {"type": ["string", "null"]},
                               "details": {"type": "object"},
                               "prev": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                               "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}},
            "AuditPage": {"type": "object", "required": ["items", "next_cursor"],
                          "additionalProperties": False, "properties": {
                              "items": {"type": "array", "items": _ref("AuditEvent")},
                              "next_cursor": {"type": ["string", "null"]}}},
        },
    },
}
