"""Just enough HTML reading for assertions: elements with attributes, and visible text."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

_INVISIBLE = frozenset({"script", "style", "head"})
_VOID = frozenset({"meta", "link", "input", "br", "img", "hr", "source", "area", "base", "col"})


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text: str = ""

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)


@dataclass
class _Parsed:
    elements: list[Element] = field(default_factory=list)
    visible: list[str] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parsed = _Parsed()
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.parsed.elements.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data
        if not any(element.tag in _INVISIBLE for element in self._open):
            self.parsed.visible.append(data)


def parse(html: str) -> _Parsed:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.parsed


def elements(html: str, tag: str | None = None, **attrs: str) -> list[Element]:
    """Elements with ``tag`` whose attributes include ``attrs`` (``class_`` for class)."""
    wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
    return [
        element
        for element in parse(html).elements
        if (tag is None or element.tag == tag)
        and all(element.attrs.get(name) == value for name, value in wanted.items())
    ]


def one(html: str, tag: str | None = None, **attrs: str) -> Element:
    found = elements(html, tag, **attrs)
    assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
    return found[0]


def visible_text(html: str) -> str:
    """The text a person sees (title excluded), whitespace collapsed."""
    return " ".join("".join(parse(html).visible).split())
