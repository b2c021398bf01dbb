"""Ingress and HTTPRoute behind their flags, the default-deny NetworkPolicy with generated
rules, and the Prometheus Operator objects behind theirs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploy.chart import CHART, idp_toml, load_values, manifests, of_kind, one, render

CI = CHART / "ci"


def test_ingress_serves_the_issuer_host(renders: Any) -> None:
    objects = renders.get(CI / "sentinel-ingress-values.yaml")[1]
    ingress = one(objects, "Ingress")
    assert [r["host"] for r in ingress["spec"]["rules"]] == ["id.example.com"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    service = one(objects, "Service")["metadata"]["name"]
    assert backend == {"name": service, "port": {"name": "http"}}
    assert ingress["spec"]["tls"][0]["hosts"] == ["id.example.com"]
    assert not of_kind(objects, "HTTPRoute")


def test_httproute_serves_the_issuer_host(renders: Any) -> None:
    objects = renders.get(CI / "cluster-gateway-hpa-values.yaml")[1]
    route = one(objects, "HTTPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["hostnames"] == ["login.example.org"]
    assert route["spec"]["parentRefs"][0]["name"] == "public"
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "nidan", "port": 80}]
    assert not of_kind(objects, "Ingress")


def test_nothing_optional_by_default(renders: Any) -> None:
    kinds = {o["kind"] for o in renders.get(CI / "sqlite-values.yaml")[1]}
    assert kinds == {"ConfigMap", "Secret", "ServiceAccount", "Service", "Deployment",
                     "PersistentVolumeClaim", "Pod"}


def _policy(path: Path, renders: Any) -> dict[str, Any]:
    policy: dict[str, Any] = one(renders.get(path)[1], "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "nidan"
    return policy


def _egress_ports(policy: dict[str, Any]) -> list[set[int]]:
    dns = policy["egress"][0]
    assert dns["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    assert dns["to"] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    for rule in policy["egress"][1:]:
        assert {p["protocol"] for p in rule["ports"]} == {"TCP"}
    return [{p["port"] for p in rule["ports"]} for rule in policy["egress"]]


def test_sentinels_without_ports_are_on_26379() -> None:
    values = load_values(CI / "sentinel-ingress-values.yaml")
    values["store"]["redis"]["url"] = "redis+sentinel://s1,s2,s3/mymaster"
    policy = one(manifests(render(values)), "NetworkPolicy")["spec"]
    assert _egress_ports(policy)[1] == {26379, 6379}


def test_network_policy_for_sentinel(renders: Any) -> None:
    policy = _policy(CI / "sentinel-ingress-values.yaml", renders)
    [http] = policy["ingress"]
    assert http["ports"] == [{"port": "http", "protocol": "TCP"}]
    controller = {"kubernetes.io/metadata.name": "ingress-nginx"}
    assert {"namespaceSelector": {"matchLabels": controller}} in http["from"]
    # DNS, then the Sentinels and the master they name; nothing else leaves the pod.
    assert _egress_ports(policy) == [{53}, {26379, 6379}]
    assert policy["egress"][1]["to"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "redis"}}}]


def test_network_policy_for_a_gateway_and_metrics(renders: Any) -> None:
    assert _egress_ports(_policy(CI / "redis-twilio-values.yaml", renders)) == [
        {53}, {6379}, {443}]
    policy = _policy(CI / "metrics-servicemonitor-values.yaml", renders)
    assert [r["ports"] for r in policy["ingress"]] == [
        [{"port": "http", "protocol": "TCP"}], [{"port": "metrics", "protocol": "TCP"}]]


def test_network_policy_is_opt_in(renders: Any) -> None:
    assert not of_kind(renders.get(CI / "cluster-gateway-hpa-values.yaml")[1], "NetworkPolicy")


def test_service_monitor_scrapes_the_metrics_port(renders: Any) -> None:
    objects = renders.get(CI / "metrics-servicemonitor-values.yaml")[1]
    monitor = one(objects, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "30s"}]
    service_ports = {p["name"] for p in one(objects, "Service")["spec"]["ports"]}
    assert service_ports == {"http", "metrics"}
    assert 'listen = "0.0.0.0:9464"' in idp_toml(objects)
    assert not of_kind(objects, "PodMonitor")


def test_pod_monitor_instead(renders: Any) -> None:
    objects = renders.get(CI / "metrics-podmonitor-values.yaml")[1]
    monitor = one(objects, "PodMonitor")
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    assert not of_kind(objects, "ServiceMonitor")
    assert not of_kind(objects, "PrometheusRule")


def test_prometheus_rule_comes_from_the_chart_file(renders: Any) -> None:
    import yaml

    rule = one(renders.get(CI / "metrics-servicemonitor-values.yaml")[1], "PrometheusRule")
    shipped = yaml.safe_load((CHART / "files" / "prometheus-rules.yaml").read_text())
    assert rule["spec"]["groups"] == shipped["groups"]
    assert rule["spec"]["groups"]


def test_the_chart_ships_the_projects_alert_rules() -> None:
    # Helm reads files only inside the chart: the copy must stay the file promtool tests.
    root = CHART.parent.parent
    shipped = (root / "deploy" / "prometheus" / "rules.yaml").read_text(encoding="utf-8")
    assert (CHART / "files" / "prometheus-rules.yaml").read_text(encoding="utf-8") == shipped


@pytest.mark.parametrize("flag", ["serviceMonitor", "podMonitor", "prometheusRule"])
def test_monitoring_objects_are_off_by_default(flag: str) -> None:
    values = load_values(CI / "metrics-podmonitor-values.yaml")
    values["metrics"] = {"enabled": True}
    kinds = {o["kind"] for o in manifests(render(values))}
    assert not kinds & {"ServiceMonitor", "PodMonitor", "PrometheusRule"}, flag
