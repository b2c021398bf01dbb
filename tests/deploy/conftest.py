"""Shared, session-scoped renders of every helm/nidan/ci/*-values.yaml: each file is rendered
once for the whole run, however many tests read it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploy.chart import CI_VALUES, load_values, manifests, render


class Renders:
    def __init__(self) -> None:
        self._cache: dict[str, tuple[dict[str, str], list[dict[str, Any]]]] = {}

    def get(self, path: Path) -> tuple[dict[str, str], list[dict[str, Any]]]:
        if path.name not in self._cache:
            rendered = render(load_values(path))
            self._cache[path.name] = (rendered, manifests(rendered))
        return self._cache[path.name]


@pytest.fixture(scope="session")
def renders() -> Renders:
    return Renders()


@pytest.fixture(params=CI_VALUES, ids=[p.name.removesuffix("-values.yaml") for p in CI_VALUES])
def ci(request: pytest.FixtureRequest, renders: Renders) -> tuple[Path, list[dict[str, Any]]]:
    """(values file, its rendered objects), once per ci values file."""
    path: Path = request.param
    return path, renders.get(path)[1]
