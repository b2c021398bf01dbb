"""What the security settings pages show, as plain values: no Starlette, no templates.

The pages list a person's methods and trusted browsers in the person's language. Method
descriptions come from the plugins already translated (and masked: "Text message to +81
90-****-5678"); a trusted browser's name comes from :mod:`idp.devices` in a fixed English
vocabulary ("Chrome 126 on Windows (2)"), so it is split here into browser, system and
the suffix that makes it unique, for the template to put back together in Japanese or
English (BEHAVIOUR T3: a name a person recognises, two entries never alike).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from babel.dates import format_timedelta

from idp.devices import UNKNOWN_BROWSER, TrustedBrowser
from idp.methods.core import CredentialView
from idp.methods.credentials import Role
from idp.web.i18n import N_, LocaleCode

__all__ = [
    "DONE_NOTICES",
    "BrowserEntry",
    "KeyEntry",
    "MethodEntry",
    "Moment",
    "browser_entries",
    "method_entries",
    "moment",
]

# Messages shown after a change, named in the redirect (``/account?done=swapped``): a fixed
# set, so a crafted link can show nothing but one of these sentences.
DONE_NOTICES: Final[dict[str, str]] = {
    "replaced": N_(
        "Your method was changed. Browsers that didn't require a code will ask for one again."
    ),
    "swapped": N_(
        "Your primary and backup methods were swapped. Browsers that didn't require a code "
        "will ask for one again."
    ),
    "key_added": N_("Your new security key was added."),
    "key_removed": N_("That security key was removed."),
    "browser_removed": N_("That browser will ask for a code at its next sign-in."),
    "browsers_removed": N_("Every browser will ask for a code at its next sign-in."),
}


@dataclass(frozen=True)
class Moment:
    """A past time as a page shows it: "3 days ago" in the page's language, and ISO 8601
    (UTC) for the ``<time datetime>`` attribute."""

    iso: str
    ago: str


def moment(timestamp: float, locale: LocaleCode, now: float | None = None) -> Moment:
    when = datetime.fromtimestamp(timestamp, UTC)
    # At least a second: babel says "in 0 seconds" for zero, and a clock a little behind
    # another replica's must not put a past event in the future.
    elapsed = max(1.0, (time.time() if now is None else now) - timestamp)
    ago = format_timedelta(
        timedelta(seconds=-elapsed), add_direction=True, threshold=0.9, locale=locale
    )
    return Moment(iso=when.isoformat(timespec="seconds").replace("+00:00", "Z"), ago=ago)


@dataclass(frozen=True)
class MethodEntry:
    """One of the person's two methods. ``description`` never holds a secret or a full
    number (the plugin masks it)."""

    role: str
    label: str
    description: str
    added: Moment
    locked: bool
    keys: tuple[KeyEntry, ...] = ()  # a security-key method's keys, each removable


@dataclass(frozen=True)
class KeyEntry:
    """One security key or passkey of a method that holds several (named by the person)."""

    id: str
    name: str
    added: Moment
    last_used: Moment | None
    synced: bool  # a passkey that may be synced between the person's devices (BE)
    blocked: bool  # its counter went backwards: it may have been copied


def method_entries(
    views: Mapping[Role, CredentialView], locale: LocaleCode, now: float | None = None
) -> dict[str, MethodEntry]:
    """The person's methods by role (``primary``, ``backup``), for the overview."""
    return {
        role: MethodEntry(
            role=role,
            label=view.label,
            description=view.description,
            added=moment(view.created_at, locale, now),
            locked=view.disabled,
            keys=tuple(
                KeyEntry(
                    id=key.id, name=key.name, added=moment(key.created_at, locale, now),
                    last_used=None if key.last_used_at is None
                    else moment(key.last_used_at, locale, now),
                    synced=key.backup_eligible, blocked=key.blocked,
                )
                for key in view.keys
            ),
        )
        for role, view in views.items()
    }


@dataclass(frozen=True)
class BrowserEntry:
    """One trusted browser. ``browser`` is ``None`` when it was not recognised (the template
    says "Unknown browser" in the page's language); ``system`` likewise; ``suffix`` is the
    "(2)" that tells equal labels apart, or empty."""

    device_id: str
    browser: str | None
    system: str | None
    suffix: str
    added: Moment
    last_used: Moment
    ip: str | None


def split_label(label: str) -> tuple[str | None, str | None]:
    """``"Chrome 126 on Windows"`` -> ``("Chrome 126", "Windows")``; the unknown parts are
    ``None`` (see :func:`idp.devices.useragent.label_from_user_agent` for every shape)."""
    browser, on, system = label.rpartition(" on ")
    if not on:
        browser, system = label, ""
    return (None if browser == UNKNOWN_BROWSER else browser), (system or None)


def browser_entries(
    browsers: list[TrustedBrowser], locale: LocaleCode, now: float | None = None
) -> list[BrowserEntry]:
    """The trusted browsers as the settings page lists them, newest first (T3)."""
    entries = []
    for item in browsers:
        browser, system = split_label(item.label)
        suffix = item.name[len(item.label):].strip() if item.name.startswith(item.label) else ""
        entries.append(
            BrowserEntry(
                device_id=item.device_id,
                browser=browser,
                system=system,
                suffix=suffix,
                added=moment(item.created, locale, now),
                last_used=moment(item.last_used, locale, now),
                ip=item.ip,
            )
        )
    return entries
