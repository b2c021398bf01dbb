"""Rendering helm/nidan offline with the Helm engine from PyPI (helm-python-sdk, the
``chart`` dependency group), and reading what it renders."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

helm_python: Any
try:  # the ``chart`` dependency group (scripts/test syncs it)
    helm_python = importlib.import_module("helm_python")
    import yaml
except ImportError:  # pragma: no cover - only without the group
    helm_python = None

NO_CHART_GROUP = "the chart tests need the chart dependency group: uv sync --group chart"

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "nidan"
CI_VALUES = sorted(CHART.glob("ci/*-values.yaml"))
FAIL_VALUES = sorted((Path(__file__).parent / "fail").glob("*.yaml"))
RELEASE = "nidan"
NAMESPACE = "nidan"

Manifest = dict[str, Any]


@functools.cache
def _chart() -> Any:
    if helm_python is None:
        pytest.skip(NO_CHART_GROUP)
    return helm_python.Chart.load(str(CHART))


def load_values(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    assert isinstance(data, dict), path
    return data


def render(values: dict[str, Any]) -> dict[str, str]:
    """Template path -> rendered text (NOTES.txt included), as `helm template` gives them."""
    rendered: dict[str, str] = _chart().render(values, name=RELEASE, namespace=NAMESPACE)
    return rendered


def manifests(rendered: dict[str, str]) -> list[Manifest]:
    """Every Kubernetes object of a render, in template order."""
    objects: list[Manifest] = []
    for path in sorted(rendered):
        if path.endswith(".txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(rendered[path]) if doc)
    return objects


def of_kind(objects: list[Manifest], kind: str) -> list[Manifest]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[Manifest], kind: str) -> Manifest:
    found = of_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def pod_specs(objects: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    """(object name, pod spec) of every pod the render makes: workloads and bare pods."""
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "Pod":
            yield name, obj["spec"]
        elif obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield name, obj["spec"]["template"]["spec"]
        elif obj["kind"] == "CronJob":
            yield name, obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def containers(spec: Manifest) -> list[Manifest]:
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def idp_toml(objects: list[Manifest]) -> str:
    """The idp.toml the chart renders (its ConfigMap; extraObjects may add others)."""
    [text] = [c["data"]["idp.toml"] for c in of_kind(objects, "ConfigMap")
              if "idp.toml" in c.get("data", {})]
    assert isinstance(text, str)
    return text
