"""alarm sync against moto (CloudWatch, ELBv2) and the CodeDeploy emulator: what it creates, and that a
second sync writes nothing (moto fills in what AWS fills in). The planning logic (drift, dry run,
problems) runs on the fakes: tests/alarms/test_sync_plan.py."""

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
    assert result.writes == 6 and world.writes() == 6 and not result.problems  # 5 alarms + the group
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
    assert first.writes == 81 and world.writes() == 81  # 16 services x (4 alarms + 1 group) + a verdict

    second = sync_all_alarms(world.clients, services, world.definitions)

    assert second.in_sync and second.writes == 0
    assert world.writes() == 81  # counted on the clients: not one PutMetricAlarm / UpdateDeploymentGroup
    calls = world.clients.counter.calls
    # Reads are batched: 32 target groups / 20 a call, 65 alarms / 100 a call, 16 groups / 25 a call.
    assert calls["elastic-load-balancing-v2:DescribeTargetGroups"] == 2 * 2
    assert calls["elastic-load-balancing-v2:DescribeLoadBalancers"] == 2 * 1
    assert calls["cloudwatch:DescribeAlarms"] == 2 * 1
    assert calls["codedeploy:BatchGetDeploymentGroups"] == 2 * 1
