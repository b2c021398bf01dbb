"""``/scim/v2``: SCIM 2.0 provisioning (RFC 7643, RFC 7644) of Nidan's users.

A room of its own above :mod:`idp.services` and below the composition root, like the admin
API: it uses the same services, and the same functions, as the ``idp`` commands
(:class:`idp.users.Accounts`). The protocol itself (routing, validation, filters, PATCH, PUT,
ETags and ``If-Match``, paging, sorting, the discovery endpoints, errors with ``scimType``)
is scim2-server's :class:`~scim2_server.handler.ScimHandler` over scim2-models; this room
adds the authentication (:mod:`idp.scim.auth`), the storage over the accounts
(:mod:`idp.scim.directory`) and the Starlette edge. See docs/scim.md.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Final, cast

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Patch,
    PatchOp,
    PayloadTooLargeException,
    Resource,
    ResourceType,
    ResponseParameters,
    SCIMException,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
)
from scim2_server.conditions import Conditions
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import SCIM_MEDIA_TYPE, ScimResponse
from scim2_server.routing import Operation
from scim2_server.service import ScimService
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from typing_extensions import ReadOnly, TypedDict

from idp.admin.auth import request_id_of
from idp.observability import request_context
from idp.scim.auth import SCOPE, Refused, authenticate
from idp.scim.directory import MODEL, Directory, User
from idp.services import Services
from idp.store import StoreError

__all__ = ["MAX_RESULTS", "PREFIX", "SCOPE", "ScimState", "routes"]

PREFIX: Final = "/scim/v2"
MAX_RESULTS: Final = 200
_MAX_BODY: Final = 256 * 1024
_METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE")
_log = logging.getLogger("idp.scim")


class ScimState(TypedDict):
    services: ReadOnly[Services]


def _provider() -> ScimProvider:
    config = ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=True),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        authentication_schemes=[AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken, name="OAuth Bearer Token",
            description=f"A client_credentials access token of this Nidan with the scope "
                        f"{SCOPE}, granted by the operator, or a provisioning token of the "
                        "same client (idp clients scim-token).", primary=True)],
    )
    return ScimProvider(models=[User, EnterpriseUser],
                        resource_types=[ResourceType.from_resource(MODEL)], config=config)


class _Service(ScimService):
    def patch_response(self, base_url: str, resource: Resource[Any],
                       response_parameters: ResponseParameters[Any]) -> ScimResponse:
        """A PATCH answers 200 with the resource (RFC 7644 3.5.2 allows that or a 204; the
        directories we know read the body)."""
        published = self.publish(base_url, resource)
        return self.resource_response(published, Context.RESOURCE_REPLACEMENT_RESPONSE,
                                      response_parameters)


SERVICE: Final = _Service(_provider())


def _json(response: ScimResponse) -> Response:
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    headers["Cache-Control"] = "no-store"
    body = b"" if response.body is None else json.dumps(response.body,
                                                        ensure_ascii=False).encode()
    return Response(body, status_code=int(response.status), headers=headers,
                    media_type=SCIM_MEDIA_TYPE if response.body is not None else None)


class Handler(ScimHandler):
    """scim2-server's handler, telling the directory when a PATCH is being applied."""

    def patch_resource(self, resource_type: ResourceType, resource_id: str,
                       patch_op: PatchOp[Any], conditions: Conditions) -> Resource[Any]:
        directory = cast(Directory, self.storage)
        directory.patching = True
        try:
            return super().patch_resource(resource_type, resource_id, patch_op, conditions)
        finally:
            directory.patching = False


class _Unavailable(SCIMException):
    status = 503
    _default_detail = "The store did not answer; try again."


def _serve(services: Services, request: ScimRequest, authorization: str | None
           ) -> ScimResponse:
    """One request, in the thread pool: authenticate, then scim2-server over the directory."""
    try:
        if SERVICE.match(request).operation is Operation.service_provider_config:
            client_id = ""  # RFC 7644 4: the configuration needs no authentication
        else:
            client_id = authenticate(services, authorization)
        return Handler(SERVICE, Directory(services, client_id)).handle(request)
    except Refused as refused:
        response = SERVICE.error_response(refused.error)
        response.headers["WWW-Authenticate"] = refused.challenge
        return response
    except SCIMException as exc:
        return SERVICE.error_response(exc)
    except StoreError:
        response = SERVICE.error_response(_Unavailable())
        response.headers["Retry-After"] = "1"
        return response
    except Exception as exc:  # a bug: a plain 500, its name logged, never a trace or a value
        _log.error("scim request failed: %s", type(exc).__name__)
        return SERVICE.error_response(exc)


async def endpoint(request: Request[ScimState]) -> Response:
    services = request.state["services"]
    body = b""
    async for chunk in request.stream():  # never more than the limit held in memory
        body += chunk
        if len(body) > _MAX_BODY:
            return _json(SERVICE.error_response(PayloadTooLargeException(
                detail=f"The body is over {_MAX_BODY} bytes.")))
    path = "/" + str(request.path_params.get("path", ""))
    scim_request = ScimRequest(
        method=request.method, base_url=services.oidc.issuer.rstrip("/") + PREFIX,
        path=path.removesuffix(".scim"), query=dict(request.query_params),
        headers=list(request.headers.items()), body=body)
    address = request.client.host if request.client else None
    authorization = request.headers.get("authorization")

    def run() -> ScimResponse:
        with request_context(request_id=request_id_of(request), address=address):
            return _serve(services, scim_request, authorization)

    return _json(await run_in_threadpool(run))


def routes() -> list[BaseRoute]:
    return [Mount(PREFIX, routes=[Route("/{path:path}", endpoint, methods=list(_METHODS))])]
