"""checkov's Kubernetes checks over every render: zero failures, and every skip is a
`checkov.io/skipN` annotation in the chart that says why.

checkov pins many packages of its own, so it lives in a virtual environment of its own,
made once under .cache/checkov (gitignored) with uv from PyPI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.chart import CI_VALUES, ROOT
from tests.deploy.test_golden import as_helm_template

CHECKOV_VERSION = "3.3.30"
VENV = ROOT / ".cache" / "checkov"

# The skips the chart carries, each with its reason in the chart's annotations.
EXPECTED_SKIPS = {
    "CKV_K8S_8", "CKV_K8S_9",  # the helm test pod: one-shot, nothing to probe
    "CKV_K8S_11",  # no CPU limit: it would throttle argon2id mid-check
    "CKV_K8S_15",  # IfNotPresent: pinned tags, restarts must not need the registry
    "CKV_K8S_43",  # digest pinning is image.digest, opt-in
    "CKV2_K8S_6",  # the NetworkPolicy is opt-in
}


def _uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    if found:
        return found
    local = ROOT / ".tools" / "bin" / "uv"
    if local.exists():
        return str(local)
    pytest.skip("uv is not on PATH: run the tests through ./scripts/test")


@pytest.fixture(scope="session")
def checkov() -> Path:
    binary = VENV / "bin" / "checkov"
    marker = VENV / f".checkov-{CHECKOV_VERSION}"
    if not marker.exists():
        uv = _uv()
        subprocess.run([uv, "venv", "--quiet", "--clear", str(VENV)], check=True)
        subprocess.run([uv, "pip", "install", "--quiet", "--python", str(VENV / "bin" / "python"),
                        f"checkov=={CHECKOV_VERSION}"], check=True)
        marker.touch()
    return binary


@pytest.fixture(scope="session")
def checkov_report(checkov: Path, renders: Any, tmp_path_factory: pytest.TempPathFactory
                   ) -> list[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("checkov")
    for values in CI_VALUES:
        text = as_helm_template(renders.get(values)[0])
        (folder / values.name.replace("-values", "")).write_text(text, encoding="utf-8")
    env = {"PATH": os.environ["PATH"], "HOME": str(folder), "BC_SKIP_MAPPING": "TRUE",
           "LOG_LEVEL": "WARNING"}
    result = subprocess.run(
        [str(checkov), "--compact", "--skip-download", "--framework", "kubernetes",
         "--output", "json", "--directory", str(folder)],
        capture_output=True, text=True, env=env, timeout=600, check=False)
    assert result.stdout.strip(), result.stderr[-2000:]
    report = json.loads(result.stdout)
    reports: list[dict[str, Any]] = report if isinstance(report, list) else [report]
    return reports


def test_checkov_finds_nothing(checkov_report: list[dict[str, Any]]) -> None:
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
              for r in checkov_report for c in r["results"]["failed_checks"]]
    assert not failed, "\n".join(failed)
    passed = sum(len(r["results"]["passed_checks"]) for r in checkov_report)
    assert passed > 100, "checkov scanned next to nothing"


def test_every_checkov_skip_is_justified(checkov_report: list[dict[str, Any]]) -> None:
    skipped = [c for r in checkov_report for c in r["results"]["skipped_checks"]]
    assert {c["check_id"] for c in skipped} == EXPECTED_SKIPS
    for check in skipped:
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason) > 20, f"{check['check_id']} on {check['resource']}: no reason given"
