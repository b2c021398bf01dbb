"""``Idempotency-Key`` (draft-ietf-httpapi-idempotency-key-header) for calls that must
happen once, such as an MFA reset: a support desk whose answer got lost sends the same call
with the same key again and gets the first answer back, and nothing happens a second time.

The outcome is kept in the store under a hash of the client id and the key (one client never
sees another's answers, and the key itself is not stored), for :data:`TTL_S`, with a
fingerprint of the request: the same key with another request is refused (422), a second
call while the first is still running is refused (409). Fields of the answer that are secrets
(the one-time enrollment code) are kept encrypted under the data keys (AES-256-GCM, bound to
this record and field), never in clear, and never logged; a refused or failed call keeps
nothing, so it may be sent again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, Final

from starlette.responses import JSONResponse, Response

from idp.admin.calls import Refused
from idp.admin.problems import problem
from idp.crypto import DataKeys, DecryptionError
from idp.store import Store, dump_record, load_record

__all__ = ["TTL_S", "once"]

# Long enough for a desk to retry after a lost answer or a night; the code it replays
# lives for days (lifetimes.reenrollment_code_s), the copy here only this long.
TTL_S: Final = 24 * 3600
# A call still running after this long is taken as dead: the key may be used again.
_RUNNING_S: Final = 60
_PREFIX: Final = "admin-idem:"
_KEY: Final = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces


def _aad(record_key: str, name: str) -> bytes:
    return f"admin-idempotency:{record_key}:{name}".encode()


def _replay(record: dict[str, Any], record_key: str, keys: DataKeys) -> Response:
    body = dict(record["body"])
    try:
        for name, sealed in record["sealed"].items():
            body[name] = keys.decrypt(sealed, _aad(record_key, name)).decode()
    except DecryptionError:
        # The data key it was sealed under is gone: say so rather than answer without it.
        raise Refused(problem(409, "The first answer to this Idempotency-Key can no longer "
                                   "be read; use a new key.", kind="idempotency-expired")
                      ) from None
    return JSONResponse(body, status_code=int(record["status"]),
                        headers={"Cache-Control": "no-store", "Idempotent-Replayed": "true"})


def once(store: Store, keys: DataKeys, *, client_id: str, key: str | None,
         fingerprint: str, work: Callable[[], Response], secret_fields: tuple[str, ...] = (),
         ttl_s: float = TTL_S) -> Response:
    """Run ``work`` once per (client, ``key``); a repeat gets the stored answer."""
    if key is None:
        raise Refused(problem(400, "This call needs an Idempotency-Key header (a fresh "
                                   "random value per intended call).",
                              kind="idempotency-key-required"))
    if not _KEY.match(key):
        raise Refused(problem(400, "Idempotency-Key must be 1-255 printable ASCII "
                                   "characters.", kind="invalid-idempotency-key"))
    record_key = _PREFIX + hashlib.sha256(f"{client_id}\n{key}".encode()).hexdigest()
    print_ = hashlib.sha256(fingerprint.encode()).hexdigest()
    running = dump_record({"state": "running", "fingerprint": print_})
    if not store.add(record_key, running, ttl=_RUNNING_S):
        found = load_record(store.get(record_key)) or {}
        if found.get("fingerprint") not in (None, print_):
            raise Refused(problem(422, "This Idempotency-Key was used for another request.",
                                  kind="idempotency-key-reused"))
        if found.get("state") == "done":
            return _replay(found, record_key, keys)
        raise Refused(problem(409, "A call with this Idempotency-Key is still running; try "
                                   "again in a moment.", kind="idempotency-in-progress"))
    try:
        response = work()
    except BaseException:
        store.delete(record_key)
        raise
    if response.status_code >= 300:
        store.delete(record_key)  # nothing happened: the key may be used again
        return response
    body: dict[str, Any] = json.loads(bytes(response.body))
    sealed = {name: keys.encrypt(str(body.pop(name)).encode(), _aad(record_key, name))
              for name in secret_fields if name in body}
    store.set(record_key, dump_record({"state": "done", "fingerprint": print_,
                                       "status": response.status_code, "body": body,
                                       "sealed": sealed}), ttl=ttl_s)
    return response
