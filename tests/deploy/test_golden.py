"""The rendered manifests of every ci values file, compared with the reviewed copies in
tests/deploy/golden/. After a deliberate chart change, regenerate them and review the diff:

    NIDAN_UPDATE_GOLDEN=1 uv run --group chart pytest tests/deploy/test_golden.py
    git diff tests/deploy/golden/
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.chart import CI_VALUES

GOLDEN = Path(__file__).parent / "golden"


def as_helm_template(rendered: dict[str, str]) -> str:
    """`helm template` layout: each non-empty template under a `# Source:` line."""
    parts = []
    for path in sorted(rendered):
        text = rendered[path].strip()
        if text and not path.endswith(".txt"):
            parts.append(f"---\n# Source: {path}\n{text}\n")
    return "".join(parts)


@pytest.mark.parametrize("values", CI_VALUES, ids=[p.name for p in CI_VALUES])
def test_render_matches_golden(values: Path, renders: Any) -> None:
    text = as_helm_template(renders.get(values)[0])
    golden = GOLDEN / values.name.replace("-values.yaml", ".yaml")
    if os.environ.get("NIDAN_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no {golden.name}: run with NIDAN_UPDATE_GOLDEN=1 and review it"
    want = golden.read_text(encoding="utf-8")
    if text != want:
        diff = difflib.unified_diff(want.splitlines(), text.splitlines(), "golden", "rendered",
                                    lineterm="", n=2)
        pytest.fail(f"{values.name} renders differently from {golden.name} (regenerate with "
                    "NIDAN_UPDATE_GOLDEN=1 if intended):\n" + "\n".join(list(diff)[:80]))


def test_every_golden_file_has_its_values_file() -> None:
    names = {p.name.replace("-values.yaml", ".yaml") for p in CI_VALUES}
    assert {p.name for p in GOLDEN.glob("*.yaml")} == names
