"""The jinja2 environment and the one way pages are rendered.

``Templates`` is built once at start-up. :meth:`Templates.render` picks the person's language
(:mod:`idp.web.i18n`), renders with that language's catalogue, and returns an
``HTMLResponse`` with ``Content-Language`` and, when the page holds a form, the CSRF cookie.

In templates: ``_()``, ``gettext``, ``ngettext`` and ``{% trans %}`` (jinja2's i18n extension,
"newstyle": ``_("Hello %(name)s", name=n)``, trimmed whitespace); ``csrf_field(purpose)``
for the hidden token; ``static_url(path)`` for content-hashed static URLs; ``service_name``;
and, from ``base.html``, ``lang`` and ``languages`` (the switch). The language of the page
being rendered lives in a context variable for the duration of one synchronous render, so
macros imported without context translate in the right language too.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NamedTuple, cast
from urllib.parse import parse_qs, urlencode

from babel.support import Translations
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from idp.settings import Settings
from idp.web.csrf import CSRF_FIELD, Csrf
from idp.web.i18n import (
    LANG_COOKIE,
    LANG_COOKIE_MAX_AGE_S,
    LANGUAGE_NAMES,
    SUPPORTED_LOCALES,
    Catalogues,
    LocaleCode,
    is_supported,
    negotiate_locale,
)

__all__ = [
    "LANG_PATH",
    "STATIC_DIR",
    "STATIC_PREFIX",
    "TEMPLATES_DIR",
    "LanguageLink",
    "Templates",
    "safe_next",
]

TEMPLATES_DIR: Final = Path(__file__).parent / "templates"
STATIC_DIR: Final = Path(__file__).parent / "static"
STATIC_PREFIX: Final = "/static"
LANG_PATH: Final = "/lang"
# request.state attribute holding the language chosen for this request (error pages reuse it).
_STATE_LOCALE: Final = "nidan_locale"
# A content-hashed URL never changes meaning, so browsers may keep it (RFC 8246 immutable).
_IMMUTABLE: Final = "public, max-age=31536000, immutable"
_MAX_NEXT_CHARS: Final = 2048


class LanguageLink(NamedTuple):
    code: LocaleCode
    name: str  # the language's own name (autonym)
    url: str
    current: bool


@dataclass(frozen=True)
class _Rendering:
    locale: LocaleCode
    translations: Translations
    request: Request[Any] | None


_rendering: ContextVar[_Rendering | None] = ContextVar("nidan_rendering", default=None)


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/``: never an open redirect.

    Refused: absolute and scheme-relative URLs (``//evil``), backslashes (browsers read
    ``/\\evil`` as ``//evil``), control characters and whitespace, very long values.
    """
    if (
        not target
        or len(target) > _MAX_NEXT_CHARS
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(char) < 0x21 or ord(char) == 0x7F for char in target)
    ):
        return "/"
    return target


def _hash_files(directory: Path) -> dict[str, str]:
    hashes: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            hashes[path.relative_to(directory).as_posix()] = digest
    return hashes


class _VersionedStaticFiles(StaticFiles):
    """Static files; a request carrying the file's current content hash (``?v=``) may be
    cached for a year, anything else must be revalidated."""

    def __init__(self, directory: Path, hashes: Mapping[str, str]) -> None:
        super().__init__(directory=directory)
        self._hashes = hashes

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        relative = Path(full_path).resolve().relative_to(Path(str(self.directory)).resolve())
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        current = self._hashes.get(relative.as_posix())
        fresh = current is not None and query.get("v") == [current]
        response.headers["Cache-Control"] = _IMMUTABLE if fresh else "no-cache"
        return response


