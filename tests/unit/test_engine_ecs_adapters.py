"""The ECS engine's AWS calls, pinned with botocore's Stubber: the exact requests (validated against
botocore's ECS and ELBv2 models), paging, batch limits, and which errors are bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from orchestrator.aws import ecs as ecs_api
from orchestrator.aws import elbv2 as elbv2_api
from orchestrator.errors import AwsError, BadInputError

REGION = "ap-northeast-2"
SD = "arn:aws:ecs:ap-northeast-2:123456789012:service-deployment/c/svc/abc"
REVISION = "arn:aws:ecs:ap-northeast-2:123456789012:service-revision/c/svc/1"
TASK = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/svc:7"


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def ecs() -> Iterator[tuple[Any, Stubber]]:
    client = _client("ecs")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


@pytest.fixture
def elbv2() -> Iterator[tuple[Any, Stubber]]:
    client = _client("elbv2")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def brief(n: int) -> dict[str, Any]:
    return {"serviceDeploymentArn": f"{SD}{n}", "status": "SUCCESSFUL", "targetServiceRevisionArn": REVISION}


def test_list_service_deployments_reads_every_page_100_at_a_time_with_the_filters(ecs: Any) -> None:
    client, stub = ecs
    after = datetime(2026, 11, 30, tzinfo=UTC)
    base = {"cluster": "c", "service": "svc", "maxResults": 100, "status": ["PENDING", "IN_PROGRESS"]}
    base["createdAt"] = {"after": after}
    stub.add_response("list_service_deployments", {"serviceDeployments": [brief(1)], "nextToken": "t1"}, base)
    stub.add_response(
        "list_service_deployments", {"serviceDeployments": [brief(2)]}, {**base, "nextToken": "t1"}
    )

    found = ecs_api.list_service_deployments(client, "c", "svc", ["PENDING", "IN_PROGRESS"], after)

    assert [b["serviceDeploymentArn"] for b in found] == [f"{SD}1", f"{SD}2"]


@pytest.mark.parametrize(("count", "calls"), [(1, 1), (20, 1), (21, 2), (41, 3)])
def test_describe_service_deployments_asks_20_arns_a_call(ecs: Any, count: int, calls: int) -> None:
    client, stub = ecs
    arns = [f"{SD}{i}" for i in range(count)]
    for start in range(0, count, 20):
        batch = arns[start : start + 20]
        stub.add_response(
            "describe_service_deployments",
            {"serviceDeployments": [{"serviceDeploymentArn": arn} for arn in batch]},
            {"serviceDeploymentArns": batch},
        )

    assert [sd["serviceDeploymentArn"] for sd in ecs_api.describe_service_deployments(client, arns)] == arns


def test_describe_service_revisions_asks_each_revision_once_20_a_call(ecs: Any) -> None:
    client, stub = ecs
    arns = [f"{REVISION}{i:02d}" for i in range(21)]
    stub.add_response(
        "describe_service_revisions",
        {"serviceRevisions": [{"serviceRevisionArn": a, "taskDefinition": TASK} for a in arns[:20]]},
        {"serviceRevisionArns": arns[:20]},
    )
    stub.add_response(
        "describe_service_revisions", {"serviceRevisions": []}, {"serviceRevisionArns": arns[20:]}
    )

    assert len(ecs_api.describe_service_revisions(client, [*arns, *arns[:5]])) == 20


@pytest.mark.parametrize(
    ("answer", "raised"),
    [
        ({"serviceDeployments": [], "failures": [{"arn": SD, "reason": "MISSING"}]}, BadInputError),
        ("ServiceDeploymentNotFoundException", BadInputError),
        ("InvalidParameterException", BadInputError),
        ("AccessDeniedException", AwsError),
    ],
)
def test_one_unknown_service_deployment_is_bad_input(ecs: Any, answer: Any, raised: type) -> None:
    client, stub = ecs
    if isinstance(answer, dict):
        stub.add_response("describe_service_deployments", answer, {"serviceDeploymentArns": [SD]})
    else:
        stub.add_client_error("describe_service_deployments", answer, "no", 400)

    with pytest.raises(raised) as err:
        ecs_api.describe_service_deployment(client, SD)
    assert "\n" not in str(err.value)


def test_stop_sends_rollback_and_continue_names_the_hook(ecs: Any) -> None:
    client, stub = ecs
    stub.add_response(
        "stop_service_deployment",
        {"serviceDeploymentArn": SD},
        {"serviceDeploymentArn": SD, "stopType": "ROLLBACK"},
    )
    stub.add_response(
        "continue_service_deployment",
        {"serviceDeploymentArn": SD},
        {"serviceDeploymentArn": SD, "hookId": "h-7", "action": "CONTINUE"},
    )

    assert ecs_api.stop_service_deployment(client, SD, "ROLLBACK") == SD
    ecs_api.continue_service_deployment(client, SD, "h-7", "CONTINUE")


def test_update_service_once_sends_the_request_as_is_and_a_5xx_is_ambiguous(ecs: Any) -> None:
    client, stub = ecs
    request = {
        "cluster": "c",
        "service": "svc",
        "taskDefinition": TASK,
        "deploymentController": {"type": "ECS"},
        "deploymentConfiguration": {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0}},
    }
    stub.add_response(
        "update_service", {"service": {"serviceName": "svc", "currentServiceDeployment": SD}}, request
    )
    stub.add_client_error("update_service", "ServerException", "boom", 500, expected_params=request)
    stub.add_client_error("update_service", "ServiceNotActiveException", "gone", 400, expected_params=request)

    assert ecs_api.update_service_once(client, request)["currentServiceDeployment"] == SD
    with pytest.raises(ecs_api.AmbiguousUpdateError):
        ecs_api.update_service_once(client, request)
    with pytest.raises(BadInputError, match=r"^ECS service svc not found"):
        ecs_api.update_service_once(client, request)


@pytest.mark.parametrize(
    ("controller", "expected"), [({"type": "CODE_DEPLOY"}, "CODE_DEPLOY"), (None, "ECS")]
)
def test_deployment_controller(ecs: Any, controller: dict[str, str] | None, expected: str) -> None:
    client, stub = ecs
    service: dict[str, Any] = {"serviceName": "svc", "status": "ACTIVE"}
    if controller:
        service["deploymentController"] = controller
    stub.add_response("describe_services", {"services": [service]}, {"cluster": "c", "services": ["svc"]})

    assert ecs_api.deployment_controller(client, "c", "svc") == expected


LB = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:loadbalancer/app/alb/1"
LISTENER = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:listener/app/alb/1/2"
BLUE = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/svc-blue/1"
GREEN = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/svc-green/2"
OTHER = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/other-blue/3"


def _rule(arn: str, groups: dict[str, int], default: bool = False) -> dict[str, Any]:
    targets = [{"TargetGroupArn": g, "Weight": w} for g, w in groups.items()]
    return {
        "RuleArn": arn,
        "IsDefault": default,
        "Actions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": targets}}],
    }


def test_the_service_rule_is_the_non_default_one_forwarding_to_its_groups(elbv2: Any) -> None:
    client, stub = elbv2
    stub.add_response(
        "describe_listeners",
        {"Listeners": [{"ListenerArn": "other", "Port": 80}], "NextMarker": "m"},
        {"LoadBalancerArn": LB, "PageSize": 400},
    )
    stub.add_response(
        "describe_listeners",
        {"Listeners": [{"ListenerArn": LISTENER, "Port": 9080}]},
        {"LoadBalancerArn": LB, "PageSize": 400, "Marker": "m"},
    )
    stub.add_response(
        "describe_rules",
        {
            "Rules": [
                _rule("default", {BLUE: 1}, default=True),  # the default action: never the rule ECS moves
                _rule("other-service", {OTHER: 100}),
                _rule("ours", {BLUE: 100, GREEN: 0}),
            ]
        },
        {"ListenerArn": LISTENER, "PageSize": 400},
    )

    listener = elbv2_api.listener_arn(client, LB, 9080)
    rule = elbv2_api.service_rule(client, listener, [BLUE, GREEN])

    assert (listener, rule["RuleArn"]) == (LISTENER, "ours")
    assert elbv2_api.rule_forward_weights(rule) == {BLUE: 100, GREEN: 0}


def test_a_listener_without_the_services_rule_says_what_to_add(elbv2: Any) -> None:
    client, stub = elbv2
    stub.add_response("describe_rules", {"Rules": [_rule("default", {BLUE: 1}, default=True)]})

    with pytest.raises(AwsError, match="has no rule forwarding to the service's target groups"):
        elbv2_api.service_rule(client, LISTENER, [BLUE, GREEN])


def test_one_rule_is_read_by_its_arn(elbv2: Any) -> None:
    client, stub = elbv2
    stub.add_response("describe_rules", {"Rules": [_rule("ours", {GREEN: 100})]}, {"RuleArns": ["ours"]})
    stub.add_response("describe_rules", {"Rules": []}, {"RuleArns": ["gone"]})

    assert elbv2_api.describe_rule(client, "ours")["RuleArn"] == "ours"
    with pytest.raises(AwsError, match="rule gone not found"):
        elbv2_api.describe_rule(client, "gone")


def test_stopping_a_deployment_that_is_over_is_one_line_of_bad_input(ecs: Any) -> None:
    # ECS answers ConflictException when the service deployment can no longer be stopped (it ended):
    # exit 2 with ECS's reason, not an AWS error (exit 4).
    client, stub = ecs
    stub.add_client_error(
        "stop_service_deployment", "ConflictException", "The service deployment is SUCCESSFUL.", 400
    )

    with pytest.raises(BadInputError) as err:
        ecs_api.stop_service_deployment(client, SD, "ROLLBACK")
    assert str(err.value) == (
        f"service deployment {SD} cannot be stopped now: The service deployment is SUCCESSFUL."
    )
