"""--since: relative windows and UTC dates; anything else is one line of bad input."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from orchestrator.errors import BadInputError
from orchestrator.insight.since import parse_since

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", datetime(2026, 10, 31, 12, 0, tzinfo=UTC)),
        ("12h", datetime(2026, 11, 30, 0, 0, tzinfo=UTC)),
        ("90m", datetime(2026, 11, 30, 10, 30, tzinfo=UTC)),
        ("2w", datetime(2026, 11, 16, 12, 0, tzinfo=UTC)),
        (" 7D ", datetime(2026, 11, 23, 12, 0, tzinfo=UTC)),
        ("2026-11-01", datetime(2026, 11, 1, 0, 0, tzinfo=UTC)),
        ("2026-11-01T10:00Z", datetime(2026, 11, 1, 10, 0, tzinfo=UTC)),
        ("2026-11-01T10:00", datetime(2026, 11, 1, 10, 0, tzinfo=UTC)),
        ("2026-11-01T19:00+09:00", datetime(2026, 11, 1, 10, 0, tzinfo=UTC)),
        ("120000m", datetime(2026, 9, 8, 4, 0, tzinfo=UTC)),  # six digits are allowed
    ],
)
def test_parse_since(text: str, expected: datetime) -> None:
    moment = parse_since(text, NOW)
    assert moment == expected
    # UTC itself, not an equal instant in another offset: the ledger compares ISO-8601 strings
    assert moment.tzinfo is UTC


def test_a_date_without_offset_is_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert parse_since("2026-11-01T10:00", NOW) == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("yesterday", "not a duration or a date"),
        ("30", "not a duration or a date"),
        ("30y", "not a duration or a date"),
        ("-3d", "not a duration or a date"),
        ("2026-13-01", "not a duration or a date"),
        ("2026-11-01T25:00Z", "not a duration or a date"),
        ("0d", "longer than 0"),
        ("999999w", "before year 1"),  # was an OverflowError traceback
        ("", "not a duration or a date"),
    ],
)
def test_bad_since_is_one_line_with_examples(text: str, says: str) -> None:
    with pytest.raises(BadInputError) as raised:
        parse_since(text, NOW)
    message = str(raised.value)
    assert says in message and "30d, 12h, 90m, 2w, 2026-11-01 or 2026-11-01T10:00Z" in message
    assert "\n" not in message
