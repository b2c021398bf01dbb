"""docs/security.md keeps its ASVS tables true: every requirement of V6, V7 and V10 has a row
with its level and a status, and every test a row names exists."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
DOC: Final = ROOT / "docs" / "security.md"
SECTION: Final = "## ASVS 5.0 requirement by requirement"

# OWASP ASVS 5.0, chapters V6, V7 and V10: the level of each requirement of each section, in
# order (6.1 has 6.1.1 at L1, 6.1.2 and 6.1.3 at L2, ...).
LEVELS: Final[dict[str, tuple[int, ...]]] = {
    "6.1": (1, 2, 2),
    "6.2": (1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3),
    "6.3": (1, 2, 2, 3, 3, 3, 3, 3),
    "6.4": (1, 1, 2, 2, 3, 3),
    "6.5": (2, 2, 2, 2, 2, 3, 3, 3),
    "6.6": (2, 2, 2, 3),
    "6.7": (3, 3),
    "6.8": (2, 2, 2),
    "7.1": (2, 2, 2),
    "7.2": (1, 1, 1, 1),
    "7.3": (2, 2),
    "7.4": (1, 1, 2, 2, 2),
    "7.5": (2, 2, 3),
    "7.6": (2, 2),
    "10.1": (2, 2),
    "10.2": (2, 2, 3),
    "10.3": (2, 2, 2, 2, 3),
    "10.4": (1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3),
    "10.5": (2, 2, 2, 2, 2),
    "10.6": (2, 2),
    "10.7": (2, 2, 2),
}
REQUIREMENTS: Final[dict[str, int]] = {
    f"{section}.{number}": level
    for section, levels in LEVELS.items()
    for number, level in enumerate(levels, start=1)
}
STATUSES: Final = ("met", "not applicable", "NOT met")

_ID = re.compile(r"^\d+\.\d+\.\d+$")
# `tests/x/test_y.py::test_name` or `...::test_name[param-id]`
_TEST = re.compile(r"`((?:tests|plugins)/[\w./-]+\.py)::(\w+)(?:\[[^\]`]*\])?`")


@dataclass
class Row:
    id: str
    level: str
    tests: list[tuple[str, str]]
    status: str


@dataclass
class Problems:
    found: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.found.append(text)


def section_of(text: str) -> str:
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end != -1 else len(text)]


def rows_of(section: str) -> list[Row]:
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or not _ID.match(cells[0]):
            continue  # a header, a separator, or prose
        tests = [(match[1], match[2]) for match in _TEST.finditer(line)]
        rows.append(Row(cells[0], cells[1], tests, cells[-1]))
    return rows


@cache
def functions_in(path: Path) -> frozenset[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    )


def check(text: str, root: Path) -> list[str]:
    """Every problem of the ASVS tables in ``text``, tests looked for under ``root``."""
    problems = Problems()
    rows = rows_of(section_of(text))
    seen: set[str] = set()
    for row in rows:
        if row.id in seen:
            problems.add(f"{row.id}: two rows")
        seen.add(row.id)
        if row.id not in REQUIREMENTS:
            problems.add(f"{row.id}: not a requirement of V6, V7 or V10")
        elif row.level != str(REQUIREMENTS[row.id]):
            problems.add(f"{row.id}: level {row.level}, ASVS says {REQUIREMENTS[row.id]}")
        if not row.status.startswith(STATUSES):
            problems.add(f"{row.id}: status {row.status!r} is none of {STATUSES}")
        tested = row.status.startswith("met") and not row.status.startswith("met by docs")
        if tested and not row.tests:
            problems.add(f"{row.id}: met, but no test is named")
        for path, name in row.tests:
            file = root / path
            if not file.is_file():
                problems.add(f"{row.id}: {path} does not exist")
            elif not name.startswith("test_") or name not in functions_in(file):
                problems.add(f"{row.id}: {path} defines no test {name}")
    for missing in sorted(set(REQUIREMENTS) - seen, key=_order):
        problems.add(f"{missing}: no row")
    return problems.found


def _order(requirement: str) -> tuple[int, ...]:
    return tuple(int(part) for part in requirement.split("."))


def test_the_list_has_every_requirement_of_the_three_chapters() -> None:
    assert len(REQUIREMENTS) == 46 + 19 + 36  # V6, V7, V10 of ASVS 5.0
    assert list(REQUIREMENTS)[:3] == ["6.1.1", "6.1.2", "6.1.3"]
    assert REQUIREMENTS["6.2.12"] == 3
    assert REQUIREMENTS["10.4.16"] == 3


def test_every_requirement_has_a_row_and_every_named_test_exists() -> None:
    assert check(DOC.read_text(encoding="utf-8"), ROOT) == []


def test_the_doc_names_real_tests_of_the_project() -> None:
    rows = rows_of(section_of(DOC.read_text(encoding="utf-8")))
    named = {test for row in rows for test in row.tests}
    assert len(rows) == len(REQUIREMENTS)
    assert len(named) > 100  # the tables point at the tests, not at directories
    assert ("tests/test_security_doc.py", "test_the_check_finds_what_is_wrong") not in named


def test_the_check_finds_what_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "import pytest\n\n@pytest.mark.parametrize('n', [1])\ndef test_real(n: int) -> None:\n"
        "    assert n\n\ndef helper() -> None:\n    pass\n"
    )
    doc = "\n".join(
        [
            "# Security",
            "",
            SECTION,
            "",
            "| id | L | what | test | status |",
            "|---|---|---|---|---|",
            "| 6.1.1 | 1 | x | `tests/test_x.py::test_real[1]` | met |",
            "| 6.1.2 | 2 | x | `tests/test_x.py::test_gone` | met |",
            "| 6.1.3 | 3 | x | `tests/test_y.py::test_real` | met |",
            "| 6.2.1 | 1 | x | `tests/test_x.py::helper` | met |",
            "| 6.2.2 | 1 | x | - | met |",
            "| 6.2.3 | 1 | x | - | fine |",
            "| 6.2.3 | 1 | x | - | met by docs |",
            "| 6.9.9 | 1 | x | - | not applicable: no such thing |",
            "",
            "## Attacks",
            "| 6.2.4 | 1 | outside the section | - | met by docs |",
        ]
    )
    problems = check(doc, tmp_path)
    assert "6.1.2: tests/test_x.py defines no test test_gone" in problems
    assert "6.1.3: level 3, ASVS says 2" in problems
    assert "6.1.3: tests/test_y.py does not exist" in problems
    assert "6.2.1: tests/test_x.py defines no test helper" in problems
    assert "6.2.2: met, but no test is named" in problems
    assert "6.2.3: status 'fine' is none of ('met', 'not applicable', 'NOT met')" in problems
    assert "6.2.3: two rows" in problems
    assert "6.9.9: not a requirement of V6, V7 or V10" in problems
    assert "6.2.4: no row" in problems  # a row outside the section does not count
    assert "10.7.3: no row" in problems
    assert not any(problem.startswith("6.1.1") for problem in problems)
