"""``idp plugins new NAME``: the distribution it writes passes its own tests, ruff and mypy
(strict) in a directory of its own, the moment it is written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from idp.cli import main
from idp.cli_plugins import scaffold

TIMEOUT_S = 300


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "IDP_"))}
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=TIMEOUT_S, check=False)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("scaffold")
    result = CliRunner().invoke(main, ["plugins", "new", "tanlist", "--dir", str(parent)])
    assert result.exit_code == 0, result.output
    root = parent / "nidan-tanlist"
    assert str(root) in result.output
    return root


def test_the_distribution_has_its_parts(generated: Path) -> None:
    assert sorted(str(p.relative_to(generated)) for p in generated.rglob("*") if p.is_file()) == [
        "README.md", "pyproject.toml", "src/nidan_tanlist/__init__.py",
        "src/nidan_tanlist/py.typed", "tests/conftest.py", "tests/test_tanlist_contract.py",
    ]
    pyproject = (generated / "pyproject.toml").read_text(encoding="utf-8")
    assert '[project.entry-points."idp.methods"]\ntanlist = "nidan_tanlist:TanlistMethod"' in (
        pyproject)


def test_its_own_tests_pass_with_the_contract_kit(generated: Path) -> None:
    result = _run("pytest", "-q", "-rA", "-p", "no:cacheprovider", cwd=generated)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    # The entry point is really found (installed by the generated conftest), not skipped.
    assert "PASSED tests/test_tanlist_contract.py::TestTanlistMethodContract::" \
           "test_entry_point_name_is_the_id" in result.stdout
    assert "test_one_code_is_accepted_once_under_concurrency" in result.stdout


def test_ruff_and_mypy_are_satisfied(generated: Path) -> None:
    ruff = _run("ruff", "check", ".", "--no-cache", cwd=generated)
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    mypy = _run("mypy", "--no-incremental", "--cache-dir", os.devnull, cwd=generated)
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    assert "Success: no issues found in 3 source files" in mypy.stdout


def test_bad_names_and_existing_directories_are_refused(tmp_path: Path) -> None:
    for bad in ("Paper", "1paper", "pa-per", "x" * 40):
        with pytest.raises(ValueError, match="NAME must match"):
            scaffold(bad, tmp_path)
    scaffold("paper", tmp_path)
    with pytest.raises(ValueError, match="exists already"):
        scaffold("paper", tmp_path)
    result = CliRunner().invoke(main, ["plugins", "new", "Bad", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "NAME must match" in result.output
