"""Percentile statistics (``p99``, ``p99.9``) in moto's GetMetricData and GetMetricStatistics.

moto 5.x computes only Sum, Average, Minimum, Maximum and SampleCount; for a percentile ``Stat`` it
puts a None in the answer and fails serializing it (HTTP 500). CloudWatch answers percentiles of the
values published in the period (PutMetricData ``Values``/``Counts``, which moto keeps one datum per
value): the canary judge reads TargetResponseTime p99 / p50 per target group that way. Computed as
the sandbox's alarm evaluator does (``sandbox.alarm_state.statistic``: nearest rank). ``install()``
runs in moto's process (``sandbox.moto_patched``).
"""

from __future__ import annotations

from typing import Any

from sandbox.alarm_state import statistic


def install() -> None:
    from moto.cloudwatch.models import Statistics

    original = Statistics.get_statistics_for_type

    def get_statistics_for_type(self: Any, stat: str) -> Any:
        values = self.metric_single_values_list
        if stat.startswith("p") and values:
            return statistic(stat, values)
        return original(self, stat)

    Statistics.get_statistics_for_type = get_statistics_for_type  # type: ignore[method-assign]
