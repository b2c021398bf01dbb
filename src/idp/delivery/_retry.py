"""Retrying one gateway request, shared by the HTTP-speaking transports.

Only failures that a later identical request may cure are retried: no connection, a timeout,
HTTP 429 and 5xx (RFC 9110 15.6: server errors; RFC 6585 4: too many requests). Any other
status is final for this instance; the channel then moves on to its next instance.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import httpx

from idp.delivery import TransportError

T = TypeVar("T")

# Exponential backoff never sleeps longer than this between two tries (seconds): a person is
# waiting for the code, and the next transport is a better bet than a long wait.
MAX_BACKOFF_S = 5.0


def retryable_status(status: int) -> bool:
    """429 and 5xx may succeed later; everything else will fail the same way again."""
    return status == 429 or status >= 500


def with_retries(attempt: Callable[[], T], *, retries: int, backoff_s: float) -> T:
    """Call ``attempt`` up to ``1 + retries`` times, sleeping ``backoff_s * 2**n`` after the
    n-th retryable failure. A final (non-retryable) failure is raised at once."""
    for n in range(retries + 1):
        try:
            return attempt()
        except TransportError as exc:
            if not exc.retryable or n == retries:
                raise
            time.sleep(min(backoff_s * 2**n, MAX_BACKOFF_S))
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def http_failure(instance: str, exc: httpx.HTTPError) -> TransportError:
    """Describe a failed HTTP exchange by its kind only: httpx messages can quote the URL,
    and an operator's webhook URL may carry a credential in its query."""
    if isinstance(exc, httpx.TimeoutException):
        return TransportError(instance, f"timed out ({type(exc).__name__})", retryable=True)
    if isinstance(exc, httpx.TransportError):
        return TransportError(instance, f"no connection ({type(exc).__name__})", retryable=True)
    return TransportError(instance, f"HTTP error ({type(exc).__name__})", retryable=False)


def make_client(
    timeout_s: float, proxy: str | None, auth: tuple[str, str] | None = None
) -> httpx.Client:
    """One reusable client per transport instance. ``trust_env=False``: proxies come from the
    transport's config, never from the process environment (library code reads no env)."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout_s),
        proxy=proxy,
        trust_env=False,
        follow_redirects=False,
        headers={"User-Agent": "nidan-delivery/1"},
        auth=auth,
    )
