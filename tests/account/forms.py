"""Reading the forms of a page the way a browser submits them: hidden fields, defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    action: str
    method: str
    # name -> value of what a browser sends untouched: hidden inputs, checked boxes, and
    # the values already in text inputs.
    fields: dict[str, str] = field(default_factory=dict)
    # Every named control with its attributes (type, autocomplete, inputmode, ...).
    controls: dict[str, dict[str, str | None]] = field(default_factory=dict)
    buttons: list[str] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._current: Form | None = None
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self._current = Form(str(values.get("action") or ""),
                                 str(values.get("method") or "get").lower())
            self.forms.append(self._current)
            return
        form = self._current
        if form is None:
            return
        name = values.get("name")
        if tag == "button":
            self._button = []
        if tag not in ("input", "select", "textarea") or not name:
            return
        form.controls.setdefault(name, values)
        kind = (values.get("type") or "text").lower()
        if kind in ("checkbox", "radio"):
            if "checked" in values:
                form.fields[name] = values.get("value") or "on"
        elif kind not in ("submit", "button", "password"):
            form.fields.setdefault(name, values.get("value") or "")

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        elif tag == "button" and self._button is not None:
            if self._current is not None:
                self._current.buttons.append(" ".join("".join(self._button).split()))
            self._button = None


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser.forms


def form_for(html: str, action: str) -> Form:
    """The one form that posts to ``action``."""
    found = [form for form in forms(html) if form.action == action]
    assert len(found) == 1, f"expected one form posting to {action!r}, found {len(found)}"
    return found[0]


def forms_for(html: str, action: str) -> list[Form]:
    """Every form that posts to ``action`` (one per trusted browser, say)."""
    return [form for form in forms(html) if form.action == action]
