"""The conformance method's own rules: it refuses to load outside conformance mode, its code
is required, the fixed code works once per sign-in for any number of sign-ins, and the banner
is on every page while the server is in conformance mode (and nowhere otherwise)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from tests.live_server import free_port, live_server

from idp.app import create_app
from idp.methods import CodeExpired, WrongCode
from idp.methods.registry import MethodLoadError, validate_config
from idp.methods.service import MethodService
from idp.methods.testing import ContractHarness
from idp.observability import Audit
from idp.settings import Settings
from idp.store.sqlite import SqliteStore
from idp_conformance import ConformanceMethod

BANNER = "CONFORMANCE TEST MODE — not for real users"
BANNER_JA = "適合性試験モード — 実際の利用者は使用できません"


def test_it_refuses_to_load_outside_conformance_mode(
    tmp_path: Path, settings_for: Callable[..., Settings]
) -> None:
    settings = settings_for(tmp_path, conformance=False)
    with SqliteStore.open(tmp_path / "store.sqlite3") as store, pytest.raises(
        MethodLoadError
    ) as refused:
        # Found through its entry point, as `idp serve` finds it.
        MethodService.from_settings(settings, store, audit=Audit(), delivery=None)
    assert refused.value.lines == (
        "methods.conformance: could not start: ConformanceModeRequired: refusing to load "
        "outside conformance mode: this method accepts a fixed code; set [server] "
        "conformance = true only on a deployment under certification testing, never one "
        "real people use (docs/conformance.md)",
    )


def test_it_loads_in_conformance_mode_beside_totp(
    tmp_path: Path, settings_for: Callable[..., Settings]
) -> None:
    with SqliteStore.open(tmp_path / "store.sqlite3") as store:
        service = MethodService.from_settings(settings_for(tmp_path), store, audit=Audit(),
                                              delivery=None)
    assert isinstance(service.methods["conformance"], ConformanceMethod)
    assert sorted(service.methods) == ["conformance", "totp"]


def test_the_code_is_required_and_named(fixed_code: str) -> None:
    assert validate_config("conformance", ConformanceMethod, {}) == [
        "methods.conformance: code: required (the fixed code, exactly 6 digits)"
    ]
    refused = validate_config("conformance", ConformanceMethod, {"code": "12345"})
    # The rule, never the value given.
    assert refused == ["methods.conformance.code: expected exactly 6 digits (0-9)"]


def test_the_code_may_come_from_a_file(tmp_path: Path, fixed_code: str) -> None:
    path = tmp_path / "code"
    path.write_text(fixed_code + "\n")
    config = validate_config("conformance", ConformanceMethod, {"code_file": str(path)})
    assert not isinstance(config, list)
    assert config.model_dump()["code"].get_secret_value() == fixed_code


def test_the_fixed_code_works_once_per_sign_in_for_many_sign_ins(
    conformance_harness: ContractHarness, fixed_code: str
) -> None:
    h = conformance_harness
    h.service.begin_enrollment(h.user, "primary", "conformance", {})
    h.service.complete_enrollment(h.user, "primary", {"code": fixed_code})
    for _ in range(6):  # more sign-ins in a row than the tries of one window
        h.service.send_challenge(h.user, "primary")
        assert h.service.verify(h.user, "primary", {"code": fixed_code}).amr == ("kba",)
        with pytest.raises(CodeExpired):  # the same sign-in's form, posted again
            h.service.verify(h.user, "primary", {"code": fixed_code})
    h.service.send_challenge(h.user, "primary")
    with pytest.raises(WrongCode):
        h.service.verify(h.user, "primary", {"code": "１２３４５６"})
    # Full-width digits of the right code are the right code (Japanese input methods).
    wide = fixed_code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert h.service.verify(h.user, "primary", {"code": wide}).amr == ("kba",)


@pytest.mark.parametrize("conformance", [True, False])
def test_the_banner_is_on_every_page_in_conformance_mode_only(
    tmp_path: Path, settings_for: Callable[..., Settings], conformance: bool
) -> None:
    port = free_port()
    # Without the flag the method may not be enabled: the banner belongs to the flag.
    methods = {"conformance": {"code": "493817"}, "totp": {}} if conformance else {"totp": {}}
    settings = settings_for(tmp_path, conformance=conformance, methods=methods,
                            server={"issuer": f"http://127.0.0.1:{port}"},
                            enrollment={"primary": ["totp"], "backup": ["totp"],
                                        "require_phone": False})
    with live_server(create_app(settings), port=port) as base:
        pages = {
            "start": httpx.get(base + "/", headers={"Accept-Language": "en"}),
            "not found": httpx.get(base + "/nope", headers={"Accept-Language": "en"}),
            "sign-in": httpx.get(base + "/login", headers={"Accept-Language": "en"},
                                 follow_redirects=True),
            "bad request": httpx.get(base + "/authorize?client_id=nobody",
                                     headers={"Accept-Language": "en"}),
        }
        japanese = httpx.get(base + "/", headers={"Accept-Language": "ja"})
    for name, page in pages.items():
        assert page.headers["content-type"].startswith("text/html"), name
        assert (BANNER in page.text) is conformance, name
        assert ('id="conformance-banner"' in page.text) is conformance, name
    assert (BANNER_JA in japanese.text) is conformance
