"""Loading methods: only through the ``idp.methods`` entry-point group, failing loudly and
clearly, one line per problem (DESIGN "The method plugin contract")."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest

from idp.methods.registry import MethodLoadError, installed_methods
from tests.methods.helpers import World

MODULE = "tests.methods.registry_plugins"
BUILT_INS: dict[str, dict[str, object]] = {"totp": {}, "sms": {}, "voice": {}}


def install(site: Path, dist: str, entries: dict[str, str]) -> None:
    """Write an installed distribution's metadata, as pip does, into ``site``."""
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = "".join(f"{name} = {value}\n" for name, value in entries.items())
    (info / "entry_points.txt").write_text(f"[idp.methods]\n{lines}")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "site"
    install(path, "fake-plugins", {
        "good": f"{MODULE}:GoodMethod",
        "wrongid": f"{MODULE}:WrongIdMethod",
        "notamethod": f"{MODULE}:NotAMethod",
        "exploding": f"{MODULE}:Exploding",
        "broken": "tests.methods.no_such_module:Missing",
    })
    monkeypatch.syspath_prepend(str(path))
    return path


def load_error(tmp_path: Path, methods: dict[str, dict[str, object]]) -> list[str]:
    with pytest.raises(MethodLoadError) as refused:
        World(tmp_path / "w", methods={**BUILT_INS, **methods})
    return list(refused.value.lines)


def test_the_built_in_methods_are_ordinary_entry_points() -> None:
    installed = installed_methods()
    # The workspace installs four method distributions (the conformance method is opt-in).
    assert {name: [ep.value for ep in eps] for name, eps in installed.items()} == {
        "totp": ["idp_totp:TotpMethod"],
        "sms": ["idp_sms:SmsMethod"],
        "voice": ["idp_voice:VoiceMethod"],
        "webauthn": ["idp_webauthn:WebAuthnMethod"],
    }


def test_a_third_party_method_loads_like_a_built_in(tmp_path: Path, site: Path) -> None:
    with closing(World(tmp_path / "w", methods={**BUILT_INS, "good": {"level": 3}})) as world:
        assert sorted(world.service.methods) == ["good", "sms", "totp", "voice"]
        assert world.service.methods["good"].config.level == 3


def test_configured_but_not_installed_names_the_distribution(tmp_path: Path) -> None:
    assert load_error(tmp_path, {"pager": {}}) == [
        "methods.pager: method 'pager' is configured but not installed: install the "
        "distribution that provides it (for example `uv pip install nidan-pager`), or remove "
        "[methods.pager]"
    ]


def test_entry_point_name_must_equal_the_id(tmp_path: Path, site: Path) -> None:
    assert load_error(tmp_path, {"wrongid": {}}) == [
        f"methods.wrongid: {MODULE}:WrongIdMethod (from fake-plugins) has info.id 'other' but "
        "its entry point is named 'wrongid'; they must be equal"
    ]


def test_not_a_method(tmp_path: Path, site: Path) -> None:
    assert load_error(tmp_path, {"notamethod": {}}) == [
        f"methods.notamethod: {MODULE}:NotAMethod (from fake-plugins) is not a subclass of "
        "idp.methods.Method"
    ]


def test_invalid_plugin_config_names_the_key(tmp_path: Path, site: Path) -> None:
    assert load_error(tmp_path, {"good": {"level": 0, "colour": "red"}}) == [
        "methods.good.level: Input should be greater than or equal to 1",
        "methods.good.colour: unknown setting",
    ]


def test_built_in_config_is_validated_the_same_way(tmp_path: Path) -> None:
    assert load_error(tmp_path, {"totp": {"digits": 7}, "sms": {"default_region": "XX"}}) == [
        "methods.totp.digits: Input should be 6 or 8",
        "methods.sms.default_region: unknown region 'XX': expected an ISO 3166-1 code such as JP",
    ]


def test_import_failures_and_start_failures(tmp_path: Path, site: Path) -> None:
    lines = load_error(tmp_path, {"broken": {}, "exploding": {}})
    assert lines == [
        "methods.broken: tests.methods.no_such_module:Missing (from fake-plugins) failed to "
        "import: ModuleNotFoundError: No module named 'tests.methods.no_such_module'",
        "methods.exploding: could not start: RuntimeError: cannot reach the device service",
    ]


def test_two_distributions_claiming_one_id(tmp_path: Path, site: Path) -> None:
    install(site, "other-plugins", {"good": f"{MODULE}:WrongIdMethod"})
    lines = load_error(tmp_path, {"good": {}})
    assert len(lines) == 1
    assert lines[0].startswith("methods.good: method 'good' is provided twice (")
    assert lines[0].endswith("): uninstall one")


def test_every_problem_is_reported_at_once(tmp_path: Path, site: Path) -> None:
    lines = load_error(tmp_path, {"pager": {}, "wrongid": {}, "good": {"level": 0}})
    assert [line.split(":")[0] for line in lines] == [
        "methods.pager", "methods.wrongid", "methods.good.level",
    ]


def test_a_policy_nobody_can_satisfy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MethodLoadError) as refused:
        World(tmp_path, methods={"totp": {}})
    assert "require_phone" in str(refused.value)


def test_a_ceremony_method_is_checked_for_what_the_core_relies_on() -> None:
    from collections.abc import Mapping

    from idp.methods import (
        Challenge,
        Channel,
        ConfigModel,
        Credential,
        Enrollment,
        Interaction,
        Method,
        MethodInfo,
        MethodUser,
        Verified,
    )
    from idp.methods.registry import check_class

    class NoCeremony(Method[ConfigModel]):
        info = MethodInfo(id="key", amr=("user",), channel=Channel.KEY, delivers_code=False,
                          interaction=Interaction.CEREMONY)
        config_class = ConfigModel

        def begin_enrollment(self, user: MethodUser, form: Mapping[str, str]) -> Enrollment:
            return Enrollment(credential=Credential())

        def verify(self, user: MethodUser, credential: Credential, challenge: Challenge,
                   form: Mapping[str, str]) -> Verified | None:
            return None

        def describe(self, credential: Credential, locale: str) -> str:
            return "key"

    assert check_class("key", NoCeremony, "x:NoCeremony") == (
        "methods.key: x:NoCeremony is a CEREMONY method but does not define begin_ceremony")

    class SaysOtp(NoCeremony):
        info = MethodInfo(id="key", amr=("otp",), channel=Channel.KEY, delivers_code=False,
                          interaction=Interaction.CEREMONY)

        def begin_ceremony(self, user: MethodUser, credential: Credential,
                           purpose: str) -> Challenge:
            return Challenge()

    assert check_class("key", SaysOtp, "x:SaysOtp") == (
        "methods.key: x:SaysOtp runs a ceremony: its amr cannot say otp, sms or tel")
