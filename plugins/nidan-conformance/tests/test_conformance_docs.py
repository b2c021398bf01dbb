"""docs/conformance.md and config/conformance.toml, as an operator would use them.

The clients file, the user line and the suite's JSON configuration are read from the page
itself. The suite's ``browser`` tasks are then played against a live provider in conformance
mode - real pages, real forms, the fixed code - by a small interpreter of the suite's command
language (``text`` and ``click`` by id and CSS selector, ``wait`` with a regular
expression, URL patterns matched like the suite's ``simpleMatch``): if a field id, a selector
or a URL pattern in the page drifts from the real pages, this fails.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import tomllib
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from tests.html_forms import Form, Page, page
from tests.live_server import free_port, live_server
from tests.oidc.helpers import query_of

from idp.app import create_app
from idp.oidc.clients import hash_secret, new_secret
from idp.services import MethodImporter, Services, build_services
from idp.settings import Settings, load_settings
from idp.users.importing import import_users

REPO = Path(__file__).parents[3]
DOCS = REPO / "docs" / "conformance.md"
CONFIG = REPO / "config" / "conformance.toml"
DOC_ISSUER = "https://nidan-conformance.example.com"
DOC_SUITE = "https://www.certification.openid.net"
DOC_CODE = "000000"
PASSWORD = "a-long-random-password-" + secrets.token_urlsafe(8)


def snippet(name: str) -> str:
    """The fenced block after ``<!-- name -->`` in docs/conformance.md."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {re.escape(name)} -->\n```[a-z]*\n(.*?)\n```", text, re.S)
    assert match, f"no {name} block in {DOCS.name}"
    return match.group(1)


# -- the suite's browser, in miniature -----------------------------------------------------------


def simple_match(pattern: str, url: str) -> bool:
    """Spring's ``PatternMatchUtils.simpleMatch``: ``*`` stands for any text, nothing else
    is special."""
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), url,
                        re.S) is not None


def _typed_inputs(form: Form) -> dict[str, str]:
    """id -> name of the inputs a person types into (the suite finds them by id)."""
    return {str(attrs["id"]): attrs.get("name") or "" for attrs in form.inputs
            if attrs.get("type") != "hidden" and attrs.get("id")}


@dataclass
class SuiteBrowser:
    """Plays one ``browser`` entry of the suite's configuration, as its runner does: tasks
    in order; a task whose URL pattern doesn't match is skipped if optional, a failure if
    not; then its commands."""

    http: httpx.Client
    issuer: str
    url: str = ""
    page: httpx.Response | None = None
    typed: dict[str, str] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)  # every provider page shown

    def go(self, url: str) -> None:
        self._arrive(self.http.get(url))

    def _arrive(self, response: httpx.Response) -> None:
        # Follow the provider's redirects; stop where the browser leaves for the suite.
        for _ in range(10):
            if response.status_code not in (302, 303):
                self.url, self.page, self.typed = str(response.url), response, {}
                self.seen.append(response.text)
                return
            location = response.headers["location"]
            if location.startswith("/"):
                location = self.issuer + location
            if not location.startswith(self.issuer):
                self.url, self.page = location, None  # at the suite: not ours to load
                return
            response = self.http.get(location)
        raise AssertionError("too many redirects")

    def _forms(self) -> Page:
        assert self.page is not None, f"no provider page at {self.url}"
        return page(self.page.text)

    def run(self, entry: dict[str, Any]) -> None:
        for task in entry["tasks"]:
            if not simple_match(task.get("match", "*"), self.url):
                assert task.get("optional"), f"task {task['task']!r} did not match {self.url}"
                continue
            for command in task.get("commands", []):
                self.command(command)

    def command(self, command: list[Any]) -> None:
        kind, selector_type, target = command[0], command[1], command[2]
        optional = command[-1] == "optional"
        if kind == "wait" and selector_type == "id" and target == "submission_complete":
            assert self.page is None, "the suite's callback page is the suite's"
        elif kind == "wait":
            assert selector_type == "xpath"
            assert target == "//*"
            assert re.search(command[4], " ".join(self._forms().text)), command
        elif kind == "text":
            assert selector_type == "id"
            inputs = [typed for typed in map(_typed_inputs, self._forms().forms)
                      if target in typed]
            assert inputs or optional, f"no field with id {target!r} at {self.url}"
            if inputs:
                self.typed[inputs[0][target]] = command[3]
        elif kind == "click":
            assert selector_type == "css"
            self.click(target, optional)
        else:
            raise AssertionError(f"unknown command {command!r}")

    def click(self, selector: str, optional: bool) -> None:
        form_button = re.fullmatch(r"form\[action='([^']+)'\] button\[type='submit'\]",
                                   selector)
        named_button = re.fullmatch(r"button\[name='([^']+)'\]\[value='([^']+)'\]", selector)
        assert form_button or named_button, f"a selector this page can't check: {selector}"
        extra: dict[str, str] = {}
        found: Form | None = None
        for candidate in self._forms().forms:
            if form_button and candidate.action == form_button.group(1) and any(
                b.get("type") == "submit" for b in candidate.buttons
            ):
                found = candidate
            if named_button and any(b.get("name") == named_button.group(1)
                                    and b.get("value") == named_button.group(2)
                                    for b in candidate.buttons):
                found = candidate
                extra = {named_button.group(1): named_button.group(2)}
        if found is None:
            assert optional, f"nothing matches {selector!r} at {self.url}"
            return
        data = {**found.hidden, **self.typed, **extra}
        self._arrive(self.http.post(self.issuer + found.action, data=data))


