"""Deployment freeze windows (BeforeInstall): pure decisions over the catalog's windows and a time.

A window names the days on which it *starts*; one whose end is earlier than its start runs past
midnight into the next day (``sat 22:00-02:00`` covers Sunday 01:00). ``start == end`` is a whole day.
A deployment may pass a freeze only with an explicit override in its description, with a reason:
``freeze-override: <reason>``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple

from hooks.service_view import FreezeWindowView

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_OVERRIDE = re.compile(r"freeze-override:\s*(\S[^\n]*)", re.IGNORECASE)


def _hh_mm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def window_covers(window: FreezeWindowView, moment: datetime) -> bool:
    """Whether ``moment`` (any timezone; compared in UTC) falls inside the recurring window."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    start, end, now = _hh_mm(window.start), _hh_mm(window.end), utc.time()
    today = _DAYS[utc.weekday()]
    yesterday = _DAYS[(utc - timedelta(days=1)).weekday()]
    if start == end:
        return today in window.days
    if start < end:
        return today in window.days and start <= now < end
    # Spans midnight: the evening part belongs to today's start, the morning part to yesterday's.
    return (today in window.days and now >= start) or (yesterday in window.days and now < end)


def active_window(windows: Sequence[FreezeWindowView], moment: datetime) -> FreezeWindowView | None:
    """The first window that covers ``moment``, or None."""
    for window in windows:
        if window_covers(window, moment):
            return window
    return None


def override_reason(description: str | None) -> str | None:
    """The reason of a ``freeze-override: <reason>`` marker in a deployment description, or None."""
    if not description:
        return None
    match = _OVERRIDE.search(description)
    return match.group(1).strip() if match else None


class FreezeDecision(NamedTuple):
    """Whether BeforeInstall lets the deployment proceed, and why."""

    allowed: bool
    reason: str


def decide_freeze(
    windows: Sequence[FreezeWindowView], moment: datetime, description: str | None
) -> FreezeDecision:
    """Refuse inside a freeze window unless the description carries an override with a reason."""
    window = active_window(windows, moment)
    if window is None:
        return FreezeDecision(True, "no freeze window is active")
    span = f"{'/'.join(window.days)} {window.start}-{window.end} UTC"
    reason = override_reason(description)
    if reason:
        return FreezeDecision(True, f"freeze window {window.name} ({span}) overridden: {reason}")
    return FreezeDecision(
        False,
        f"freeze window {window.name} ({span}) is active; deploy after it ends or put "
        "'freeze-override: <reason>' in the deployment description",
    )
