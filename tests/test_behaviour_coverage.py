"""Every rule of docs/behaviour.md is cited by at least one test (``# covers T3``).

The rules are read from the project's own docs/behaviour.md (never from outside the
repository); the citations from every test file of the repository, the plugins' included.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULE = re.compile(r"^- \*\*([SECTAL][0-9]+)\*\*", re.MULTILINE)
# "covers S1", "covers S1, S2 and E4", "covers S4 (the operator's way out)".
CITATION = re.compile(r"covers\s+((?:[SECTAL][0-9]+[\s,/and]*)+)")
CITED_RULE = re.compile(r"[SECTAL][0-9]+")


def rules() -> list[str]:
    return RULE.findall((ROOT / "docs" / "behaviour.md").read_text(encoding="utf-8"))


def cited_files() -> list[Path]:
    return [path for base in (ROOT / "tests", ROOT / "plugins") for path in base.rglob("test_*.py")
            if path.resolve() != Path(__file__).resolve()]


def citations() -> dict[str, set[Path]]:
    cited: dict[str, set[Path]] = {}
    for path in cited_files():
        for match in CITATION.finditer(path.read_text(encoding="utf-8")):
            for rule in CITED_RULE.findall(match.group(1)):
                cited.setdefault(rule, set()).add(path)
    return cited


def test_the_rules_are_read() -> None:
    found = rules()
    # Six families, numbered without gaps: S1-S5, E1-E7, C1-C4, T1-T5, A1-A2, L1.
    assert len(found) == 24
    assert found[0] == "S1"
    assert found[-1] == "L1"


def test_every_rule_is_cited_by_a_test() -> None:
    cited = citations()
    missing = [rule for rule in rules() if rule not in cited]
    assert not missing, f"rules of docs/behaviour.md no test cites: {', '.join(missing)}"


def test_no_test_cites_a_rule_that_does_not_exist() -> None:
    known = set(rules())
    unknown = {rule: sorted(str(p.relative_to(ROOT)) for p in paths)
               for rule, paths in citations().items() if rule not in known}
    assert not unknown, f"citations of rules docs/behaviour.md does not have: {unknown}"
