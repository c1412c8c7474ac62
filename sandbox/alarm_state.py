"""How CloudWatch turns datapoints into an alarm state (pure): statistics, comparison, M out of N,
and missing data. moto stores alarms but never evaluates them; the sandbox's evaluator does, with
these rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from enum import StrEnum

from orchestrator.vocabulary import AlarmState


class Comparison(StrEnum):
    """The static-threshold comparison operators of PutMetricAlarm."""

    GT = "GreaterThanThreshold"
    GE = "GreaterThanOrEqualToThreshold"
    LT = "LessThanThreshold"
    LE = "LessThanOrEqualToThreshold"

    def breaches(self, value: float, threshold: float) -> bool:
        if self is Comparison.GT:
            return value > threshold
        if self is Comparison.GE:
            return value >= threshold
        if self is Comparison.LT:
            return value < threshold
        return value <= threshold


class TreatMissing(StrEnum):
    """TreatMissingData: how a period without a value counts."""

    MISSING = "missing"
    IGNORE = "ignore"
    BREACHING = "breaching"
    NOT_BREACHING = "notBreaching"

    @classmethod
    def parse(cls, value: str | None) -> TreatMissing:
        return cls(value) if value else cls.MISSING


_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


def statistic(name: str, values: Sequence[float]) -> float | None:
    """A CloudWatch statistic (Sum, Average, Minimum, Maximum, SampleCount, pNN[.N]) of raw samples;
    None when there are none (the period has no datapoint)."""
    if not values:
        return None
    if name == "Sum":
        return float(sum(values))
    if name == "Average":
        return float(sum(values)) / len(values)
    if name == "Maximum":
        return float(max(values))
    if name == "Minimum":
        return float(min(values))
    if name == "SampleCount":
        return float(len(values))
    match = _PERCENTILE.match(name)
    if match:
        # Nearest-rank percentile: the smallest sample with at least p % of samples at or below it.
        ordered = sorted(values)
        # (rounded first: 99.9 / 100 * 1000 is 999.0000000000001 in floating point)
        rank = max(1, math.ceil(round(float(match.group(1)) * len(ordered) / 100.0, 9)))
        return float(ordered[rank - 1])
    raise ValueError(f"statistic {name!r} is not supported")


def decide(
    datapoints: Sequence[float | None],
    threshold: float,
    comparison: Comparison,
    datapoints_to_alarm: int,
    treat_missing: TreatMissing,
    current: AlarmState,
) -> AlarmState:
    """The state after evaluating the last N periods (oldest first; None = no datapoint).

    ALARM when at least M of them breach; missing periods count as TreatMissingData says
    (``missing``/``ignore`` leave them out; with none left, ``missing`` gives INSUFFICIENT_DATA
    and ``ignore`` keeps the current state).
    """
    breaching = 0
    counted = 0
    for value in datapoints:
        if value is None:
            if treat_missing is TreatMissing.BREACHING:
                breaching += 1
                counted += 1
            elif treat_missing is TreatMissing.NOT_BREACHING:
                counted += 1
            continue
        counted += 1
        if comparison.breaches(value, threshold):
            breaching += 1
    if counted == 0:
        return current if treat_missing is TreatMissing.IGNORE else AlarmState.INSUFFICIENT_DATA
    if breaching >= max(1, datapoints_to_alarm):
        return AlarmState.ALARM
    return AlarmState.OK
