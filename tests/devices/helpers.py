"""Constants and small helpers shared by the trusted-browser tests."""

from __future__ import annotations

from idp.observability import AuditEvent

# A fixed, whole-second moment: tests travel in time from here through the `now` arguments.
T0 = 1_750_000_000.0
DAY = 24 * 3600.0
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def rejections(events: list[AuditEvent]) -> list[str]:
    """The reasons of the ``device.rejected`` events, in order."""
    return [e["reason"] for e in events if e["event"] == "device.rejected"]
