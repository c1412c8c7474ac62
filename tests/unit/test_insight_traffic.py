"""insight.traffic.scheduled_traffic: the green share over time, as a table of strategies and step times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.insight.evidence import TrafficPoint
from orchestrator.insight.traffic import scheduled_traffic
from orchestrator.strategies import parse_strategy

T0 = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def m(value: float | None) -> datetime | None:
    return None if value is None else at(value)


CASES = [
    # strategy, shift started, shift ended, back to blue, until -> [(minute, green %)]
    pytest.param("all-at-once", None, None, None, None, [], id="never-shifted"),
    pytest.param("all-at-once", 0, 0.1, None, None, [(0, 100)], id="all-at-once"),
    pytest.param("canary10", 0, 5, None, None, [(0, 10), (5, 100)], id="canary-succeeded"),
    pytest.param("canary:25:3", 0, 3, None, None, [(0, 25), (3, 100)], id="custom-canary"),
    pytest.param("canary10", 0, None, 2, None, [(0, 10), (2, 0)], id="canary-rolled-back-during-bake"),
    pytest.param("canary10", 0, 5, 8, None, [(0, 10), (5, 100), (8, 0)], id="rolled-back-after-shift"),
    pytest.param(
        "linear:20:1", 0, 4, None, None, [(0, 20), (1, 40), (2, 60), (3, 80), (4, 100)], id="linear"
    ),
    pytest.param(
        "linear10", 0, None, 2.5, None, [(0, 10), (1, 20), (2, 30), (2.5, 0)], id="linear-rolled-back"
    ),
    pytest.param("linear:30:2", 0, 6, None, None, [(0, 30), (2, 60), (4, 90), (6, 100)], id="linear-uneven"),
    # the shift finished before the schedule's last step (a faster clock): 100 % when it ended
    pytest.param("canary10", 0, 4, None, None, [(0, 10), (4, 100)], id="shift-ended-early"),
    # rolled back at the very moment the shift would start: green never served production
    pytest.param("canary10", 3, None, 3, None, [], id="rolled-back-before-traffic"),
    pytest.param("canary10", 3, None, 1, None, [], id="rollback-before-shift"),
    # stopped without a rollback during the canary: green kept 10 %
    pytest.param("canary10", 0, None, None, 2, [(0, 10)], id="stopped-no-rollback"),
    # the shift was cut short and the deployment ended at that very moment (breaker: a `<` for
    # `<=` there left green at 30 %): the shift's end is 100 %
    pytest.param(
        "linear10", 0, 2.5, None, 2.5, [(0, 10), (1, 20), (2, 30), (2.5, 100)], id="shift-ended-as-it-ended"
    ),
    # still shifting, nothing cut it: the whole schedule
    pytest.param("canary10", 0, None, None, None, [(0, 10), (5, 100)], id="in-progress"),
]


@pytest.mark.parametrize(("name", "started", "ended", "back", "until", "expected"), CASES)
def test_scheduled_traffic(
    name: str,
    started: float | None,
    ended: float | None,
    back: float | None,
    until: float | None,
    expected: list[tuple[float, float]],
) -> None:
    points = scheduled_traffic(parse_strategy(name), m(started), m(ended), m(back), until=m(until))
    assert [((p.at - T0).total_seconds() / 60, p.green_percent) for p in points] == expected
    assert all(p.source == "scheduled" for p in points)


def test_points_are_traffic_points_in_time_order() -> None:
    points = scheduled_traffic(parse_strategy("linear10"), at(0), at(9), at(12))
    assert all(isinstance(p, TrafficPoint) for p in points)
    assert [p.at for p in points] == sorted(p.at for p in points)
    assert points[-2].green_percent == 100.0 and points[-1] == TrafficPoint(at(12), 0.0)
