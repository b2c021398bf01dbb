"""The "change your password at the next sign-in" flag, set by "this wasn't me"
(``idp.notices``).

A plain store key beside the user record: the sign-in journey (``idp.login.core``) sends the
person to the password page first while it is set; a password change clears it
(``Notices.on_audit``).
"""

from __future__ import annotations

from typing import Final

from idp.store import Store

__all__ = ["clear_password_change", "password_change_required", "require_password_change"]

_KEY: Final = "password-change-required:"


def require_password_change(store: Store, user_id: str) -> None:
    store.set(_KEY + user_id, b"1")


def password_change_required(store: Store, user_id: str) -> bool:
    return store.get(_KEY + user_id) is not None


def clear_password_change(store: Store, user_id: str) -> None:
    store.delete(_KEY + user_id)
