"""What makes a 16-service world cheap to start, pinned (figures in ARCHITECTURE.md, Sandbox)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from orchestrator.alarms import definitions as alarm_definitions
from orchestrator.catalog import load_catalog
from sandbox.app import AppServer, TaskIdentity
from sandbox.clock import VirtualClock
from sandbox.http_server import stop_servers
from sandbox.load_balancer.balancer import LoadBalancer
from sandbox.load_balancer.target_health import TargetState
from sandbox.metrics import MetricStore
from sandbox.provision import HEALTH_CHECK, ServiceInfra, put_alarms

REPO = Path(__file__).resolve().parents[2]
ARN = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012"
GREEN = f"{ARN}:targetgroup/svc-green/2"


class FakeCloudWatch:
    def __init__(self) -> None:
        self.alarms: list[str] = []

    def put_metric_alarm(self, **request: Any) -> None:
        self.alarms.append(request["AlarmName"])


def _infra(catalog: Any, name: str) -> ServiceInfra:
    service = catalog.resolve(name, "dev")
    groups = {
        service.settings.target_group_blue: f"{ARN}:targetgroup/{name}-blue/1",
        service.settings.target_group_green: f"{ARN}:targetgroup/{name}-green/2",
    }
    return ServiceInfra(
        service=service,
        load_balancer_arn=f"{ARN}:loadbalancer/app/doa-market-dev-alb/3",
        production_listener_arn="",
        test_listener_arn="",
        production_port=0,
        test_port=0,
        target_groups=groups,
        task_definition_arn="",
        original_task_set_arn="",
    )


def test_alarms_are_put_for_every_service_from_definitions_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = load_catalog(REPO / "services.yaml")
    definitions = alarm_definitions.load_definitions(catalog)

    def read_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("the alarm definitions were read again for one service")

    monkeypatch.setattr(alarm_definitions, "load_definitions", read_again)
    cloudwatch = FakeCloudWatch()
    names = [put_alarms(cloudwatch, definitions, _infra(catalog, s)) for s in catalog.services]
    assert len(names) == 16
    assert cloudwatch.alarms == [alarm for per_service in names for alarm in per_service]
    assert {"auth-service-5xx-errors", "stats-service-high-latency"} <= set(cloudwatch.alarms)


class Elbv2:
    def register_targets(self, **request: Any) -> None:
        return None


def test_a_pass_of_health_checks_probes_the_due_targets_at_once(tmp_path: Path) -> None:
    """Each task answers its health path after 20-60 real ms: 32 probes one after another take at
    least 0.64 s (a 16-service world's passes held the clock to ~5x); at once, a few 60 ms rounds."""
    clock, store = VirtualClock(40), MetricStore()
    balancer = LoadBalancer([], Elbv2(), clock, store, states_path=tmp_path / "states.json")
    tasks = {f"10.0.7.{n}": AppServer(TaskIdentity("svc", "svc:2", f"ts-{n}")).start() for n in range(32)}
    passes = []
    try:
        balancer.register_targets(GREEN, 8080, tasks, "/health", healthy=False)
        for check in range(1, HEALTH_CHECK.healthy_threshold + 1):
            started = time.monotonic()
            balancer.check_health(clock.now() + check * HEALTH_CHECK.interval)
            passes.append(time.monotonic() - started)
    finally:
        balancer.stop()
        stop_servers(list(tasks.values()))
    assert max(passes) < 0.5, passes
    # the same verdicts as one by one: two passes in a row make every target healthy, in order
    assert [target for _, target, _ in balancer.health_history] == list(tasks)
    assert {balancer.target_state(target) for target in tasks} == {TargetState.HEALTHY}
