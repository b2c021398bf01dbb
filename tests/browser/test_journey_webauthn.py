"""Security keys in a real browser: Debian's Chromium with the DevTools virtual
authenticator (``WebAuthn.addVirtualAuthenticator`` through Playwright's CDP session), the
pages opened at ``http://localhost:PORT`` (WebAuthn refuses an IP address as RP ID).

A key is enrolled as the backup after the app or after SMS, signs in after "Didn't receive
the code?", and the refusals a relying party owes happen where a person would see them: a
bogus signature, a failed user verification, a cloned key (a credential copied to a second
authenticator, counters diverging), and removing the last key while two methods are set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from playwright.sync_api import CDPSession, expect
from pytest_playwright.pytest_playwright import CreateContextCallback

from idp.app import create_app
from idp.methods import CeremonyCancelled, KeyBlocked, KeyRefused, TooFewMethods
from idp.methods.testing_webauthn import SoftAuthenticator
from idp.services import build_services
from idp.web.i18n import LocaleCode
from tests.browser.journeys import LANGS, AuditTrail, Walk, error_text
from tests.browser.pages import (
    ACCEPT_LANGUAGE,
    BROWSER_LOCALE,
    DEFAULT_TIMEOUT_MS,
    PageProblems,
    Screenshots,
    Visitor,
    ui_text,
)
from tests.browser.people import (
    Authenticator,
    Outbox,
    PhoneBook,
    Seller,
    create_user,
    import_methods,
    sms,
)
from tests.browser.server import BROWSER_LIMITS, LiveNidan
from tests.conftest import make_settings
from tests.live_server import free_port, live_server

ALL_METHODS = ["totp", "sms", "voice", "webauthn"]
VIRTUAL_KEY = {
    "protocol": "ctap2", "transport": "usb", "hasResidentKey": False,
    "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True,
}


@pytest.fixture(scope="module")
def keyed_nidan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNidan]:
    """Nidan at ``http://localhost:<port>`` with the webauthn method (RP ID ``localhost``,
    that one origin) allowed in both roles."""
    directory = tmp_path_factory.mktemp("webauthn")
    port = free_port()
    origin = f"http://localhost:{port}"
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("IDP_"):
                patch.delenv(name)
        settings = make_settings(
            directory, server={"issuer": origin, "port": port, "dev": True},
            limits=dict(BROWSER_LIMITS),
            methods={"totp": {}, "sms": {}, "voice": {},
                     "webauthn": {"rp_id": "localhost", "allowed_origins": [origin]}},
            enrollment={"primary": ALL_METHODS, "backup": ALL_METHODS},
        )
    # The server listens on 127.0.0.1; the browser reaches it as localhost.
    with (
        closing(build_services(settings)) as services,
        live_server(create_app(settings, services), port=port),
    ):
        yield LiveNidan(base_url=origin, settings=settings, services=services)


@pytest.fixture(scope="module")
def browser_context_args(
    browser_context_args: dict[str, Any], keyed_nidan: LiveNidan
) -> dict[str, Any]:
    return {**browser_context_args, "base_url": keyed_nidan.base_url}


@pytest.fixture
def keyed_audit(keyed_nidan: LiveNidan) -> Iterator[AuditTrail]:
    trail = AuditTrail()
    keyed_nidan.services.audit.listeners.append(trail.record)
    yield trail
    keyed_nidan.services.audit.listeners.remove(trail.record)


@pytest.fixture
def keyed_outbox(keyed_nidan: LiveNidan) -> Outbox:
    return Outbox(keyed_nidan.outbox_path)


class Keys:
    """The virtual authenticators of one tab."""

    def __init__(self, person: Visitor) -> None:
        self.cdp: CDPSession = person.context.new_cdp_session(person.page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})

    def add(self) -> str:
        found = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_KEY})
        return str(found["authenticatorId"])

    def credentials(self, authenticator: str) -> list[dict[str, Any]]:
        found = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
        return list(found["credentials"])

    def override(self, authenticator: str, **bits: bool) -> None:
        self.cdp.send("WebAuthn.setResponseOverrideBits",
                      {"authenticatorId": authenticator, **bits})

    def add_copy(self, credentials: list[dict[str, Any]]) -> str:
        """A second authenticator holding copies of credentials taken from the first."""
        twin = self.add()
        for credential in credentials:
            self.cdp.send("WebAuthn.addCredential",
                          {"authenticatorId": twin, "credential": credential})
        return twin

    def remove(self, authenticator: str) -> None:
        self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})


def open_keyed(new_context: CreateContextCallback, lang: LocaleCode, *,
               javascript: bool = True) -> Visitor:
    context = new_context(locale=BROWSER_LOCALE[lang],
                          extra_http_headers={"Accept-Language": ACCEPT_LANGUAGE[lang]},
                          java_script_enabled=javascript)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    problems = PageProblems()
    context.on("page", problems.watch)
    return Visitor(lang, context, context.new_page(), problems)


def enroll_key_as_backup(walk: Walk, name: str) -> None:
    """On the backup chooser: the security key, named, registered by the virtual key."""
    walk.choose("webauthn")
    walk.expect_page("/login/enroll/details", walk.text("Name your security key"), "key-name")
    walk.field(walk.text("Name of this key")).fill(name)
    walk.button(walk.text("Continue")).click()
    walk.expect_verify_page("key-register")
    walk.button(walk.text("Register security key")).click()


def sign_in_with_key(walk: Walk, snap: str) -> None:
    """On the key page: press the button; the virtual key answers."""
    walk.expect_page("/login/code", walk.text("Use your security key"), snap)
    walk.button(walk.text("Use security key")).click()


@LANGS
def test_a_security_key_as_backup_after_the_app(
    new_context: CreateContextCallback, screenshot: Screenshots, keyed_nidan: LiveNidan,
    keyed_audit: AuditTrail, lang: LocaleCode,
) -> None:  # covers E2 E3 C2
    services = keyed_nidan.services
    seller = create_user(services, locale=lang)
    person = open_keyed(new_context, lang)
    keys = Keys(person)
    keys.add()
    walk = Walk(person, screenshot)

    walk.open_account()
    walk.password(seller)
    walk.expect_enroll_choice("primary", "choose-primary")
    walk.enroll_app(seller.email, keyed_nidan.settings.ui.service_name)
    walk.expect_enroll_choice("backup", "choose-backup")
    enroll_key_as_backup(walk, "Blue key")
    walk.recovery_codes(keyed_nidan.settings.enrollment.recovery_codes)
    walk.finish_enrollment()
    walk.expect_signed_in(seller)
    backup = walk.method_section("backup")
    expect(backup.locator(".account-key__name")).to_have_text(["Blue key"])
    added = keyed_audit.named("method.key.added", seller.id)
    assert len(added) == 1
    assert added[0]["attested"] is False  # attestation "none": never hwk

    # C2: the only key of the backup can't go while two methods are set.
    backup.get_by_role("button", name=walk.account_text("Remove this key")).click()
    walk.expect_alert(error_text(lang, TooFewMethods.code))
    walk.shot(walk.page, "key-removal-refused")
    assert len(services.methods.credentials(_mu(seller, lang))["backup"].keys) == 1

    # Sign in again: the app is not at hand; the key answers instead.
    walk.sign_out(keyed_nidan.settings.ui.service_name)
    walk.open_account("sign-in-again")
    walk.password(seller)
    walk.expect_page("/login/code", walk.text("Enter your code"), "app-code")
    walk.didnt_receive_the_code()
    sign_in_with_key(walk, "key-sign-in")
    walk.expect_signed_in(seller, "signed-in-with-key")
    used = keyed_audit.named("method.key.used", seller.id)
    assert [e["amr"] for e in used] == [["user", "pin"]]


def _mu(seller: Seller, lang: LocaleCode) -> Any:
    from idp.users import method_user

    return method_user(seller.user, lang)


def test_a_key_after_sms_and_the_refusals_a_person_sees(
    new_context: CreateContextCallback, screenshot: Screenshots, keyed_nidan: LiveNidan,
    keyed_audit: AuditTrail, keyed_outbox: Outbox, phones: PhoneBook,
) -> None:
    lang: LocaleCode = "en"
    services = keyed_nidan.services
    seller = create_user(services, locale=lang)
    phone = phones.mobile()
    import_methods(services, seller, primary=sms(phone))
    person = open_keyed(new_context, lang)
    keys = Keys(person)
    key = keys.add()
    walk = Walk(person, screenshot)

    walk.open_account()
    walk.password(seller)
    walk.expect_code_page(services.methods.credentials(_mu(seller, lang))["primary"].description)
    walk.enter_code(keyed_outbox.latest(phone, channel="sms").code)
    walk.expect_enroll_choice("backup", "choose-backup")
    enroll_key_as_backup(walk, "Desk key")
    walk.recovery_codes(keyed_nidan.settings.enrollment.recovery_codes)
    walk.finish_enrollment()
    walk.expect_signed_in(seller)

    def to_key_page(snap: str) -> None:
        walk.sign_out(keyed_nidan.settings.ui.service_name)
        walk.open_account(f"{snap}-sign-in")
        walk.password(seller)
        walk.page.wait_for_url("**/login/code")
        walk.didnt_receive_the_code()  # from the SMS page (its code is never typed)
        walk.expect_page("/login/code", walk.text("Use your security key"), snap)

    refused = ui_text(lang, KeyRefused.messages["en"])
    # A bogus signature: refused, and the try is counted.
    to_key_page("bogus-signature")
    keys.override(key, isBogusSignature=True, isBadUV=False, isBadUP=False)
    walk.button(walk.text("Use security key")).click()
    walk.expect_alert(refused)
    walk.shot(walk.page, "bogus-signature-refused")
    # User verification failed: a key that verified the person at registration must again.
    keys.override(key, isBogusSignature=False, isBadUV=True, isBadUP=False)
    with walk.page.expect_navigation():  # a new page: the refusal is this answer's
        walk.button(walk.text("Use security key")).click()
    walk.expect_alert(refused)
    failed = keyed_audit.named("method.verify.failed", seller.id)
    assert [e["error_code"] for e in failed] == ["key_refused", "key_refused"]
    # The key itself, honestly: signed in after "Didn't receive the code?" from SMS.
    keys.override(key, isBogusSignature=False, isBadUV=False, isBadUP=False)
    walk.button(walk.text("Use security key")).click()
    walk.expect_signed_in(seller, "signed-in-with-key")

    # A cloned key: a copy on a second authenticator; the original signs in, the copy's
    # counter is then behind: the key is blocked and the person told.
    copies = keys.credentials(key)  # the key as it is now, private key and counter
    to_key_page("clone")
    walk.button(walk.text("Use security key")).click()
    walk.expect_signed_in(seller, "original-signs-in")
    keys.remove(key)
    keys.add_copy(copies)
    to_key_page("copy")
    walk.button(walk.text("Use security key")).click()
    walk.expect_alert(ui_text(lang, KeyBlocked.messages["en"]))
    walk.shot(walk.page, "clone-detected")
    cloned = keyed_audit.named("method.key.cloned", seller.id)
    assert len(cloned) == 1
    assert cloned[0]["blocked"] is True
    assert services.methods.credentials(_mu(seller, lang))["backup"].keys[0].blocked



def _with_key_backup(nidan: LiveNidan, lang: LocaleCode) -> Seller:
    """A person with the app as primary and a key as backup, set up through the methods
    layer with the kit's software authenticator (the browser never holds this key)."""
    services = nidan.services
    seller = create_user(services, locale=lang)
    import_methods(services, seller, primary=Authenticator.new())
    key = SoftAuthenticator(origin=nidan.base_url, rp_id="localhost")
    mu = _mu(seller, lang)
    pending = services.methods.begin_enrollment(mu, "backup", "webauthn",
                                                {"key_name": "Spare"}, transaction="setup")
    assert pending.ceremony is not None
    services.methods.complete_enrollment(mu, "backup",
                                         {"credential": key.answer(pending.ceremony)},
                                         transaction="setup")
    return seller


