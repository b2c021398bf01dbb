"""The sms plugin passes the method contract kit."""

from __future__ import annotations

from typing import ClassVar

from idp.methods.testing import MethodContract
from idp_sms import SmsMethod


class TestSmsContract(MethodContract):
    method_class = SmsMethod
    enrollment_form: ClassVar = {"phone": "090-1234-5678"}
    invalid_enrollment_forms: ClassVar = (
        {"phone": ""},
        {"phone": "090-1234"},
        {"phone": "03-1234-5678"},  # a landline: suggest a voice call
        {"phone": "050-1234-5678"},  # an IP phone: suggest a voice call
        {"phone": "0990-123-456"},  # premium-rate
    )
    invalid_configs: ClassVar = ({"default_region": "XX"}, {"allowed_regions": ["JP", "ZZZ"]})
    import_data: ClassVar = {"phone": "+81 80 1111 2222"}
    invalid_import_data: ClassVar = ({"phone": "03-1234-5678"}, {"phone": "not a number"})
