"""CloudWatch's evaluation rules as the sandbox applies them: statistics, comparison, M of N,
missing data."""

from __future__ import annotations

import pytest

from sandbox.alarm_state import AlarmState, Comparison, TreatMissing, decide, statistic

OK, ALARM, INSUFFICIENT = AlarmState.OK, AlarmState.ALARM, AlarmState.INSUFFICIENT_DATA
SAMPLES = [0.02, 0.03, 0.05, 0.04, 1.5, 0.02, 0.03, 0.02, 0.03, 0.04]


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        ("Sum", [1, 1, 0, 1], 3.0),
        ("Average", [1, 0, 0, 1], 0.5),
        ("Maximum", [3, 9, 1], 9.0),
        ("Minimum", [3, 9, 1], 1.0),
        ("SampleCount", [5, 5, 5], 3.0),
        ("p50", SAMPLES, 0.03),
        ("p90", SAMPLES, 0.05),
        ("p99", SAMPLES, 1.5),
        ("p100", SAMPLES, 1.5),
        ("p99.9", [1.0] * 999 + [7.0], 1.0),
        ("Sum", [], None),
        ("p99", [], None),
    ],
)
def test_statistics(name: str, values: list[float], expected: float | None) -> None:
    assert statistic(name, values) == expected


def test_unknown_statistic() -> None:
    with pytest.raises(ValueError, match="not supported"):
        statistic("Median", [1.0])


@pytest.mark.parametrize(
    ("comparison", "value", "breaches"),
    [
        (Comparison.GT, 5.0, False),
        (Comparison.GT, 5.1, True),
        (Comparison.GE, 5.0, True),
        (Comparison.LT, 5.0, False),
        (Comparison.LT, 4.9, True),
        (Comparison.LE, 5.0, True),
    ],
)
def test_comparison_against_threshold_5(comparison: Comparison, value: float, breaches: bool) -> None:
    assert comparison.breaches(value, 5.0) is breaches


GT = Comparison.GT
MISSING, IGNORE, BREACHING, NOT_BREACHING = (
    TreatMissing.MISSING,
    TreatMissing.IGNORE,
    TreatMissing.BREACHING,
    TreatMissing.NOT_BREACHING,
)


@pytest.mark.parametrize(
    ("points", "to_alarm", "missing", "current", "expected"),
    [
        # 1 of 2 (the 5xx alarm): one bad minute is enough.
        ([0.0, 50.0], 1, NOT_BREACHING, OK, ALARM),
        ([50.0, 0.0], 1, NOT_BREACHING, ALARM, ALARM),
        ([0.0, 1.0], 1, NOT_BREACHING, ALARM, OK),
        # 2 of 3 (the latency alarm): one bad minute is not.
        ([0.1, 9.0, 0.1], 2, NOT_BREACHING, OK, OK),
        ([9.0, 0.1, 9.0], 2, NOT_BREACHING, OK, ALARM),
        # Missing data.
        ([None, None], 1, MISSING, OK, INSUFFICIENT),
        ([None, None], 1, IGNORE, ALARM, ALARM),
        ([None, None], 1, NOT_BREACHING, ALARM, OK),
        ([None, None], 2, BREACHING, OK, ALARM),
        ([None, 9.0], 1, MISSING, INSUFFICIENT, ALARM),
        ([None, 1.0], 1, MISSING, INSUFFICIENT, OK),
        ([None, 9.0, None], 2, BREACHING, OK, ALARM),
        ([None, 9.0, None], 2, NOT_BREACHING, OK, OK),
    ],
)
def test_decide(
    points: list[float | None],
    to_alarm: int,
    missing: TreatMissing,
    current: AlarmState,
    expected: AlarmState,
) -> None:
    assert decide(points, 5.0, GT, to_alarm, missing, current) is expected


@pytest.mark.parametrize(("raw", "parsed"), [(None, MISSING), ("", MISSING), ("notBreaching", NOT_BREACHING)])
def test_treat_missing_default(raw: str | None, parsed: TreatMissing) -> None:
    assert TreatMissing.parse(raw) is parsed
