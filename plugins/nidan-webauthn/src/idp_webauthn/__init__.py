"""The ``webauthn`` second-factor method: security keys and passkeys (WebAuthn Level 2).

A second factor, not a password replacement: the person has already typed their password,
so the defaults are those of a second factor: attestation ``none`` (or ``direct`` checked
against roots the operator configured), resident keys discouraged (the key need not store
the account), user verification preferred, ``allowCredentials`` with the keys' transports at
sign-in and ``excludeCredentials`` at registration (one key is never registered twice).

The relying party is configured, never guessed: ``rp_id`` and ``allowed_origins`` come from
``[methods.webauthn]`` and are checked at start-up (no IP address, no public suffix,
``http`` only for ``localhost``); nothing here reads the Host or X-Forwarded-* headers, so a
proxy on another port cannot change what the browser's answer is checked against.

This plugin checks signatures, origins, RP ID and challenges with py_webauthn and reports
what it saw (``Verified``: the key, counter, UP/UV/BE/BS flags, attestation). It stores
nothing: the core keeps the keys and their counters, judges the counter, takes the
challenge once and derives ``amr``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList
from pydantic import Field, ValidationInfo, field_validator
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url, parse_attestation_object
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidCBORData,
    InvalidRegistrationResponse,
)
from webauthn.helpers.parse_authenticator_data import parse_authenticator_data
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AttestationFormat,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialCreationOptions,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialRequestOptions,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from idp.methods import (
    Challenge,
    Channel,
    ConfigModel,
    Credential,
    Enrollment,
    Interaction,
    Key,
    Method,
    MethodContext,
    MethodInfo,
    MethodUser,
    Verified,
)

__all__ = ["WebAuthnConfig", "WebAuthnMethod", "check_origin", "check_rp_id"]

_LABELS = {"en": "Security key or passkey", "ja": "セキュリティキー・パスキー"}
# A browser's answer is a few hundred bytes to a few kilobytes; more is not an answer.
MAX_ANSWER = 16_384
CHALLENGE_BYTES = 32
_TRANSPORTS = {t.value: t for t in AuthenticatorTransport}


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def check_rp_id(value: str) -> str:
    """The RP ID as WebAuthn needs it: a lower-case host name (``localhost`` for
    development), not an IP address and not a public suffix (``co.jp``, ``github.io``)."""
    rp_id = value.strip().lower().rstrip(".")
    if not rp_id or "/" in rp_id or ":" in rp_id or " " in rp_id:
        raise ValueError("must be a host name such as login.example.com (no scheme, port "
                         "or path)")
    try:
        ipaddress.ip_address(rp_id)
    except ValueError:
        pass
    else:
        raise ValueError("must be a host name, not an IP address (browsers refuse IPs as "
                         "RP ID; use localhost for development)")
    if rp_id == "localhost" or rp_id.endswith(".localhost"):
        return rp_id
    if _psl().is_public(rp_id):
        raise ValueError(f"{rp_id!r} is a public suffix: use your own domain under it")
    return rp_id


def check_origin(value: str, rp_id: str) -> str:
    """An origin the browser may report: ``https://host[:port]`` where host is the RP ID
    or under it; ``http`` only for localhost."""
    parts = urlsplit(value.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host or parts.path not in ("", "/") or (
        parts.query or parts.fragment or parts.username
    ):
        raise ValueError(f"{value!r} is not an origin such as https://login.example.com")
    local = host == "localhost" or host.endswith(".localhost")
    if parts.scheme == "http" and not local:
        raise ValueError(f"{value!r}: http is allowed only for localhost; use https")
    if host != rp_id and not host.endswith("." + rp_id):
        raise ValueError(f"{value!r} is not {rp_id!r} or a name under it")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


class WebAuthnConfig(ConfigModel):
    # The relying party ID: your sign-in host or a parent domain of it (login.example.com
    # or example.com). Keys are bound to it for life: changing it orphans every key.
    rp_id: str
    # Every origin the sign-in pages are served from, scheme and port included, exactly as
    # the browser sees them (https://login.example.com, http://localhost:8000).
    allowed_origins: list[str] = Field(min_length=1)
    # The name the browser shows; empty: [ui] service_name.
    rp_name: str = ""
    # "none": no attestation asked (privacy; amr never says hwk). "direct": asked and, for
    # the formats in attestation_roots, checked against those roots (then amr may say hwk).
    attestation: Literal["none", "direct"] = "none"
    # Format -> PEM files of trusted roots, e.g. {packed = ["/etc/idp/yubico-root.pem"]}.
    attestation_roots: dict[str, list[str]] = Field(default_factory=dict,
                                                    validate_default=True)
    # "preferred" (default): ask for a PIN or biometric when the key has one; a key that
    # verified the person at registration must do so at every sign-in. "required": refuse
    # keys that can't. "discouraged": never ask.
    user_verification: Literal["preferred", "required", "discouraged"] = "preferred"
    # Discouraged for a second factor: the password already named the account.
    resident_key: Literal["discouraged", "preferred", "required"] = "discouraged"
    # How long the browser waits for the key (seconds).
    timeout_s: int = Field(default=120, ge=30, le=600)

    @field_validator("rp_id")
    @classmethod
    def _rp_id(cls, value: str) -> str:
        return check_rp_id(value)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str], info: ValidationInfo) -> list[str]:
        rp_id = info.data.get("rp_id")
        if rp_id is None:
            return value  # rp_id itself is wrong; its own line says why
        return [check_origin(origin, rp_id) for origin in value]

    @field_validator("attestation_roots")
    @classmethod
    def _roots(cls, value: dict[str, list[str]], info: ValidationInfo) -> dict[str, list[str]]:
        if info.data.get("attestation") == "direct" and not value:
            raise ValueError('attestation = "direct" needs the roots to check it against')
        formats = {f.value for f in AttestationFormat} - {"none"}
        for fmt, files in value.items():
            if fmt not in formats:
                raise ValueError(f"unknown attestation format {fmt!r} ({sorted(formats)})")
            for name in files:
                text = Path(name).read_text(encoding="ascii") if Path(name).is_file() else ""
                if "-----BEGIN CERTIFICATE-----" not in text:
                    raise ValueError(f"{name!r} is not a readable PEM certificate file")
        return value


def _b64(data: bytes) -> str:
    return bytes_to_base64url(data)


def _descriptor(key: Key) -> PublicKeyCredentialDescriptor:
    transports = [_TRANSPORTS[t] for t in key.public.get("transports", ()) if t in _TRANSPORTS]
    return PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.id),
                                         transports=transports or None)


def _answer(form: Mapping[str, str], field: str) -> dict[str, Any] | None:
    raw = form.get(field, "")
    if not raw or len(raw) > MAX_ANSWER:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


class WebAuthnMethod(Method[WebAuthnConfig]):
    """Security keys and passkeys; several named keys per person."""

    info: ClassVar[MethodInfo] = MethodInfo(
        id="webauthn", amr=("hwk", "swk", "user", "pin"), channel=Channel.KEY,
        delivers_code=False, enroll_fields=("key_name",),
        interaction=Interaction.CEREMONY, answer_field="credential", several_keys=True,
    )
    config_class = WebAuthnConfig

    def __init__(self, config: WebAuthnConfig, ctx: MethodContext) -> None:
        super().__init__(config, ctx)
        self._roots: dict[AttestationFormat, list[bytes]] = {
            AttestationFormat(fmt): [Path(name).read_bytes() for name in files]
            for fmt, files in config.attestation_roots.items()
        }

    def label(self, locale: str) -> str:
        return _LABELS.get(locale, _LABELS["en"])

    def begin_enrollment(self, user: MethodUser, form: Mapping[str, str]) -> Enrollment:
        # The key is made by the ceremony that follows; its name is the core's (key_name).
        return Enrollment(credential=Credential(public={"rp_id": self.config.rp_id}))

    # -- ceremonies -------------------------------------------------------------------------

    def _user_handle(self, user: MethodUser) -> bytes:
        # Opaque and stable; not the email (a key may show or store it).
        return hashlib.sha256(f"nidan-webauthn:{user.id}".encode()).digest()[:16]

    def begin_ceremony(self, user: MethodUser, credential: Credential, purpose: str) -> Challenge:
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        uv = UserVerificationRequirement(self.config.user_verification)
        timeout = self.config.timeout_s * 1000
        options: PublicKeyCredentialRequestOptions | PublicKeyCredentialCreationOptions
        if purpose == "sign-in":
            options = generate_authentication_options(
                rp_id=self.config.rp_id, challenge=challenge, timeout=timeout,
                allow_credentials=[_descriptor(k) for k in credential.keys if not k.blocked],
                user_verification=uv,
            )
            kind = "get"
        else:
            options = generate_registration_options(
                rp_id=self.config.rp_id,
                rp_name=self.config.rp_name or self.ctx.service_name,
                user_name=user.email, user_id=self._user_handle(user),
                user_display_name=user.display_name or user.email,
                challenge=challenge, timeout=timeout,
                attestation=AttestationConveyancePreference(self.config.attestation),
                authenticator_selection=AuthenticatorSelectionCriteria(
                    resident_key=ResidentKeyRequirement(self.config.resident_key),
                    user_verification=uv,
                ),
                exclude_credentials=[_descriptor(k) for k in credential.keys],
            )
            kind = "create"
        return Challenge(data={"kind": kind, "challenge": _b64(challenge),
                               "options": json.loads(options_to_json(options))})

    def verify(
        self, user: MethodUser, credential: Credential, challenge: Challenge,
        form: Mapping[str, str],
    ) -> Verified | None:
        answer = _answer(form, self.info.answer_field)
        if answer is None or "challenge" not in challenge.data:
            return None
        expected = base64url_to_bytes(str(challenge.data["challenge"]))
        use_id = "challenge:" + hashlib.sha256(expected).hexdigest()[:32]
        try:
            if challenge.data.get("kind") == "create":
                return self._registration(answer, expected, use_id)
            return self._assertion(answer, credential, expected, use_id)
        except (InvalidRegistrationResponse, InvalidAuthenticationResponse, InvalidCBORData,
                ValueError, KeyError, TypeError):
            # Whatever is wrong with the answer (signature, origin, RP ID, challenge,
            # encoding), it is a wrong answer: the core counts the try.
            return None

    def _uv_required(self, key: Key | None = None) -> bool:
        if self.config.user_verification == "required":
            return True
        # Downgrade protection: a key that verified the person once must keep doing so.
        return key is not None and bool(key.public.get("uv")) and (
            self.config.user_verification == "preferred"
        )

    def _registration(self, answer: dict[str, Any], expected: bytes, use_id: str) -> Verified:
        result = verify_registration_response(
            credential=answer, expected_challenge=expected, expected_rp_id=self.config.rp_id,
            expected_origin=list(self.config.allowed_origins),
            require_user_verification=self._uv_required(),
            pem_root_certs_bytes_by_fmt=self._roots or None,
        )
        attestation = parse_attestation_object(result.attestation_object)
        fmt = AttestationFormat(result.fmt)
        flags = attestation.auth_data.flags
        # hwk only for a chain checked against the operator's roots: not "none", not
        # self-attestation (no x5c), and only formats the operator gave roots for.
        attested = bool(
            fmt is not AttestationFormat.NONE
            and self._roots.get(fmt)
            and attestation.att_stmt.x5c
        )
        response = answer.get("response") or {}
        transports = [t for t in response.get("transports") or () if t in _TRANSPORTS]
        key = Key(
            id=_b64(result.credential_id),
            public={"cose": _b64(result.credential_public_key), "transports": transports,
                    "aaguid": result.aaguid, "fmt": fmt.value, "uv": flags.uv},
            backup_eligible=bool(flags.be), attested=attested,
        )
        return Verified(
            use_id=use_id, new_key=key, sign_count=result.sign_count,
            user_present=bool(flags.up), user_verified=bool(flags.uv),
            backup_eligible=bool(flags.be), backed_up=bool(flags.bs),
        )

    def _assertion(
        self, answer: dict[str, Any], credential: Credential, expected: bytes, use_id: str
    ) -> Verified | None:
        key_id = str(answer.get("rawId") or answer.get("id") or "")
        key = next((k for k in credential.keys if k.id == key_id), None)
        if key is None:
            return None
        result = verify_authentication_response(
            credential=answer, expected_challenge=expected, expected_rp_id=self.config.rp_id,
            expected_origin=list(self.config.allowed_origins),
            credential_public_key=base64url_to_bytes(str(key.public["cose"])),
            # 0: the counter policy is the core's (py_webauthn would refuse any counter that
            # does not increase, synced passkeys included).
            credential_current_sign_count=0,
            require_user_verification=self._uv_required(key),
        )
        data = base64url_to_bytes(str(answer["response"]["authenticatorData"]))
        flags = parse_authenticator_data(data).flags
        return Verified(
            use_id=use_id, key_id=key.id, sign_count=result.new_sign_count,
            user_present=bool(flags.up), user_verified=bool(flags.uv),
            backup_eligible=bool(flags.be), backed_up=bool(flags.bs),
        )

    def describe(self, credential: Credential, locale: str) -> str:
        names = [k.name for k in credential.keys]
        if locale == "ja":
            return f"セキュリティキー・パスキー（{len(names)}個: {'、'.join(names)}）"
        keys = "key" if len(names) == 1 else "keys"
        return f"Security key or passkey ({len(names)} {keys}: {', '.join(names)})"
