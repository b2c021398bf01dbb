"""The plugin contract (``idp.methods.testing``) against the conformance method, with the
server in conformance mode (the only way it loads)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from idp.methods import Credential
from idp.methods.testing import ContractHarness, MethodContract
from idp_conformance import ConformanceMethod

CODE = "493817"  # = conftest.CODE, which configures the harness


class TestConformanceContract(MethodContract):
    method_class = ConformanceMethod
    config: ClassVar[dict[str, Any]] = {"code": CODE}
    invalid_configs: ClassVar[list[dict[str, Any]]] = [
        {"code": "12345"},        # too short
        {"code": "1234567"},      # longer than the sign-in page's code field
        {"code": "12345a"},       # not digits
        {"code": "１２３４５６"},  # full-width digits are not ASCII digits
    ]
    import_data: ClassVar[dict[str, str]] = {}
    invalid_import_data: ClassVar[list[dict[str, str]]] = [{"code": "493817"}]

    @pytest.fixture
    def harness(self, conformance_harness: ContractHarness) -> ContractHarness:
        return conformance_harness

    def code_for(self, harness: ContractHarness, credential: Credential) -> str:
        # The same code at every sign-in: what the suite's browser types.
        return CODE


def test_the_harness_code_is_the_configured_one(fixed_code: str) -> None:
    assert fixed_code == CODE
