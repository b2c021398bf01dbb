"""The webauthn plugin passes the method contract kit, unchanged, with the kit's software
authenticator answering the ceremonies."""

from __future__ import annotations

from typing import ClassVar

from idp.methods.testing import MethodContract
from idp.methods.testing_webauthn import WebAuthnContract
from idp_webauthn import WebAuthnMethod


class TestWebAuthnContract(WebAuthnContract, MethodContract):
    method_class = WebAuthnMethod
    config: ClassVar = {"rp_id": "localhost", "allowed_origins": ["http://localhost:8000"]}
    enrollment_form: ClassVar = {"key_name": "Blue key"}
    invalid_enrollment_forms: ClassVar = ({"key_name": "x" * 41},)
    invalid_configs: ClassVar = (
        {"rp_id": "127.0.0.1", "allowed_origins": ["http://127.0.0.1:8000"]},
        {"rp_id": "co.jp", "allowed_origins": ["https://co.jp"]},
        {"rp_id": "login.example.com", "allowed_origins": ["http://login.example.com"]},
        {"rp_id": "login.example.com", "allowed_origins": ["https://evil.example.net"]},
        {"rp_id": "localhost", "allowed_origins": []},
        {"rp_id": "localhost", "allowed_origins": ["http://localhost"], "attestation": "direct"},
    )
