"""The router's weighted choice: which target group a request goes to for a listener's weights."""

from __future__ import annotations

from collections import Counter

import pytest

from sandbox.load_balancer.listeners import choose_target_group, draw, target_datapoints

BLUE, GREEN = "arn:tg/blue", "arn:tg/green"


@pytest.mark.parametrize(
    ("weights", "sample", "expected"),
    [
        ([(BLUE, 1)], 0.99, BLUE),
        ([(BLUE, 100), (GREEN, 0)], 0.99, BLUE),
        ([(BLUE, 0), (GREEN, 100)], 0.0, GREEN),
        ([(BLUE, 90), (GREEN, 10)], 0.0, BLUE),
        ([(BLUE, 90), (GREEN, 10)], 0.899, BLUE),
        ([(BLUE, 90), (GREEN, 10)], 0.9, GREEN),
        ([(BLUE, 90), (GREEN, 10)], 0.999, GREEN),
        ([(BLUE, 1), (GREEN, 1)], 0.49, BLUE),
        ([(BLUE, 1), (GREEN, 1)], 0.5, GREEN),
        ([], 0.5, None),
        ([(BLUE, 0), (GREEN, 0)], 0.5, None),
    ],
)
def test_choose(weights: list[tuple[str, int]], sample: float, expected: str | None) -> None:
    assert choose_target_group(weights, sample) == expected


@pytest.mark.parametrize(("green", "requests"), [(10, 100), (10, 20), (30, 50), (50, 10), (1, 1000)])
def test_shares_match_weights_within_one_request(green: int, requests: int) -> None:
    """Low-discrepancy draws: a 10 % canary gets 10 % of requests even over a short window."""
    weights = [(BLUE, 100 - green), (GREEN, green)]
    got = Counter(choose_target_group(weights, draw(n)) for n in range(requests))
    assert abs(got[GREEN] - requests * green / 100) <= 1.5


def test_draws_stay_in_unit_interval() -> None:
    assert all(0.0 <= draw(n) < 1.0 for n in range(10_000))


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        # AWS reports HTTPCode_Target_5XX_Count only when nonzero: a good answer has no 5xx datapoint
        (200, {"RequestCount": 1.0, "TargetResponseTime": 0.04}),
        (404, {"RequestCount": 1.0, "TargetResponseTime": 0.04}),
        (500, {"RequestCount": 1.0, "TargetResponseTime": 0.04, "HTTPCode_Target_5XX_Count": 1.0}),
        (503, {"RequestCount": 1.0, "TargetResponseTime": 0.04, "HTTPCode_Target_5XX_Count": 1.0}),
    ],
)
def test_target_datapoints_as_the_alb_reports_them(status: int, expected: dict[str, float]) -> None:
    assert dict(target_datapoints(status, 40.0)) == expected
