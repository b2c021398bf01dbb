"""``idp clients registration-token`` and ``registration-prune`` as an operator runs them."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from idp.registration import Registration
from idp.registration.errors import InvalidToken
from idp.services import build_services
from idp.settings import load_settings
from tests.test_cli import Idp, assert_one_clear_error

MODE = {"IDP_REGISTRATION__MODE": "initial-token"}


def test_the_operator_makes_an_initial_token_that_registration_accepts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    idp = Idp(tmp_path)
    made = idp("clients", "registration-token", "--uses", "2", "--expires-in", "3600", env=MODE)
    assert made.returncode == 0, made.stderr
    found = re.search(r": (\S{40,})$", made.stdout.strip())
    assert found, made.stdout
    token = found.group(1)

    monkeypatch.chdir(tmp_path)  # the config's store path is relative
    settings = load_settings(idp.config, registration={"mode": "initial-token"})
    services = build_services(settings)
    try:
        tokens = Registration(services).initial_tokens
        checked = tokens.check(f"Bearer {token}", time.time())
        assert checked.uses == 2
        assert 3500 < checked.expires_at - time.time() <= 3600
        with pytest.raises(InvalidToken):
            tokens.check(f"Bearer {token}x", time.time())
        actions = [e["action"] for e in services.audit_log.events()]
        assert "registration.initial_token_created" in actions
    finally:
        services.close()


def test_no_token_is_made_unless_initial_token_mode_is_on(tmp_path: Path) -> None:
    result = Idp(tmp_path)("clients", "registration-token")
    assert_one_clear_error(result, 'mode is not "initial-token"')


def test_prune_says_what_it_removed(tmp_path: Path) -> None:
    result = Idp(tmp_path)("clients", "registration-prune", env={"IDP_REGISTRATION__MODE": "open"})
    assert result.returncode == 0, result.stderr
    assert "removed 0 unused registered client(s)" in result.stdout
