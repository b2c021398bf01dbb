"""Each security event mails exactly one notice, in the person's language, through a real
SMTP server; none carries a code, a password, a token or a phone number."""

from __future__ import annotations

from contextlib import closing

import pytest

from idp.notices.kinds import SUBJECTS, Kind
from idp.users import EmailTaken, User, method_user
from idp.web.i18n import Catalogues, LocaleCode
from tests.account.helpers import PASSWORD, SAFARI_IPHONE, HttpBrowser, Site
from tests.notices.helpers import assert_clean, assert_multipart, person, sign_in_as
from tests.notices.smtp_sink import SmtpSink

LOCALES: tuple[LocaleCode, ...] = ("ja", "en")
NEW_PASSWORD = "a new password nobody guesses"
# Subject lines seen, for the closing note of the issue (printed with -s).
SEEN: dict[tuple[str, str], str] = {}


_CATALOGUES = Catalogues.load()


def _subject(site: Site, kind: Kind, locale: LocaleCode) -> str:
    """The subject as the catalogues word it: the app's own words, not a copy."""
    return f"[{site.settings.ui.service_name}] " + _CATALOGUES.gettext(locale, SUBJECTS[kind])


def _one(site: Site, sink: SmtpSink, user: User, kind: Kind, locale: LocaleCode, *secrets: str
         ) -> None:
    received = sink.wait_for(user.email)
    assert len(sink.to(user.email)) == 1
    mail = received[0]
    assert mail.subject == _subject(site, kind, locale)
    assert_multipart(mail, locale)
    assert_clean(mail, PASSWORD, NEW_PASSWORD, *secrets)
    assert "/account/not-me?t=" in mail.part("plain")
    SEEN[(kind.value, locale)] = mail.subject


@pytest.mark.parametrize("locale", LOCALES)
def test_a_browser_never_used_before(site: Site, sink: SmtpSink, locale: LocaleCode) -> None:
    user = person(site, locale)
    first, second = HttpBrowser(site), HttpBrowser(site, user_agent=SAFARI_IPHONE)
    try:
        sign_in_as(first, user)  # the very first browser is not news
        assert sink.to(user.email) == []
        page = sign_in_as(second, user)
        assert page.status_code == 200
        _one(site, sink, user, Kind.NEW_BROWSER, locale)
        body = sink.to(user.email)[0].part("plain")
        assert "Safari on iPhone" in body
        assert "127.0.0.x" in body
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_dont_require_codes_on_this_browser(site: Site, sink: SmtpSink, locale: LocaleCode) -> None:
    user = person(site, locale)
    with closing(HttpBrowser(site)) as browser:
        sign_in_as(browser, user, trust=True)
    _one(site, sink, user, Kind.TRUSTED_BROWSER, locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_password_changed(site: Site, sink: SmtpSink, locale: LocaleCode) -> None:
    user = person(site, locale)
    site.services.accounts.set_password(user.id, NEW_PASSWORD, actor="user")
    _one(site, sink, user, Kind.PASSWORD_CHANGED, locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_primary_and_backup_swapped(site: Site, sink: SmtpSink, locale: LocaleCode) -> None:
    user = person(site, locale)
    site.services.methods.swap_roles(method_user(user))
    _one(site, sink, user, Kind.METHODS_SWAPPED, locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_recovery_codes_regenerated_then_used(site: Site, sink: SmtpSink, locale: LocaleCode
                                             ) -> None:
    user = person(site, locale)
    codes = site.services.methods.regenerate_recovery_codes(method_user(user))
    _one(site, sink, user, Kind.RECOVERY_CODES_REGENERATED, locale, *codes)
    site.services.methods.use_recovery_code(method_user(user), codes[0])
    received = sink.wait_for(user.email, 2)
    assert len(received) == 2
    used = received[1]
    assert used.subject == _subject(site, Kind.RECOVERY_CODES_USED, locale)
    assert_multipart(used, locale)
    assert_clean(used, *codes)
    SEEN[(Kind.RECOVERY_CODES_USED.value, locale)] = used.subject


@pytest.mark.parametrize(("event", "fields", "kind"), [
    # Enrollment, replacement and removal run through the method plugins' own flows
    # (tests/account, tests/login); here the audit event they emit is sent as they emit it.
    ("method.enroll.completed", {"role": "backup", "method": "sms", "complete": True,
                                 "replaced": False}, Kind.METHOD_ADDED),
    ("method.enroll.completed", {"role": "backup", "method": "voice", "complete": True,
                                 "replaced": True}, Kind.METHOD_REPLACED),
    ("method.removed", {"role": "backup", "method": "sms"}, Kind.METHOD_REMOVED),
    ("user.reset_2sv", {"actor": "cli"}, Kind.RESET_BY_OPERATOR),
    ("login.locked", {"kind": "locked", "lock_s": 900, "failures": 10},
     Kind.ACCOUNT_LOCKED),
    ("method.disabled", {"role": "primary", "method": "totp"}, Kind.ACCOUNT_LOCKED),
])
@pytest.mark.parametrize("locale", LOCALES)
def test_events_of_the_methods_and_limits(
    site: Site, sink: SmtpSink, locale: LocaleCode, event: str, fields: dict[str, object],
    kind: Kind,
) -> None:
    user = person(site, locale)
    site.services.audit.emit(event, user_id=user.id, **fields)
    _one(site, sink, user, kind, locale)
    if "method" in fields and kind is not Kind.ACCOUNT_LOCKED:
        words = {"sms": ("SMS",), "voice": ("音声通話", "voice call")}[str(fields["method"])]
        assert any(word in sink.to(user.email)[0].part("plain") for word in words)


def test_events_switched_off_send_nothing(site: Site, sink: SmtpSink) -> None:
    from idp.notices import Notices
    from idp.settings import NoticeEvents, NotificationSettings

    user = person(site, "en")
    settings = site.settings.model_copy(update={"notifications": NotificationSettings(
        email=["smtp"], events=NoticeEvents(password_changed=False))})
    quiet = Notices(settings, site.services.store, site.services.audit,
                    site.services.accounts, site.services.delivery)
    assert quiet.notify(user.id, Kind.PASSWORD_CHANGED) is None
    assert quiet.notify(user.id, Kind.METHODS_SWAPPED) is not None


def test_subject_lines(site: Site) -> None:
    """Not a check of its own: prints the subject lines the tests above received."""
    for (kind, locale), subject in sorted(SEEN.items()):
        print(f"{kind:28} {locale}  {subject}")
    assert len(SEEN) >= 2


@pytest.mark.parametrize("locale", LOCALES)
def test_a_changed_address_tells_the_old_one(site: Site, sink: SmtpSink, locale: LocaleCode
                                             ) -> None:
    user = person(site, locale)
    assert user.email_verified
    new = f"new-{user.email}"
    changed = site.services.notices.change_email(user.id, new, actor="cli")
    assert not changed.email_verified  # unproved until the link is used
    assert site.services.accounts.find_by_email(user.email) is None
    assert site.services.accounts.find_by_email(new) == changed
    _one(site, sink, user, Kind.EMAIL_CHANGED, locale)
    (confirm,) = sink.wait_for(new)
    assert confirm.subject == _subject(site, Kind.VERIFY_EMAIL, locale)
    assert "/email/verify?t=" in confirm.part("plain")
    taken = person(site, locale)
    with pytest.raises(EmailTaken):
        site.services.notices.change_email(taken.id, new, actor="cli")
    assert site.services.accounts.find_by_email(taken.email) == site.user(taken.email)
