"""Checks over the template files themselves: every visible word goes through gettext, and
nothing inline that the CSP would block (script-src/style-src 'self')."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import Environment

from idp.web.templating import TEMPLATES_DIR
from tests.web.site import TEST_TEMPLATES

TEMPLATE_FILES = sorted([*TEMPLATES_DIR.rglob("*.html"), *TEST_TEMPLATES.rglob("*.html")])
GETTEXT_NAMES = frozenset({"_", "gettext", "ngettext", "pgettext", "npgettext"})
# Attributes a person reads (or hears from a screen reader).
VISIBLE_ATTRIBUTES = frozenset({"alt", "title", "placeholder", "aria-label", "label"})
MARK = "\x00"  # stands for {{ expression }} and {% trans %} output in the HTML skeleton


def _has_letters(text: str) -> bool:
    return any(unicodedata.category(char).startswith("L") for char in text)


def _looks_like_prose(literal: str) -> bool:
    """A string constant that reads as words (not a CSS class, id or format)."""
    return bool(
        (re.search(r"[^\x00-\x7f]", literal) and _has_letters(literal))
        or re.search(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}", literal.strip())
    )


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            visible = name in VISIBLE_ATTRIBUTES or (
                name == "value" and ("type", "submit") in attrs
            )
            if visible and value and _has_letters(value.replace(MARK, "")):
                self.found.append(f'{name}="{value}"')

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and _has_letters(data.replace(MARK, "")):
            self.found.append(data.strip())


def untranslated(source: str) -> list[str]:
    """Visible text and prose-like string constants that don't pass through gettext."""
    skeleton: list[str] = []
    problems: list[str] = []
    in_trans = False
    block_start = False
    calls: list[str | None] = []
    previous: tuple[str, str] = ("", "")
    # Only the lexer is used: nothing is rendered, so autoescaping is beside the point.
    environment = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    for token in environment.lexer.wrap(environment.lex(source)):
        kind, value = token.type, str(token.value)
        if kind == "block_begin":
            block_start = True
        elif kind == "name" and block_start:
            block_start = False
            if value == "trans":
                in_trans = True
                skeleton.append(MARK)
            elif value == "endtrans":
                in_trans = False
        elif kind == "variable_begin" and not in_trans:
            skeleton.append(MARK)
        elif kind == "data" and not in_trans:
            skeleton.append(value)
        elif kind == "lparen":
            calls.append(previous[1] if previous[0] == "name" else None)
        elif kind == "rparen" and calls:
            calls.pop()
        elif (
            kind == "string"
            and not any(name in GETTEXT_NAMES for name in calls)
            and _looks_like_prose(value)
        ):
            problems.append(f"string constant {value!r}")
        if kind != "block_begin":
            previous = (kind, value)
    parser = _VisibleText()
    parser.feed("".join(skeleton))
    parser.close()
    return problems + [f"text {text!r}" for text in parser.found]


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda path: path.name)
def test_every_visible_string_is_translatable(path: Path) -> None:
    assert untranslated(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<p>Hello</p>", ["text 'Hello'"]),
        ("<p>{{ _('Hello') }}</p>", []),
        ("<p>{% trans %}Hello {{ n }}{% endtrans %}</p>", []),
        ('<input placeholder="Your name">', ["text 'placeholder=\"Your name\"'"]),
        ("<input placeholder=\"{{ _('Your name') }}\">", []),
        ("{{ form.code('Enter the code') }}", ["string constant 'Enter the code'"]),
        ("{{ form.code(_('Enter the code'), id='c') }}", []),
        ("<p>{{ 'こんにちは' }}</p>", ["string constant 'こんにちは'"]),
        ("<div class=\"{{ ' field--invalid' if e }}\">{{ n }} · {{ m }}</div>", []),
        ("<p>{{ 'done' }}</p>", []),  # a lone word may be an id or class: not flagged
    ],
)
def test_the_check_itself(source: str, expected: list[str]) -> None:
    assert untranslated(source) == expected


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda path: path.name)
def test_no_inline_script_style_or_handlers(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    for script in re.finditer(r"<script\b([^>]*)>(.*?)</script>", source, re.S | re.I):
        if 'type="application/json"' in script.group(1):
            # A JSON data island (WebAuthn options) is never executed; its only content is
            # a value serialised by tojson, which escapes <, > and &.
            assert re.fullmatch(r"\{\{ [a-z_.]+ \| tojson \}\}", script.group(2)), path.name
            continue
        assert "src=" in script.group(1), f"inline script in {path.name}"
        assert not script.group(2).strip()
    assert not re.search(r"<style\b", source, re.I), f"<style> in {path.name}"
    assert not re.search(r"\sstyle\s*=", source, re.I), f"style= attribute in {path.name}"
    assert not re.search(r"\son[a-z]+\s*=", source, re.I), f"event handler in {path.name}"
    assert "javascript:" not in source.lower()


def test_the_templates_are_found() -> None:
    names = {path.name for path in TEMPLATE_FILES}
    assert {"base.html", "error.html", "_macros.html"} <= names