# -- the deployment ----------------------------------------------------------------------------


@dataclass
class Deployment:
    base: str
    settings: Settings
    services: Services
    secrets: dict[str, str]
    totp_secret: str


@pytest.fixture
def deployment(tmp_path: Path, settings_for: Callable[..., Settings],
               fixed_code: str) -> Iterator[Deployment]:
    """A provider in conformance mode with the page's clients and user."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client_secrets: dict[str, str] = {}
    clients = snippet("conformance-clients.toml")
    for client_id in re.findall(r'client_id = "([^"]+)"', clients):
        client_secrets[client_id] = new_secret()
        placeholder = "sha256:REPLACE-WITH-CLIENT-" + client_id.removeprefix(
            "nidan-conformance-").upper() + "-HASH"
        assert placeholder in clients
        clients = clients.replace(placeholder, hash_secret(client_secrets[client_id]))
    clients_file = tmp_path / "conformance-clients.toml"
    clients_file.write_text(clients)
    settings = settings_for(tmp_path, server={"issuer": base},
                            oidc={"clients_file": str(clients_file)})
    services = build_services(settings)
    totp_secret = base64.b32encode(secrets.token_bytes(20)).decode()
    user = (snippet("conformance-user.jsonl")
            .replace("REPLACE-WITH-A-LONG-RANDOM-PASSWORD", PASSWORD)
            .replace("REPLACE-WITH-A-BASE32-SECRET", totp_secret))
    users_file = tmp_path / "conformance-user.jsonl"
    users_file.write_text(user + "\n")
    report = import_users(users_file, services.accounts, MethodImporter(services.methods),
                          services.audit, actor="test")
    assert report.created == 1
    try:
        with live_server(create_app(settings, services), port=port):
            yield Deployment(base, settings, services, client_secrets, totp_secret)
    finally:
        services.close()


def suite_config(deployment: Deployment, fixed_code: str) -> dict[str, Any]:
    text = (snippet("suite-config.json")
            .replace(DOC_ISSUER, deployment.base)
            .replace("REPLACE-WITH-THE-PASSWORD", PASSWORD)
            .replace(f'"{DOC_CODE}"', f'"{fixed_code}"'))
    for number in ("1", "2"):
        text = text.replace(f"REPLACE-WITH-CLIENT-{number}-SECRET",
                            deployment.secrets[f"nidan-conformance-{number}"])
    config: dict[str, Any] = json.loads(text)
    return config


def authorization_url(config: dict[str, Any], **extra: str) -> str:
    discovery = httpx.get(config["server"]["discoveryUrl"]).json()
    params = {"response_type": "code", "client_id": config["client"]["client_id"],
              "redirect_uri": f"{DOC_SUITE}/test/a/{config['alias']}/callback",
              "scope": "openid profile email", "state": secrets.token_urlsafe(8),
              "nonce": secrets.token_urlsafe(8), "login_hint": config["server"]["login_hint"],
              **extra}
    return f"{discovery['authorization_endpoint']}?{urlencode(params)}"


def sign_in(browser: SuiteBrowser, config: dict[str, Any], **extra: str) -> dict[str, str]:
    """What the suite does in most modules: an authorization request, the browser entry;
    returns the parameters the suite's callback receives."""
    url = authorization_url(config, **extra)
    entry = next(e for e in config["browser"] if simple_match(e["match"], url))
    browser.go(url)
    browser.run(entry)
    assert browser.url.startswith(f"{DOC_SUITE}/test/a/nidan/callback?")
    return query_of(browser.url)


