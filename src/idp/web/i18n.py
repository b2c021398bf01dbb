"""Languages (BEHAVIOUR L1): which language a page speaks, and the gettext catalogues.

Every user-facing string is an English msgid in ``locales/<lang>/LC_MESSAGES/messages.po``.
The ``.po`` files are read at start-up and compiled in memory (no binary ``.mo`` file is
committed or written). Templates mark strings with ``_()`` / ``{% trans %}``; Python code that
names a message for later translation marks it with :func:`N_`, so extraction finds it::

    cd src/idp && uv run pybabel extract -F web/babel.cfg -k N_plural:1,2 -o /tmp/m.pot .

(``web/babel.cfg`` has the whole procedure.)

Which language, highest first (the order is decided here, once; see :func:`negotiate_locale`):

1. ``chosen``: the person clicked the language switch on this browser (``nidan_lang`` cookie).
2. ``ui_locales`` of the OIDC authorization request (OIDC Core 3.1.2.1), first supported tag.
3. The person's own setting (``user.locale``).
4. ``Accept-Language``, by q-value (RFC 9110 12.5.4).
5. The operator's ``[ui] default_locale``.

Why the switch outranks ``ui_locales``: ``ui_locales`` is the client's hint, which "the OP
MAY ignore"; a click on the switch is the person's own word, made after seeing the page. If
the hint won, the switch would visibly do nothing on a sign-in started with ``ui_locales``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal, Protocol, TypeGuard

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

__all__ = [
    "ERROR_MESSAGES",
    "LANGUAGE_NAMES",
    "LANG_COOKIE",
    "LANG_COOKIE_MAX_AGE_S",
    "LOCALES_DIR",
    "N_",
    "SPEC_PLURALS",
    "SPEC_WORDING",
    "SUPPORTED_LOCALES",
    "Catalogues",
    "LocaleCode",
    "N_plural",
    "TranslatableError",
    "is_supported",
    "match_tag",
    "negotiate_locale",
    "parse_accept_language",
]

LocaleCode = Literal["ja", "en"]
SUPPORTED_LOCALES: Final[tuple[LocaleCode, ...]] = ("ja", "en")
# Each language is named in itself on the switch (an autonym is never translated: a person
# who can't read the current language must still find their own).
LANGUAGE_NAMES: Final[Mapping[LocaleCode, str]] = {"ja": "日本語", "en": "English"}

LANG_COOKIE: Final = "nidan_lang"
# A preference, not a credential: it may outlive sessions. One year, in seconds.
LANG_COOKIE_MAX_AGE_S: Final = 365 * 24 * 3600

LOCALES_DIR: Final = Path(__file__).parent / "locales"
DOMAIN: Final = "messages"

# Bounds on what a client sends us, so a hostile header costs nothing to parse.
_MAX_HEADER_CHARS: Final = 2048
_MAX_RANGES: Final = 32
# RFC 4647 2.1 language range ("*" or 1-8 letters, then -subtags of 1-8 alphanumerics).
_RANGE_RE: Final = re.compile(r"^(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$")
# RFC 9110 12.4.2 qvalue: 0, 0.x, 1, 1.000 (at most three decimals).
_QVALUE_RE: Final = re.compile(r"^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$")


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now (gettext_noop)."""
    return message


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Mark a plural pair for extraction (``-k N_plural:1,2``) without translating it."""
    return singular, plural


# Messages of other rooms, keyed by their stable error code: the ``code`` of each
# ``idp.methods.errors.MethodError`` (its English text, exactly, is the msgid, so
# :meth:`Catalogues.message_for` finds it; tests/web check they stay identical), then the
# sign-in's own. ``{name}`` fields are filled with ``str.format`` after translation.
ERROR_MESSAGES: Final[Mapping[str, str]] = {
    "wrong_code": N_("That code is not right. Check it and try again."),
    "code_expired": N_("This code has expired or was already used. Request a new code."),
    "too_many_tries": N_(
        "Too many wrong codes. Try again in {minutes} min, or use your backup method."
    ),
    "resend_too_soon": N_("Please wait {retry_after_s} seconds before requesting another code."),
    "method_disabled": N_(
        "This method is locked after too many wrong codes. Use your backup method, or ask an "
        "administrator to reset it."
    ),
    "delivery_failed": N_("We couldn't send the code. Use your backup method, or try again later."),
    "phone_invalid": N_("That phone number doesn't look right. Check it, including the area code."),
    "phone_not_sms_capable": N_(
        "This number can't receive text messages (for example a landline or an 050 IP phone). "
        "Choose a voice call to this number instead."
    ),
    "same_phone_twice": N_("Your backup must use a different phone number from your main method."),
    "app_both_roles": N_(
        "An authenticator app can't be both your main and your backup method: choose a phone "
        "(text message or voice call) for one of them."
    ),
    "role_not_allowed": N_("This method can't be chosen as your {role_label} method."),
    "budget_exhausted": N_(
        "Too many codes have been sent. Try again in {minutes} min, or use your backup method."
    ),
    "method_error": N_("Something went wrong with this method. Please try again."),
    "method_not_enabled": N_("This method is not available."),
    "not_enrolled": N_("This method is not set up."),
    "too_few_methods": N_(
        "You need two verified methods. Set up a replacement instead of removing this one."
    ),
    "enrollment_expired": N_("The setup took too long. Please start again."),
    "enrollment_invalid": N_("This can't be set up. Check what you entered and try again."),
    "phone_not_supported": N_(
        "This kind of number (premium-rate, toll-free, pager, ...) can't be used. Use a "
        "mobile or landline number."
    ),
    "phone_region_not_allowed": N_("Phone numbers from this country can't be used here."),
    # S4: one message whatever failed (unknown account, wrong password), and one for a lock.
    "invalid_credentials": N_(
        "The sign-in details you entered are not correct. Check them and try again."
    ),
    "temporarily_locked": N_(
        "Sign-in is temporarily unavailable after too many attempts. Please try again later."
    ),
    "session_expired": N_("Your session has expired. Please sign in again."),
    "csrf_failed": N_("The page expired. Please go back, reload it and try again."),
}

# Wording BEHAVIOUR.md fixes (S3, T1, T3), seeded so the sign-in and settings pages find it
# translated: use these msgids exactly.
SPEC_WORDING: Final = (
    N_("Didn't receive the code?"),
    N_("Don't require codes on this browser"),
)
SPEC_PLURALS: Final = (
    N_plural("%(num)s browser doesn't require a code", "%(num)s browsers don't require a code"),
)


def is_supported(value: str | None) -> TypeGuard[LocaleCode]:
    return value in SUPPORTED_LOCALES


def match_tag(tag: str) -> LocaleCode | None:
    """The supported language a BCP 47 tag asks for (``ja-JP`` -> ``ja``), or None."""
    primary = tag.strip().split("-", 1)[0].split("_", 1)[0].lower()
    return primary if is_supported(primary) else None


def parse_accept_language(header: str | None) -> list[str]:
    """Language ranges of an ``Accept-Language`` header, most preferred first.

    Malformed entries are skipped, never raised on; ``q=0`` ("not acceptable") is dropped;
    equal q-values keep the order the client gave.
    """
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for index, item in enumerate(header[:_MAX_HEADER_CHARS].split(",")[:_MAX_RANGES]):
        tag, *params = (part.strip() for part in item.split(";"))
        if not _RANGE_RE.match(tag):
            continue
        qvalues = [
            value.strip()
            for name, _sep, value in (param.partition("=") for param in params)
            if name.strip().lower() == "q"
        ]
        if not qvalues:
            quality = 1.0
        elif len(qvalues) == 1 and _QVALUE_RE.match(qvalues[0]):
            quality = float(qvalues[0])
        else:  # a malformed or repeated q: the entry means nothing we can trust
            continue
        if quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _q, _i, tag in sorted(weighted)]


def negotiate_locale(
    ui_locales: str | None,
    user_locale: str | None,
    accept_language: str | None,
    default: str,
    *,
    chosen: str | None = None,
) -> LocaleCode:
    """The language of a page: ``chosen`` (switch cookie) > ``ui_locales`` (space-separated
    BCP 47 tags, OIDC) > the person's setting > ``Accept-Language`` > ``default``.

    Never raises: anything unsupported or malformed is passed over.

    >>> negotiate_locale(None, None, "en-US;q=0.8, ja;q=0.9", "en")
    'ja'
    """
    if chosen is not None and (found := match_tag(chosen)):
        return found
    for tag in (ui_locales or "")[:_MAX_HEADER_CHARS].split()[:_MAX_RANGES]:
        if found := match_tag(tag):
            return found
    if user_locale and (found := match_tag(user_locale)):
        return found
    for tag in parse_accept_language(accept_language):
        if found := match_tag(tag):
            return found
    fallback = match_tag(default)
    return fallback if fallback is not None else SUPPORTED_LOCALES[0]


class TranslatableError(Protocol):
    """What :meth:`Catalogues.message_for` needs of an error (``idp.methods.MethodError``
    has it): English/Japanese templates with ``{name}`` fields, and their values."""

    @property
    def messages(self) -> Mapping[str, str]: ...

    def format_params(self, locale: str) -> dict[str, Any]: ...


def _compile(catalog: Catalog) -> Translations:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


class Catalogues:
    """The compiled catalogue of every supported language, read once at start-up."""

    def __init__(self, catalogs: Mapping[LocaleCode, Catalog]) -> None:
        missing = set(SUPPORTED_LOCALES) - set(catalogs)
        if missing:
            raise ValueError(f"no message catalogue for: {', '.join(sorted(missing))}")
        self.catalogs: Mapping[LocaleCode, Catalog] = dict(catalogs)
        self._translations = {code: _compile(cat) for code, cat in catalogs.items()}

    @classmethod
    def load(cls, directory: Path = LOCALES_DIR) -> Catalogues:
        """Read ``<directory>/<lang>/LC_MESSAGES/messages.po`` for every supported language,
        then every other ``*.po`` beside it (one per area of the product, e.g. ``login.po``),
        merged into one catalogue. A msgid defined in two files is an error."""
        catalogs: dict[LocaleCode, Catalog] = {}
        for code in SUPPORTED_LOCALES:
            folder = directory / code / "LC_MESSAGES"
            with (folder / f"{DOMAIN}.po").open("rb") as handle:
                catalog = read_po(handle, locale=code, domain=DOMAIN)
            for extra in sorted(folder.glob("*.po")):
                if extra.stem == DOMAIN:
                    continue
                with extra.open("rb") as handle:
                    part = read_po(handle, locale=code, domain=DOMAIN)
                for message in part:
                    if not message.id:
                        continue  # the header
                    if catalog.get(message.id, context=message.context) is not None:
                        raise ValueError(f"{extra}: msgid {message.id!r} is already defined")
                    catalog[message.id] = message
            catalogs[code] = catalog
        return cls(catalogs)

    def translations(self, locale: LocaleCode) -> Translations:
        return self._translations[locale]

    def gettext(self, locale: LocaleCode, message: str) -> str:
        return self._translations[locale].gettext(message)

    def ngettext(self, locale: LocaleCode, singular: str, plural: str, n: int) -> str:
        return self._translations[locale].ngettext(singular, plural, n)

    def has(self, message: str) -> bool:
        """True when ``message`` is a msgid of the catalogues."""
        return message in self.catalogs[SUPPORTED_LOCALES[0]]

    def message_for(self, error: TranslatableError, locale: LocaleCode) -> str:
        """An error's message in ``locale``: its English text is the msgid; parameters are
        filled in with ``str.format``. An error the catalogues don't know yet (a plugin's own)
        falls back to the error's own text for that language."""
        english = error.messages["en"]
        if self.has(english):
            template = self.gettext(locale, english)
        else:
            template = error.messages.get(locale) or english
        return template.format(**error.format_params(locale))
