"""Reading the forms of a page as a browser sees them: the one HTML form parser of the tests.

A page gives its forms (action, method, enctype, every input and button with its attributes,
and the fields a browser would send untouched), its inline scripts and its runs of text. The
helpers of each test area build their views on it (``tests.oidc.helpers.form_with``,
``tests.login.helpers.form``, ``tests.conformance.rp.callback_of``); ``tests.web.html`` reads
elements and visible text, a different job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

Attrs = dict[str, str | None]

__all__ = ["Attrs", "Form", "Page", "form_for", "forms", "forms_for", "page"]


@dataclass
class Form:
    action: str
    method: str  # lower case; "get" when the form names none, as a browser reads it
    enctype: str
    # name -> value of what a browser sends untouched: hidden inputs, checked boxes, and
    # the values already in text inputs (the first control of a name).
    fields: dict[str, str] = field(default_factory=dict)
    # Every named control (input, select, textarea) with its attributes, the first of a name.
    controls: dict[str, Attrs] = field(default_factory=dict)
    inputs: list[Attrs] = field(default_factory=list)  # every <input>, in page order
    buttons: list[Attrs] = field(default_factory=list)  # every <button>, in page order

    @property
    def hidden(self) -> dict[str, str]:
        """name -> value of the named hidden inputs (the last of a name)."""
        return {
            str(attrs["name"]): attrs.get("value") or ""
            for attrs in self.inputs
            if attrs.get("type") == "hidden" and attrs.get("name")
        }


@dataclass
class Page:
    forms: list[Form] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)  # the text of each inline <script>
    text: list[str] = field(default_factory=list)  # every run of text, scripts included


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._form: Form | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self._form = Form(
                values.get("action") or "",
                (values.get("method") or "get").lower(),
                values.get("enctype") or "application/x-www-form-urlencoded",
            )
            self.page.forms.append(self._form)
        elif tag == "script":
            self._in_script = True
            self.page.scripts.append("")
        elif self._form is not None:
            self._control(self._form, tag, values)

    @staticmethod
    def _control(form: Form, tag: str, values: Attrs) -> None:
        if tag == "button":
            form.buttons.append(values)
            return
        if tag == "input":
            form.inputs.append(values)
        name = values.get("name")
        if tag not in ("input", "select", "textarea") or not name:
            return
        form.controls.setdefault(name, values)
        kind = (values.get("type") or "text").lower()
        if kind in ("checkbox", "radio"):
            if "checked" in values:
                form.fields[name] = values.get("value") or "on"
        elif kind not in ("submit", "button", "password"):
            form.fields.setdefault(name, values.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        self.page.text.append(data)
        if self._in_script:
            self.page.scripts[-1] += data


def page(html: str) -> Page:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.page


def forms(html: str) -> list[Form]:
    return page(html).forms


def forms_for(html: str, action: str) -> list[Form]:
    """Every form that posts to ``action`` (one per trusted browser, say)."""
    return [form for form in forms(html) if form.action == action]


def form_for(html: str, action: str) -> Form:
    """The one form that posts to ``action``."""
    found = forms_for(html, action)
    assert len(found) == 1, f"expected one form posting to {action!r}, found {len(found)}"
    return found[0]