class Templates:
    """Jinja2 environment (autoescape, StrictUndefined, i18n) plus render and routes.

    ``directories`` are searched before the built-in templates (pages of other rooms).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        catalogues: Catalogues | None = None,
        csrf: Csrf | None = None,
        directories: Sequence[Path] = (),
    ) -> None:
        self.settings = settings
        self.catalogues = catalogues or Catalogues.load()
        self.csrf = csrf or Csrf(settings)
        self._static_hashes = _hash_files(STATIC_DIR)
        loaders = [FileSystemLoader(str(path)) for path in (*directories, TEMPLATES_DIR)]
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=True,
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
            # Compiled once per process; only dev mode re-checks the files on every render.
            auto_reload=settings.server.dev,
        )
        # Whitespace inside {% trans %} is collapsed, so msgids don't depend on indentation.
        self.env.policies["ext.i18n.trimmed"] = True
        # install_gettext_callables is added to the environment by the i18n extension.
        cast(Any, self.env).install_gettext_callables(
            gettext=self._gettext,
            ngettext=self._ngettext,
            pgettext=self._pgettext,
            npgettext=self._npgettext,
            newstyle=True,
        )
        self.env.globals.update(
            static_url=self.static_url,
            csrf_field=self._csrf_field,
            service_name=settings.ui.service_name,
            # [server] conformance: the banner of _conformance_banner.html on every page.
            conformance_mode=settings.server.conformance,
        )

    # -- language -----------------------------------------------------------------------

    def locale_for(
        self,
        request: Request[Any],
        *,
        ui_locales: str | None = None,
        user_locale: str | None = None,
    ) -> LocaleCode:
        """The language for this request (order in :mod:`idp.web.i18n`), remembered on the
        request so an error page later in the same request speaks it too. Call it with what
        the page knows (the saved authorization request's ``ui_locales``, the person's
        setting); without them, a language already chosen for this request is reused."""
        known = getattr(request.state, _STATE_LOCALE, None)
        if ui_locales is None and user_locale is None and is_supported(known):
            return known
        locale = negotiate_locale(
            ui_locales,
            user_locale,
            request.headers.get("accept-language"),
            self.settings.ui.default_locale,
            chosen=request.cookies.get(LANG_COOKIE),
        )
        setattr(request.state, _STATE_LOCALE, locale)
        return locale

    def language_links(self, request: Request[Any], locale: LocaleCode) -> list[LanguageLink]:
        """The switch: one link per language, back to the current page afterwards."""
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return [
            LanguageLink(
                code=code,
                name=LANGUAGE_NAMES[code],
                url=f"{LANG_PATH}?{urlencode({'to': code, 'next': here})}",
                current=code == locale,
            )
            for code in SUPPORTED_LOCALES
        ]

    # -- rendering ----------------------------------------------------------------------

    def render(
        self,
        request: Request[Any],
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status: int = 200,
        locale: LocaleCode | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """Render ``template`` in the person's language (or ``locale``) as a response with
        ``Content-Language``; sets the CSRF cookie if the page issued a new token.

        Rendering is synchronous and cheap; call it on the event loop or in the thread pool.
        """
        locale = locale or self.locale_for(request)
        setattr(request.state, _STATE_LOCALE, locale)
        values: dict[str, Any] = {
            "request": request,
            "lang": locale,
            "languages": self.language_links(request, locale),
        }
        values.update(context or {})
        html = self.render_string(template, values, locale=locale, request=request)
        response = HTMLResponse(html, status_code=status, headers=dict(headers or {}))
        response.headers["Content-Language"] = locale
        # The same URL answers in different languages: shared caches must tell them apart.
        vary = [response.headers.get("Vary", ""), "Accept-Language, Cookie"]
        response.headers["Vary"] = ", ".join(part for part in vary if part)
        cookie = self.csrf.pending_cookie(request)
        if cookie is not None:
            cookie.set_on(response)
        return response

    def render_string(
        self,
        template: str,
        context: Mapping[str, Any],
        *,
        locale: LocaleCode,
        request: Request[Any] | None = None,
    ) -> str:
        """Render to a string in ``locale`` (emails, tests). ``csrf_field`` needs ``request``."""
        rendering = _Rendering(locale, self.catalogues.translations(locale), request)
        reset = _rendering.set(rendering)
        try:
            return self.env.get_template(template).render(context)
        finally:
            _rendering.reset(reset)

    def static_url(self, path: str) -> str:
        """``/static/<path>?v=<content hash>``; an unknown file is a template bug: raise."""
        digest = self._static_hashes.get(path)
        if digest is None:
            raise ValueError(f"no static file {path!r} in {STATIC_DIR}")
        return f"{STATIC_PREFIX}/{path}?v={digest}"

    # -- routes -------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        """``/static`` (content-hashed files) and ``/lang`` (the language switch)."""
        return [
            Mount(
                STATIC_PREFIX,
                app=_VersionedStaticFiles(STATIC_DIR, self._static_hashes),
                name="static",
            ),
            Route(LANG_PATH, self.switch_language, methods=["GET"], name="lang"),
        ]

    async def switch_language(self, request: Request[Any]) -> Response:
        """``GET /lang?to=en&next=/login/code``: remember the choice, go back (303).

        A GET: it changes nothing but a display preference, works as a plain link with no
        script, and a forged one can do no more than change the language shown.
        """
        response = RedirectResponse(safe_next(request.query_params.get("next")), 303)
        chosen = request.query_params.get("to")
        if is_supported(chosen):
            response.set_cookie(
                LANG_COOKIE,
                chosen,
                max_age=LANG_COOKIE_MAX_AGE_S,
                path="/",
                secure=self.settings.server.secure,
                httponly=True,
                samesite="lax",
            )
        return response

    # -- template globals ---------------------------------------------------------------

    def _current(self) -> _Rendering:
        rendering = _rendering.get()
        if rendering is not None:
            return rendering
        # Outside render_string (a template rendered directly): the operator's default.
        locale = self.settings.ui.default_locale
        return _Rendering(locale, self.catalogues.translations(locale), None)

    def _gettext(self, message: str) -> str:
        return self._current().translations.gettext(message)

    def _ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._current().translations.ngettext(singular, plural, n)

    def _pgettext(self, context: str, message: str) -> str:
        # babel annotates pgettext as "str | object" (a missing message); it returns str.
        return str(self._current().translations.pgettext(context, message))

    def _npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return self._current().translations.npgettext(context, singular, plural, n)

    def _csrf_field(self, purpose: str = "form") -> Markup:
        request = self._current().request
        if request is None:
            raise RuntimeError("csrf_field() needs a request: render with Templates.render")
        token = self.csrf.token(request, purpose)
        return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)
