"""The audit's batched reads, pinned with botocore's Stubber: batch sizes, pagination, exact requests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from orchestrator.alarms.audit import lookup_dimension_values
from orchestrator.alarms.definitions import ServiceResources
from orchestrator.aws.cloudwatch import describe_alarms
from orchestrator.aws.deployment_groups import (
    batch_get_deployment_groups,
    list_applications,
    list_deployment_groups,
)
from orchestrator.catalog import Catalog, load_catalog
from orchestrator.errors import AwsError

ELB_ARN = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012"


@pytest.fixture
def codedeploy() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("codedeploy", region_name="ap-northeast-2")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def cloudwatch() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("cloudwatch", region_name="ap-northeast-2")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_list_applications_and_groups_follow_next_token(codedeploy: tuple[Any, Stubber]) -> None:
    client, stub = codedeploy
    stub.add_response("list_applications", {"applications": ["a"], "nextToken": "t1"}, {})
    stub.add_response("list_applications", {"applications": ["b"]}, {"nextToken": "t1"})
    stub.add_response(
        "list_deployment_groups",
        {"deploymentGroups": ["g1", "g2"], "nextToken": "n"},
        {"applicationName": "a"},
    )
    stub.add_response(
        "list_deployment_groups", {"deploymentGroups": ["g3"]}, {"applicationName": "a", "nextToken": "n"}
    )
    assert list_applications(client) == ["a", "b"]
    assert list_deployment_groups(client, "a") == ["g1", "g2", "g3"]


def test_deployment_groups_are_read_25_names_a_call(codedeploy: tuple[Any, Stubber]) -> None:
    client, stub = codedeploy
    names = [f"g{i:02d}" for i in range(60)]
    for batch in (names[:25], names[25:50], names[50:]):
        infos = [{"applicationName": "a", "deploymentGroupName": n} for n in batch if n != "g07"]
        stub.add_response(
            "batch_get_deployment_groups",
            {"deploymentGroupsInfo": infos},
            {"applicationName": "a", "deploymentGroupNames": batch},
        )
    found = batch_get_deployment_groups(client, "a", names)
    assert len(found) == 59 and "g07" not in found


def test_alarms_are_described_100_names_a_call_following_next_token(cloudwatch: tuple[Any, Stubber]) -> None:
    client, stub = cloudwatch
    names = [f"alarm-{i:03d}" for i in range(250)]
    when = datetime(2026, 11, 21, tzinfo=UTC)

    def alarm(name: str) -> dict[str, Any]:
        return {"AlarmName": name, "StateValue": "OK", "StateUpdatedTimestamp": when}

    base = {"AlarmTypes": ["MetricAlarm", "CompositeAlarm"], "MaxRecords": 100}
    stub.add_response(
        "describe_alarms",
        {"MetricAlarms": [alarm(n) for n in names[:60]], "NextToken": "more"},
        {**base, "AlarmNames": names[:100]},
    )
    stub.add_response(
        "describe_alarms",
        {"MetricAlarms": [alarm(n) for n in names[60:100]]},
        {**base, "AlarmNames": names[:100], "NextToken": "more"},
    )
    stub.add_response(
        "describe_alarms",
        {"MetricAlarms": [alarm(n) for n in names[100:200]]},
        {**base, "AlarmNames": names[100:200]},
    )
    stub.add_response(
        "describe_alarms",
        {"MetricAlarms": [], "CompositeAlarms": [{"AlarmName": names[200], "StateValue": "ALARM"}]},
        {**base, "AlarmNames": names[200:]},
    )
    found = describe_alarms(client, [*names, *names[:10]])  # duplicates are asked for once
    assert len(found) == 201 and found[names[200]]["StateValue"] == "ALARM"


def test_an_aws_error_becomes_one_line_aws_error(cloudwatch: tuple[Any, Stubber]) -> None:
    client, stub = cloudwatch
    stub.add_client_error("describe_alarms", "AccessDenied", "not allowed to DescribeAlarms", 403)
    with pytest.raises(AwsError) as err:
        describe_alarms(client, ["a"])
    assert err.value.exit_code == 4 and "reading CloudWatch alarms: access denied" in str(err.value)


@pytest.fixture
def catalog(repo_root: Path) -> Catalog:
    return load_catalog(repo_root / "services.yaml")


@pytest.fixture
def elbv2() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("elbv2", region_name="ap-northeast-2")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def target_group(name: str) -> dict[str, Any]:
    return {"TargetGroupName": name, "TargetGroupArn": f"{ELB_ARN}:targetgroup/{name}/{len(name):016x}"}


def test_dimension_values_list_every_target_group_400_a_page(
    elbv2: tuple[Any, Stubber], catalog: Catalog
) -> None:
    client, stub = elbv2
    services = [catalog.resolve("product-service", "dev"), catalog.resolve("order-service", "dev")]
    stub.add_response(
        "describe_target_groups",
        {
            "TargetGroups": [target_group("product-service-blue"), target_group("order-service-blue")],
            "NextMarker": "m1",
        },
        {"PageSize": 400},
    )
    stub.add_response(
        "describe_target_groups",
        {"TargetGroups": [target_group("product-service-green"), target_group("other-green")]},
        {"PageSize": 400, "Marker": "m1"},
    )
    alb = {"LoadBalancerName": "doa-market-dev-alb", "LoadBalancerArn": f"{ELB_ARN}:loadbalancer/app/x/abc"}
    stub.add_response("describe_load_balancers", {"LoadBalancers": [alb]}, {"PageSize": 400})

    resources, notes = lookup_dimension_values(client, services)

    assert resources == {
        "product-service": ServiceResources(
            target_group_blue="targetgroup/product-service-blue/0000000000000014",
            target_group_green="targetgroup/product-service-green/0000000000000015",
            load_balancer="app/x/abc",
        )
    }
    assert notes == [
        "order-service: order-service-green not found in ELBv2 (ap-northeast-2); "
        "its alarms' dimension values not compared"
    ]


def test_without_elbv2_access_dimension_values_are_a_note_not_a_failure(
    elbv2: tuple[Any, Stubber], catalog: Catalog
) -> None:
    client, stub = elbv2
    stub.add_client_error("describe_target_groups", "AccessDenied", "not allowed", 403)
    resources, notes = lookup_dimension_values(client, [catalog.resolve("product-service", "dev")])
    assert resources == {}
    assert notes == [
        "alarm dimension values not compared: ELBv2 DescribeTargetGroups / DescribeLoadBalancers: "
        "access denied (not allowed); see the README's IAM permissions"
    ]


def test_other_elbv2_errors_fail_the_audit(elbv2: tuple[Any, Stubber], catalog: Catalog) -> None:
    client, stub = elbv2
    stub.add_client_error("describe_target_groups", "InternalFailure", "boom", 500)
    with pytest.raises(AwsError) as err:
        lookup_dimension_values(client, [catalog.resolve("product-service", "dev")])
    assert err.value.exit_code == 4 and "InternalFailure: boom" in str(err.value)
