"""Restricted Pod Security on every container of every render, hooks and the test pod
included (https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.deploy.chart import containers, of_kind, pod_specs

RESTRICTED_CONTAINER = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "runAsGroup": 65532,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
RESTRICTED_POD = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "runAsGroup": 65532,
    "fsGroup": 65532,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def test_every_container_of_every_render_is_restricted(ci: tuple[Path, list[Any]]) -> None:
    _, objects = ci
    seen = 0
    for name, spec in pod_specs(objects):
        assert spec.get("automountServiceAccountToken") is False, name
        pod = spec.get("securityContext", {})
        for key, want in RESTRICTED_POD.items():
            assert pod.get(key) == want, f"{name}: pod securityContext.{key} = {pod.get(key)!r}"
        assert not spec.get("hostNetwork")
        assert not spec.get("hostPID")
        assert not spec.get("hostIPC")
        for container in containers(spec):
            seen += 1
            where = f"{name} container {container['name']}"
            got = container.get("securityContext", {})
            for key, want in RESTRICTED_CONTAINER.items():
                assert got.get(key) == want, f"{where}: securityContext.{key} = {got.get(key)!r}"
            assert not set(got.get("capabilities", {}).get("add", [])), where
    # The server, its check-config initContainer and the helm test pod at least.
    assert seen >= 3


def test_the_test_pod_is_a_helm_test_hook_with_the_same_context(
    ci: tuple[Path, list[Any]],
) -> None:
    _, objects = ci
    pods = of_kind(objects, "Pod")
    assert [p["metadata"]["annotations"]["helm.sh/hook"] for p in pods] == ["test"]


def test_writable_places_are_tmp_and_the_data_directory_only(
    ci: tuple[Path, list[Any]],
) -> None:
    path, objects = ci
    for name, spec in pod_specs(objects):
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in containers(spec):
            writable = {
                m["mountPath"]
                for m in container.get("volumeMounts", [])
                if not m.get("readOnly")
                and {"emptyDir", "persistentVolumeClaim"} & set(volumes.get(m["name"], {}))
            }
            if container.get("volumeMounts"):
                assert "/tmp" in writable, f"{name}/{container['name']}: no writable /tmp"
            assert writable <= {"/tmp", "/var/lib/nidan"}, (path.name, name, writable)


def test_service_account_token_is_never_mounted(ci: tuple[Path, list[Any]]) -> None:
    _, objects = ci
    for account in of_kind(objects, "ServiceAccount"):
        assert account["automountServiceAccountToken"] is False
