"""values.yaml and values.schema.json agree key for key; the schema is self-contained draft
2020-12, refuses unknown keys and types every leaf; every value is documented where it is set
(`# --`), and the README's values table is generated from those comments."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.deploy.chart import CHART, CI_VALUES, helm_python, load_values

jsonschema = pytest.importorskip("jsonschema", reason="needs the chart group")
yaml = pytest.importorskip("yaml", reason="needs the chart group")

SCHEMA: dict[str, Any] = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
VALUES_TEXT = (CHART / "values.yaml").read_text(encoding="utf-8")
VALUES: dict[str, Any] = yaml.safe_load(VALUES_TEXT)


def _gen_readme() -> Any:
    spec = importlib.util.spec_from_file_location("gen_readme", CHART / "gen_readme.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/$defs/"), f"not a local reference: {ref}"
        node = SCHEMA["$defs"][ref.removeprefix("#/$defs/")]
    return node


def _nodes(node: dict[str, Any], where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node, with a path for messages."""
    yield where, node
    for key, child in node.get("properties", {}).items():
        yield from _nodes(child, f"{where}.{key}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from _nodes(node[key], f"{where}[{key}]")
    for key in ("oneOf", "anyOf", "allOf"):
        for i, child in enumerate(node.get(key, [])):
            yield from _nodes(child, f"{where}<{key}{i}>")
    for name, child in node.get("$defs", {}).items():
        yield from _nodes(child, f"$defs.{name}")


def test_schema_is_self_contained_draft_2020_12() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    refs = [n["$ref"] for _, n in _nodes(SCHEMA) if "$ref" in n]
    assert refs
    assert all(r.startswith("#/") for r in refs), "a remote $ref does not render offline"


def test_every_object_is_closed_and_every_leaf_typed() -> None:
    for where, node in _nodes(SCHEMA):
        if "$ref" in node or ("oneOf" in node and "type" not in node):
            continue
        if set(node) <= {"required", "description"}:
            continue  # a oneOf branch that only says which keys must be there
        assert "type" in node, f"{where or '(root)'}: no type"
        if node["type"] == "object" and "properties" in node:
            assert node.get("additionalProperties") is False, f"{where}: unknown keys pass"
        elif node["type"] == "object" and where.count(".") and "additionalProperties" in node:
            assert isinstance(node["additionalProperties"], dict), f"{where}: untyped map"


def _value_paths(values: dict[str, Any], schema: dict[str, Any], prefix: str = ""
                 ) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, schema node) of every value values.yaml sets, descending only into objects the
    schema spells out (not free-form maps)."""
    for key, value in values.items():
        path = f"{prefix}{key}"
        props = _resolve(schema).get("properties", {})
        assert key in props, f"values.yaml has {path}, the schema does not"
        node = _resolve(props[key])
        yield path, node
        if isinstance(value, dict) and "properties" in node:
            yield from _value_paths(value, node, path + ".")


# Keys the schema accepts but values.yaml leaves out on purpose.
OPTIONAL = {"resources.limits.cpu": "no CPU limit by default: it would throttle argon2id"}


def _parent_is_spelled_out(path: str) -> bool:
    """True when values.yaml writes out the object holding this key (not `{}`, which is a
    value of its own, like `affinity`, whose keys are optional)."""
    node: Any = VALUES
    for part in path.split(".")[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    return isinstance(node, dict) and bool(node)


def test_schema_and_values_agree_key_for_key() -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(VALUES)
    in_values = {p for p, _ in _value_paths(VALUES, SCHEMA)}

    def schema_paths(node: dict[str, Any], prefix: str = "") -> Iterator[str]:
        for key, child in _resolve(node).get("properties", {}).items():
            yield prefix + key
            child = _resolve(child)
            if "properties" in child and child is not SCHEMA:
                yield from schema_paths(child, f"{prefix}{key}.")

    in_schema = {p for p in schema_paths(SCHEMA)
                 if _parent_is_spelled_out(p) and p not in OPTIONAL}
    assert in_schema == in_values
    assert set(OPTIONAL) <= set(schema_paths(SCHEMA))


def _lookup(path: str) -> Any:
    node: Any = VALUES
    for part in path.split("."):
        node = node[part]
    return node


def test_every_value_is_documented_where_it_is_set() -> None:
    docs = _gen_readme().documented(VALUES_TEXT)
    leaves = {p for p, node in _value_paths(VALUES, SCHEMA)
              if "properties" not in node or _lookup(p) == {}}
    assert leaves - set(docs) == set(), "values without a `# --` comment"
    assert set(docs) - leaves == set(), "`# --` comments on objects (document their leaves)"
    assert all(len(text) > 10 for text in docs.values())


def test_readme_values_table_is_current() -> None:
    module = _gen_readme()
    readme = (CHART / "README.md").read_text(encoding="utf-8")
    assert module.render_readme(readme) == readme, (
        "helm/nidan/README.md is stale: uv run --group chart python helm/nidan/gen_readme.py")
    assert readme.count("\n| `") == len(module.documented(VALUES_TEXT))


def _without_nulls(values: Any) -> Any:
    """What Helm validates: a null deletes the default it overrides (`outbox: null`)."""
    if isinstance(values, dict):
        return {k: _without_nulls(v) for k, v in values.items() if v is not None}
    return values


def test_ci_values_pass_the_schema() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for path in CI_VALUES:
        values = _without_nulls(load_values(path))
        errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(values)]
        assert not errors, (path.name, errors)


def test_schema_refuses_what_it_should() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for bad in ({"bogus": 1}, {"config": {"issuer": "http://id.example.com"}},
                {"image": {"tag": 3}}, {"store": {"backend": "postgres"}},
                {"secrets": {"create": {"dataKeys": ["no key id"]}}},
                {"extraEnv": [{"name": "X"}]}):
        assert list(validator.iter_errors(bad)), bad


def test_helm_lint_strict_is_clean() -> None:
    if helm_python is None:
        pytest.skip("the chart group is not synced")
    for path in CI_VALUES:
        for kube in ("v1.30.0", "v1.37.0"):
            report = helm_python.lint(str(CHART), load_values(path), strict=True,
                                      kube_version=kube, quiet=True)
            assert not report["errors"], report
            assert [m for m in report["messages"] if m["severity"] > 1] == [], report
