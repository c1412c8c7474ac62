"""The metric-math subset: what parses, what does not, and its value at one timestamp."""

from __future__ import annotations

import pytest

from orchestrator.alarms.metric_math import evaluate_expression, parse_expression

RATE = "MAX([FILL(e_blue, 0) / FILL(r_blue, 1), FILL(e_green, 0) / FILL(r_green, 1)]) * 100"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # A canary at 10 %: blue healthy (90 requests), green failing half of its 10: the worst wins.
        ({"e_blue": 0, "r_blue": 90, "e_green": 5, "r_green": 10}, 50.0),
        # All traffic on blue, green idle (no datapoints): green counts as 0 %.
        ({"e_blue": 2, "r_blue": 100}, 2.0),
        ({}, 0.0),
        # A target group that reported 0 requests: its ratio is missing (division by zero), not an error.
        ({"e_blue": 0, "r_blue": 0, "e_green": 1, "r_green": 4}, 25.0),
    ],
)
def test_error_rate_of_the_worst_target_group(values: dict[str, float], expected: float) -> None:
    assert evaluate_expression(RATE, values) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("expression", "values", "expected"),
    [
        ("a + b * 2", {"a": 1, "b": 3}, 7.0),
        ("(a + b) * 2", {"a": 1, "b": 3}, 8.0),
        ("a - b - c", {"a": 10, "b": 3, "c": 2}, 5.0),
        ("a / b / c", {"a": 8, "b": 2, "c": 2}, 2.0),
        ("-a + 1", {"a": 3}, -2.0),
        ("a + b", {"a": 1}, None),
        ("a / b", {"a": 1, "b": 0}, None),
        ("FILL(a, 7)", {}, 7.0),
        ("MIN([a, b, 4])", {"a": 5, "b": None}, 4.0),
        ("SUM([a, b, c])", {"a": 1, "c": 2}, 3.0),
        ("MAX([a, b])", {}, None),
        ("1.5 * 2", {}, 3.0),
    ],
)
def test_evaluate(expression: str, values: dict[str, float | None], expected: float | None) -> None:
    assert evaluate_expression(expression, values) == expected


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        ("ABS(a)", "unknown metric id or function 'ABS'"),
        ("a % b", "character '%' is outside the supported subset"),
        ("MAX(a)", "expected [, got a"),
        ("(a + b", "expected ), got end"),
        ("a b", "unexpected 'b'"),
        ("zz + 1", "unknown metric id or function 'zz'"),
        ("METRICS()", "unknown metric id or function 'METRICS'"),
        ("a * \uff11\uff10\uff10", "character '\uff11' is outside the supported subset"),  # full-width digits
    ],
)
def test_outside_the_subset_is_rejected(expression: str, error: str) -> None:
    with pytest.raises(ValueError, match="expression: " + __import__("re").escape(error)):
        parse_expression(expression, {"a", "b"})
