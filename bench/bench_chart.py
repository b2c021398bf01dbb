"""How long rendering and validating the chart's test matrix takes.

    uv run --group chart python bench/bench_chart.py [--rounds 5]

Each round renders every helm/nidan/ci/*-values.yaml offline (helm-python-sdk, the Helm
engine), parses the YAML, and validates every object: built-in kinds against
kubernetes-validate's strict schemas for Kubernetes 1.30 and 1.37, custom resources against
the CRD schemas in tests/deploy/crds/ (the validators are built once, as the tests do).
Reports CPU seconds of this process (robust on a shared machine) and wall seconds, median
over the rounds; the first round, which loads the schemas, separately.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from pathlib import Path
from typing import Any

import helm_python
import jsonschema
import kubernetes_validate
import yaml
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "helm" / "nidan"
CRDS = ROOT / "tests" / "deploy" / "crds"
CUSTOM = {"ServiceMonitor": "servicemonitor.json", "PodMonitor": "podmonitor.json",
          "PrometheusRule": "prometheusrule.json", "HTTPRoute": "httproute.json"}
_validators: dict[tuple[str, str, str], Any] = {}


def validator(version: str, api_version: str, kind: str) -> Any:
    key = (version, api_version, kind)
    if key not in _validators:
        if kind in CUSTOM:
            schema = json.loads((CRDS / CUSTOM[kind]).read_text())
            _validators[key] = jsonschema.Draft202012Validator(schema)
        else:
            utils = kubernetes_validate.utils
            group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
            folder = f"kubernetes-json-schema/v{version}-local-strict"
            schema = utils.schema_contents(f"{folder}/{kind.lower()}-{group}.json", version)
            defs = utils.schema_contents(f"{folder}/_definitions.json", version)
            registry = Resource.from_contents(defs) @ (Resource.from_contents(schema) @ Registry())
            _validators[key] = jsonschema.Draft202012Validator(schema, registry=registry)
    return _validators[key]


def one_round(chart: Any, files: list[Path]) -> tuple[int, int]:
    objects = errors = 0
    for path in files:
        rendered = chart.render(yaml.safe_load(path.read_text()), name="nidan", namespace="nidan")
        for name, text in rendered.items():
            if name.endswith(".txt"):
                continue
            for obj in (d for d in yaml.safe_load_all(text) if d):
                for version in ("1.30.0", "1.37.0"):
                    objects += 1
                    found = validator(version, obj["apiVersion"], obj["kind"]).iter_errors(obj)
                    errors += len(list(found))
    return objects, errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    files = sorted(CHART.glob("ci/*-values.yaml"))
    chart = helm_python.Chart.load(str(CHART))
    samples = []
    for _ in range(rounds + 1):
        cpu, wall = time.process_time(), time.perf_counter()
        objects, errors = one_round(chart, files)
        samples.append((time.process_time() - cpu, time.perf_counter() - wall))
    assert errors == 0, f"{errors} validation errors"
    first, rest = samples[0], samples[1:]
    print(f"{len(files)} values files, {objects} object validations a round (2 versions)")
    print(f"first round (loads schemas): {first[0]:.2f} CPU s, {first[1]:.2f} wall s")
    print(f"median of {rounds}: {statistics.median(s[0] for s in rest):.2f} CPU s, "
          f"{statistics.median(s[1] for s in rest):.2f} wall s")


if __name__ == "__main__":
    main()
