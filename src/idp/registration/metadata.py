"""Client metadata as a client sends it (RFC 7591 2), validated with pydantic, and the
redirect URI rules of self-registered clients.

Unknown fields are ignored (RFC 7591 2: the server MUST ignore metadata it does not
understand); ``software_statement`` is not supported and therefore ignored too. What is
refused says which field and why, never echoing the value.
"""

from __future__ import annotations

from typing import Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from idp.registration.errors import InvalidClientMetadata, InvalidRedirectUri

__all__ = ["LOOPBACK_HOSTS", "ClientMetadata", "check_redirect_uri", "parse_metadata"]

# RFC 8252 7.3 (IP literals) and 8.3 (localhost, allowed here as many tools use it).
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})
MAX_URI_CHARS: Final = 2000
_NEVER: Final = frozenset({"javascript", "data", "vbscript", "file", "blob"})
AuthMethod = Literal["none", "client_secret_basic", "client_secret_post"]
GrantType = Literal["authorization_code", "refresh_token"]


def _code_grant() -> list[GrantType]:
    return ["authorization_code"]


def _code() -> list[Literal["code"]]:
    return ["code"]


def _text() -> Any:
    return Field(default=None, max_length=200)


class ClientMetadata(BaseModel):
    """What Nidan understands of RFC 7591 section 2."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    redirect_uris: list[StrictStr] = Field(default_factory=list, max_length=10)
    post_logout_redirect_uris: list[StrictStr] = Field(default_factory=list, max_length=10)
    token_endpoint_auth_method: AuthMethod | None = None
    # RFC 7591 2: the defaults are authorization_code and code.
    grant_types: list[GrantType] = Field(default_factory=_code_grant, min_length=1)
    response_types: list[Literal["code"]] = Field(default_factory=_code, min_length=1)
    client_name: StrictStr | None = Field(default=None, max_length=100)
    scope: StrictStr | None = Field(default=None, max_length=1000)
    client_uri: StrictStr | None = _text()
    logo_uri: StrictStr | None = _text()
    tos_uri: StrictStr | None = _text()
    policy_uri: StrictStr | None = _text()
    contacts: list[StrictStr] = Field(default_factory=list, max_length=5)
    software_id: StrictStr | None = _text()
    software_version: StrictStr | None = _text()

    def extras(self) -> dict[str, Any]:
        """The descriptive fields Nidan keeps and returns but does not act on."""
        names = ("client_uri", "logo_uri", "tos_uri", "policy_uri", "software_id",
                 "software_version")
        found: dict[str, Any] = {name: value for name in names
                                 if (value := getattr(self, name)) is not None}
        if self.contacts:
            found["contacts"] = list(self.contacts)
        return found


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "body"
        problems.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)


def parse_metadata(body: Any) -> ClientMetadata:
    """The metadata of a JSON body, or :class:`InvalidClientMetadata` /
    :class:`InvalidRedirectUri` naming what is wrong."""
    if not isinstance(body, dict):
        raise InvalidClientMetadata("The body must be a JSON object of client metadata.")
    try:
        metadata = ClientMetadata.model_validate(body)
    except ValidationError as exc:
        raise InvalidClientMetadata(_describe(exc)) from None
    for uri in metadata.redirect_uris:
        check_redirect_uri(uri)
    for uri in metadata.post_logout_redirect_uris:
        try:
            check_redirect_uri(uri)
        except InvalidRedirectUri as exc:
            raise InvalidClientMetadata("post_logout_redirect_uris: " + exc.description) from None
    for name in ("client_uri", "logo_uri", "tos_uri", "policy_uri"):
        value = getattr(metadata, name)
        if value is not None and urlsplit(value).scheme != "https":
            raise InvalidClientMetadata(f"{name}: must be an https URL")
    if "authorization_code" not in metadata.grant_types:
        raise InvalidClientMetadata("grant_types: must include authorization_code")
    if not metadata.redirect_uris:
        raise InvalidRedirectUri("redirect_uris: at least one is required")
    return metadata


def check_redirect_uri(value: str) -> str:
    """A redirect URI a client may register for itself: https anywhere, plain http only on
    loopback (RFC 8252 7.3, 8.3); no fragment (RFC 6749 3.1.2), no wildcard, no user
    information, nothing that runs script. Raises :class:`InvalidRedirectUri`."""
    if len(value) > MAX_URI_CHARS:
        raise InvalidRedirectUri(f"redirect_uris: longer than {MAX_URI_CHARS} characters")
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in value):
        raise InvalidRedirectUri("redirect_uris: spaces or control characters are not allowed")
    scheme = value.split(":", 1)[0].lower() if ":" in value else ""
    if scheme in _NEVER:
        raise InvalidRedirectUri(f"redirect_uris: the {scheme} scheme is never allowed")
    if "#" in value:
        raise InvalidRedirectUri("redirect_uris: must not have a fragment")
    if "*" in value:
        raise InvalidRedirectUri("redirect_uris: wildcards are not allowed (exact URIs only)")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError:
        raise InvalidRedirectUri("redirect_uris: not a valid URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidRedirectUri("redirect_uris: use an absolute https URL, or http on "
                                 "loopback (127.0.0.1, [::1], localhost)")
    if parts.username is not None or parts.password is not None:
        raise InvalidRedirectUri("redirect_uris: must not carry user information")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise InvalidRedirectUri("redirect_uris: plain http is allowed only on loopback "
                                 "(127.0.0.1, [::1], localhost); use https")
    return value
