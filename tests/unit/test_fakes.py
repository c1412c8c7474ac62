"""The fakes of tests/support/fakes.py speak AWS's vocabulary: each implements its Protocol, takes only
parameters botocore's input shape has, and answers only with members of the output shape. So a
logic test on a fake cannot pass on a name AWS would not send or accept."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from orchestrator.aws.cloudwatch import CloudWatchApi
from orchestrator.aws.deployment_groups import DeploymentGroupsApi
from orchestrator.aws.ecs import EcsApi
from orchestrator.aws.elbv2 import Elbv2Api
from orchestrator.aws.logs import LogsApi
from tests.support.fakes import FakeCloudWatch, FakeDeploymentGroups, FakeEcs, FakeElbv2, FakeLogs
from tests.support.fakes_native import InsightEcs

FAKES: list[tuple[type, type, str]] = [
    (FakeCloudWatch, CloudWatchApi, "cloudwatch"),
    (FakeElbv2, Elbv2Api, "elbv2"),
    (FakeDeploymentGroups, DeploymentGroupsApi, "codedeploy"),
    # InsightEcs: FakeEcs with the stopped tasks `inspect` reads (ListTasks, DescribeTasks)
    (InsightEcs, EcsApi, "ecs"),
    (FakeLogs, LogsApi, "logs"),
]
_session = botocore.session.get_session()


def operation(service: str, method: str) -> Any:
    model = _session.get_service_model(service)
    by_method = {xform_name(name): name for name in model.operation_names}
    return model.operation_model(by_method[method])


def unknown_members(value: Any, shape: Any, path: str = "") -> Iterator[str]:
    """Paths in ``value`` that ``shape`` does not define."""
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key not in shape.members:
                yield f"{path}{key}"
            else:
                yield from unknown_members(item, shape.members[key], f"{path}{key}.")
    elif shape.type_name == "list" and isinstance(value, list):
        for item in value:
            yield from unknown_members(item, shape.member, f"{path}[].")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            yield from unknown_members(item, shape.value, f"{path}{key}.")


def protocol_methods(protocol: type) -> list[str]:
    return [name for name in vars(protocol) if not name.startswith("_") and callable(getattr(protocol, name))]


@pytest.mark.parametrize(("fake", "protocol", "service"), FAKES, ids=[f[0].__name__ for f in FAKES])
def test_each_fake_takes_only_parameters_aws_defines(fake: type, protocol: type, service: str) -> None:
    methods = protocol_methods(protocol)
    assert methods and all(hasattr(fake, m) for m in methods)
    for method in methods + [m for m in vars(fake) if not m.startswith("_") and m not in methods]:
        if not callable(getattr(fake, method)) or method.startswith(("add_", "client")):
            continue
        try:
            input_shape = operation(service, method).input_shape
        except KeyError:
            continue  # a test helper, not an AWS operation
        named = [
            p.name
            for p in inspect.signature(getattr(fake, method)).parameters.values()
            if p.kind is p.KEYWORD_ONLY or (p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self")
        ]
        assert set(named) <= set(input_shape.members), f"{fake.__name__}.{method}"


def _cloudwatch() -> FakeCloudWatch:
    fake = FakeCloudWatch()
    fake.put_metric_alarm(AlarmName="a", Namespace="AWS/ECS", MetricName="CPUUtilization", Threshold=80.0)
    return fake


def _elbv2() -> FakeElbv2:
    fake = FakeElbv2()
    arn = fake.add_target_group("tg")
    balancer = fake.add_load_balancer("alb")
    fake.listeners["l"] = {"ListenerArn": "l", "Port": 80, "LoadBalancerArn": balancer, "DefaultActions": []}
    fake.health[arn] = [{"Target": {"Id": "10.0.0.1", "Port": 80}, "TargetHealth": {"State": "healthy"}}]
    return fake


def _codedeploy() -> FakeDeploymentGroups:
    fake = FakeDeploymentGroups()
    fake.create_application(applicationName="app", computePlatform="ECS")
    fake.create_deployment_group(
        applicationName="app",
        deploymentGroupName="g",
        alarmConfiguration={"enabled": True, "ignorePollAlarmFailure": False, "alarms": [{"name": "a"}]},
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]},
    )
    return fake


def _ecs() -> FakeEcs:
    fake = FakeEcs()
    fake.register_task_definition(family="svc", containerDefinitions=[])
    fake.services[("c", "svc")] = {"serviceName": "svc", "status": "ACTIVE", "taskDefinition": "x"}
    return fake


NATIVE_ARN = "arn:aws:ecs:ap-northeast-2:123456789012:service-deployment/c/svc/00000001"
REVISION_ARN = "arn:aws:ecs:ap-northeast-2:123456789012:service-revision/c/svc/00000001"


def _ecs_native() -> FakeEcs:
    fake = _ecs()
    arn = fake.add_service_deployment("c", "svc", TASK_DEFINITION, status="IN_PROGRESS")
    fake.service_deployments[arn]["lifecycleHookDetails"] = [
        {"hookId": "h-1", "targetType": "PAUSE", "status": "AWAITING_ACTION"}
    ]
    return fake


def _elbv2_rules() -> FakeElbv2:
    fake = _elbv2()
    group = fake.target_groups["tg"]
    forward = {
        "Type": "forward",
        "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": group, "Weight": 100}]},
    }
    fake.add_listener(fake.load_balancers["alb"]["LoadBalancerArn"], 80, [{"Actions": [forward]}])
    return fake


SVC = {"cluster": "c", "service": "svc"}
SD_ARN = {"serviceDeploymentArn": NATIVE_ARN}
ALB_ARN = _elbv2().load_balancers["alb"]["LoadBalancerArn"]


def _logs() -> FakeLogs:
    fake = FakeLogs()
    fake.events["/aws/lambda/fn"] = [{"message": "d-1 verdict", "timestamp": 5}]
    return fake


APP = {"applicationName": "app"}
APP_GROUP = {**APP, "deploymentGroupName": "g"}
TASK_DEFINITION = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/svc:1"
CALLS: list[tuple[str, Callable[[], Any], str, dict[str, Any]]] = [
    ("cloudwatch", _cloudwatch, "describe_alarms", {"AlarmNames": ["a"]}),
    ("elbv2", _elbv2, "describe_target_groups", {"Names": ["tg"]}),
    ("elbv2", _elbv2, "describe_load_balancers", {}),
    ("elbv2", _elbv2, "describe_listeners", {"ListenerArns": ["l"]}),
    ("elbv2", _elbv2, "describe_target_health", {"TargetGroupArn": _elbv2().target_groups["tg"]}),
    ("codedeploy", _codedeploy, "list_applications", {}),
    ("codedeploy", _codedeploy, "list_deployment_groups", {"applicationName": "app"}),
    ("codedeploy", _codedeploy, "batch_get_deployment_groups", {**APP, "deploymentGroupNames": ["g"]}),
    ("codedeploy", _codedeploy, "get_deployment_group", APP_GROUP),
    ("codedeploy", _codedeploy, "update_deployment_group", {**APP, "currentDeploymentGroupName": "g"}),
    ("ecs", _ecs, "register_task_definition", {"family": "svc", "containerDefinitions": []}),
    ("ecs", _ecs, "describe_services", {"cluster": "c", "services": ["svc", "gone"]}),
    ("ecs", _ecs, "describe_task_definition", {"taskDefinition": TASK_DEFINITION}),
    ("ecs", _ecs, "update_service", {"cluster": "c", "service": "svc", "taskDefinition": TASK_DEFINITION}),
    ("ecs", _ecs_native, "list_service_deployments", {**SVC, "status": ["IN_PROGRESS"]}),
    ("ecs", _ecs_native, "describe_service_deployments", {"serviceDeploymentArns": [NATIVE_ARN, "gone"]}),
    ("ecs", _ecs_native, "describe_service_revisions", {"serviceRevisionArns": [REVISION_ARN, "gone"]}),
    ("ecs", _ecs_native, "stop_service_deployment", SD_ARN),
    ("ecs", _ecs_native, "continue_service_deployment", {**SD_ARN, "hookId": "h-1"}),
    ("elbv2", _elbv2_rules, "describe_rules", {"ListenerArn": list(_elbv2_rules().listeners)[-1]}),
    ("elbv2", _elbv2_rules, "describe_listeners", {"LoadBalancerArn": ALB_ARN}),
    ("logs", _logs, "filter_log_events", {"logGroupName": "/aws/lambda/fn", "filterPattern": '"d-1"'}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("service", "make", "method", "request_"), CALLS, ids=[f"{c[0]}.{c[2]}" for c in CALLS]
)
def test_each_fake_answers_only_with_members_aws_defines(
    service: str, make: Callable[[], Any], method: str, request_: dict[str, Any]
) -> None:
    answer = getattr(make(), method)(**request_)

    assert answer is not None
    assert list(unknown_members(answer, operation(service, method).output_shape)) == []
