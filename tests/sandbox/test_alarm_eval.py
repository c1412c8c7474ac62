"""The evaluator on the alarms bluegreen really defines (alarms/*.yaml rendered for product-service),
fed with per-request samples as the routers record them. No AWS: alarms are DescribeAlarms-shaped
dicts (the same shape as PutMetricAlarm's request)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.alarms.definitions import ServiceResources, load_definitions, render_request
from orchestrator.catalog import load_catalog
from sandbox.alarm_eval import evaluate_alarm
from sandbox.alarm_state import AlarmState
from sandbox.fleet import cpu_utilization
from sandbox.load_balancer.listeners import target_datapoints
from sandbox.metrics import MetricStore

BLUE, GREEN = "targetgroup/product-service-blue/1111", "targetgroup/product-service-green/2222"
LB = "app/doa-market-dev-alb/3333"
T0 = 1_800_000_000.0 - (1_800_000_000.0 % 60)  # a minute boundary


@pytest.fixture(scope="module")
def alarms(repo_root: Any) -> dict[str, dict[str, Any]]:
    catalog = load_catalog(repo_root / "services.yaml")
    service = catalog.resolve("product-service", "dev")
    resources = ServiceResources(target_group_blue=BLUE, target_group_green=GREEN, load_balancer=LB)
    out = {}
    for alarm in load_definitions(catalog).for_service(service):
        request = render_request(alarm, service, resources)
        out[alarm.kind] = {**request, "StateValue": "OK"}
    return out


def requests(
    store: MetricStore, group: str, minute: int, count: int, errors: int = 0, seconds: float = 0.03
) -> None:
    """``count`` requests to a target group during minute ``minute`` after T0, ``errors`` of them 5xx."""
    dims = {"TargetGroup": group, "LoadBalancer": LB}
    for n in range(count):
        at = T0 + minute * 60 + (n + 0.5) * 60 / count
        # as the routers record them: no 5xx datapoint for a good answer (AWS reports only nonzero)
        for name, value in target_datapoints(500 if n < errors else 200, seconds * 1000.0):
            store.add("AWS/ApplicationELB", name, dims, at, value)


def canary_minute(
    store: MetricStore, minute: int, green_errors: int = 0, green_seconds: float = 0.03
) -> None:
    requests(store, BLUE, minute, 54)
    requests(store, GREEN, minute, 6, errors=green_errors, seconds=green_seconds)


@pytest.mark.parametrize(
    ("green_errors", "now_minute", "expected"),
    [
        (0, 1, AlarmState.OK),  # healthy canary
        (3, 1, AlarmState.ALARM),  # 50 % on green: the worst target group crosses 5 %
        (3, 0.5, AlarmState.OK),  # the minute is not complete yet: CloudWatch has no datapoint
        (3, 2, AlarmState.ALARM),  # still within the 2 evaluation periods (1 needed)
        (3, 3, AlarmState.OK),  # out of the window
    ],
)
def test_5xx_alarm_catches_a_faulty_canary(
    alarms: dict[str, dict[str, Any]], green_errors: int, now_minute: float, expected: AlarmState
) -> None:
    store = MetricStore()
    canary_minute(store, 0, green_errors=green_errors)
    state, reason = evaluate_alarm(alarms["5xx-errors"], store, T0 + now_minute * 60 + 1)
    assert state is expected, reason


def test_5xx_alarm_without_traffic_is_ok(alarms: dict[str, dict[str, Any]]) -> None:
    """FILL and notBreaching: no requests is not an incident."""
    state, _ = evaluate_alarm(alarms["5xx-errors"], MetricStore(), T0 + 600)
    assert state is AlarmState.OK


def test_blue_noise_below_threshold_is_ok(alarms: dict[str, dict[str, Any]]) -> None:
    store = MetricStore()
    requests(store, BLUE, 0, 100, errors=2)  # 2 %
    state, _ = evaluate_alarm(alarms["5xx-errors"], store, T0 + 61)
    assert state is AlarmState.OK


@pytest.mark.parametrize(
    ("slow_minutes", "expected"),
    [((), AlarmState.OK), ((1,), AlarmState.OK), ((0, 2), AlarmState.ALARM), ((1, 2), AlarmState.ALARM)],
)
def test_latency_alarm_needs_2_of_3_slow_minutes(
    alarms: dict[str, dict[str, Any]], slow_minutes: tuple[int, ...], expected: AlarmState
) -> None:
    store = MetricStore()
    for minute in range(3):
        canary_minute(store, minute, green_seconds=1.53 if minute in slow_minutes else 0.03)
    state, reason = evaluate_alarm(alarms["high-latency"], store, T0 + 3 * 60 + 1)
    assert state is expected, reason


@pytest.mark.parametrize(
    ("cpu", "expected"),
    [
        (25.0, AlarmState.OK),
        (90.0, AlarmState.ALARM),
        # What the fleet's gauge reads for product-service (medium: 512 units) at 1 request per
        # virtual second per task: healthy (40 ms each), then with latency_ms=1500 injected.
        (cpu_utilization(10 * 40.0, 10.0, 512), AlarmState.OK),
        (cpu_utilization(10 * 1540.0, 10.0, 512), AlarmState.ALARM),
    ],
)
def test_cpu_alarm_plain_metric(alarms: dict[str, dict[str, Any]], cpu: float, expected: AlarmState) -> None:
    store = MetricStore()
    dims = {"ClusterName": "doa-market-cluster", "ServiceName": "product-service"}
    for n in range(60):
        store.add("AWS/ECS", "CPUUtilization", dims, T0 + n * 10, cpu)
    state, _ = evaluate_alarm(alarms["high-cpu"], store, T0 + 600 + 1)
    assert state is expected


def test_reason_names_the_datapoints(alarms: dict[str, dict[str, Any]]) -> None:
    store = MetricStore()
    canary_minute(store, 0, green_errors=3)
    _, reason = evaluate_alarm(alarms["5xx-errors"], store, T0 + 61)
    assert "1 out of the last 2 datapoints" in reason and "50" in reason


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ({}, AlarmState.OK),  # no canary under way: no datapoint, not breaching
        ({0: 0.0}, AlarmState.OK),  # judged, not failed
        ({0: 1.0}, AlarmState.ALARM),  # the judge failed green
    ],
)
def test_the_verdict_alarm_reads_the_judges_metric_from_cloudwatch(
    alarms: dict[str, dict[str, Any]], verdicts: dict[int, float], expected: AlarmState
) -> None:
    """bluegreen/Analysis is no metric the world records: the evaluator reads it back (moto's
    GetMetricStatistics in the world), per period, with the alarm's statistic."""
    asked: list[tuple[str, str, dict[str, str], str, float, float]] = []

    def external(
        namespace: str, name: str, dimensions: Any, stat: str, start: float, period: float
    ) -> float | None:
        asked.append((namespace, name, dict(dimensions), stat, start, period))
        return verdicts.get(int((start - T0) // 60))

    state, reason = evaluate_alarm(alarms["canary-verdict"], MetricStore(), T0 + 61, external)

    assert state is expected, reason
    assert asked == [
        (
            "bluegreen/Analysis",
            "CanaryVerdict",
            {"Service": "product-service", "Environment": "dev"},
            "Maximum",
            T0,
            60.0,
        )
    ]


def test_the_worlds_own_metrics_never_go_to_cloudwatch(alarms: dict[str, dict[str, Any]]) -> None:
    def external(*_: Any) -> float | None:
        raise AssertionError("AWS/ApplicationELB comes from the store")

    store = MetricStore()
    canary_minute(store, 0, green_errors=3)
    state, _ = evaluate_alarm(alarms["5xx-errors"], store, T0 + 61, external)
    assert state is AlarmState.ALARM
