"""Languages (L1): negotiation, and catalogues that are complete in both languages."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

import idp
from idp.methods.errors import (
    ResendTooSoon,
    RoleNotAllowed,
    TooManyTries,
    WrongCode,
    error_catalogue,
)
from idp.web.i18n import (
    ERROR_MESSAGES,
    LOCALES_DIR,
    SPEC_PLURALS,
    SPEC_WORDING,
    SUPPORTED_LOCALES,
    Catalogues,
    negotiate_locale,
    parse_accept_language,
)

SOURCE_ROOT = Path(idp.__file__).parent
BABEL_CFG = SOURCE_ROOT / "web" / "babel.cfg"


@pytest.fixture(scope="module")
def catalogues() -> Catalogues:
    return Catalogues.load()


# -- negotiation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ui_locales", "user", "accept", "default", "chosen", "expected"),
    [
        # ui_locales beats the person's setting, Accept-Language and the default.
        ("en", "ja", "ja", "ja", None, "en"),
        ("ja-JP en", "en", "en-US", "en", None, "ja"),
        ("fr de-CH en-GB", "ja", "ja", "ja", None, "en"),  # first *supported* tag
        ("fr", "en", "ja", "ja", None, "en"),  # nothing supported: next source
        # The switch (explicit choice on this browser) beats even ui_locales.
        ("ja", "ja", "ja", "ja", "en", "en"),
        ("en", None, None, "ja", "ja", "ja"),
        ("en", None, None, "ja", "xx", "en"),  # a junk cookie is ignored
        # The person's setting beats Accept-Language.
        (None, "en", "ja", "ja", None, "en"),
        (None, "ja_JP", "en", "en", None, "ja"),
        # Accept-Language with q-values (RFC 9110 12.5.4).
        (None, None, "en-US;q=0.8, ja;q=0.9", "en", None, "ja"),
        (None, None, "en-US,en;q=0.9,ja;q=0.8", "ja", None, "en"),
        (None, None, "fr;q=1, en;q=0.5, ja;q=0.6", "en", None, "ja"),
        (None, None, "ja;q=0, en;q=0.1", "ja", None, "en"),  # q=0: not acceptable
        (None, None, "*", "en", None, "en"),
        (None, None, "zh-Hant-TW, ko", "en", None, "en"),  # unsupported: default
        (None, None, "", "ja", None, "ja"),
        (None, None, None, "en", None, "en"),
        # Malformed: skipped, never raised on.
        (None, None, "ja;q=abc, en;q=0.5", "ja", None, "en"),
        (None, None, "ja;q=2, en", "ja", None, "en"),
        (None, None, ";;,,;q=1,=,en-", "en", None, "en"),
        (None, None, "en;q=0.5;q=0.9, ja;q=0.7", "en", None, "ja"),
        ("\x00 \u3042", "\ufffd", "日本語", "ja", "\n", "ja"),
        (None, None, None, "de", None, "ja"),  # an unsupported default still yields ja/en
    ],
)
def test_negotiation_table(
    ui_locales: str | None,
    user: str | None,
    accept: str | None,
    default: str,
    chosen: str | None,
    expected: str,
) -> None:
    assert negotiate_locale(ui_locales, user, accept, default, chosen=chosen) == expected


def test_accept_language_order_is_by_quality_then_position() -> None:
    header = "fr;q=0.5, en-GB, ja;q=0.9, de;q=0.9, es;q=0"
    assert parse_accept_language(header) == ["en-GB", "ja", "de", "fr"]


# Pieces of real and broken headers; random strings of them reach the corners a table misses.
_PIECES = (
    "ja",
    "en",
    "en-US",
    "ja-JP",
    "*",
    "fr",
    "x",
    "-",
    ",",
    ";",
    "=",
    " ",
    "q",
    "q=",
    "0",
    "1",
    "0.5",
    "1.000",
    "1.0001",
    "2",
    "-1",
    "nan",
    "inf",
    "1e3",
    ".",
    "\x00",
    "\t",
    "日本語",
    "\ufffd",
    "_",
    "ja_JP",
    "%",
    "\\",
    '"',
)


def test_malformed_input_never_crashes() -> None:
    rng = random.Random(20260101)  # fixed: a failure is reproducible
    for _ in range(5000):
        fields = [
            "".join(rng.choice(_PIECES) for _ in range(rng.randrange(0, 16))) for _ in range(4)
        ]
        ui_locales, user, accept, chosen = (field or None for field in fields)
        found = negotiate_locale(ui_locales, user, accept, "ja", chosen=chosen)
        assert found in SUPPORTED_LOCALES, fields
        assert all(tag.strip() for tag in parse_accept_language(accept))


def test_a_huge_header_is_cut_short() -> None:
    header = ", ".join(["xx"] * 5000 + ["en"])
    assert negotiate_locale(None, None, header, "ja") == "ja"  # "en" lies past the bound


# -- catalogues ----------------------------------------------------------------------------


def _messages(catalog: Catalog) -> Iterator[Message]:
    return (message for message in catalog if message.id)


def _key(message: Message) -> Any:
    return message.id


def _forms(value: object) -> tuple[str, ...]:
    """A message's id or string as a tuple (plural entries have several forms)."""
    if isinstance(value, str):
        return (value,)
    assert isinstance(value, (list, tuple))
    return tuple(str(form) for form in value)


def test_both_catalogues_have_the_same_msgids(catalogues: Catalogues) -> None:
    ids = {
        code: {_key(m) for m in _messages(catalogues.catalogs[code])} for code in SUPPORTED_LOCALES
    }
    assert ids["ja"] == ids["en"]
    assert len(ids["ja"]) >= 40


