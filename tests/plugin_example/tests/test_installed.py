"""The example plugin, written only from docs/plugins.md, loads through a real entry point."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import idp_paper  # type: ignore[import-not-found,unused-ignore]
from tests.methods.helpers import World


def test_found_through_the_entry_point_group() -> None:
    found = [ep for ep in entry_points(group="idp.methods") if ep.name == "paper"]
    assert [ep.value for ep in found] == ["idp_paper:PaperMethod"]
    assert found[0].dist is not None
    assert found[0].dist.name == "nidan-paper"
    assert found[0].load() is idp_paper.PaperMethod


def test_enabled_by_config_like_any_method(tmp_path: Path) -> None:
    world = World(
        tmp_path,
        methods={"totp": {}, "sms": {}, "paper": {"codes": 30}},
        enrollment={"primary": ["paper", "totp", "sms"], "backup": ["sms"]},
    )
    try:
        paper = world.service.methods["paper"]
        assert isinstance(paper, idp_paper.PaperMethod)
        assert paper.config.codes == 30
        user = world.user()
        pending = world.service.begin_enrollment(user, "primary", "paper", {})
        first_line = pending.display["sheet"].splitlines()[0].split()[-1]
        world.service.complete_enrollment(user, "primary", {"code": first_line})
        assert world.service.credentials(user)["primary"].description == (
            "Printed code sheet, 30 codes"
        )
        second_line = pending.display["sheet"].splitlines()[1].split()[-1]
        assert world.service.verify(user, "primary", {"code": second_line}).amr == ("otp",)
    finally:
        world.close()
