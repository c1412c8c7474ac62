"""What EcsEngine.inspect reads through aws/ecs.py, pinned with botocore's Stubber: the exact requests
(validated against botocore's ECS model), bounded paging, DescribeTasks' batch of 100, and which
DescribeServiceDeployments answers are bad input (exit 2) or an AWS error (exit 4)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from orchestrator.aws import ecs as ecs_api
from orchestrator.errors import AwsError, BadInputError

REGION = "ap-northeast-2"
SD = "arn:aws:ecs:ap-northeast-2:123456789012:service-deployment/c/svc/abc"
TASK = "arn:aws:ecs:ap-northeast-2:123456789012:task/c/"


@pytest.fixture
def ecs() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("ecs", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_stopped_task_arns_are_read_page_by_page_up_to_the_bound(ecs: Any) -> None:
    client, stub = ecs
    base = {"cluster": "c", "serviceName": "svc", "desiredStatus": "STOPPED", "maxResults": 100}
    stub.add_response("list_tasks", {"taskArns": [f"{TASK}1"], "nextToken": "t1"}, base)
    stub.add_response(
        "list_tasks", {"taskArns": [f"{TASK}2"], "nextToken": "t2"}, {**base, "nextToken": "t1"}
    )

    found, more = ecs_api.list_task_arns(client, "c", "svc", "STOPPED", max_pages=2)

    assert (found, more) == ([f"{TASK}1", f"{TASK}2"], True)


def test_the_last_page_says_nothing_is_left(ecs: Any) -> None:
    client, stub = ecs
    base = {"cluster": "c", "serviceName": "svc", "desiredStatus": "STOPPED", "maxResults": 100}
    stub.add_response("list_tasks", {"taskArns": [f"{TASK}1"]}, base)

    assert ecs_api.list_task_arns(client, "c", "svc", "STOPPED", max_pages=5) == ([f"{TASK}1"], False)


def test_describe_tasks_asks_100_at_a_time(ecs: Any) -> None:
    client, stub = ecs
    arns = [f"{TASK}{n}" for n in range(150)]
    stopped = datetime(2026, 11, 30, tzinfo=UTC)
    for batch in (arns[:100], arns[100:]):
        tasks = [{"taskArn": arn, "stoppedAt": stopped, "stoppedReason": "r"} for arn in batch]
        stub.add_response(
            "describe_tasks", {"tasks": tasks, "failures": []}, {"cluster": "c", "tasks": batch}
        )

    found = ecs_api.describe_tasks(client, "c", arns)

    assert [task["taskArn"] for task in found] == arns


def test_service_events_come_from_describe_services(ecs: Any) -> None:
    client, stub = ecs
    at = datetime(2026, 11, 30, tzinfo=UTC)
    event = {"id": "e1", "createdAt": at, "message": "(service svc) has reached a steady state."}
    answer = {"services": [{"serviceName": "svc", "status": "ACTIVE", "events": [event]}], "failures": []}
    stub.add_response("describe_services", answer, {"cluster": "c", "services": ["svc"]})

    assert ecs_api.service_events(client, "c", "svc") == [event]


@pytest.mark.parametrize(
    ("answer", "error", "words"),
    [
        (
            {"serviceDeployments": [], "failures": [{"arn": SD, "reason": "MISSING"}]},
            BadInputError,
            "no service",
        ),
        ({"serviceDeployments": [], "failures": []}, BadInputError, "no service"),
        (
            {
                "serviceDeployments": [],
                "failures": [{"arn": SD, "reason": "AccessDenied", "detail": "not yours"}],
            },
            AwsError,
            "AccessDenied (not yours)",
        ),
    ],
)
def test_a_deployment_ecs_does_not_describe(
    ecs: Any, answer: dict[str, Any], error: type, words: str
) -> None:
    client, stub = ecs
    stub.add_response("describe_service_deployments", answer, {"serviceDeploymentArns": [SD]})

    with pytest.raises(error) as raised:
        ecs_api.describe_service_deployment(client, SD)

    assert type(raised.value) is error and words in str(raised.value) and SD in str(raised.value)


def test_a_deployment_of_another_region_is_named_before_any_call(ecs: Any) -> None:
    client, _stub = ecs  # no response queued: a call would fail the test
    other = SD.replace(":ap-northeast-2:", ":eu-west-1:")

    with pytest.raises(BadInputError) as raised:
        ecs_api.describe_service_deployment(client, other)

    assert str(raised.value) == (
        f"service deployment {other} is in region eu-west-1, not ap-northeast-2; run with --region eu-west-1"
    )
