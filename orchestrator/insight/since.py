"""``--since``: a window's start, relative (``30d``, ``12h``, ``90m``, ``2w``) or a UTC date/time
(``2026-11-01``, ``2026-11-01T10:00Z``) (pure)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from orchestrator.errors import BadInputError

EXAMPLES = "30d, 12h, 90m, 2w, 2026-11-01 or 2026-11-01T10:00Z"
_RELATIVE = re.compile(r"(?P<amount>\d{1,6})(?P<unit>[mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """The moment ``text`` names, as an aware UTC datetime; BadInputError (one line) otherwise."""
    value = text.strip()
    relative = _RELATIVE.fullmatch(value.lower())
    if relative is not None:
        amount = int(relative.group("amount"))
        if amount == 0:
            raise BadInputError(f"--since {text!r}: the window must be longer than 0; e.g. {EXAMPLES}")
        try:
            return now - timedelta(**{_UNITS[relative.group("unit")]: amount})
        except OverflowError:  # e.g. 999999w: before year 1, datetime's first
            raise BadInputError(f"--since {text!r}: reaches back before year 1; e.g. {EXAMPLES}") from None
    moment = _absolute(value)
    if moment is None:
        raise BadInputError(f"--since {text!r}: not a duration or a date; e.g. {EXAMPLES}")
    return moment


def _absolute(value: str) -> datetime | None:
    """A date (midnight UTC) or an ISO-8601 date-time; without an offset it is UTC."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?", value):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
