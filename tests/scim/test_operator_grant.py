"""The operator grants ``scim:provision`` with the ``idp`` command, as admin scopes are granted:
only to a client whose only grant type is client_credentials."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import Idp, assert_one_clear_error


def test_the_idp_command_grants_scim_provision_to_a_service_client(tmp_path: Path) -> None:
    idp = Idp(tmp_path)
    added = idp("clients", "add", "hr-directory", "--grant-type", "client_credentials",
                "--admin-scope", "scim:provision")
    assert added.returncode == 0, added.stderr
    shown = json.loads(idp("clients", "show", "hr-directory", "--json").stdout)
    assert shown["admin_scopes"] == ["scim:provision"]
    assert shown["grant_types"] == ["client_credentials"]
    refused = idp("clients", "add", "web-tool", "--redirect-uri", "https://tool.example.com/cb",
                  "--admin-scope", "scim:provision")
    assert_one_clear_error(refused, "client_credentials")
