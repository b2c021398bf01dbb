"""Finding and starting methods: only through the ``idp.methods`` entry-point group.

A method is enabled by its config section (``[methods.sms]``, possibly empty) and found by
the entry point of that name; built-in methods load exactly like a third party's. Every
problem is one line naming the method and the fix, and all of them are reported together
at start-up (``idp check-config``), before a person could meet one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import ValidationError

from idp.methods.base import Interaction, Method, MethodInfo
from idp.methods.context import MethodContext
from idp.settings import ConfigModel, SettingsError

__all__ = [
    "ENTRY_POINT_GROUP",
    "MethodLoadError",
    "build_methods",
    "installed_methods",
    "load_methods",
]

ENTRY_POINT_GROUP = "idp.methods"
# Method ids appear in config section names, store keys, URLs and audit events.
METHOD_ID = re.compile(r"[a-z][a-z0-9_-]{0,31}")

MethodClass = type[Method[Any]]


class MethodLoadError(SettingsError):
    """One or more configured methods cannot be used; one line per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = tuple(lines)


def installed_methods() -> dict[str, list[EntryPoint]]:
    """Entry-point name -> its entry points (more than one is a conflict)."""
    found: dict[str, list[EntryPoint]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if all(ep.value != other.value for other in found.get(ep.name, [])):
            found.setdefault(ep.name, []).append(ep)
    return found


def _origin(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{ep.value} (from {dist.name})" if dist is not None else ep.value


def _load_class(name: str, installed: Mapping[str, list[EntryPoint]]) -> MethodClass | str:
    where = f"methods.{name}"
    eps = installed.get(name)
    if not eps:
        return (
            f"{where}: method {name!r} is configured but not installed: install the "
            f"distribution that provides it (for example `uv pip install nidan-{name}`), or "
            f"remove [methods.{name}]"
        )
    if len(eps) > 1:
        both = ", ".join(_origin(ep) for ep in eps)
        return f"{where}: method {name!r} is provided twice ({both}): uninstall one"
    try:
        cls = eps[0].load()
    except Exception as exc:
        return f"{where}: {_origin(eps[0])} failed to import: {type(exc).__name__}: {exc}"
    return check_class(name, cls, _origin(eps[0]))


def check_class(name: str, cls: object, origin: str) -> MethodClass | str:
    """``cls`` if it is a usable method class registered as ``name``, else why not."""
    where = f"methods.{name}"
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        return f"{where}: {origin} is not a subclass of idp.methods.Method"
    info = getattr(cls, "info", None)
    if not isinstance(info, MethodInfo):
        return f"{where}: {origin} does not set `info` to an idp.methods.MethodInfo"
    if info.id != name:
        return (
            f"{where}: {origin} has info.id {info.id!r} but its entry point is named "
            f"{name!r}; they must be equal"
        )
    if not METHOD_ID.fullmatch(name):
        return f"{where}: method id {name!r} must match {METHOD_ID.pattern}"
    if not info.amr:
        return f"{where}: {origin} has an empty info.amr (give RFC 8176 values)"
    if info.interaction is Interaction.CEREMONY:
        if cls.begin_ceremony is Method.begin_ceremony:
            return f"{where}: {origin} is a CEREMONY method but does not define begin_ceremony"
        if info.delivers_code:
            return f"{where}: {origin} is a CEREMONY method: it cannot also deliver a code"
        if set(info.amr) & {"otp", "sms", "tel"}:
            return f"{where}: {origin} runs a ceremony: its amr cannot say otp, sms or tel"
    config_class = getattr(cls, "config_class", None)
    if not (isinstance(config_class, type) and issubclass(config_class, ConfigModel)):
        return f"{where}: {origin} does not set `config_class` to an idp.settings.ConfigModel"
    return cls


def validate_config(
    name: str, cls: MethodClass, raw: Mapping[str, Any]
) -> ConfigModel | list[str]:
    """The plugin's typed config, or one line per problem naming the key."""
    config_class: type[ConfigModel] = cls.config_class
    try:
        return config_class.model_validate(dict(raw))
    except ValidationError as exc:
        lines = []
        for item in exc.errors(include_url=False):
            key = ".".join(str(part) for part in item["loc"])
            where = f"methods.{name}" + (f".{key}" if key else "")
            if item["type"] == "extra_forbidden":
                lines.append(f"{where}: unknown setting")
            else:
                lines.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
        return lines


def build_methods(
    classes: Mapping[str, MethodClass | str],
    configs: Mapping[str, Mapping[str, Any]],
    make_context: Callable[[str], MethodContext],
) -> dict[str, Method[Any]]:
    """Instantiate each method with its validated config; raise :class:`MethodLoadError`
    listing every problem (a ``str`` in ``classes`` is a problem found while loading)."""
    problems: list[str] = []
    methods: dict[str, Method[Any]] = {}
    for name, cls in classes.items():
        if isinstance(cls, str):
            problems.append(cls)
            continue
        config = validate_config(name, cls, configs.get(name) or {})
        if isinstance(config, list):
            problems.extend(config)
            continue
        try:
            methods[name] = cls(config, make_context(name))
        except Exception as exc:
            problems.append(f"methods.{name}: could not start: {type(exc).__name__}: {exc}")
    if problems:
        raise MethodLoadError(problems)
    return methods


def load_methods(
    configs: Mapping[str, Mapping[str, Any]],
    make_context: Callable[[str], MethodContext],
) -> dict[str, Method[Any]]:
    """The methods enabled in ``configs`` (``settings.methods``), found by entry point."""
    installed = installed_methods()
    classes = {name: _load_class(name, installed) for name in configs}
    return build_methods(classes, configs, make_context)
