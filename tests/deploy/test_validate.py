"""Every rendered object is valid Kubernetes: built-in kinds by kubernetes-validate --strict
(unknown fields are errors) for the oldest and newest versions the chart supports, custom
resources against the CRD schemas vendored in tests/deploy/crds/ with jsonschema."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest

kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="needs the chart group: uv sync --group chart")
jsonschema = pytest.importorskip("jsonschema", reason="needs the chart group")

CRDS = Path(__file__).parent / "crds"
CUSTOM = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "podmonitor.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule.json",
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "httproute.json",
}
# Chart.yaml's kubeVersion is >=1.30; 1.37 is the newest kubernetes-validate knows.
VERSIONS = ["1.30.0", "1.37.0"]


@functools.cache
def _kubernetes_validator(version: str, api_version: str, kind: str) -> Any:
    """kubernetes-validate's own strict schema for one kind, loaded once per run (its
    validate() re-reads the ~4 MB definitions file for every object)."""
    from referencing import Registry, Resource

    utils = kubernetes_validate.utils
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{version}-local-strict"
    schema = utils.schema_contents(f"{folder}/{kind.lower()}-{group}.json", version)
    definitions = utils.schema_contents(f"{folder}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _validator(name: str) -> Any:
    schema = json.loads((CRDS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("version", VERSIONS)
def test_built_in_kinds_validate_strictly(ci: tuple[Path, list[Any]], version: str) -> None:
    path, objects = ci
    checked = 0
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) in CUSTOM:
            continue
        validator = _kubernetes_validator(version, obj["apiVersion"], obj["kind"])
        errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(obj)]
        where = f"{path.name}: {obj['kind']}/{obj['metadata']['name']} on {version}"
        assert not errors, f"{where}: {errors}"
        checked += 1
    assert checked >= 5


def test_custom_resources_match_their_crd_schema(ci: tuple[Path, list[Any]]) -> None:
    path, objects = ci
    for obj in objects:
        name = CUSTOM.get((obj["apiVersion"], obj["kind"]))
        if name is None:
            continue
        errors = sorted(_validator(name).iter_errors(obj), key=lambda e: e.json_path)
        assert not errors, f"{path.name}: {obj['kind']}: " + "; ".join(
            f"{e.json_path}: {e.message}" for e in errors)


def test_strict_validation_catches_an_unknown_field() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
           "spec": {"containers": [{"name": "x", "image": "x", "securityContex": {}}]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, VERSIONS[0], strict=True)
    assert list(_kubernetes_validator(VERSIONS[0], "v1", "Pod").iter_errors(pod))
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "x"}, "spec": {"hostname": ["id.example.com"]}}
    assert list(_validator("httproute.json").iter_errors(route))


def test_every_custom_kind_of_the_matrix_is_checked(renders: Any) -> None:
    from tests.deploy.chart import CI_VALUES

    kinds = {(o["apiVersion"], o["kind"]) for p in CI_VALUES for o in renders.get(p)[1]}
    assert set(CUSTOM) <= kinds
