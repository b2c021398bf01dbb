"""The jinja2 environment: escaping, strictness, per-render language, form macros."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from idp.settings import Settings
from idp.web.templating import Templates, safe_next
from tests.web.html import Element, one
from tests.web.site import TEST_TEMPLATES


@pytest.fixture
def templates(settings: Settings) -> Templates:
    return Templates(settings, directories=[TEST_TEMPLATES])


def demo(templates: Templates, **context: object) -> str:
    values: dict[str, object] = {
        "label": "Label",
        "typed": "seller@example.com",
        "error": "That is not right",
        "hint": "Six digits",
        "cooldown_s": 75,
        **context,
    }
    return templates.render_string("macros_demo.html", values, locale="en")


def labelled(html: str, element: Element) -> None:
    """The input has an id and exactly one <label for> pointing at it."""
    field_id = element.get("id")
    assert field_id
    one(html, "label", for_=field_id)


def test_code_field_is_numeric_with_sms_autofill(templates: Templates) -> None:
    html = demo(templates)
    code = one(html, "input", name="code")
    assert code.get("type") == "text"
    assert code.get("inputmode") == "numeric"
    assert code.get("pattern") == "[0-9]*"
    assert code.get("autocomplete") == "one-time-code"
    assert code.get("maxlength") == "6"
    assert "value" not in code.attrs  # a code is never echoed back
    labelled(html, code)
    # Hint and error are announced with the field, and the field is marked invalid.
    assert code.get("aria-invalid") == "true"
    assert code.get("aria-describedby") == "field-code-hint field-code-error"
    assert one(html, "p", id="field-code-hint").text == "Six digits"
    assert "That is not right" in one(html, "p", id="field-code-error").text


def test_autocomplete_tokens_pass_through(templates: Templates) -> None:
    html = demo(templates)
    expected = {
        "username": ("text", "username"),
        "contact": ("email", "email"),
        "password": ("password", "current-password"),
        "new": ("password", "new-password"),
        "phone": ("tel", "tel"),
    }
    for name, (kind, token) in expected.items():
        element = one(html, "input", name=name)
        assert (element.get("type"), element.get("autocomplete")) == (kind, token), name
        labelled(html, element)
    assert one(html, "input", name="username").get("value") == "seller@example.com"
    assert one(html, "input", name="new").get("minlength") == "8"


def test_passwords_are_never_echoed(templates: Templates) -> None:
    html = demo(templates)
    for name in ("password", "new"):
        assert "value" not in one(html, "input", name=name).attrs


def test_fields_without_problems_are_not_marked_invalid(templates: Templates) -> None:
    html = demo(templates, error=None, hint=None)
    code = one(html, "input", name="code")
    assert "aria-invalid" not in code.attrs
    assert "aria-describedby" not in code.attrs


def test_checkbox_submit_alerts_and_cooldown(templates: Templates) -> None:
    html = demo(templates)
    box = one(html, "input", name="trust")
    assert (box.get("type"), box.get("value"), "checked" in box.attrs) == ("checkbox", "1", True)
    labelled(html, box)
    assert one(html, "button", id="send").get("type") == "submit"
    assert one(html, "div", role="alert")
    assert one(html, "div", role="status")
    cooldown = one(html, "p", class_="cooldown")
    assert cooldown.get("data-countdown") == "75"
    assert cooldown.get("data-countdown-target") == "send"
    assert " ".join(cooldown.text.split()) == "You can request a new code in 1:15."


def test_everything_is_escaped(templates: Templates) -> None:
    html = demo(templates, typed='"><script>alert(1)</script>', error="<b>x</b>")
    assert "<script>alert(1)" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert one(html, "input", name="username").get("value") == '"><script>alert(1)</script>'


def test_a_missing_variable_is_an_error_not_a_blank(templates: Templates) -> None:
    with pytest.raises(UndefinedError):
        templates.render_string("macros_demo.html", {"label": "x"}, locale="en")


def test_static_url_refuses_unknown_files(templates: Templates) -> None:
    assert templates.static_url("nidan.css").startswith("/static/nidan.css?v=")
    with pytest.raises(ValueError, match="no static file"):
        templates.static_url("missing.css")


def test_concurrent_renders_keep_their_own_language(templates: Templates) -> None:
    """The language is bound per render: threads rendering ja and en never mix."""
    wrong: list[str] = []
    expected = {"ja": "エラー：", "en": "Error:"}

    def work(locale: str) -> None:
        for _ in range(100):
            html = templates.render_string(
                "macros_demo.html",
                {"label": "L", "typed": "", "error": "E", "hint": "H", "cooldown_s": 1},
                locale="ja" if locale == "ja" else "en",
            )
            if expected[locale] not in html or expected["en" if locale == "ja" else "ja"] in html:
                wrong.append(locale)

    threads = [threading.Thread(target=work, args=(code,)) for code in ("ja", "en") * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_pages_of_other_rooms_are_found_first(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "error.html").write_text("{{ _('Try again') }}", encoding="utf-8")
    templates = Templates(settings, directories=[tmp_path])
    assert templates.render_string("error.html", {}, locale="ja") == "もう一度試す"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/login/code?tx=abc", "/login/code?tx=abc"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("login", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/a b", "/"),
        ("/a\tb", "/"),
        ("/" + "a" * 5000, "/"),
    ],
)
def test_safe_next(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected
