"""Every name this package takes from authlib, imported in one place.

authlib ships no type information (no ``py.typed``, no stubs), so each import needs mypy's
leave; here, once. The names are ``Any`` to mypy: subclasses say ``# type: ignore[misc]``.
Only ``idp.oidc`` imports authlib's server classes (DESIGN "The house").
"""

from __future__ import annotations

from authlib.oauth2 import (
    AuthorizationServer,
    OAuth2Error,
)
from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    InsecureTransportError,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    JsonPayload,
    JsonRequest,
    OAuth2Payload,
    OAuth2Request,
    UnsupportedResponseTypeError,
)
from authlib.oauth2.rfc6749.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import OpenIDCode
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    LoginRequiredError,
    RequestNotSupportedError,
    RequestURINotSupportedError,
)
from authlib.oidc.core.util import create_half_hash
from authlib.oidc.rpinitiated import EndSessionEndpoint

__all__ = [
    "AccessDeniedError",
    "AuthorizationCodeGrant",
    "AuthorizationServer",
    "ClientCredentialsGrant",
    "CodeChallenge",
    "ConsentRequiredError",
    "EndSessionEndpoint",
    "InsecureTransportError",
    "IntrospectionEndpoint",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidRequestError",
    "InvalidScopeError",
    "JWTBearerClientAssertion",
    "JsonPayload",
    "JsonRequest",
    "LoginRequiredError",
    "OAuth2Error",
    "OAuth2Payload",
    "OAuth2Request",
    "OpenIDCode",
    "RefreshTokenGrant",
    "RequestNotSupportedError",
    "RequestURINotSupportedError",
    "RevocationEndpoint",
    "UnsupportedResponseTypeError",
    "create_half_hash",
]
