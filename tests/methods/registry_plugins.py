"""Plugins for the registry's tests, registered through real entry points (dist-info
directories written by the tests); some are broken on purpose."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from idp.methods import (
    Challenge,
    Channel,
    ConfigModel,
    Credential,
    Enrollment,
    Method,
    MethodInfo,
    MethodUser,
    Verified,
)


class GoodConfig(ConfigModel):
    level: int = Field(default=1, ge=1)


class GoodMethod(Method[GoodConfig]):
    info = MethodInfo(id="good", amr=("otp",), channel=Channel.APP, delivers_code=False)
    config_class = GoodConfig

    def begin_enrollment(self, user: MethodUser, form: Mapping[str, str]) -> Enrollment:
        return Enrollment(credential=Credential(secret=b"k"))

    def verify(
        self, user: MethodUser, credential: Credential, challenge: Challenge,
        form: Mapping[str, str],
    ) -> Verified | None:
        return None

    def describe(self, credential: Credential, locale: str) -> str:
        return "good"


class WrongIdMethod(GoodMethod):
    info = MethodInfo(id="other", amr=("otp",), channel=Channel.APP, delivers_code=False)


class NotAMethod:
    info = MethodInfo(id="notamethod", amr=("otp",), channel=Channel.APP, delivers_code=False)


class Exploding(GoodMethod):
    info = MethodInfo(id="exploding", amr=("otp",), channel=Channel.APP, delivers_code=False)

    def __init__(self, config: GoodConfig, ctx: object) -> None:
        raise RuntimeError("cannot reach the device service")
