"""`idp check-config` accepts the idp.toml of every render, read the way the pod reads it: the
ConfigMap and Secret are laid out as files under a temporary root at their mount paths."""

from __future__ import annotations

import base64
import os
import re
import secrets
import tomllib
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from idp.cli import main
from tests.deploy.chart import CHART, load_values, manifests, of_kind, one, render


def _content(setting: str) -> str:
    """What an operator's existing Secret would hold for this setting."""
    if setting == "data_keys_file":
        return "kci:" + base64.b64encode(secrets.token_bytes(32)).decode()
    if setting == "cookie_keys_file":
        return secrets.token_urlsafe(48)
    if setting == "clients_file":
        return ""
    return secrets.token_urlsafe(24)


def _file_settings(table: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            found |= _file_settings(value)
        elif key.endswith("_file"):
            found[value] = key
    return found


def check_config(objects: list[dict[str, Any]], root: Path) -> tuple[int, str]:
    """Lay out the init container's mounts under root and run `idp check-config` there."""
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    [init] = pod["initContainers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    config_maps = {c["metadata"]["name"]: c for c in of_kind(objects, "ConfigMap")}
    made = {s["metadata"]["name"]: s for s in of_kind(objects, "Secret")}
    toml_text = ""
    for mount in init["volumeMounts"]:
        where = root / mount["mountPath"].lstrip("/")
        where.mkdir(parents=True, exist_ok=True)
        volume = volumes[mount["name"]]
        if "configMap" in volume:
            for key, text in config_maps[volume["configMap"]["name"]]["data"].items():
                (where / key).write_text(text, encoding="utf-8")
                if key == "idp.toml":
                    toml_text = text
    settings_by_file = _file_settings(tomllib.loads(toml_text))
    for mount in init["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "secret" not in volume:
            continue
        where = root / mount["mountPath"].lstrip("/")
        secret = made.get(volume["secret"]["secretName"])
        for item in volume["secret"]["items"]:
            if secret is not None:
                content = base64.b64decode(secret["data"][item["key"]]).decode()
            else:
                content = _content(settings_by_file[f"{mount['mountPath']}/{item['path']}"])
            (where / item["path"]).write_text(content, encoding="utf-8")
    # The same paths, seen from under root (the files the ConfigMap and Secret become).
    laid_out = sorted((m["mountPath"] for m in init["volumeMounts"]
                       if {"configMap", "secret"} & set(volumes[m["name"]])), key=len, reverse=True)
    pattern = re.compile('"(' + "|".join(re.escape(p) for p in laid_out) + ")/")
    toml_text = pattern.sub(lambda m: f'"{root}{m.group(1)}/', toml_text)
    env = {e["name"]: e["value"] for e in init["env"] if "value" in e}
    config = root / env.pop("IDP_CONFIG").lstrip("/")
    config.write_text(toml_text, encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "check-config"], env=env)
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def test_check_config_accepts_every_rendered_config(
    ci: tuple[Path, list[Any]], tmp_path: Path
) -> None:
    _path, objects = ci
    assert not [k for k in os.environ if k.startswith("IDP_") and k != "IDP_CONFIG"]
    code, output = check_config(objects, tmp_path)
    assert code == 0, output
    assert "configuration is valid" in output


def test_check_config_refuses_a_bad_render(tmp_path: Path) -> None:
    values = load_values(CHART / "ci" / "sqlite-values.yaml")
    values["config"] = {"settings": {"limits": {"password_lock_afterr": 10}}}
    code, output = check_config(manifests(render(values)), tmp_path)
    assert code != 0
    assert "limits.password_lock_afterr: unknown setting" in output
