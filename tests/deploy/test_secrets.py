"""Secrets come from an existing Secret or a chart-made one, are mounted as files and read
through Nidan's ``*_file`` settings; never in the environment or a ConfigMap."""

from __future__ import annotations

import base64
import tomllib
from pathlib import Path
from typing import Any

from tests.deploy.chart import CHART, containers, idp_toml, of_kind, one, pod_specs

SECRET_VALUES = (
    "7F7peqUlmIg2L1FqbHK9paRsX9x6Jd+kqHfLzJ/nOeo=",
    "ci-cookie-key-0123456789abcdef0123456789abcdef",
    "ci-redis-password",
    "ci-twilio-token-0123456789",
)


def _mount(objects: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "secrets")
    server = next(c for c in pod["containers"] if c["name"] == "nidan")
    mount = next(m for m in server["volumeMounts"] if m["name"] == "secrets")
    assert mount["readOnly"] is True
    return mount["mountPath"], volume["secret"]


def _file_settings(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            found |= _file_settings(value, f"{prefix}{key}.")
        elif key.endswith("_file"):
            found[prefix + key] = value
    return found


def test_every_secret_is_a_mounted_file_named_by_a_file_setting(
    ci: tuple[Path, list[Any]],
) -> None:
    _, objects = ci
    mount_path, volume = _mount(objects)
    config = tomllib.loads(idp_toml(objects))
    files = _file_settings(config)
    projected = {item["path"] for item in volume["items"]}
    secret_files = {p for p in files.values() if p.startswith(mount_path + "/")}
    # Every file a *_file setting names under the mount is projected from the Secret, and
    # every projected key is read by some setting.
    assert {p.removeprefix(mount_path + "/") for p in secret_files} == projected
    assert {"secrets.data_keys_file", "secrets.cookie_keys_file"} <= set(files)
    if config["store"]["url"].startswith("redis") and "password_file" in config["store"]:
        assert files["store.password_file"].startswith(mount_path + "/")


def test_no_secret_in_env_or_configmap(ci: tuple[Path, list[Any]]) -> None:
    path, objects = ci
    for config_map in of_kind(objects, "ConfigMap"):
        text = str(config_map.get("data", {}))
        for secret in SECRET_VALUES:
            assert secret not in text, (path.name, config_map["metadata"]["name"])
    for name, spec in pod_specs(objects):
        for container in containers(spec):
            for env in container.get("env", []):
                assert "secretKeyRef" not in env.get("valueFrom", {}), (name, env["name"])
                assert not any(s in env.get("value", "") for s in SECRET_VALUES), env["name"]
            assert "envFrom" not in container, name


def test_chart_made_secret_holds_what_the_values_give(renders: Any) -> None:
    objects = renders.get(CHART / "ci" / "redis-twilio-values.yaml")[1]
    secret = one(objects, "Secret")
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data["data-keys"].splitlines() == [
        "k20261203:7F7peqUlmIg2L1FqbHK9paRsX9x6Jd+kqHfLzJ/nOeo=",
        "k20250101:q1nJ0cYw1sN4o1cQ9R3m1a7S8lYbq2pG5bH0w3x9Z0s=",
    ]
    assert data["redis-password"] == "ci-redis-password"
    assert data["twilio-auth-token"] == "ci-twilio-token-0123456789"
    assert "[[client]]" in data["clients.toml"]
    _, volume = _mount(objects)
    assert volume["secretName"] == secret["metadata"]["name"]
    config = tomllib.loads(idp_toml(objects))
    twilio = config["delivery"]["transports"]["twilio"]
    assert twilio["auth_token_file"] == "/etc/nidan/secrets/twilio-auth-token"
    assert "auth_token" not in twilio
    assert config["oidc"]["clients_file"] == "/etc/nidan/secrets/clients.toml"


def test_existing_secret_is_used_and_none_is_made(renders: Any) -> None:
    objects = renders.get(CHART / "ci" / "cluster-gateway-hpa-values.yaml")[1]
    assert not of_kind(objects, "Secret")
    _, volume = _mount(objects)
    assert volume["secretName"] == "nidan-keys"
    assert sorted(item["key"] for item in volume["items"]) == ["cookies", "data", "redis"]
    assert "optional" not in volume  # a missing key keeps the pod from starting
