"""Metrics of the fake fleet: an in-memory store of raw samples (what the evaluator reads) and a
publisher that sends each completed period to CloudWatch in moto (what hooks, the audit and the
AWS CLI see), at virtual timestamps.

Published per target group (namespace AWS/ApplicationELB, dimensions TargetGroup and LoadBalancer):
RequestCount, HTTPCode_Target_5XX_Count (1 per 5xx answer and nothing otherwise: AWS reports it only
when nonzero, so a healthy minute has no datapoint), TargetResponseTime (seconds, one sample per
request, so p99 and Average work), UnHealthyHostCount and HealthyHostCount
(sampled); per ECS service (AWS/ECS, ClusterName and ServiceName): CPUUtilization (sampled).
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sandbox.clock import VirtualClock, Watermark

MetricKey = tuple[str, str, tuple[tuple[str, str], ...]]  # namespace, metric name, sorted dimensions

GAUGE_INTERVAL = 10.0  # virtual seconds between gauge samples (host counts, CPU)
# PutMetricData: at most 1000 metrics per call and 150 distinct values per datum.
_MAX_VALUES = 150
_MAX_DATA_PER_CALL = 500


def metric_key(namespace: str, name: str, dimensions: Mapping[str, str]) -> MetricKey:
    return (namespace, name, tuple(sorted(dimensions.items())))


class MetricStore:
    """Raw samples per metric, by virtual timestamp; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: dict[MetricKey, list[float]] = defaultdict(list)
        self._values: dict[MetricKey, list[float]] = defaultdict(list)

    def add(
        self, namespace: str, name: str, dimensions: Mapping[str, str], timestamp: float, value: float
    ) -> None:
        key = metric_key(namespace, name, dimensions)
        with self._lock:
            times, values = self._times[key], self._values[key]
            index = bisect.bisect_right(times, timestamp)
            times.insert(index, timestamp)
            values.insert(index, float(value))

    def values(self, key: MetricKey, start: float, end: float) -> list[float]:
        """Samples with start <= timestamp < end."""
        with self._lock:
            times = self._times.get(key)
            if not times:
                return []
            low, high = bisect.bisect_left(times, start), bisect.bisect_left(times, end)
            return list(self._values[key][low:high])

    def metric_keys(self) -> list[MetricKey]:
        with self._lock:
            return list(self._times)


def period_start(timestamp: float, period: float) -> float:
    """The start of the period (aligned to the epoch, as CloudWatch aligns) containing ``timestamp``."""
    return (timestamp // period) * period


def _datum(key: MetricKey, start: float, values: list[float]) -> list[dict[str, Any]]:
    _namespace, name, dimensions = key
    counts = Counter(round(v, 4) for v in values)
    items = sorted(counts.items())
    unit = "Seconds" if name == "TargetResponseTime" else ("Percent" if name == "CPUUtilization" else "Count")
    out = []
    for offset in range(0, len(items), _MAX_VALUES):
        chunk = items[offset : offset + _MAX_VALUES]
        out.append(
            {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions],
                "Timestamp": datetime.fromtimestamp(start, tz=UTC),
                "Values": [v for v, _ in chunk],
                "Counts": [float(c) for _, c in chunk],
                "Unit": unit,
            }
        )
    return out


class MetricsPublisher:
    """Every virtual ``period`` seconds, PutMetricData for the period that just ended.

    ``sample`` is called every ``sample_every`` virtual seconds first, to add gauge samples
    (healthy/unhealthy hosts, CPU) at the current virtual time.
    """

    def __init__(
        self,
        store: MetricStore,
        cloudwatch: Any,
        clock: VirtualClock,
        sample: Callable[[float], None],
        period: float = 60.0,
        sample_every: float = 10.0,
    ) -> None:
        self.store = store
        self.cloudwatch = cloudwatch
        self.clock = clock
        self.sample = sample
        self.period = period
        self.sample_every = sample_every
        self.published_periods = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-publisher", daemon=True)

    def start(self) -> MetricsPublisher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def publish_period(self, start: float) -> None:
        """Send the samples of [start, start + period) for every metric."""
        by_namespace: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for key in self.store.metric_keys():
            values = self.store.values(key, start, start + self.period)
            if values:
                by_namespace[key[0]].extend(_datum(key, start, values))
        for namespace, data in by_namespace.items():
            for offset in range(0, len(data), _MAX_DATA_PER_CALL):
                self.cloudwatch.put_metric_data(
                    Namespace=namespace, MetricData=data[offset : offset + _MAX_DATA_PER_CALL]
                )
        self.published_periods += 1

    def publish_history(self, seconds: float) -> None:
        """Publish the complete periods of the last ``seconds`` (the world's backfilled history)."""
        end = period_start(self.clock.now(), self.period)
        start = period_start(end - seconds, self.period)
        while start < end:
            self.publish_period(start)
            start += self.period

    def _run(self) -> None:
        # Gauges and periods are due on the virtual clock: it waits for this thread (see clock.py).
        watermark = self.clock.watermark("metrics-publisher")
        try:
            self._publish_until_stopped(watermark)
        finally:
            watermark.close()

    def _publish_until_stopped(self, watermark: Watermark) -> None:
        next_publish = period_start(self.clock.now(), self.period) + self.period
        while not self._stop.is_set():
            now = self.clock.now()
            next_sample = now + self.sample_every
            try:
                self.sample(now)
            except Exception:  # a failed sample is data lost, not a dead publisher
                self.errors += 1
            # The gauges are what must keep pace; how long moto takes to take a period does not
            # hold the clock (the alarm evaluator reads the samples here, not moto's copy).
            watermark.done_up_to(next_sample)
            try:
                if now >= next_publish:
                    self.publish_period(next_publish - self.period)
                    next_publish += self.period
            except Exception:  # a failed publish is data lost, not a dead publisher
                self.errors += 1
            self.clock.wait(self._stop, next_sample - self.clock.now())
