"""The webauthn method against a real core, answered by the kit's software authenticator:
registration, sign-in, and every refusal a relying party owes (replay, origin, challenge,
counters by BE, concurrent registrations, amr, relying-party config)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from tests.races import winners

from idp.methods import (
    CeremonyCancelled,
    CodeExpired,
    KeyBlocked,
    KeyRefused,
    MethodError,
    TooFewMethods,
)
from idp.methods.registry import validate_config
from idp.methods.testing import ContractHarness
from idp.methods.testing_webauthn import SoftAuthenticator
from idp_webauthn import WebAuthnMethod

ORIGIN = "http://localhost:8000"
CONFIG = {"rp_id": "localhost", "allowed_origins": [ORIGIN]}


@pytest.fixture
def h(tmp_path: Path) -> Iterator[ContractHarness]:
    with closing(ContractHarness(tmp_path, WebAuthnMethod, CONFIG)) as harness:
        yield harness


def begin(h: ContractHarness, role: Any = "primary", name: str = "Blue key") -> dict[str, Any]:
    """The registration ceremony of a key named ``name`` (login transaction ``tx``)."""
    pending = h.service.begin_enrollment(h.user, role, "webauthn", {"key_name": name},
                                         transaction="tx")
    assert pending.ceremony is not None
    return dict(pending.ceremony)


def enroll(h: ContractHarness, key: SoftAuthenticator, role: Any = "primary",
           name: str = "Blue key") -> None:
    ceremony = begin(h, role, name)
    assert ceremony["kind"] == "create"
    h.service.complete_enrollment(h.user, role, {"credential": key.answer(ceremony)},
                                  transaction="tx")


def sign_in(h: ContractHarness, key: SoftAuthenticator, role: Any = "primary",
            **overrides: Any) -> Any:
    # Each sign-in is a login transaction of its own (a success uses its window up).
    transaction = secrets.token_hex(8)
    sent = h.service.send_challenge(h.user, role, transaction=transaction)
    assert sent.ceremony is not None
    return h.service.verify(h.user, role, {"credential": key.answer(sent.ceremony,
                                                                    **overrides)},
                            transaction=transaction)


def events(h: ContractHarness, name: str) -> list[dict[str, Any]]:
    return [dict(e) for e in h.events if e["event"] == name]


def test_registration_stores_a_named_key_and_the_options_fit_a_second_factor(
    h: ContractHarness,
) -> None:
    key = SoftAuthenticator(origin=ORIGIN, rp_id="localhost")
    ceremony = begin(h)
    options = ceremony["options"]
    assert options["rp"]["id"] == "localhost"
    assert options["attestation"] == "none"
    assert options["authenticatorSelection"]["residentKey"] == "discouraged"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert options["user"]["name"] == h.user.email
    assert h.user.id not in json.dumps(options)  # the user handle is opaque
    h.service.complete_enrollment(h.user, "primary", {"credential": key.answer(ceremony)},
                                  transaction="tx")
    view = h.service.credentials(h.user)["primary"]
    assert [k.name for k in view.keys] == ["Blue key"]
    assert "Blue key" in view.description
    assert view.keys[0].public["transports"] == ["usb"]
    # A second registration lists the first key to exclude, with its transports.
    more = h.service.begin_add_key(h.user, "primary", {"key_name": "Spare"}, transaction="t2")
    assert more.ceremony is not None
    excluded = more.ceremony["options"]["excludeCredentials"]
    assert [(c["id"], c.get("transports")) for c in excluded] == [(view.keys[0].id, ["usb"])]
    with pytest.raises(ValueError, match="InvalidStateError"):
        key.answer(more.ceremony)  # the same authenticator refuses to register twice


def test_sign_in_reports_honest_amr_and_moves_the_counter(h: ContractHarness) -> None:
    key = SoftAuthenticator(origin=ORIGIN, rp_id="localhost")
    enroll(h, key)
    sent = h.service.send_challenge(h.user, "primary", transaction="tx")
    assert sent.ceremony is not None
    allowed = sent.ceremony["options"]["allowCredentials"]
    assert [c.get("transports") for c in allowed] == [["usb"]]
    result = h.service.verify(h.user, "primary", {"credential": key.answer(sent.ceremony)},
                              transaction="tx")
    # Not attested against operator roots: no hwk; not synced: no swk; UP and UV.
    assert result.amr == ("user", "pin")
    assert h.service.credentials(h.user)["primary"].keys[0].counter == 1


def test_a_key_without_user_verification_earns_user_only(h: ContractHarness) -> None:
    key = SoftAuthenticator(origin=ORIGIN, rp_id="localhost", user_verified=False)
    enroll(h, key)  # UV "preferred": a key that can't verify the person is accepted
    assert sign_in(h, key).amr == ("user",)


def test_a_replayed_assertion_is_refused(h: ContractHarness) -> None:
    key = SoftAuthenticator(origin=ORIGIN, rp_id="localhost")
    enroll(h, key)
    sent = h.service.send_challenge(h.user, "primary", transaction="tx")
    assert sent.ceremony is not None
    form = {"credential": key.answer(sent.ceremony)}
    h.service.verify(h.user, "primary", form, transaction="tx")
    with pytest.raises(CodeExpired):
        h.service.verify(h.user, "primary", form, transaction="tx")
    # Replayed into a fresh ceremony of another sign-in (the success used this one's tries
    # up): the challenge inside it is the old one.
    h.service.send_challenge(h.user, "primary", transaction="tx3")
    with pytest.raises(KeyRefused):
        h.service.verify(h.user, "primary", form, transaction="tx3")


def test_a_wrong_origin_is_refused(h: ContractHarness) -> None:
    key = SoftAuthenticator(origin=ORIGIN, rp_id="localhost")
    enroll(h, key)
    with pytest.raises(KeyRefused) as refused:
        sign_in(h, key, origin="http://other.localhost:8000")
    assert refused.value.tries_left == h.settings.limits.code_tries - 1
    with pytest.raises(KeyRefused):
        sign_in(h, key, rp_id="evil.example")  # the RP ID hash is checked too
    assert len(events(h, "method.verify.failed")) == 2


def test_a_wrong_challenge_is_refused(h: ContractHarness) -> None:
    key = SoftAuthenticator(origin=ORIGIN, rp_id="localhost")
    enroll(h, key)
    with pytest.raises(KeyRefused):
        sign_in(h, key, challenge="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")


def test_a_bad_signature_and_a_failed_user_verification_are_refused(
    h: ContractHarness,
) -> None:
    key = SoftAuthenticator(origin=ORIGIN, rp_id="localhost")
    enroll(h, key)  # UV at registration: UV is now needed at every sign-in
    key.bad_signature = True
    with pytest.raises(KeyRefused):
        sign_in(h, key)
    key.bad_signature = False
    key.user_verified = False
    with pytest.raises(KeyRefused):
        sign_in(h, key)
    key.user_verified = True
    key.user_present = False
    with pytest.raises(KeyRefused):
        sign_in(h, key)


def test_a_counter_going_back_on_a_device_bound_key_blocks_it(h: ContractHarness) -> None:
    key = SoftAuthenticator(origin=ORIGIN, rp_id="localhost")  # BE=0
    enroll(h, key)
    clone = key.clone()
    sign_in(h, key)  # counter 1
    sign_in(h, key)  # counter 2
    with pytest.raises(KeyBlocked):
        sign_in(h, clone)  # counter 1 again: a copy
    cloned = events(h, "method.key.cloned")
    assert len(cloned) == 1
    assert (cloned[0]["stored"], cloned[0]["seen"], cloned[0]["blocked"]) == (2, 1, True)
    assert h.service.credentials(h.user)["primary"].keys[0].blocked
    sent = h.service.send_challenge(h.user, "primary", transaction="tx")
    assert sent.ceremony is not None
    assert sent.ceremony["options"]["allowCredentials"] == []  # no longer offered
    key_id = h.service.credentials(h.user)["primary"].keys[0].id
    options = {**sent.ceremony["options"], "allowCredentials": [{"id": key_id}]}
    answer = json.dumps(key.get(options))  # the original, answering anyway
    with pytest.raises(KeyBlocked):
        h.service.verify(h.user, "primary", {"credential": answer}, transaction="tx")


def test_a_synced_passkey_whose_counter_stays_put_is_recorded_not_blocked(
    h: ContractHarness,
) -> None:
    passkey = SoftAuthenticator(origin=ORIGIN, rp_id="localhost", backup_eligible=True,
                                backed_up=True, counter_step=0)
    enroll(h, passkey)
    first = sign_in(h, passkey)
    assert first.amr == ("swk", "user", "pin")
    assert not events(h, "method.key.counter_not_increasing")  # 0 and 0: no counter at all
    # Another device of the same account, behind on a shared counter.
    passkey.counter_step = 5
    sign_in(h, passkey)
    behind = passkey.clone()
    behind.held = {cid: type(held)(held.private, 2, held.user_handle)
                   for cid, held in passkey.held.items()}
    behind.counter_step = 1
    result = sign_in(h, behind)  # 3 <= 5: recorded, accepted
    assert "swk" in result.amr
    recorded = events(h, "method.key.counter_not_increasing")
    assert [(e["stored"], e["seen"], e["blocked"]) for e in recorded] == [(5, 3, False)]
    assert not h.service.credentials(h.user)["primary"].keys[0].blocked


def test_backup_eligibility_cannot_change(h: ContractHarness) -> None:
    key = SoftAuthenticator(origin=ORIGIN, rp_id="localhost")
    enroll(h, key)
    key.backup_eligible = True
    with pytest.raises(KeyRefused):
        sign_in(h, key)


def test_two_concurrent_registration_completions_make_one_credential(
    h: ContractHarness,
) -> None:
    key = SoftAuthenticator(origin=ORIGIN, rp_id="localhost")
    form = {"credential": key.answer(begin(h))}
    outcomes = winners(4, lambda _: h.service.complete_enrollment(h.user, "primary", form,
                                                                  transaction="tx"), MethodError)
    assert outcomes.count(True) == 1
    assert len(h.service.credentials(h.user)["primary"].keys) == 1
    # The same for one more key on /account.
    spare = SoftAuthenticator(origin=ORIGIN, rp_id="localhost")
    more = h.service.begin_add_key(h.user, "primary", {"key_name": "Spare"}, transaction="t2")
    assert more.ceremony is not None
    form = {"credential": spare.answer(more.ceremony)}
    outcomes = winners(4, lambda _: h.service.complete_add_key(h.user, "primary", form,
                                                               transaction="t2"), MethodError)
    assert outcomes.count(True) == 1
    assert [k.name for k in h.service.credentials(h.user)["primary"].keys] == [
        "Blue key", "Spare"]


def test_keys_are_added_used_and_removed_under_c2(h: ContractHarness) -> None:
    main, spare = (SoftAuthenticator(origin=ORIGIN, rp_id="localhost") for _ in range(2))
    enroll(h, main, "primary")
    enroll(h, SoftAuthenticator(origin=ORIGIN, rp_id="localhost"), "backup", "Backup")
    more = h.service.begin_add_key(h.user, "primary", {"key_name": "Spare"}, transaction="t")
    assert more.ceremony is not None
    h.service.complete_add_key(h.user, "primary", {"credential": spare.answer(more.ceremony)},
                               transaction="t")
    assert sign_in(h, spare).method == "webauthn"  # either key signs in
    keys = h.service.credentials(h.user)["primary"].keys
    h.service.remove_key(h.user, "primary", keys[0].id)
    sent = h.service.send_challenge(h.user, "primary", transaction="tx")
    assert sent.ceremony is not None
    assert [c["id"] for c in sent.ceremony["options"]["allowCredentials"]] == [keys[1].id]
    options = {**sent.ceremony["options"], "allowCredentials": [{"id": keys[0].id}]}
    with pytest.raises(KeyRefused):  # removed: no longer offered, and refused if answered
        h.service.verify(h.user, "primary", {"credential": json.dumps(main.get(options))},
                         transaction="tx")
    with pytest.raises(TooFewMethods):
        h.service.remove_key(h.user, "primary", keys[1].id)  # the last key of a method
    assert events(h, "method.key.removed")
    assert events(h, "method.key.remove.failed")[0]["error_code"] == "too_few_methods"


def test_a_cancelled_ceremony_costs_no_try(h: ContractHarness) -> None:
    key = SoftAuthenticator(origin=ORIGIN, rp_id="localhost")
    enroll(h, key)
    for _ in range(h.settings.limits.code_tries + 2):
        h.service.send_challenge(h.user, "primary", transaction="tx")
        with pytest.raises(CeremonyCancelled):
            h.service.verify(h.user, "primary", {"credential": ""}, transaction="tx")
    assert sign_in(h, key).method == "webauthn"


@pytest.mark.parametrize(
    ("config", "line"),
    [
        ({"rp_id": "192.168.1.10", "allowed_origins": ["https://192.168.1.10"]},
         "methods.webauthn.rp_id: must be a host name, not an IP address"),
        ({"rp_id": "co.jp", "allowed_origins": ["https://co.jp"]},
         "methods.webauthn.rp_id: 'co.jp' is a public suffix"),
        ({"rp_id": "example.com", "allowed_origins": ["http://login.example.com"]},
         "methods.webauthn.allowed_origins: 'http://login.example.com': http "
         "is allowed only for localhost"),
        ({"rp_id": "example.com", "allowed_origins": ["https://example.com.evil.net"]},
         "methods.webauthn.allowed_origins: 'https://example.com.evil.net' is "
         "not 'example.com'"),
        ({"allowed_origins": ["https://login.example.com"]},
         "methods.webauthn.rp_id: Field required"),
    ],
)
def test_the_relying_party_config_is_checked_at_start_up(
    config: dict[str, Any], line: str
) -> None:
    lines = validate_config("webauthn", WebAuthnMethod, config)
    assert isinstance(lines, list)
    assert any(found.startswith(line) for found in lines), lines


def test_a_good_relying_party_config_is_normalised() -> None:
    valid = validate_config("webauthn", WebAuthnMethod, {
        "rp_id": "Example.COM", "allowed_origins": ["https://Login.Example.com:8443/"]})
    assert not isinstance(valid, list)
    assert (valid.rp_id, valid.allowed_origins) == (  # type: ignore[attr-defined]
        "example.com", ["https://login.example.com:8443"])
