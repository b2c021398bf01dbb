"""JSON Schemas (draft 2020-12) of what /admin/api/v1 reads and answers, for the OpenAPI
document (:mod:`idp.admin.openapi`). Clients' schemas are made from
:class:`idp.oidc.clients.ClientConfig`, so they follow its settings."""

from __future__ import annotations

from typing import Any, Final

from idp.methods import Channel
from idp.oidc.clients import MAX_SECRET_OVERLAP_S, ClientConfig

__all__ = ["SCHEMAS"]

_STRING: Final = {"type": "string"}
_TIME: Final = {"type": "number", "description": "Seconds since the epoch."}
_MAYBE_TIME: Final = {"type": ["number", "null"], "description": "Seconds since the epoch."}
_COUNT: Final = {"type": "integer", "minimum": 0}
_REASON: Final = {"type": "string", "minLength": 1, "maxLength": 500,
                  "description": "Why (goes in the audit)."}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], *, required: tuple[str, ...] | None = None
            ) -> dict[str, Any]:
    """A closed object; every property required unless ``required`` says which."""
    return {"type": "object", "additionalProperties": False,
            "required": list(properties) if required is None else list(required),
            "properties": properties}


def _page(item: str) -> dict[str, Any]:
    return _object({"items": {"type": "array", "items": _ref(item)},
                    "next_cursor": {"type": ["string", "null"]}})


# Set by the provider only: never sent, never shown (has_secret says whether there is one).
_SECRET_SETTINGS: Final = ("secret_hash", "previous_secret_hash", "previous_secret_valid_until")


def _client_settings() -> dict[str, Any]:
    schema = ClientConfig.model_json_schema(mode="serialization")
    if "$defs" in schema:  # a nested model would need its $defs moved into components
        raise TypeError("ClientConfig has nested settings: describe them in components")
    properties: dict[str, Any] = schema["properties"]
    for value in properties.values():
        value.pop("title", None)
    return properties


_SETTINGS: Final = _client_settings()
_SENT: Final = {k: v for k, v in _SETTINGS.items() if k not in _SECRET_SETTINGS}
_SHOWN: Final = {**{k: v for k, v in _SETTINGS.items() if k not in _SECRET_SETTINGS[:2]},
                 "has_secret": {"type": "boolean"}, "source": {"enum": ["file", "store"]}}

SCHEMAS: Final[dict[str, Any]] = {
    "Problem": _object({"type": _STRING, "title": _STRING, "status": {"type": "integer"},
                        "detail": _STRING}),
    # -- users
    "User": _object({
        "id": _STRING, "email": _STRING, "display_name": _STRING,
        "locale": {"enum": ["ja", "en"]}, "status": {"enum": ["active", "disabled"]},
        "security_epoch": {"type": "integer"}, "created_at": _TIME, "updated_at": _TIME,
        "has_password": {"type": "boolean"}, "email_verified": {"type": "boolean"}}),
    "NewUser": _object({"email": _STRING, "display_name": _STRING,
                        "locale": {"enum": ["ja", "en"]},
                        "password": {"type": "string", "writeOnly": True}},
                       required=("email",)),
    "UserChange": _object({"display_name": _STRING, "locale": {"enum": ["ja", "en"]}},
                          required=()),
    "UserPage": _page("User"),
    # -- second factors
    "MethodKey": _object({"id": _STRING, "name": _STRING, "created_at": _TIME,
                          "last_used_at": _MAYBE_TIME, "blocked": {"type": "boolean"}}),
    "Method": _object({
        "id": _STRING, "kind": {"type": "string", "description": "The method (totp, sms, "
                                                                 "voice, webauthn, ...)."},
        "role": {"enum": ["primary", "backup"]}, "label": _STRING,
        "description": {"type": "string", "description": "As the person's settings page "
                                                         "shows it (a masked number)."},
        "channel": {"enum": [*(channel.value for channel in Channel), None]},
        "created_at": _TIME,
        "last_used_at": {"type": ["number", "null"], "description": "The latest use of a "
                         "key, for methods with keys; null where uses are not recorded."},
        "disabled": {"type": "boolean", "description": "Locked by too many wrong codes."},
        "source": {"enum": ["enrolled", "imported"]},
        "keys": {"type": "array", "items": _ref("MethodKey")}}),
    "MethodList": _object({"items": {"type": "array", "items": _ref("Method")},
                           "enrolled": {"type": "boolean"},
                           "recovery_codes_left": _COUNT}),
    "MethodRemoval": _object({"force": {"type": "boolean", "default": False},
                              "reason": {**_REASON, "description": "Required with force."}},
                             required=()),
    "MfaReset": _object({"reason": _REASON}),
    "MfaResetResult": _object({
        "user_id": _STRING, "methods_removed": _COUNT, "browsers_revoked": _COUNT,
        "logouts_queued": _COUNT,
        "enrollment_code": {"type": "string", "description": "One-time; hand it to the "
                            "person, who enters it before setting up new methods. Never "
                            "shown again except to a repeat of this Idempotency-Key."},
        "enrollment_code_expires_at": _TIME}),
    # -- sessions
    "Session": _object({
        "sid": _STRING,
        "browser": {"type": ["string", "null"], "description": "From the User-Agent; null "
                    "for sessions from before it was recorded."},
        "address": {"type": ["string", "null"]}, "created_at": _TIME, "last_seen_at": _TIME,
        "auth_time": _TIME, "acr": _STRING, "amr": {"type": "array", "items": _STRING},
        "clients": {"type": "array", "items": _STRING,
                    "description": "The clients it signed in to."}}),
    "SessionList": _object({"items": {"type": "array", "items": _ref("Session")}}),
    "SessionsEnded": _object({"sessions_ended": _COUNT, "browsers_revoked": _COUNT,
                              "logouts_queued": _COUNT}),
    # -- clients
    "Client": _object({**_SHOWN, "previous_secret_valid_until": {
        **_SETTINGS["previous_secret_valid_until"],
        "description": "Until when the secret before the last rotation still works."}}),
    "NewClient": _object(_SENT, required=("client_id",)),
    "ClientChange": _object({k: v for k, v in _SENT.items() if k != "client_id"},
                            required=()),
    "ClientCreated": _object({"client": _ref("Client"), "client_secret": {
        "type": ["string", "null"], "writeOnly": False,
        "description": "Shown once (null for a public or private_key_jwt client)."}}),
    "ClientList": _object({"items": {"type": "array", "items": _ref("Client")}}),
    "SecretRotation": _object({"overlap_s": {
        "type": "integer", "minimum": 0, "maximum": MAX_SECRET_OVERLAP_S, "default": 0,
        "description": "How long the old secret stays valid beside the new one."}},
        required=()),
    "RotatedSecret": _object({"client_id": _STRING, "client_secret": {
        "type": "string", "description": "Shown once."},
        "previous_secret_valid_until": _MAYBE_TIME}),
    # -- audit
    "AuditEvent": _object({
        "seq": {"type": "integer", "minimum": 1}, "at": _TIME, "actor": _STRING,
        "action": _STRING, "target": {"type": ["string", "null"]}, "result": _STRING,
        "reason": {"type": ["string", "null"]}, "request_id": {"type": ["string", "null"]},
        "address": {"type": ["string", "null"]}, "details": {"type": "object"},
        "prev": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}),
    "AuditPage": _page("AuditEvent"),
}
