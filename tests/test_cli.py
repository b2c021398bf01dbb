"""The ``idp`` command as an operator runs it: a real process, real files, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FAST_PASSWORDS, TEST_DATA_KEY

IDP = str(Path(sys.executable).parent / "idp")


class Idp:
    """Runs ``idp`` with a config of its own in a temp directory."""

    def __init__(self, tmp_path: Path) -> None:
        self.cwd = tmp_path
        self.config = tmp_path / "idp.toml"
        fast = "\n".join(f"{k} = {v}" for k, v in FAST_PASSWORDS.items())
        self.config.write_text(
            f'[store]\nurl = "sqlite:///store.db"\n[passwords]\n{fast}\n'
            f'[secrets]\ndata_keys = ["{TEST_DATA_KEY}"]\n'
            'cookie_keys = ["cli-test-cookie-key-123"]\n'
            # The outbox is the default transport: outside dev mode it needs the override.
            '[delivery]\nallow_outbox = true\n'
        )

    def __call__(
        self, *args: str, stdin: str = "", env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
        environment.update(env or {})
        return subprocess.run(
            [IDP, "--config", str(self.config), *args], input=stdin, capture_output=True,
            text=True, cwd=self.cwd, env=environment, timeout=60, check=False,
        )


@pytest.fixture
def idp(tmp_path: Path) -> Idp:
    return Idp(tmp_path)


def assert_one_clear_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines, "an error must say something"
    assert all(line.startswith("idp: error: ") for line in lines)
    assert expected in result.stderr


def test_user_lifecycle(idp: Idp) -> None:
    added = idp("users", "add", "Seller@Example.com", "--name", "Seller", "--locale", "en",
                "--password-stdin", stdin="a-long-password\n")
    assert added.returncode == 0, added.stderr
    assert "created Seller@Example.com" in added.stdout

    shown = idp("users", "show", "seller@example.com", "--json")
    data = json.loads(shown.stdout)
    assert data["email"] == "Seller@Example.com"
    assert data["locale"] == "en"
    assert data["has_password"] is True
    assert "password_hash" not in data
    assert "$argon2" not in shown.stdout

    assert idp("users", "disable", "seller@example.com").returncode == 0
    listed = [json.loads(line) for line in idp("users", "list", "--json").stdout.splitlines()]
    assert [(u["email"], u["status"]) for u in listed] == [("Seller@Example.com", "disabled")]
    # Disabling ends what was signed in (the epoch moves); enabling brings none of it back.
    assert listed[0]["security_epoch"] == 2
    assert idp("users", "enable", "seller@example.com").returncode == 0

    changed = idp("users", "set-password", "seller@example.com", "--password-stdin",
                  stdin="another-password\n")
    assert changed.returncode == 0, changed.stderr
    assert json.loads(idp("users", "show", "seller@example.com", "--json").stdout)[
        "security_epoch"] == 3

    assert idp("users", "delete", "seller@example.com", "--yes").returncode == 0
    assert_one_clear_error(idp("users", "show", "seller@example.com"), "no user with email")


def test_duplicate_and_weak_password(idp: Idp) -> None:
    assert idp("users", "add", "a@example.com", "--password-stdin",
               stdin="long-enough\n").returncode == 0
    assert_one_clear_error(
        idp("users", "add", "A@EXAMPLE.com", "--password-stdin", stdin="long-enough\n"),
        "already exists",
    )
    assert_one_clear_error(
        idp("users", "add", "b@example.com", "--password-stdin", stdin="short\n"),
        "at least 8 characters",
    )


def test_check_config_masks_secrets(idp: Idp, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("k1:c2VjcmV0LWtleS1tYXRlcmlhbA==\n")
    result = idp("check-config", env={"IDP_SECRETS__DATA_KEYS_FILE": str(keys),
                                      "IDP_STORE__PASSWORD": "redis-pass-xyz"})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["secrets"]["data_keys"] == ["********"]
    assert data["store"]["password"] == "********"
    assert "c2VjcmV0" not in result.stdout
    assert "redis-pass-xyz" not in result.stdout


@pytest.mark.parametrize(
    ("env", "config_text", "expected"),
    [
        ({"IDP_STORE__URL": "mysql://x"}, None, "store.url (given 'mysql://x')"),
        ({}, "[store\n", "not valid TOML"),
        ({}, "[server]\nbogus = 1\n", "server.bogus: unknown setting"),
        ({"IDP_STORE__URL": "sqlite://relative"}, None, "expected sqlite:///relative/path"),
    ],
)
def test_bad_config_is_one_clear_line(
    idp: Idp, env: dict[str, str], config_text: str | None, expected: str
) -> None:
    if config_text is not None:
        idp.config.write_text(config_text + idp.config.read_text().partition("[secrets]")[1]
                              + idp.config.read_text().partition("[secrets]")[2])
    assert_one_clear_error(idp("users", "list", env=env), expected)


def test_unreachable_redis_is_one_clear_line(idp: Idp) -> None:
    result = idp("users", "list", env={"IDP_STORE__URL": "redis://127.0.0.1:1/0",
                                       "IDP_STORE__RETRIES": "1"})
    assert_one_clear_error(result, "cannot reach redis at 127.0.0.1:1")


def test_import_command(idp: Idp, tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(json.dumps({"email": f"u{i}@example.com"}) for i in range(3)))
    first = idp("users", "import", str(good))
    assert first.returncode == 0, first.stderr
    assert "imported 3 user(s); 0 already present" in first.stdout
    again = idp("users", "import", str(good))
    assert "imported 0 user(s); 3 already present, unchanged" in again.stdout

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"email": "new@example.com"}\n{"email": 5}\n')
    result = idp("users", "import", str(bad))
    assert_one_clear_error(result, "line 2: email: Input should be a valid string")
    assert "nothing imported" in result.stderr
    assert "new@example.com" not in idp("users", "list").stdout
