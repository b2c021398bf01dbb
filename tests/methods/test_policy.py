"""The enrollment policy on its own, every primary/backup combination (BEHAVIOUR E2-E5)."""

from __future__ import annotations

import itertools

import pytest

from idp.methods import (
    AppBothRoles,
    Channel,
    MethodError,
    MethodInfo,
    RoleNotAllowed,
    SamePhoneTwice,
    parse_phone,
)
from idp.methods.policy import Choice, EnrollmentPolicy
from idp.settings import EnrollmentSettings

CHANNELS = {"totp": Channel.APP, "sms": Channel.PHONE, "voice": Channel.PHONE}
INFOS = {
    m: MethodInfo(id=m, amr=("x",), channel=c, delivers_code=c is Channel.PHONE)
    for m, c in CHANNELS.items()
}
NUMBER = "090-1234-5678"
SAME_NUMBER = "+81 90 1234 5678"  # E4: the same number, written internationally
OTHER_NUMBER = "080-9876-5432"


def choice(method: str, number: str | None) -> Choice:
    if CHANNELS[method] is Channel.APP:
        return Choice(method, Channel.APP)
    assert number is not None
    return Choice(method, Channel.PHONE, parse_phone(number, "JP").e164)


# The expected outcome of every pair under the default policy, written out by hand.
# "same": both phone methods use one number (in two spellings); "different": two numbers.
DEFAULT_OUTCOMES: dict[tuple[str, str, str], type[MethodError] | None] = {
    ("totp", "totp", "same"): AppBothRoles,  # E3
    ("totp", "totp", "different"): AppBothRoles,
    ("totp", "sms", "same"): None,
    ("totp", "sms", "different"): None,
    ("totp", "voice", "same"): None,
    ("totp", "voice", "different"): None,
    ("sms", "totp", "same"): None,
    ("sms", "totp", "different"): None,
    ("voice", "totp", "same"): None,
    ("voice", "totp", "different"): None,
    ("sms", "sms", "same"): SamePhoneTwice,  # E4
    ("sms", "sms", "different"): None,
    ("sms", "voice", "same"): SamePhoneTwice,
    ("sms", "voice", "different"): None,
    ("voice", "sms", "same"): SamePhoneTwice,
    ("voice", "sms", "different"): None,
    ("voice", "voice", "same"): SamePhoneTwice,
    ("voice", "voice", "different"): None,
}


def test_the_table_covers_every_combination() -> None:
    combos = set(itertools.product(CHANNELS, CHANNELS, ("same", "different")))
    assert set(DEFAULT_OUTCOMES) == combos


@pytest.mark.parametrize(("primary", "backup", "numbers"), sorted(DEFAULT_OUTCOMES))
def test_default_policy(primary: str, backup: str, numbers: str) -> None:
    # covers E2, E3, E4
    policy = EnrollmentPolicy(EnrollmentSettings())
    first = choice(primary, NUMBER)
    second = choice(backup, SAME_NUMBER if numbers == "same" else OTHER_NUMBER)
    expected = DEFAULT_OUTCOMES[(primary, backup, numbers)]
    if expected is None:
        policy.check_pair(first, second)
        policy.check("backup", second, first)
        policy.check("primary", first, second)
    else:
        with pytest.raises(expected):
            policy.check_pair(first, second)
        # The same verdict whichever role is chosen last.
        with pytest.raises(expected):
            policy.check("backup", second, first)
        with pytest.raises(expected):
            policy.check("primary", first, second)


def test_national_and_international_spellings_are_one_number() -> None:
    # covers E4, E5
    assert parse_phone("090-1234-5678", "JP").e164 == parse_phone("+81 90 1234 5678", "JP").e164
    policy = EnrollmentPolicy(EnrollmentSettings())
    with pytest.raises(SamePhoneTwice) as refused:
        policy.check_pair(choice("sms", "090-1234-5678"), choice("voice", "+81 90 1234 5678"))
    assert refused.value.code == "same_phone_twice"
    assert refused.value.field == "phone"


@pytest.mark.parametrize(("primary", "backup"), list(itertools.product(CHANNELS, CHANNELS)))
def test_two_apps_allowed_when_the_operator_drops_require_phone(
    primary: str, backup: str
) -> None:
    # covers E3 (configurable)
    policy = EnrollmentPolicy(EnrollmentSettings(require_phone=False))
    policy.check_pair(choice(primary, NUMBER), choice(backup, OTHER_NUMBER))


