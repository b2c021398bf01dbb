"""The totp plugin passes the method contract kit."""

from __future__ import annotations

import base64
from typing import ClassVar

from idp.methods import Credential
from idp.methods.testing import ContractHarness, MethodContract
from idp_totp import TotpMethod, totp_at

VALID_SECRET = base64.b32encode(b"0123456789abcdefghij").decode()


class TestTotpContract(MethodContract):
    method_class = TotpMethod
    invalid_configs: ClassVar = ({"digits": 7}, {"algorithm": "MD5"}, {"period": 5},
                                 {"issuer": ""})
    import_data: ClassVar = {"secret": VALID_SECRET}
    invalid_import_data: ClassVar = (
        {"secret": "JBSWY3DPEHPK3PXP"},  # 80 bits: below the 112-bit minimum
        {"secret": "not base32 at all"},
        {"secret": VALID_SECRET, "period": "5"},
    )

    def code_for(self, harness: ContractHarness, credential: Credential) -> str:
        params = credential.secret
        assert not isinstance(params, bytes)
        secret = str(params["secret"])
        key = base64.b32decode(secret + "=" * (-len(secret) % 8))
        return totp_at(key, harness.now(), algorithm=str(params["algorithm"]),
                       digits=int(params["digits"]), period=int(params["period"]))
