"""The shipped alert rules and dashboard: promtool checks and unit-tests the rules (Debian's
prometheus package); the dashboard is valid Grafana JSON whose queries name only metrics
Nidan exports, with the funnel and SLO rows."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from idp import metrics
from tests.conftest import make_settings

DEPLOY = Path(__file__).parents[2] / "deploy"
promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian's "
                              "prometheus package) is not installed")


def exported_families(tmp_path: Path) -> set[str]:
    made = metrics.enable(make_settings(tmp_path))
    names = set()
    for value in vars(made).values():
        for family in value.describe() if hasattr(value, "describe") else ():
            names.add(family.name)
    return names


@promtool
def test_the_rules_pass_promtool_check_and_their_unit_tests() -> None:
    for command in (["check", "rules", "rules.yaml"], ["test", "rules", "rules_test.yaml"]):
        result = subprocess.run(["promtool", *command], cwd=DEPLOY / "prometheus",
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_the_issue_asks_for_has_a_rule_and_a_fixture() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules.yaml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert alerts == {
        "NidanSecondFactorFailureRatioHigh", "NidanCodeDeliveryFailureRatioHigh",
        "NidanSendsPerCountryAboveBaseline", "NidanLockoutSpike",
        "NidanBackchannelLogoutGaveUp", "NidanSigningKeyExpiringSoon", "NidanLatencyHigh",
        "NidanServerErrorsHigh", "NidanTargetDown",
    }
    tests = yaml.safe_load((DEPLOY / "prometheus" / "rules_test.yaml").read_text())
    fired = {case["alertname"] for test in tests["tests"] for case in test["alert_rule_test"]
             if case.get("exp_alerts")}
    assert fired == alerts


def test_the_rules_and_the_dashboard_name_only_exported_metrics(tmp_path: Path) -> None:
    exported = exported_families(tmp_path)
    texts = [(DEPLOY / "prometheus" / "rules.yaml").read_text(),
             (DEPLOY / "grafana" / "nidan.json").read_text()]
    for text in texts:
        for name in set(re.findall(r"\bnidan_[a-z_]+", text)):
            base = re.sub(r"_(bucket|count|sum|total)$", "", name)
            assert name in exported or base in exported, name


def test_the_dashboard_has_the_funnel_and_the_slo_rows() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "nidan.json").read_text())
    assert dashboard["uid"]
    assert dashboard["title"] == "Nidan"
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows[:2] == ["SLO", "Sign-in funnel"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}"
        assert panel["targets"]
        for target in panel["targets"]:
            assert target["expr"].strip()
            for used in re.findall(r"\$(\w+)", target["expr"]):
                assert used in variables
    funnel = [p for p in dashboard["panels"] if p["title"].startswith("Funnel")]
    assert funnel
    assert "nidan_signin_steps_total" in funnel[0]["targets"][0]["expr"]