def test_every_msgid_has_a_japanese_translation(catalogues: Catalogues) -> None:
    catalog = catalogues.catalogs["ja"]
    assert catalog.num_plurals == 1
    for message in _messages(catalog):
        forms = _forms(message.string)
        assert all(form.strip() for form in forms), f"untranslated: {message.id!r}"
        assert not message.fuzzy, f"fuzzy (not used at run time): {message.id!r}"
        assert not catalog.obsolete, "obsolete entries: remove them or bring them back"
        # A Japanese text with no Japanese in it is an untranslated copy.
        assert any(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", form) for form in forms)


def test_english_is_the_msgid(catalogues: Catalogues) -> None:
    for message in _messages(catalogues.catalogs["en"]):
        forms = _forms(message.string)
        assert all(form == "" for form in forms), f"English differs from its msgid: {message.id!r}"


_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")


def _placeholders(text: str) -> set[str]:
    return {percent or brace for percent, brace in _PLACEHOLDER.findall(text)}


def test_translations_keep_their_placeholders(catalogues: Catalogues) -> None:
    for message in _messages(catalogues.catalogs["ja"]):
        ids = _forms(message.id)
        forms = _forms(message.string)
        for form in forms:
            assert _placeholders(form) == _placeholders(ids[-1]), message.id
            assert ("<code>" in form) == ("<code>" in ids[-1]), message.id


def test_no_compiled_catalogue_is_committed() -> None:
    assert not list(LOCALES_DIR.rglob("*.mo"))


def _extracted() -> dict[Any, str]:
    with BABEL_CFG.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)  # type: ignore[no-untyped-call]
    keywords: Mapping[str, Any] = {**DEFAULT_KEYWORDS, "N_plural": (1, 2)}
    found: dict[Any, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(SOURCE_ROOT), method_map, options_map, keywords=keywords
    ):
        found[message] = f"{filename}:{lineno}"
    return found


def test_every_marked_string_in_the_source_is_in_the_catalogues(catalogues: Catalogues) -> None:
    extracted = _extracted()
    # The extraction really sees templates, Python and plurals.
    assert "Skip to main content" in extracted
    assert "The page expired. Please go back, reload it and try again." in extracted
    assert any(isinstance(message, tuple) for message in extracted)
    ids = {_key(m) for m in _messages(catalogues.catalogs["ja"])}
    missing = {message: where for message, where in extracted.items() if message not in ids}
    assert not missing, f"marked for translation but not in the catalogues: {missing}"


def test_seeded_messages_are_translated(catalogues: Catalogues) -> None:
    assert catalogues.gettext("ja", "Didn't receive the code?") == "コードが届きませんか？"
    assert (
        catalogues.gettext("ja", "Don't require codes on this browser")
        == "このブラウザではコードを要求しない"
    )
    for message in (*ERROR_MESSAGES.values(), *SPEC_WORDING):
        assert catalogues.has(message)
        assert catalogues.gettext("ja", message) != message
        assert catalogues.gettext("en", message) == message
    singular, plural = SPEC_PLURALS[0]
    translated = catalogues.ngettext("ja", singular, plural, 2)
    assert translated == "コードの入力が不要なブラウザが%(num)s件あります"
    assert catalogues.ngettext("en", singular, plural, 1) == singular
    assert catalogues.ngettext("en", singular, plural, 2) == plural


METHOD_CODES = (
    "wrong_code",
    "code_expired",
    "too_many_tries",
    "resend_too_soon",
    "method_disabled",
    "delivery_failed",
    "phone_invalid",
    "phone_not_sms_capable",
    "same_phone_twice",
    "app_both_roles",
    "role_not_allowed",
    "budget_exhausted",
)


def test_method_error_texts_are_the_catalogue_msgids() -> None:
    """The method layer's English text is the msgid: if either side rewords, this fails."""
    methods = error_catalogue()
    for code in METHOD_CODES:
        assert code in methods, f"idp.methods has no error {code!r} any more"
        assert ERROR_MESSAGES[code] == methods[code]["en"], code


def test_method_errors_are_shown_in_the_persons_language(catalogues: Catalogues) -> None:
    assert (
        catalogues.message_for(ResendTooSoon(retry_after_s=12), "ja")
        == "次のコードをリクエストできるまで、12秒お待ちください。"
    )
    assert catalogues.message_for(ResendTooSoon(retry_after_s=12), "en") == (
        "Please wait 12 seconds before requesting another code."
    )
    assert "5分後" in catalogues.message_for(TooManyTries(retry_after_s=300), "ja")
    wrong = catalogues.message_for(WrongCode(tries_left=2), "ja")
    assert wrong.startswith("コードが正しくありません")
    assert "第一手段" in catalogues.message_for(RoleNotAllowed(role="primary"), "ja")


class _PluginError:
    """A plugin's own error the catalogues don't know: its own texts are used."""

    messages: Mapping[str, str] = {"en": "Device {name} unknown.", "ja": "端末{name}は不明です。"}

    def format_params(self, locale: str) -> dict[str, Any]:
        return {"name": "X1"}


def test_an_unknown_error_falls_back_to_its_own_text(catalogues: Catalogues) -> None:
    assert catalogues.message_for(_PluginError(), "ja") == "端末X1は不明です。"
    assert catalogues.message_for(_PluginError(), "en") == "Device X1 unknown."


def test_a_missing_catalogue_is_a_loud_error(tmp_path: Path) -> None:
    (tmp_path / "ja" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "ja" / "LC_MESSAGES" / "messages.po").write_bytes(
        (LOCALES_DIR / "ja" / "LC_MESSAGES" / "messages.po").read_bytes()
    )
    with pytest.raises(FileNotFoundError):
        Catalogues.load(tmp_path)
