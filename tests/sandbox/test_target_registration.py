"""A new target's health state reaches moto before the target does (moto calls unknown targets healthy)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sandbox.clock import VirtualClock
from sandbox.fleet import Fleet
from sandbox.http_server import stop_servers
from sandbox.load_balancer.balancer import LoadBalancer
from sandbox.metrics import MetricStore


class RecordingElbv2:
    """Registers nothing; records which states moto could read at the moment of each registration."""

    def __init__(self, states_path: Path) -> None:
        self.states_path = states_path
        self.seen_at_registration: list[dict[str, Any]] = []

    def register_targets(self, TargetGroupArn: str, Targets: list[dict[str, Any]]) -> None:
        states = json.loads(self.states_path.read_text()) if self.states_path.exists() else {}
        self.seen_at_registration.append({t["Id"]: states.get(t["Id"]) for t in Targets})


def test_replacement_targets_are_initial_in_moto_before_they_are_registered(tmp_path: Path) -> None:
    states_path = tmp_path / "target-health.json"
    elbv2 = RecordingElbv2(states_path)
    settings = SimpleNamespace(tasks=SimpleNamespace(desired=2), health_path="/health")
    service = SimpleNamespace(settings=settings, container_port=3003)
    item = SimpleNamespace(name="product-service", service=service)
    clock, store = VirtualClock(40), MetricStore()
    balancer = LoadBalancer([], elbv2=elbv2, clock=clock, store=store, states_path=states_path)
    fleet = Fleet([], ecs=None, balancer=balancer, clock=clock, store=store)
    fleet._started = True  # a task set appearing now is a replacement (green)
    task_set = {
        "taskSetArn": "arn:aws:ecs:ap-northeast-2:123456789012:task-set/c/s/ecs-svc/1",
        "taskDefinition": "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service:2",
        "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:tg/product-service-green/1"}],
    }
    try:
        fleet._ensure_run(item, task_set)  # type: ignore[arg-type]
    finally:
        for run in fleet.history.values():  # the app servers it started for the run, on loopback
            stop_servers(run.tasks)
    assert elbv2.seen_at_registration, "no registration happened"
    for seen in elbv2.seen_at_registration:
        assert seen and all(entry is not None for entry in seen.values()), seen
        assert {entry["State"] for entry in seen.values()} == {"initial"}, seen
