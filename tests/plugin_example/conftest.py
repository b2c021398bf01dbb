"""Stands in for ``uv pip install -e tests/plugin_example``, without touching the venv.

The package directory goes on ``sys.path`` (what an editable install's ``.pth`` does), and,
for each test here only, a ``*.dist-info`` generated from this distribution's own
``pyproject.toml`` goes on ``sys.path`` too, so ``importlib.metadata.entry_points`` finds the
``paper`` method exactly as it would find an installed one. Other tests never see it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from idp.methods.testing import install_distribution

HERE = Path(__file__).parent
SRC = HERE / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))


def write_dist_info(site: Path) -> None:
    """The metadata an installer writes (the contract kit's ``install_distribution``)."""
    install_distribution(site, HERE / "pyproject.toml")


@pytest.fixture(autouse=True)
def installed(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path_factory.mktemp("site")
    write_dist_info(site)
    monkeypatch.syspath_prepend(str(site))
    return site
