"""Which audit events become a notice, and what each notice says.

One audit event makes at most one notice. The wording is English msgids (translated through
the catalogues, ``notices.po``); the templates ``mail/notice.txt`` and ``mail/notice.html``
lay them out. No wording ever includes a code, a password, a token or a phone number: the
details a notice shows are the time, the browser label, a rough network and, for changes of
methods, the *kind* of method ("authenticator app").
"""

from __future__ import annotations

import enum
from typing import Final

from idp.observability import AuditEvent
from idp.web.i18n import N_

__all__ = ["LEADS", "METHOD_NAMES", "SUBJECTS", "Kind", "kind_of"]


class Kind(enum.StrEnum):
    NEW_BROWSER = "new_browser"
    TRUSTED_BROWSER = "trusted_browser"
    METHOD_ADDED = "method_added"
    METHOD_REPLACED = "method_replaced"
    METHOD_REMOVED = "method_removed"
    METHODS_SWAPPED = "methods_swapped"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an event name
    RECOVERY_CODES_USED = "recovery_codes_used"
    RECOVERY_CODES_REGENERATED = "recovery_codes_regenerated"
    RESET_BY_OPERATOR = "reset_by_operator"
    ACCOUNT_LOCKED = "account_locked"
    EMAIL_CHANGED = "email_changed"
    # Not a security event: the mail that proves an address (no "this wasn't me" link).
    VERIFY_EMAIL = "verify_email"


def kind_of(event: AuditEvent) -> Kind | None:
    """The notice an audit event calls for, if any. ``login.succeeded`` is decided by the
    caller (it depends on whether this browser was seen before)."""
    name = event.get("event")
    if name == "device.trusted":
        return Kind.TRUSTED_BROWSER
    if name == "method.enroll.completed":
        if event.get("replaced"):
            return Kind.METHOD_REPLACED
        # The first of two methods at set-up is half an enrollment: one notice when the
        # pair is complete.
        return Kind.METHOD_ADDED if event.get("complete") else None
    if name == "method.removed":
        return Kind.METHOD_REMOVED
    if name == "method.swapped":
        return Kind.METHODS_SWAPPED
    if name == "user.updated":
        fields = event.get("fields") or []
        # set_password() bumps the epoch with the hash; a re-hash at sign-in does not.
        if "password" in fields and "security_epoch" in fields:
            return Kind.PASSWORD_CHANGED
        return None
    if name == "recovery.used":
        return Kind.RECOVERY_CODES_USED
    if name == "recovery.generated":
        # The first set, given at the end of enrollment, is not a regeneration.
        return None if event.get("initial") else Kind.RECOVERY_CODES_REGENERATED
    if name == "user.reset_2sv":
        return Kind.RESET_BY_OPERATOR
    if name in ("login.locked", "method.disabled"):
        return Kind.ACCOUNT_LOCKED
    return None


SUBJECTS: Final[dict[Kind, str]] = {
    Kind.NEW_BROWSER: N_("New sign-in to your account"),
    Kind.TRUSTED_BROWSER: N_("A browser no longer asks for codes"),
    Kind.METHOD_ADDED: N_("Two-step verification was set up"),
    Kind.METHOD_REPLACED: N_("A two-step verification method was changed"),
    Kind.METHOD_REMOVED: N_("A two-step verification method was removed"),
    Kind.METHODS_SWAPPED: N_("Your primary and backup methods were swapped"),
    Kind.PASSWORD_CHANGED: N_("Your password was changed"),
    Kind.RECOVERY_CODES_USED: N_("A recovery code was used"),
    Kind.RECOVERY_CODES_REGENERATED: N_("New recovery codes were created"),
    Kind.RESET_BY_OPERATOR: N_("Two-step verification was reset by an administrator"),
    Kind.ACCOUNT_LOCKED: N_("Sign-in to your account was locked"),
    Kind.EMAIL_CHANGED: N_("The email address of your account was changed"),
    Kind.VERIFY_EMAIL: N_("Confirm your email address"),
}

LEADS: Final[dict[Kind, str]] = {
    Kind.NEW_BROWSER: N_("Someone signed in to your account from a browser not used before."),
    Kind.TRUSTED_BROWSER: N_("\"Don't require codes on this browser\" was chosen at a sign-in "
                             "to your account."),
    Kind.METHOD_ADDED: N_("Two-step verification methods were set up on your account."),
    Kind.METHOD_REPLACED: N_("One of the two-step verification methods of your account was "
                             "replaced."),
    Kind.METHOD_REMOVED: N_("A two-step verification method was removed from your account."),
    Kind.METHODS_SWAPPED: N_("The primary and backup methods of your account were swapped."),
    Kind.PASSWORD_CHANGED: N_("The password of your account was changed."),
    Kind.RECOVERY_CODES_USED: N_("A recovery code was used to sign in to your account."),
    Kind.RECOVERY_CODES_REGENERATED: N_("A new set of recovery codes was created; the old "
                                        "ones no longer work."),
    Kind.RESET_BY_OPERATOR: N_("An administrator reset two-step verification on your "
                               "account. You will set it up again at your next sign-in."),
    Kind.ACCOUNT_LOCKED: N_("Sign-in to your account was locked for a while after too many "
                            "wrong passwords or codes."),
    Kind.EMAIL_CHANGED: N_("The email address of your account was changed. Notices now go to "
                           "the new address."),
    Kind.VERIFY_EMAIL: N_("Please confirm that this address belongs to you."),
}

# The kind of method, never its details (no number, no secret).
METHOD_NAMES: Final[dict[str, str]] = {
    "totp": N_("authenticator app"),
    "sms": N_("text message (SMS)"),
    "voice": N_("voice call"),
}