@pytest.mark.parametrize(("primary", "backup"), [("sms", "voice"), ("voice", "sms"),
                                                 ("sms", "sms"), ("voice", "voice")])
def test_one_phone_for_both_when_the_operator_allows_it(primary: str, backup: str) -> None:
    # covers E4 (configurable)
    policy = EnrollmentPolicy(EnrollmentSettings(allow_same_phone=True))
    policy.check_pair(choice(primary, NUMBER), choice(backup, SAME_NUMBER))


ROLE_LISTS = EnrollmentSettings(primary=["sms", "voice"], backup=["totp", "voice"])


@pytest.mark.parametrize(("primary", "backup"), list(itertools.product(CHANNELS, CHANNELS)))
def test_role_lists(primary: str, backup: str) -> None:
    # covers E3 (which methods may be primary / backup)
    policy = EnrollmentPolicy(ROLE_LISTS)
    first, second = choice(primary, NUMBER), choice(backup, OTHER_NUMBER)
    if primary not in ROLE_LISTS.primary or backup not in ROLE_LISTS.backup:
        with pytest.raises(RoleNotAllowed) as refused:
            policy.check_pair(first, second)
        wrong_role = "primary" if primary not in ROLE_LISTS.primary else "backup"
        assert refused.value.role == wrong_role
    else:
        policy.check_pair(first, second)


def test_a_single_role_is_checked_against_its_list_only() -> None:
    policy = EnrollmentPolicy(ROLE_LISTS)
    policy.check("primary", choice("sms", NUMBER), None)
    with pytest.raises(RoleNotAllowed):
        policy.check("primary", choice("totp", NUMBER), None)


def test_role_not_allowed_names_the_role_in_both_languages() -> None:
    error = RoleNotAllowed(role="backup")
    assert "backup" in error.message("en")
    assert "バックアップ手段" in error.message("ja")


def test_choosable_applies_e3_against_the_other_role() -> None:
    policy = EnrollmentPolicy(EnrollmentSettings())
    assert policy.choosable("primary", None, INFOS) == ("totp", "sms", "voice")
    assert policy.choosable("backup", choice("totp", None), INFOS) == ("sms", "voice")
    # E4 needs numbers: before one is typed, every phone method stays choosable.
    assert policy.choosable("backup", choice("sms", NUMBER), INFOS) == ("totp", "sms", "voice")


def test_choosable_skips_methods_that_are_not_enabled() -> None:
    policy = EnrollmentPolicy(EnrollmentSettings())
    enabled = {"totp": INFOS["totp"], "voice": INFOS["voice"]}
    assert policy.choosable("backup", None, enabled) == ("totp", "voice")


def test_a_workable_configuration_has_no_problems() -> None:
    assert EnrollmentPolicy(EnrollmentSettings()).config_problems(INFOS) == []


def test_require_phone_without_any_phone_method_is_a_config_problem() -> None:
    problems = EnrollmentPolicy(EnrollmentSettings()).config_problems({"totp": INFOS["totp"]})
    assert len(problems) == 1
    assert "require_phone" in problems[0]


def test_role_lists_without_enabled_methods_are_config_problems() -> None:
    settings = EnrollmentSettings(primary=["nope"], backup=["nada"])
    assert EnrollmentPolicy(settings).config_problems(INFOS) == [
        "enrollment.primary: none of the listed methods is enabled",
        "enrollment.backup: none of the listed methods is enabled",
    ]


def test_unknown_roles_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        EnrollmentPolicy(EnrollmentSettings()).allowed("tertiary")


@pytest.mark.parametrize(
    ("primary", "backup", "refused"),
    [
        (Channel.APP, Channel.KEY, False),  # a security key is a device of its own
        (Channel.KEY, Channel.APP, False),
        (Channel.KEY, Channel.PHONE, False),
        (Channel.KEY, Channel.KEY, True),  # two key methods: E3 as for two apps
        (Channel.APP, Channel.APP, True),
    ],
)
def test_an_app_and_a_security_key_make_a_pair(
    primary: Channel, backup: Channel, refused: bool
) -> None:
    # covers E3
    policy = EnrollmentPolicy(EnrollmentSettings(primary=["a", "b"], backup=["a", "b"]))
    pair = (Choice("a", primary), Choice("b", backup))
    if refused:
        with pytest.raises(AppBothRoles):
            policy.check_pair(*pair)
    else:
        policy.check_pair(*pair)
