"""The voice plugin passes the method contract kit."""

from __future__ import annotations

from typing import ClassVar

from idp.methods.testing import MethodContract
from idp_voice import VoiceMethod


class TestVoiceContract(MethodContract):
    method_class = VoiceMethod
    enrollment_form: ClassVar = {"phone": "03-1234-5678"}
    invalid_enrollment_forms: ClassVar = (
        {"phone": "03-1234"},
        {"phone": "0120-123-456"},  # toll-free: a service, not someone's phone
        {"phone": "0990-123-456"},  # premium-rate
    )
    invalid_configs: ClassVar = ({"allowed_regions": ["XX"]},)
    import_data: ClassVar = {"phone": "050-1234-5678"}
    invalid_import_data: ClassVar = ({"phone": "0120-123-456"},)
