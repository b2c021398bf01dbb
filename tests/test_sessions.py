"""SSO sessions on a real store: expiry, epoch, clients, and only a hash at rest."""

from __future__ import annotations

from pathlib import Path

from idp.observability import Audit
from idp.services import Services
from idp.sessions import SsoSessions
from idp.settings import Settings
from tests.conftest import make_settings


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now



def make(services: Services, settings: Settings, clock: Clock) -> SsoSessions:
    return SsoSessions(services.store, settings, Audit(), clock=clock)


def test_session_round_trip_and_only_a_hash_is_stored(
    services: Services, settings: Settings
) -> None:
    clock = Clock()
    sessions = make(services, settings, clock)
    session, cookie = sessions.create(user_id="u1", epoch=3, amr=("pwd", "otp", "mfa"),
                                      acr="urn:nidan:acr:2sv", auth_time=clock.now,
                                      second_factor_at=clock.now)
    assert cookie.name == "nidan_sid"  # http issuer: no __Host- prefix
    assert cookie.set_cookie_kwargs()["httponly"] is True
    assert cookie.set_cookie_kwargs()["samesite"] == "lax"
    found = sessions.current(cookie.value, user_epoch=lambda _u: 3)
    assert found is not None
    assert found.sid == session.sid
    assert found.amr == ("pwd", "otp", "mfa")
    stored = b"".join(services.store.get(k) or b"" for k in services.store.scan("sso"))
    assert cookie.value.encode() not in stored
    assert cookie.value not in repr(cookie)


def test_idle_and_absolute_expiry(services: Services, settings: Settings) -> None:
    clock = Clock()
    sessions = make(services, settings, clock)
    _, cookie = sessions.create(user_id="u1", epoch=1, amr=("pwd",), acr="a",
                                auth_time=clock.now, second_factor_at=None)
    for _ in range(6):  # used every 110 minutes: idle (2 h) never reached, 660 min < 12 h
        clock.now += 110 * 60
        alive = sessions.current(cookie.value, user_epoch=lambda _u: 1)
        assert alive is not None
    clock.now += 110 * 60  # 770 minutes > 12 h
    assert sessions.current(cookie.value, user_epoch=lambda _u: 1) is None

    _, idle = sessions.create(user_id="u1", epoch=1, amr=("pwd",), acr="a",
                              auth_time=clock.now, second_factor_at=None)
    clock.now += 2 * 3600 + 1
    assert sessions.current(idle.value, user_epoch=lambda _u: 1) is None


def test_epoch_change_ends_the_session(services: Services, settings: Settings) -> None:
    sessions = make(services, settings, Clock())
    session, cookie = sessions.create(user_id="u1", epoch=1, amr=("pwd",), acr="a",
                                      auth_time=0, second_factor_at=None)
    assert sessions.current(cookie.value, user_epoch=lambda _u: 2) is None
    assert sessions.by_sid(session.sid) is None
    assert sessions.current(cookie.value, user_epoch=lambda _u: 1) is None  # stays ended


def test_clients_and_end_all(services: Services, settings: Settings) -> None:
    sessions = make(services, settings, Clock())
    one, _ = sessions.create(user_id="u1", epoch=1, amr=("pwd",), acr="a", auth_time=0,
                             second_factor_at=None)
    two, _ = sessions.create(user_id="u1", epoch=1, amr=("pwd",), acr="a", auth_time=0,
                             second_factor_at=None)
    other, other_cookie = sessions.create(user_id="u2", epoch=1, amr=("pwd",), acr="a",
                                          auth_time=0, second_factor_at=None)
    sessions.add_client(one, "seller-tool")
    sessions.add_client(one, "analytics")
    sessions.add_client(two, "seller-tool")
    ended = sessions.end_all("u1", reason="reset-2sv", actor="cli")
    assert ended == {one.sid: {"seller-tool", "analytics"}, two.sid: {"seller-tool"}}
    assert sessions.by_sid(one.sid) is None
    assert sessions.current(other_cookie.value, user_epoch=lambda _u: 1) is not None
    assert other.sid not in ended


def test_secure_issuer_uses_host_prefix(tmp_path: Path, services: Services) -> None:
    secure = make_settings(tmp_path, server={"issuer": "https://id.example.com"})
    sessions = SsoSessions(services.store, secure, Audit())
    _, cookie = sessions.create(user_id="u", epoch=1, amr=("pwd",), acr="a", auth_time=0,
                                second_factor_at=None)
    assert cookie.name == "__Host-nidan_sid"
    assert cookie.secure


def test_fresh_second_factor_window(services: Services, settings: Settings) -> None:
    clock = Clock()
    sessions = make(services, settings, clock)
    session, _ = sessions.create(user_id="u", epoch=1, amr=("pwd", "otp", "mfa"), acr="a",
                                 auth_time=clock.now, second_factor_at=clock.now)
    assert session.fresh_second_factor(600, now=clock.now + 599)
    assert not session.fresh_second_factor(600, now=clock.now + 601)
    trusted, _ = sessions.create(user_id="u", epoch=1, amr=("pwd",), acr="b",
                                 auth_time=clock.now, second_factor_at=None)
    assert not trusted.fresh_second_factor(600, now=clock.now)


def test_update_never_brings_an_ended_session_back(services: Services, settings: Settings) -> None:
    sessions = make(services, settings, Clock())
    session, cookie = sessions.create(user_id="u", epoch=1, amr=("pwd",), acr="a", auth_time=0,
                                      second_factor_at=None)
    rebound = sessions.update(session, epoch=2)
    assert rebound is not None
    assert rebound.epoch == 2
    assert sessions.current(cookie.value, user_epoch=lambda _u: 2) is not None
    sessions.end(session, reason="logout")
    assert sessions.update(session, epoch=3) is None
    assert sessions.current(cookie.value, user_epoch=lambda _u: 3) is None
