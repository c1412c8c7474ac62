"""alarm sync against moto (CloudWatch, ELBv2) and the CodeDeploy emulator: create, idempotence, dry run."""

from __future__ import annotations

import pytest

from orchestrator.alarms.sync import sync_all_alarms, sync_service_alarms
from tests.support.alarms import World

pytestmark = pytest.mark.integration


def test_sync_creates_alarms_with_real_dimension_values_and_attaches_them(world: World) -> None:
    world.add_group("product-service", alarms=[], enabled=False, rollback_events=["DEPLOYMENT_FAILURE"])
    service = world.service("product-service")

    result = sync_service_alarms(world.clients, service, world.definitions)

    assert sorted(c.name for c in result.alarm_changes if c.created) == sorted(service.settings.alarms)
    assert result.writes == 5 and world.writes() == 5 and not result.problems
    alarms = world.cloudwatch.describe_alarms(AlarmNames=service.settings.alarms)["MetricAlarms"]
    by_name = {a["AlarmName"]: a for a in alarms}
    errors = by_name["product-service-5xx-errors"]
    dims = {
        q["Id"]: {d["Name"]: d["Value"] for d in q["MetricStat"]["Metric"]["Dimensions"]}
        for q in errors["Metrics"]
        if "MetricStat" in q
    }
    assert dims["e_blue"]["TargetGroup"].startswith("targetgroup/product-service-blue/")
    assert dims["e_green"]["TargetGroup"].startswith("targetgroup/product-service-green/")
    assert dims["e_blue"]["LoadBalancer"].startswith("app/doa-market-dev-alb/")
    cpu = by_name["product-service-high-cpu"]
    assert {d["Name"]: d["Value"] for d in cpu["Dimensions"]} == {
        "ClusterName": "doa-market-cluster",
        "ServiceName": "product-service",
    }
    assert (cpu["Period"], cpu["EvaluationPeriods"], cpu["Threshold"]) == (300, 2, 80.0)
    group = world.group("product-service")
    assert group["alarmConfiguration"] == {
        "enabled": True,
        "ignorePollAlarmFailure": False,
        "alarms": [{"name": n} for n in service.settings.alarms],
    }
    assert group["autoRollbackConfiguration"] == {
        "enabled": True,
        "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
    }


def test_second_sync_makes_no_write_call(world: World) -> None:
    for service in world.catalog.resolve_all("dev"):
        world.add_group(service.name)
    services = world.catalog.resolve_all("dev")
    first = sync_all_alarms(world.clients, services, world.definitions)
    assert first.writes == 80 and world.writes() == 80  # 16 services x (4 alarms + 1 group)

    second = sync_all_alarms(world.clients, services, world.definitions)

    assert second.in_sync and second.writes == 0
    assert world.writes() == 80  # counted on the clients: not one PutMetricAlarm / UpdateDeploymentGroup
    calls = world.clients.counter.calls
    # Reads are batched: 32 target groups / 20 a call, 64 alarms / 100 a call, 16 groups / 25 a call.
    assert calls["elastic-load-balancing-v2:DescribeTargetGroups"] == 2 * 2
    assert calls["elastic-load-balancing-v2:DescribeLoadBalancers"] == 2 * 1
    assert calls["cloudwatch:DescribeAlarms"] == 2 * 1
    assert calls["codedeploy:BatchGetDeploymentGroups"] == 2 * 1


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
    world.clients.client("elbv2").delete_target_group(
        TargetGroupArn=world.clients.client("elbv2").describe_target_groups(Names=["coupon-service-green"])[
            "TargetGroups"
        ][0]["TargetGroupArn"]
    )
    world.add_group("coupon-service")
    services = [world.service("coupon-service"), world.service("review-service")]

    result = sync_all_alarms(world.clients, services, world.definitions)

    assert len(result.problems) == 2
    assert "coupon-service-green not found in ELBv2" in result.problems[0]
    assert "deployment group doa-market-dev/review-service does not exist" in result.problems[1]
    assert {c.service for c in result.alarm_changes} == {"review-service"}  # its alarms still synced
