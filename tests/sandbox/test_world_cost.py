"""What makes a 16-service world cheap to start, pinned (figures in ARCHITECTURE.md, Sandbox)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.alarms import definitions as alarm_definitions
from orchestrator.catalog import load_catalog
from sandbox.provision import ServiceInfra, put_alarms

REPO = Path(__file__).resolve().parents[2]
ARN = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012"


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
