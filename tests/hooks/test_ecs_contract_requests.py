"""The ECS contract's reads as AWS sees them: each request, and each answer it is given, checked by
botocore's Stubber against the ECS and ELBv2 service models (the in-memory fakes of
test_ecs_contract.py accept any keyword; these do not)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from hooks.native_context import NativeHookContext
from hooks.native_event import parse_native_event
from hooks.service_view import ServiceView, record_of
from hooks.timing import Deadline, VirtualTime
from orchestrator.catalog import load_catalog
from tests.hooks.ecs_world import CLUSTER, SERVICE, SERVICE_ARN, TARGET_REVISION, event

ELB = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012"
BLUE = f"{ELB}:targetgroup/product-service-blue/0000000000000001"
GREEN = f"{ELB}:targetgroup/product-service-green/0000000000000002"
LISTENER = f"{ELB}:listener/app/doa-market-dev-alb/50dc6c495c0c9188/f2f7dc8efc522ab2"
TEST_RULE = LISTENER.replace(":listener/", ":listener-rule/") + "/9683b2d02a6cabee"
BALANCER = f"{ELB}:loadbalancer/app/doa-market-dev-alb/50dc6c495c0c9188"


def client(name: str) -> Any:
    return boto3.client(name, region_name="ap-northeast-2", aws_access_key_id="x", aws_secret_access_key="x")


def service_answer() -> dict[str, Any]:
    return {
        "services": [
            {
                "serviceArn": SERVICE_ARN,
                "serviceName": SERVICE,
                "desiredCount": 2,
                "loadBalancers": [
                    {
                        "targetGroupArn": BLUE,
                        "containerName": SERVICE,
                        "containerPort": 8080,
                        "advancedConfiguration": {
                            "alternateTargetGroupArn": GREEN,
                            "productionListenerRule": TEST_RULE.replace("9683", "1111"),
                            "testListenerRule": TEST_RULE,
                            "roleArn": "arn:aws:iam::123456789012:role/doa-market-dev-ecs-infrastructure",
                        },
                    }
                ],
            }
        ],
        "failures": [],
    }


@pytest.fixture
def context(repo_root: Any) -> tuple[NativeHookContext, dict[str, Any]]:
    clients = {"ecs": client("ecs"), "elbv2": client("elbv2")}
    view = ServiceView.from_record(
        record_of(load_catalog(repo_root / "services.yaml").resolve(SERVICE, "dev"))
    )
    ctx = NativeHookContext(
        "AfterInstall",
        parse_native_event(event("POST_SCALE_UP")),
        view,
        Deadline.from_remaining(30_000),
        VirtualTime(),
        client=clients.__getitem__,
    )
    return ctx, clients


def test_green_reads_the_service_then_the_target_revision(context: Any) -> None:
    ctx, clients = context
    with Stubber(clients["ecs"]) as ecs:
        ecs.add_response("describe_services", service_answer(), {"cluster": CLUSTER, "services": [SERVICE]})
        ecs.add_response(
            "describe_service_revisions",
            {
                "serviceRevisions": [
                    {
                        "serviceRevisionArn": TARGET_REVISION,
                        "resolvedConfiguration": {"loadBalancers": [{"targetGroupArn": GREEN}]},
                    }
                ],
                "failures": [],
            },
            {"serviceRevisionArns": [TARGET_REVISION]},
        )

        green = ctx.replacement

        ecs.assert_no_pending_responses()
    assert (green.target_group, green.desired_count) == ("product-service-green", 2)


def test_the_test_listener_is_the_one_of_the_services_test_rule(context: Any) -> None:
    ctx, clients = context
    with Stubber(clients["ecs"]) as ecs, Stubber(clients["elbv2"]) as elbv2:
        ecs.add_response("describe_services", service_answer(), {"cluster": CLUSTER, "services": [SERVICE]})
        elbv2.add_response(
            "describe_rules",
            {"Rules": [{"RuleArn": TEST_RULE, "Priority": "1", "IsDefault": False}]},
            {"RuleArns": [TEST_RULE]},
        )
        elbv2.add_response(
            "describe_listeners",
            {"Listeners": [{"ListenerArn": LISTENER, "Port": 9080, "LoadBalancerArn": BALANCER}]},
            {"ListenerArns": [LISTENER]},
        )

        listener = ctx.route_listener("test")

        ecs.assert_no_pending_responses()
        elbv2.assert_no_pending_responses()
    assert (listener.port, listener.load_balancer_arn) == (9080, BALANCER)
