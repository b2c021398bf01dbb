"""Stands in for ``uv pip install -e tests/plugin_example``, without touching the venv.

The package directory goes on ``sys.path`` (what an editable install's ``.pth`` does), and,
for each test here only, a ``*.dist-info`` generated from this distribution's own
``pyproject.toml`` goes on ``sys.path`` too, so ``importlib.metadata.entry_points`` finds the
``paper`` method exactly as it would find an installed one. Other tests never see it.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

HERE = Path(__file__).parent
SRC = HERE / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))


def write_dist_info(site: Path) -> None:
    """The metadata an installer writes: METADATA and entry_points.txt."""
    project = tomllib.loads((HERE / "pyproject.toml").read_text())["project"]
    info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    lines = []
    for group, entries in project["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {value}" for name, value in entries.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


@pytest.fixture(autouse=True)
def installed(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path_factory.mktemp("site")
    write_dist_info(site)
    monkeypatch.syspath_prepend(str(site))
    return site
