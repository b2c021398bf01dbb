"""Catalogues may be split into one .po file per area; parts merge, clashes are refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from idp.web.i18n import LOCALES_DIR, Catalogues

PART = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"

msgid "{msgid}"
msgstr "{msgstr}"
"""


def copy_locales(tmp_path: Path) -> Path:
    target = tmp_path / "locales"
    for code in ("ja", "en"):
        folder = target / code / "LC_MESSAGES"
        folder.mkdir(parents=True)
        shutil.copy(LOCALES_DIR / code / "LC_MESSAGES" / "messages.po", folder / "messages.po")
    return target


def test_parts_are_merged(tmp_path: Path) -> None:
    locales = copy_locales(tmp_path)
    for code, text in (("ja", "テスト専用の文"), ("en", "")):
        part = PART.format(msgid="A sentence only a test uses", msgstr=text)
        (locales / code / "LC_MESSAGES" / "zz_test.po").write_text(part, encoding="utf-8")
    catalogues = Catalogues.load(locales)
    assert catalogues.gettext("ja", "A sentence only a test uses") == "テスト専用の文"
    assert catalogues.has("A sentence only a test uses")
    assert catalogues.gettext("ja", "Language") == Catalogues.load().gettext("ja", "Language")


def test_a_msgid_in_two_parts_is_refused(tmp_path: Path) -> None:
    locales = copy_locales(tmp_path)
    part = PART.format(msgid="Language", msgstr="言語")
    (locales / "ja" / "LC_MESSAGES" / "clash.po").write_text(part, encoding="utf-8")
    with pytest.raises(ValueError, match="'Language' is already defined"):
        Catalogues.load(locales)
