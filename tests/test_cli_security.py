"""Operator commands over second factors, trusted browsers and data keys, as real processes."""

from __future__ import annotations

import base64
import json
import re
import secrets
from contextlib import closing
from pathlib import Path

import pytest

from idp.services import build_services
from idp.settings import load_settings
from idp.users import method_user
from tests.test_cli import Idp, assert_one_clear_error

TOTP_SECRET = base64.b32encode(secrets.token_bytes(20)).decode()  # 160 bits


@pytest.fixture
def idp(tmp_path: Path) -> Idp:
    return Idp(tmp_path)


def import_one(idp: Idp, tmp_path: Path, **extra: object) -> None:
    row = {"email": "seller@example.com", "password": "a-long-password",
           "methods": [{"type": "totp", "secret": TOTP_SECRET, "role": "primary"},
                       {"type": "sms", "phone": "090-1234-5678", "role": "backup"}], **extra}
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(row) + "\n")
    result = idp("users", "import", str(path))
    assert result.returncode == 0, result.stderr


def test_import_with_methods_then_show(idp: Idp, tmp_path: Path) -> None:
    # covers A2
    import_one(idp, tmp_path)
    shown = idp("users", "show", "seller@example.com", "--json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["enrolled"] is True
    assert [(m["role"], m["method"], m["source"]) for m in report["methods"]] == [
        ("primary", "totp", "imported"), ("backup", "sms", "imported")]
    assert "5678" in report["methods"][1]["description"]
    # Never a secret or a full number.
    assert TOTP_SECRET not in shown.stdout
    assert "9012345678" not in shown.stdout
    assert "1234-5678" not in shown.stdout
    text = idp("users", "show", "seller@example.com").stdout
    assert "primary" in text
    assert "trusted browsers: 0" in text


@pytest.mark.parametrize(
    ("methods", "expected"),
    [
        ([{"type": "totp", "secret": TOTP_SECRET, "role": "primary"},
          {"type": "totp", "secret": TOTP_SECRET, "role": "backup"}], "line 1:"),  # E3
        ([{"type": "sms", "phone": "090-1234-5678", "role": "primary"},
          {"type": "voice", "phone": "+81 90 1234 5678", "role": "backup"}], "line 1:"),  # E4
        ([{"type": "sms", "phone": "050-1234-5678", "role": "primary"}], "line 1:"),  # E5
        ([{"type": "totp", "secret": "not base32!", "role": "primary"}], "secret"),
        ([{"type": "fax", "phone": "03-1234-5678", "role": "primary"}], "fax"),
    ],
    ids=["app-both-roles", "same-number", "050-sms", "bad-secret", "unknown-method"],
)
def test_import_refuses_bad_methods(
    idp: Idp, tmp_path: Path, methods: list[object], expected: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"email": "x@example.com", "methods": methods}) + "\n")
    result = idp("users", "import", str(path))
    assert_one_clear_error(result, expected)
    assert "nothing imported" in result.stderr
    assert "x@example.com" not in idp("users", "list").stdout


def test_reset_2sv_clears_methods_and_forces_enrollment(
    idp: Idp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # covers C3
    import_one(idp, tmp_path)
    before = json.loads(idp("users", "show", "seller@example.com", "--json").stdout)
    result = idp("users", "reset-2sv", "seller@example.com", "--yes")
    assert result.returncode == 0, result.stderr
    assert "2 method(s) removed" in result.stdout
    after = json.loads(idp("users", "show", "seller@example.com", "--json").stdout)
    assert after["methods"] == []
    assert after["enrolled"] is False
    assert after["security_epoch"] > before["security_epoch"]
    # The one-time enrollment code the person needs besides the password (C3).
    printed = re.search(r"enrollment code .*: ([0-9A-Z]{5}-[0-9A-Z]{5})$", result.stdout, re.M)
    assert printed is not None, result.stdout
    monkeypatch.chdir(tmp_path)  # the config's store path is relative
    settings = load_settings(idp.config)
    with closing(build_services(settings)) as services:
        user = services.accounts.require("seller@example.com")
        assert services.methods.reenrollment_gated(user.id)
        assert services.methods.pass_reenrollment_gate(
            method_user(user, "en"), printed.group(1)) == "enrollment_code"


def test_devices_list_and_revoke(
    idp: Idp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # covers T3, A1
    import_one(idp, tmp_path)
    monkeypatch.chdir(tmp_path)  # the config's store path is relative
    settings = load_settings(idp.config)
    with closing(build_services(settings)) as services:
        user = services.accounts.require("seller@example.com")
        for agent in ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
                      "like Gecko) Chrome/126.0.0.0 Safari/537.36",) * 4:
            services.devices.trust(user, user_agent=agent, ip="203.0.113.7")
    listed = [json.loads(line) for line in
              idp("devices", "list", "seller@example.com", "--json").stdout.splitlines()]
    assert len(listed) == 4
    assert len({entry["name"] for entry in listed}) == 4  # never indistinguishable
    shown = idp("users", "show", "seller@example.com")
    assert "warning: this account has many trusted browsers" in shown.stdout
    one = listed[0]["device_id"]
    # "--": a device id may begin with "-", which would read as an option.
    assert idp("devices", "revoke", "seller@example.com", "--", one).returncode == 0
    assert_one_clear_error(idp("devices", "revoke", "seller@example.com", "--", one),
                           "no trusted")
    revoked = idp("devices", "revoke", "seller@example.com", "--all")
    assert "revoked 3 trusted browser(s)" in revoked.stdout
    assert idp("devices", "list", "seller@example.com").stdout == ""


def test_new_and_rotated_data_key(idp: Idp, tmp_path: Path) -> None:
    import_one(idp, tmp_path)
    new = idp("keys", "new-data-key", "--id", "k2")
    assert new.returncode == 0, new.stderr
    key = new.stdout.strip()
    assert key.startswith("k2:")
    assert len(base64.b64decode(key.split(":", 1)[1])) == 32
    old = load_settings(idp.config).secrets.data_keys[0].get_secret_value()
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"{key}\n{old}\n")
    env = {"IDP_SECRETS__DATA_KEYS_FILE": str(keys_file)}
    rotated = idp("keys", "rotate-data-key", env=env)
    assert rotated.returncode == 0, rotated.stderr
    assert "with data key 'k2'" in rotated.stdout
    # Only the new key is needed now: the old one can go.
    keys_file.write_text(f"{key}\n")
    shown = idp("users", "show", "seller@example.com", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["enrolled"] is True
    assert_one_clear_error(idp("keys", "new-data-key", "--id", "bad id!"), "key id")


def test_unlock_command(idp: Idp, tmp_path: Path) -> None:
    # covers S4 (the operator's way out of a hard stop)
    import_one(idp, tmp_path)
    result = idp("users", "unlock", "seller@example.com")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "seller@example.com: nothing to unlock"
