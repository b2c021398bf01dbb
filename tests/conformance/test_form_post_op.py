"""The OpenID Foundation's Form Post OP certification plan
(``oidcc-formpost-basic-certification-test-plan``): the Basic OP plan's modules with
``response_mode=form_post``, one test per module, named after it. Every response that
reaches the client must be an auto-submitting POST form (OAuth 2.0 Form Post Response Mode).
The tests are the Basic plan's, run with ``response_mode=form_post``: one parametrised test
whose ids are the module names (``test_module[oidcc-server]``).
See tests/conformance/PLANS.md.
"""

from __future__ import annotations

import httpx
import pytest
from tests.conformance.harness import Op
from tests.conformance.rp import FORM_POST
from tests.conformance.test_basic_op import MODULES as BASIC_MODULES
from tests.conformance.test_basic_op import module_test

PLAN = "oidcc-formpost-basic-certification-test-plan"
MODULES = BASIC_MODULES  # the Basic plan's modules, each with response_mode=form_post


# Every module of the plan is its own test, under its own name (the id), with form_post.
@pytest.mark.parametrize("module", MODULES)
def test_module(module: str, op: Op, agent: httpx.Client) -> None:
    module_test(module)(op, agent, FORM_POST)
