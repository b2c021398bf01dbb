"""The house: rooms talk downward only, and no module's imports come back to it.

Every import under ``src/idp`` is read with :mod:`ast` (those under ``TYPE_CHECKING`` too:
an annotation ties two modules as much as a call does). A module may import its own room
and the rooms below it, never one above, not even inside a function. The order is written
here once and described in docs/contributing.md ("The house").

Circles are looked for among the imports that run when a module loads (its top level,
``TYPE_CHECKING`` blocks and class bodies included): a package that picks its backend in a
function (``idp.store.open_store``) imports it only when called, which is no circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Final

SRC: Final = Path(__file__).resolve().parents[1] / "src"
PLUGINS: Final = Path(__file__).resolve().parents[1] / "plugins"

# Bottom first. A room is a top-level module or package of `idp`; "commands" holds the
# entry points (the `idp` command and dev mode), the only modules that may import idp.app.
ROOMS: Final = (
    "settings",
    "observability",
    "crypto",
    "store",
    "metrics",
    "audit",
    "delivery",
    "methods",
    "users",
    "devices",
    "sessions",
    "web",
    "login",
    "oidc",
    "notices",
    "account",
    "demo",
    "resets",
    "services",
    "registration",
    "admin",
    "scim",
    "app",
    "commands",
)
COMMANDS: Final = frozenset({"cli", "cli_admin", "cli_common", "cli_oidc", "cli_plugins",
                             "cli_registration", "cli_scim", "cli_security", "devmode",
                             "serving"})
# What a method plugin may import of the core (transports may also use idp.delivery).
PLUGIN_API: Final = ("idp.methods", "idp.delivery")


def room_of(module: str) -> str:
    """The room of ``idp.x.y`` (``x``, or "commands"); refuses a module of no room."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    room = "commands" if top in COMMANDS else top
    if room not in ROOMS:
        raise AssertionError(
            f"{module} belongs to no room: add it to ROOMS in tests/test_structure.py and to "
            "the house in docs/contributing.md"
        )
    return room


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _nodes(tree: ast.AST, *, in_functions: bool) -> Iterator[ast.AST]:
    for node in ast.iter_child_nodes(tree):
        yield node
        if in_functions or not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef
                                          | ast.Lambda):
            yield from _nodes(node, in_functions=in_functions)


def imports_of(path: Path, module: str, *, in_functions: bool = True
               ) -> Iterator[tuple[int, str]]:
    """(line, imported module) for the imports in ``path``, relative ones resolved; with
    ``in_functions=False`` only those that run when the module loads."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in _nodes(tree, in_functions=in_functions):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            yield node.lineno, target
            # `from idp.oidc import provider` imports the module idp.oidc.provider.
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"


def core_modules() -> dict[str, Path]:
    return {module_name(path, SRC): path for path in sorted((SRC / "idp").rglob("*.py"))}


def core_imports(modules: dict[str, Path], *, in_functions: bool = True
                 ) -> dict[str, set[tuple[int, str]]]:
    """Each module's imports of other modules of the core (only those that exist)."""
    found: dict[str, set[tuple[int, str]]] = {}
    for module, path in modules.items():
        found[module] = {
            (line, target) for line, target in imports_of(path, module, in_functions=in_functions)
            if target in modules and target != module
        }
    return found


def upward_imports(modules: dict[str, Path]) -> list[str]:
    rank = {room: floor for floor, room in enumerate(ROOMS)}
    problems = []
    for module, targets in core_imports(modules).items():
        if module == "idp":
            continue
        here = room_of(module)
        for line, target in sorted(targets):
            if target == "idp":
                continue
            there = room_of(target)
            if rank[there] > rank[here]:
                path = modules[module].relative_to(SRC.parent)
                problems.append(f"{path}:{line}: {module} ({here}) imports {target} ({there}),"
                                f" a room above it")
    return problems


def circles(modules: dict[str, Path]) -> list[list[str]]:
    """The import cycles between modules (each as the path that closes it)."""
    graph = {module: sorted({target for _, target in targets if target != "idp"})
             for module, targets in core_imports(modules, in_functions=False).items()}
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in graph.get(module, []):
            if state.get(target) == 1:
                found.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module)
    return found


def test_rooms_import_only_their_own_room_and_the_rooms_below() -> None:
    problems = upward_imports(core_modules())
    assert not problems, "upward imports:\n" + "\n".join(problems)


def test_no_module_imports_come_back_to_it() -> None:
    found = circles(core_modules())
    assert not found, "import circles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_only_the_entry_points_import_the_application() -> None:
    modules = core_modules()
    importers = sorted(module for module, targets in core_imports(modules).items()
                       if any(target == "idp.app" for _, target in targets))
    assert all(room_of(module) == "commands" for module in importers), importers


def test_every_room_named_in_the_order_exists() -> None:
    tops = {module.split(".")[1] for module in core_modules() if module != "idp"}
    rooms = {"commands" if top in COMMANDS else top for top in tops}
    assert rooms == set(ROOMS)
    assert tops >= COMMANDS


def test_contributing_gives_the_same_room_order() -> None:
    text = (SRC.parent / "docs" / "contributing.md").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("Room order"))
    order = line.split(":", 1)[1].replace("`", "").strip().rstrip(".")
    assert [room.strip() for room in order.split("<")] == list(ROOMS)


def test_plugins_import_only_the_plugin_api() -> None:
    problems = []
    for path in sorted(PLUGINS.glob("*/src/**/*.py")):
        root = next(parent for parent in path.parents if parent.name == "src")
        for line, target in imports_of(path, module_name(path, root)):
            if target.split(".")[0] == "idp" and not target.startswith(PLUGIN_API):
                problems.append(f"{path.relative_to(PLUGINS)}:{line}: imports {target}")
    assert not problems, "\n".join(problems)
