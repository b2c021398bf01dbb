"""What an operator does with the user directory, the same whichever way they act: the
``idp users`` commands and ``/admin/api/v1/users`` call these (and :class:`Accounts`)."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable

from idp.users import Accounts, Status, User

__all__ = ["etag", "search"]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def search(accounts: Accounts, query: str = "", *, status: Status | None = None
           ) -> list[User]:
    """Users whose email or display name contains ``query`` (NFKC, case-folded), optionally
    of one status, ordered by id (stable for cursor paging). A full scan: for operators."""
    needle = _fold(query.strip())
    found: Iterable[User] = (
        user for user in accounts.all()
        if (not needle or needle in _fold(user.email) or needle in _fold(user.display_name))
        and (status is None or user.status == status)
    )
    return sorted(found, key=lambda user: user.id)


def etag(user: User) -> str:
    """A strong entity tag of the user as the API shows them (RFC 9110 8.8.3): it changes
    with every write (``updated_at`` moves each time), and reveals nothing of the password."""
    digest = hashlib.sha256(json.dumps(user.public(), sort_keys=True, default=str).encode()
                            ).hexdigest()
    return f'"{digest[:32]}"'