@LANGS
def test_without_javascript_the_key_page_says_so_and_offers_the_other_method(
    new_context: CreateContextCallback, screenshot: Screenshots, keyed_nidan: LiveNidan,
    lang: LocaleCode,
) -> None:
    seller = _with_key_backup(keyed_nidan, lang)
    person = open_keyed(new_context, lang, javascript=False)
    walk = Walk(person, screenshot)
    walk.open_account()
    walk.password(seller)
    walk.expect_page("/login/code", walk.text("Enter your code"), "app-code")
    walk.didnt_receive_the_code()
    walk.expect_page("/login/code", walk.text("Use your security key"), "no-javascript")
    expect(walk.page.locator("main")).to_contain_text(walk.text(
        "Security keys and passkeys need JavaScript, which is turned off in this browser."))
    walk.link(walk.text("Use your other method instead")).click()
    walk.expect_page("/login/code", walk.text("Enter your code"), "back-to-the-app")
    # Pressing the key button without script sends an empty answer: said, and not a try.
    walk.page.goto("/login/code?use=backup")
    walk.button(walk.text("Use security key")).click()
    walk.expect_alert(ui_text(lang, CeremonyCancelled.messages["en"]))
    assert keyed_nidan.services.methods.credentials(_mu(seller, lang))["backup"].disabled is False


def test_without_webauthn_the_key_page_says_so(
    new_context: CreateContextCallback, screenshot: Screenshots, keyed_nidan: LiveNidan,
) -> None:
    lang: LocaleCode = "ja"
    seller = _with_key_backup(keyed_nidan, lang)
    person = open_keyed(new_context, lang)
    # A browser without WebAuthn: the API is simply not there.
    person.context.add_init_script("delete window.PublicKeyCredential;")
    walk = Walk(person, screenshot)
    walk.open_account()
    walk.password(seller)
    walk.page.wait_for_url("**/login/code")
    walk.didnt_receive_the_code()
    walk.expect_page("/login/code", walk.text("Use your security key"), "no-webauthn")
    expect(walk.page.locator("#webauthn-unsupported")).to_be_visible()
    expect(walk.page.locator("#webauthn-unsupported")).to_contain_text(walk.text(
        "This browser can't use security keys or passkeys."))
    expect(walk.button(walk.text("Use security key"))).to_be_disabled()
