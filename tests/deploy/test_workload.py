"""The Deployment and its neighbours: store guard, probes, graceful shutdown, checksums,
autoscaling, disruption budget, spreading, the check-config initContainer, the typed extras."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from tests.deploy.chart import CHART, idp_toml, load_values, manifests, of_kind, one, render

SQLITE = CHART / "ci" / "sqlite-values.yaml"
SENTINEL = CHART / "ci" / "sentinel-ingress-values.yaml"
CLUSTER = CHART / "ci" / "cluster-gateway-hpa-values.yaml"
TWILIO = CHART / "ci" / "redis-twilio-values.yaml"
SHUTDOWN = CHART / "ci" / "proxies-shutdown-values.yaml"


def _objects(path: Path, **changes: Any) -> list[dict[str, Any]]:
    values = copy.deepcopy(load_values(path))
    values.update(changes)
    return manifests(render(values))


def _server(objects: list[dict[str, Any]]) -> dict[str, Any]:
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    [container] = [c for c in pod["containers"] if c["name"] == "nidan"]
    assert isinstance(container, dict)
    return container


def test_sqlite_means_one_pod_recreated_on_a_claim(renders: Any) -> None:
    objects = renders.get(SQLITE)[1]
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    claim = one(objects, "PersistentVolumeClaim")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    mounts = {m["name"]: m["mountPath"] for m in _server(objects)["volumeMounts"]}
    assert mounts["data"] == "/var/lib/nidan"
    store = tomllib.loads(idp_toml(objects))["store"]
    assert store["url"] == "sqlite:////var/lib/nidan/nidan.sqlite3"
    assert not of_kind(objects, "HorizontalPodAutoscaler")
    assert not of_kind(objects, "PodDisruptionBudget")  # one pod: nothing to budget


def test_redis_rolls_without_a_claim(renders: Any) -> None:
    objects = renders.get(SENTINEL)[1]
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert not of_kind(objects, "PersistentVolumeClaim")


def test_probes_watch_healthz_and_readyz(renders: Any) -> None:
    server = _server(renders.get(SENTINEL)[1])
    assert server["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert server["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert server["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    ports = {p["name"]: p["containerPort"] for p in server["ports"]}
    assert ports == {"http": 8000}


def test_grace_period_outlasts_prestop_and_drain(renders: Any) -> None:
    objects = renders.get(SHUTDOWN)[1]
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    server = _server(objects)
    assert server["lifecycle"]["preStop"] == {"sleep": {"seconds": 10}}
    server_toml = tomllib.loads(idp_toml(objects))["server"]
    assert server_toml["shutdown_timeout"] == 20
    assert pod["terminationGracePeriodSeconds"] == 10 + 20 + 5
    # Without a drain bound, Nidan's own default (taken as 30 s) is what the grace follows.
    default = one(renders.get(SENTINEL)[1], "Deployment")["spec"]["template"]["spec"]
    assert default["terminationGracePeriodSeconds"] == 5 + 30 + 5
    assert "shutdown_timeout" not in idp_toml(renders.get(SENTINEL)[1])


def test_a_config_or_secret_change_rolls_the_pods() -> None:
    def checksums(objects: list[dict[str, Any]]) -> dict[str, str]:
        annotations = one(objects, "Deployment")["spec"]["template"]["metadata"]["annotations"]
        return {k: v for k, v in annotations.items() if k.startswith("checksum/")}

    base = checksums(_objects(TWILIO))
    config = checksums(_objects(TWILIO, config={"issuer": "https://id.example.com", "workers": 4}))
    values = load_values(TWILIO)
    values["secrets"]["create"]["cookieKeys"] = ["another-cookie-key-0123456789abcdef01234567"]
    secret = checksums(manifests(render(values)))
    assert set(base) == {"checksum/config", "checksum/secret"}
    assert config["checksum/config"] != base["checksum/config"]
    assert config["checksum/secret"] == base["checksum/secret"]
    assert secret["checksum/secret"] != base["checksum/secret"]
    assert secret["checksum/config"] == base["checksum/config"]


def test_hpa_is_autoscaling_v2_and_owns_the_replica_count(renders: Any) -> None:
    objects = renders.get(CLUSTER)[1]
    hpa = one(objects, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == one(objects, "Deployment")["metadata"]["name"]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    assert "replicas" not in one(objects, "Deployment")["spec"]


def test_pdb_by_default_when_more_than_one_pod(renders: Any) -> None:
    for path in (SENTINEL, CLUSTER, TWILIO):
        pdb = one(renders.get(path)[1], "PodDisruptionBudget")
        assert pdb["apiVersion"] == "policy/v1"
        assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
        assert pdb["spec"]["maxUnavailable"] == 1
    off = load_values(SENTINEL) | {"podDisruptionBudget": {"enabled": False}}
    assert not of_kind(manifests(render(off)), "PodDisruptionBudget")


def test_soft_spread_over_zones_and_nodes(renders: Any) -> None:
    pod = one(renders.get(SENTINEL)[1], "Deployment")["spec"]["template"]["spec"]
    spread = {c["topologyKey"]: c for c in pod["topologySpreadConstraints"]}
    assert set(spread) == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    for constraint in spread.values():
        assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"
        assert constraint["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] == "nidan"


def test_check_config_runs_first_as_an_init_container(renders: Any) -> None:
    for path in (SQLITE, SENTINEL, TWILIO):
        pod = one(renders.get(path)[1], "Deployment")["spec"]["template"]["spec"]
        [init] = pod["initContainers"]
        assert init["command"] == ["idp", "check-config"]
        server = next(c for c in pod["containers"] if c["name"] == "nidan")
        assert init["image"] == server["image"]
        chart_mounts = [m for m in server["volumeMounts"] if m["name"] != "ca-bundle"]
        assert init["volumeMounts"] == chart_mounts
        assert init["env"][0] == {"name": "IDP_CONFIG", "value": "/etc/nidan/config/idp.toml"}
    objects = manifests(render(load_values(SQLITE) | {"checkConfig": {"enabled": False}}))
    assert "initContainers" not in one(objects, "Deployment")["spec"]["template"]["spec"]
    # No Helm hooks but the test pod: Argo CD and Flux apply the chart as plain manifests.
    hooks = [o for o in renders.get(SENTINEL)[1]
             if "helm.sh/hook" in o["metadata"].get("annotations", {})]
    assert [h["kind"] for h in hooks] == ["Pod"]


def test_extra_env_volumes_and_objects(renders: Any) -> None:
    objects = renders.get(TWILIO)[1]
    server = _server(objects)
    assert {"name": "TZ", "value": "Asia/Tokyo"} in server["env"]
    assert {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in (
        server["env"])
    assert {"name": "ca-bundle", "mountPath": "/etc/ssl/corporate", "readOnly": True} in (
        server["volumeMounts"])
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert {"name": "ca-bundle", "configMap": {"name": "corporate-ca"}} in pod["volumes"]
    extra = {o["metadata"]["name"]: o for o in of_kind(objects, "ConfigMap")}
    assert extra["corporate-ca"]["metadata"]["namespace"] == "nidan"  # objects go through tpl
    assert extra["nidan-extra"]["data"] == {"note": "a template string, rendered with tpl"}


def test_image_by_tag_or_by_digest(renders: Any) -> None:
    assert _server(renders.get(SQLITE)[1])["image"] == "nidan:0.1.0"
    assert _server(renders.get(CLUSTER)[1])["image"] == (
        "registry.example.org/nidan@sha256:" + "0123456789abcdef" * 4)
