"""Writes the values table of helm/nidan/README.md from values.yaml's `# --` comments and
the types in values.schema.json.

    uv run --group chart python helm/nidan/gen_readme.py          # rewrite the table
    uv run --group chart python helm/nidan/gen_readme.py --check  # exit 1 if it is stale

tests/deploy/test_values.py runs the check, and uses `documented()` to make sure every value
is documented where it is set.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parent
START, END = "<!-- values:start -->", "<!-- values:end -->"
_KEY = re.compile(r"^(?P<indent> *)(?:- )?(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?P<rest>.*)$")


def documented(values_text: str) -> dict[str, str]:
    """Dotted path -> description, for every key preceded by a `# --` comment."""
    docs: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] | None = None
    for line in values_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            pending = [stripped.removeprefix("# --").strip()]
            continue
        if pending is not None and stripped.startswith("#"):
            pending.append(stripped.removeprefix("#").strip())
            continue
        match = _KEY.match(line)
        if not match or line.lstrip().startswith("- "):
            if stripped and not stripped.startswith("#") and not stripped.startswith("- "):
                pending = None
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([*(k for _, k in stack), match["key"]])
        stack.append((indent, match["key"]))
        if pending is not None:
            docs[path] = " ".join(pending)
            pending = None
    return docs


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def schema_at(schema: dict[str, Any], path: str) -> dict[str, Any]:
    node = schema
    for part in path.split("."):
        node = _resolve(schema, node)
        node = node.get("properties", {}).get(part) or node["additionalProperties"]
    return _resolve(schema, node)


def type_name(node: dict[str, Any]) -> str:
    kind = node.get("type", "object")
    if isinstance(kind, list):
        return " or ".join("null" if k == "null" else k for k in kind)
    if kind == "array":
        return "list"
    return str(kind)


def _lookup(values: dict[str, Any], path: str) -> Any:
    node: Any = values
    for part in path.split("."):
        node = node[part]
    return node


def table() -> str:
    text = (CHART / "values.yaml").read_text(encoding="utf-8")
    values = yaml.safe_load(text)
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    rows = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    for path, description in documented(text).items():
        default = json.dumps(_lookup(values, path), ensure_ascii=False).replace("|", r"\|")
        description = description.replace("|", r"\|")
        kind = type_name(schema_at(schema, path))
        rows.append(f"| `{path}` | {kind} | `{default}` | {description} |")
    return "\n".join(rows)


def render_readme(readme: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    path = CHART / "README.md"
    current = path.read_text(encoding="utf-8")
    wanted = render_readme(current)
    if "--check" in argv:
        if wanted != current:
            print(f"{path} is stale: run python {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    path.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
