"""Fixtures for the method layer's tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.methods.helpers import World


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """The default deployment: totp, sms and voice enabled, SQLite, outbox delivery."""
    with closing(World(tmp_path)) as built:
        yield built
