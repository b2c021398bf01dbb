"""Every `fail` of the chart is triggered by a values file of its own (tests/deploy/fail/),
whose first line says the message it must produce."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.chart import CHART, FAIL_VALUES, helm_python, load_values, render

# `lookup` answers only against a real cluster (helm install/upgrade); an offline render
# gets nothing back, so this check cannot be triggered here.
NEEDS_A_CLUSTER = {"secrets.existingSecret: Secret %s has no key %q (the %s)"}

_FAIL = re.compile(r'fail \(?(?:printf )?"((?:[^"\\]|\\.)*)"')


def _template_messages() -> set[str]:
    text = "".join(p.read_text() for p in sorted((CHART / "templates").rglob("*.tpl")))
    text += "".join(p.read_text() for p in sorted((CHART / "templates").rglob("*.yaml")))
    return set(_FAIL.findall(text))


def _expected(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
    return first.removeprefix("# expect: ")


def _as_pattern(message: str) -> re.Pattern[str]:
    parts = re.split(r"%[sdq]", message)
    return re.compile(".+?".join(re.escape(p) for p in parts))


def test_every_fail_message_has_its_own_values_file() -> None:
    expected = [_expected(p) for p in FAIL_VALUES]
    assert len(expected) == len(set(expected)), "two files trigger the same message"
    assert set(expected) == _template_messages() - NEEDS_A_CLUSTER
    assert len(_template_messages()) >= 20


@pytest.mark.parametrize("path", FAIL_VALUES, ids=[p.stem for p in FAIL_VALUES])
def test_values_file_fails_with_its_message(path: Path) -> None:
    if helm_python is None:
        pytest.skip("the chart group is not synced")
    with pytest.raises(helm_python.HelmRenderError) as failure:
        render(load_values(path))
    assert _as_pattern(_expected(path)).search(str(failure.value)), str(failure.value)
