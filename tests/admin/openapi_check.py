"""Every response of /admin/api/v1 checked against the OpenAPI document the API serves."""

from __future__ import annotations

from typing import Any

import httpx
from jsonschema import Draft202012Validator

from idp.admin.openapi import DOCUMENT

PREFIX = "/admin/api/v1"


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = DOCUMENT
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def checked(response: httpx.Response, method: str, template: str) -> httpx.Response:
    """Fails unless the document describes this status of this operation and the body (and
    a declared ETag header) matches its schema. Returns the response for chaining."""
    operation = DOCUMENT["paths"][template][method.lower()]
    described = operation["responses"].get(str(response.status_code))
    assert described is not None, (
        f"{method} {template}: status {response.status_code} is not in the OpenAPI document "
        f"({response.text[:200]})")
    described = _resolve(described)
    content = described.get("content")
    if content is None:
        assert response.content == b"", f"{method} {template}: a body where none is described"
        return response
    media = response.headers.get("content-type", "").split(";")[0]
    assert media in content, f"{method} {template}: {media} is not {list(content)}"
    schema = {**content[media]["schema"], "components": DOCUMENT["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(response.json()), key=str)
    assert not errors, f"{method} {template} {response.status_code}: {errors[0].message}"
    for header, spec in described.get("headers", {}).items():
        if _resolve(spec).get("required"):
            assert header.lower() in response.headers, f"{method} {template}: no {header}"
    return response
