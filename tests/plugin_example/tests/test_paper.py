"""The example plugin passes the contract kit, tested as docs/plugins.md shows."""

from idp_paper import PaperMethod, _line  # type: ignore[import-not-found,unused-ignore]

from idp.methods import Credential
from idp.methods.testing import ContractHarness, MethodContract


class TestPaper(MethodContract):
    method_class = PaperMethod
    lines_used = 0

    def code_for(self, harness: ContractHarness, credential: Credential) -> str:
        # The next unused line of the sheet, as the person would read it.
        assert isinstance(credential.secret, bytes)
        self.lines_used += 1
        line: str = _line(credential.secret, self.lines_used - 1)
        return line
