"""alarm sync's planning on the in-memory fakes (tests/support/fakes.py): only what differs is
written, a dry run writes nothing, missing resources are problems. The fakes answer as AWS does for
what the planner reads; tests/alarms/test_sync.py runs sync end to end against moto and the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.alarms.sync import sync_all_alarms, sync_service_alarms
from orchestrator.catalog import load_catalog
from tests.support.alarms import World, fake_world


@pytest.fixture
def world(repo_root: Path) -> World:
    """dev's load balancer and every service's target groups, in the fakes; no deployment group yet."""
    return fake_world(load_catalog(repo_root / "services.yaml"), "dev")


def test_sync_updates_only_the_drifted_alarm_and_group(world: World) -> None:
    world.add_group("order-service")
    service = world.service("order-service")
    sync_service_alarms(world.clients, service, world.definitions)
    world.cloudwatch.put_metric_alarm(
        AlarmName="order-service-high-cpu",
        Namespace="AWS/ECS",
        MetricName="CPUUtilization",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=2,
        Threshold=95,
        ComparisonOperator="GreaterThanThreshold",
    )
    world.update_group(
        "order-service",
        alarmConfiguration={**world.group("order-service")["alarmConfiguration"], "enabled": False},
    )
    before = world.writes()

    result = sync_service_alarms(world.clients, service, world.definitions)

    assert [c.name for c in result.alarm_changes] == ["order-service-high-cpu"]
    paths = {c.path for c in result.alarm_changes[0].changes}
    assert {"Threshold", "Period", "Dimensions.ClusterName"} <= paths
    assert [str(c) for c in result.group_changes[0].changes] == ["alarmConfiguration.enabled: False -> True"]
    assert world.writes() - before == 2


def test_dry_run_shows_the_diff_and_writes_nothing(world: World) -> None:
    world.add_group("user-service", alarms=["user-service-5xx-errors"])
    service = world.service("user-service")

    result = sync_service_alarms(world.clients, service, world.definitions, dry_run=True)

    assert result.dry_run and result.writes == 0 and world.writes() == 0
    assert len(result.alarm_changes) == 4 and all(c.created for c in result.alarm_changes)
    assert [str(c) for c in result.group_changes[0].changes] == [
        "alarmConfiguration.alarms: ['user-service-5xx-errors'] -> "
        "['user-service-5xx-errors', 'user-service-high-cpu', 'user-service-high-latency', "
        "'user-service-unhealthy-hosts']"
    ]
    assert world.cloudwatch.describe_alarms(AlarmNamePrefix="user-service")["MetricAlarms"] == []


def test_missing_group_and_missing_target_group_are_problems_not_crashes(world: World) -> None:
    del world.clients.client("elbv2").target_groups["coupon-service-green"]
    world.add_group("coupon-service")
    services = [world.service("coupon-service"), world.service("review-service")]

    result = sync_all_alarms(world.clients, services, world.definitions)

    assert len(result.problems) == 2
    assert "coupon-service-green not found in ELBv2" in result.problems[0]
    assert "deployment group doa-market-dev/review-service does not exist" in result.problems[1]
    assert {c.service for c in result.alarm_changes} == {"review-service"}  # its alarms still synced
