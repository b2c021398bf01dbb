"""Fixtures of the certification plans' port: the provider under test with the suite's
static clients (``op``) and a fresh browser (``agent``, from tests/conftest.py), per module,
as the suite runs each module in a browser without the provider's cookies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conformance.harness import Op, conformance_provider


@pytest.fixture
def op(tmp_path: Path) -> Iterator[Op]:
    with conformance_provider(tmp_path) as provider:
        yield provider

