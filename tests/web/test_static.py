"""The stylesheet and script: contrast (WCAG 2.2 AA), targets, no outside resources."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from idp.web.templating import STATIC_DIR

CSS = (STATIC_DIR / "nidan.css").read_text(encoding="utf-8")
JS = (STATIC_DIR / "nidan.js").read_text(encoding="utf-8")
SCRIPTS = ("nidan.js", "webauthn.js")

# (foreground, background, minimum ratio): text 4.5:1 (1.4.3), borders/focus 3:1 (1.4.11).
PAIRS = [
    ("text", "bg", 4.5),
    ("text", "surface", 4.5),
    ("muted", "bg", 4.5),
    ("muted", "surface", 4.5),
    ("link", "surface", 4.5),
    ("link", "bg", 4.5),
    ("link", "info-bg", 4.5),
    ("link", "secondary-bg", 4.5),
    ("on-primary", "primary", 4.5),
    ("on-primary", "primary-hover", 4.5),
    ("error", "surface", 4.5),
    ("text", "error-bg", 4.5),
    ("text", "info-bg", 4.5),
    ("border", "surface", 3.0),
    ("error", "error-bg", 3.0),
    ("focus", "bg", 3.0),
    ("focus", "surface", 3.0),
]


def _palettes() -> dict[str, dict[str, str]]:
    light_block = re.search(r"^:root \{(.*?)^\}", CSS, re.S | re.M)
    dark_block = re.search(r"prefers-color-scheme: dark\) \{\s*:root \{(.*?)\}", CSS, re.S)
    assert light_block
    assert dark_block
    palettes = {}
    for name, block in (("light", light_block.group(1)), ("dark", dark_block.group(1))):
        palettes[name] = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6});", block))
    return palettes


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula() -> None:
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54  # the well-known AA grey


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("foreground", "background", "minimum"), PAIRS)
def test_colour_pairs_meet_wcag_aa(
    scheme: str, foreground: str, background: str, minimum: float
) -> None:
    palette = _palettes()[scheme]
    ratio = contrast(palette[foreground], palette[background])
    assert ratio >= minimum, f"{scheme}: --{foreground} on --{background} is {ratio:.2f}:1"


def test_dark_palette_redefines_every_colour() -> None:
    palettes = _palettes()
    assert set(palettes["light"]) == set(palettes["dark"])


def test_touch_targets_and_focus_are_built_in() -> None:
    assert "--target: 2.75rem" in CSS  # 44px at the default root size
    for selector in (".button", ".field__input", ".lang-switch__item", ".field--checkbox"):
        rule = re.search(re.escape(selector) + r" \{(.*?)\}", CSS, re.S)
        assert rule, selector
        assert "min-height: var(--target)" in rule.group(1), selector
    focus = re.search(r":focus-visible \{(.*?)\}", CSS, re.S)
    assert focus
    assert "outline: 3px solid var(--focus)" in focus.group(1)
    assert "outline: none" not in CSS.replace("main:focus {\n  outline: none", "")


def test_no_outside_resources() -> None:
    for text in (CSS, JS):
        assert not re.search(r"https?://", text)
        assert "@import" not in text
        assert "@font-face" not in text


def test_fonts_cover_japanese() -> None:
    assert re.search(r"--font-ja:\s*\"Hiragino Sans\"", CSS)
    for family in ("Meiryo", "Noto Sans JP", "BIZ UDPGothic", "Yu Gothic UI"):
        assert family in CSS
    assert "body:lang(ja)" in CSS


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_uses_no_dangerous_sinks(name: str) -> None:
    source = (STATIC_DIR / name).read_text(encoding="utf-8")
    for sink in ("eval(", "innerHTML", "document.write", "new Function"):
        assert sink not in source


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("name", SCRIPTS)
def test_script_parses(name: str) -> None:
    node = shutil.which("node")
    assert node
    result = subprocess.run(
        [node, "--check", str(STATIC_DIR / name)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