def test_the_suites_browser_signs_in_with_the_pages_of_the_guide(
    deployment: Deployment, fixed_code: str
) -> None:
    config = suite_config(deployment, fixed_code)
    with httpx.Client(timeout=30, headers={"Accept-Language": "en-US"}) as http:
        browser = SuiteBrowser(http, deployment.base)
        callback = sign_in(browser, config)
        assert callback["iss"] == deployment.base
        # Every page the browser met says it is a test deployment.
        assert browser.seen
        assert all("CONFORMANCE TEST MODE" in page for page in browser.seen)

        # The suite's code exchange: client_secret_basic, no PKCE (require_pkce = false).
        client = config["client"]
        token = httpx.post(deployment.base + "/token", auth=(client["client_id"],
                                                             client["client_secret"]),
                           data={"grant_type": "authorization_code", "code": callback["code"],
                                 "redirect_uri": f"{DOC_SUITE}/test/a/nidan/callback"})
        assert token.status_code == 200, token.text
        claims = json.loads(base64.urlsafe_b64decode(
            token.json()["id_token"].split(".")[1] + "=="))
        assert claims["amr"] == ["pwd", "kba", "mfa"]
        assert claims["acr"] == "urn:nidan:acr:2sv"

        # oidcc-prompt-login: the same browser signs in again, the fixed code once more.
        again = sign_in(browser, config, prompt="login")
        assert again["code"] != callback["code"]

        # RP-initiated logout with id_token_hint: straight back to the suite.
        logout_entry = next(e for e in config["browser"] if "logout" in e["match"])
        browser.go(deployment.base + "/logout?" + urlencode({
            "id_token_hint": token.json()["id_token"], "state": "s1",
            "post_logout_redirect_uri": f"{DOC_SUITE}/test/a/nidan/post_logout_redirect"}))
        browser.run(logout_entry)
        assert browser.url == f"{DOC_SUITE}/test/a/nidan/post_logout_redirect?state=s1"

        # oidcc-rp-initiated-logout-no-params, signed in: confirm, then the signed-out page
        # captured.
        sign_in(browser, config)
        browser.go(deployment.base + "/logout")
        browser.run(logout_entry)
        assert browser.url == deployment.base + "/logout/confirm"
        assert browser.page is not None
        assert "You have signed out" in browser.page.text

        # oidcc-rp-initiated-logout-no-id-token-hint: the question is captured, not answered.
        sign_in(browser, config)
        override = config["override"]["oidcc-rp-initiated-logout-no-id-token-hint"]["browser"]
        browser.go(deployment.base + "/logout?" + urlencode({
            "client_id": client["client_id"], "state": "s2",
            "post_logout_redirect_uri": f"{DOC_SUITE}/test/a/nidan/post_logout_redirect"}))
        browser.run(next(e for e in override if "logout" in e["match"]))
        assert browser.url.startswith(deployment.base + "/logout?")

        # oidcc-ensure-registered-redirect-uri: an error page, which the override captures.
        bad = authorization_url(config, redirect_uri="https://attacker.example/cb")
        override = config["override"]["oidcc-ensure-registered-redirect-uri"]["browser"]
        browser.go(bad)
        browser.run(override[0])
        assert browser.url == bad


def test_the_guides_clients_and_suite_config_agree(deployment: Deployment,
                                                   fixed_code: str) -> None:
    config = suite_config(deployment, fixed_code)
    clients = tomllib.loads(snippet("conformance-clients.toml"))["client"]
    registered = {c["client_id"]: c for c in clients}
    for key in ("client", "client2"):
        client = registered[config[key]["client_id"]]
        assert client["redirect_uris"] == [f"{DOC_SUITE}/test/a/{config['alias']}/callback"]
        assert client["require_pkce"] is False
    back_channel = [c for c in clients if "backchannel_logout_uri" in c]
    assert [c["client_id"] for c in back_channel] == ["nidan-conformance-bc-1",
                                                      "nidan-conformance-bc-2"]
    for client in back_channel:
        assert client["backchannel_logout_uri"] == (
            f"{DOC_SUITE}/test/a/nidan-bc/backchannel_logout")


def test_the_shipped_config_starts_a_conformance_deployment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixed_code: str
) -> None:
    # As the guide says: the secrets and the code in var/, the clients file beside it.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "conformance-data-keys").write_text(
        "conf1:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=\n")
    (tmp_path / "var" / "conformance-cookie-keys").write_text(secrets.token_urlsafe(32))
    (tmp_path / "var" / "conformance-code").write_text(fixed_code + "\n")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "conformance-clients.toml").write_text(
        snippet("conformance-clients.toml").replace("REPLACE-WITH-", ""))
    settings = load_settings(CONFIG)
    assert getattr(settings.server, "conformance", False) is True
    with closing(build_services(settings)) as services:
        assert sorted(services.methods.methods) == ["conformance", "totp"]
        assert services.oidc.clients.get("nidan-conformance-1") is not None
