"""The emulator's pure decisions, as tables: traffic schedules, lifecycle order, how a deployment ends,
AppSpec parsing and custom config rules."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from sandbox.codedeploy import lifecycle
from sandbox.codedeploy.appspec import network_configuration_for_ecs, parse_appspec
from sandbox.codedeploy.configs import PREDEFINED_TRAFFIC, check_traffic_routing
from sandbox.codedeploy.errors import ApiError
from sandbox.codedeploy.lifecycle import EndCause, decide_ending
from sandbox.codedeploy.model import DeploymentStatus
from sandbox.codedeploy.traffic import TrafficStep, percent_at, split_weights, traffic_schedule

CANARY_10_5 = {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 5}}
LINEAR_10_1 = {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 1}}
LINEAR_30_3 = {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 30, "linearInterval": 3}}


@pytest.mark.parametrize(
    ("routing", "expected"),
    [
        (None, [TrafficStep(0, 100)]),
        ({"type": "AllAtOnce"}, [TrafficStep(0, 100)]),
        (CANARY_10_5, [TrafficStep(0, 10), TrafficStep(300, 100)]),
        (LINEAR_10_1, [TrafficStep(60 * k, 10 * (k + 1)) for k in range(10)]),
        (
            LINEAR_30_3,
            [TrafficStep(0, 30), TrafficStep(180, 60), TrafficStep(360, 90), TrafficStep(540, 100)],
        ),
    ],
)
def test_traffic_schedule(routing: dict[str, Any] | None, expected: list[TrafficStep]) -> None:
    assert traffic_schedule(routing) == expected


@pytest.mark.parametrize(
    ("routing", "elapsed", "percent"),
    [
        (CANARY_10_5, 0, 10),
        (CANARY_10_5, 299.9, 10),
        (CANARY_10_5, 300, 100),
        (LINEAR_10_1, 0, 10),
        (LINEAR_10_1, 61, 20),
        (LINEAR_10_1, 539, 90),
        (LINEAR_10_1, 540, 100),
        (None, 0, 100),
    ],
)
def test_percent_at(routing: dict[str, Any] | None, elapsed: float, percent: int) -> None:
    assert percent_at(traffic_schedule(routing), elapsed) == percent


def test_every_predefined_config_ends_at_100_percent() -> None:
    for _, routing in PREDEFINED_TRAFFIC.values():
        steps = traffic_schedule(routing)
        assert steps[-1].percent == 100
        assert [s.percent for s in steps] == sorted(s.percent for s in steps)


def test_split_weights_keeps_both_groups() -> None:
    assert split_weights("blue", "green", 10) == {"blue": 90, "green": 10}
    assert split_weights("blue", "green", 100) == {"blue": 0, "green": 100}


@pytest.mark.parametrize(
    ("platform", "current", "following"),
    [
        ("ECS", None, "BeforeInstall"),
        ("ECS", "Install", "AfterInstall"),
        ("ECS", "AfterInstall", "AllowTestTraffic"),
        ("ECS", "AfterAllowTestTraffic", "BeforeAllowTraffic"),
        ("ECS", "AfterAllowTraffic", "BeforeBlockTraffic"),
        ("ECS", "AfterBlockTraffic", None),
        ("Lambda", None, "BeforeAllowTraffic"),
        ("Lambda", "AllowTraffic", "AfterAllowTraffic"),
        ("Lambda", "AfterAllowTraffic", None),
    ],
)
def test_next_event(platform: str, current: str | None, following: str | None) -> None:
    assert lifecycle.next_event(platform, current) == following


ALL_EVENTS = {
    "enabled": True,
    "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"],
}
FAILURE_ONLY = {"enabled": True, "events": ["DEPLOYMENT_FAILURE"]}
DISABLED = {"enabled": False, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}


@pytest.mark.parametrize(
    ("cause", "auto_rollback", "stop_rollback", "status", "code", "roll_back"),
    [
        (EndCause.HOOK_FAILED, ALL_EVENTS, None, DeploymentStatus.FAILED, "HOOK_EXECUTION_FAILURE", True),
        (EndCause.HOOK_FAILED, DISABLED, None, DeploymentStatus.FAILED, "HOOK_EXECUTION_FAILURE", False),
        (EndCause.HOOK_FAILED, None, None, DeploymentStatus.FAILED, "HOOK_EXECUTION_FAILURE", False),
        (EndCause.ALARM, ALL_EVENTS, None, DeploymentStatus.STOPPED, "ALARM_ACTIVE", True),
        (EndCause.ALARM, FAILURE_ONLY, None, DeploymentStatus.STOPPED, "ALARM_ACTIVE", False),
        (EndCause.MANUAL_STOP, None, True, DeploymentStatus.STOPPED, "MANUAL_STOP", True),
        (EndCause.MANUAL_STOP, ALL_EVENTS, False, DeploymentStatus.STOPPED, "MANUAL_STOP", False),
        (EndCause.MANUAL_STOP, ALL_EVENTS, None, DeploymentStatus.STOPPED, "MANUAL_STOP", True),
        (EndCause.MANUAL_STOP, FAILURE_ONLY, None, DeploymentStatus.STOPPED, "MANUAL_STOP", False),
        (EndCause.READY_TIMEOUT, None, None, DeploymentStatus.STOPPED, "TIMEOUT", False),
        (EndCause.AWS_ERROR, ALL_EVENTS, None, DeploymentStatus.FAILED, "ECS_UPDATE_ERROR", True),
    ],
)
def test_decide_ending(
    cause: EndCause,
    auto_rollback: dict[str, Any] | None,
    stop_rollback: bool | None,
    status: DeploymentStatus,
    code: str,
    roll_back: bool,
) -> None:
    ending = decide_ending(cause, auto_rollback, stop_rollback)
    assert (ending.status, ending.error_code, ending.roll_back) == (status, code, roll_back)


@pytest.mark.parametrize(
    ("bg", "ready", "termination"),
    [
        (None, None, 0.0),
        ({"deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"}}, None, 0.0),
        (
            {
                "deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 30},
                "terminateBlueInstancesOnDeploymentSuccess": {
                    "action": "TERMINATE",
                    "terminationWaitTimeInMinutes": 5,
                },
            },
            1800.0,
            300.0,
        ),
    ],
)
def test_waits(bg: dict[str, Any] | None, ready: float | None, termination: float) -> None:
    assert lifecycle.ready_wait_seconds(bg) == ready
    assert lifecycle.termination_wait_seconds(bg) == termination


@pytest.mark.parametrize(
    ("config", "firing", "blocks"),
    [
        ({"enabled": True, "alarms": [{"name": "a"}]}, ["a"], True),
        ({"enabled": True, "alarms": [{"name": "a"}]}, [], False),
        ({"enabled": False, "alarms": [{"name": "a"}]}, ["a"], False),
        (None, ["a"], False),
    ],
)
def test_alarm_blocks(config: dict[str, Any] | None, firing: list[str], blocks: bool) -> None:
    assert lifecycle.alarm_blocks(config, firing) is blocks


ECS_YAML = """
version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product:3"
        LoadBalancerInfo:
          ContainerName: "app"
          ContainerPort: 3003
        NetworkConfiguration:
          AwsvpcConfiguration:
            Subnets: ["subnet-1"]
            SecurityGroups: ["sg-1"]
            AssignPublicIp: "DISABLED"
Hooks:
  - BeforeInstall: "bluegreen-dev-BeforeInstall"
  - AfterAllowTestTraffic: "arn:aws:lambda:ap-northeast-2:123456789012:function:smoke"
"""


def test_parse_ecs_appspec() -> None:
    spec = parse_appspec(ECS_YAML, "ECS")
    assert spec.ecs is not None
    assert spec.ecs.task_definition.endswith("product:3")
    assert (spec.ecs.container_name, spec.ecs.container_port) == ("app", 3003)
    assert spec.hooks == {
        "BeforeInstall": "bluegreen-dev-BeforeInstall",
        "AfterAllowTestTraffic": "arn:aws:lambda:ap-northeast-2:123456789012:function:smoke",
    }
    assert network_configuration_for_ecs(spec.ecs.network_configuration) == {
        "awsvpcConfiguration": {
            "subnets": ["subnet-1"],
            "securityGroups": ["sg-1"],
            "assignPublicIp": "DISABLED",
        }
    }


@pytest.mark.parametrize(
    ("content", "platform"),
    [
        ("{not yaml: [", "ECS"),
        ("just a string", "ECS"),
        ("Resources: []", "ECS"),
        ("Resources:\n  - x:\n      Type: AWS::Lambda::Function\n      Properties: {Name: f}", "ECS"),
        ("Resources:\n  - x:\n      Type: AWS::ECS::Service\n      Properties: {TaskDefinition: td}", "ECS"),
        (
            "Resources:\n  - x:\n      Type: AWS::Lambda::Function\n      Properties: {Name: f, Alias: a}",
            "Lambda",
        ),
    ],
)
def test_invalid_appspec_is_invalid_revision(content: str, platform: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_appspec(content, platform)
    assert caught.value.code == "InvalidRevisionException"


def _ecs_doc(**changes: Any) -> dict[str, Any]:
    """A valid ECS AppSpec as data; ``changes`` replace Properties members."""
    props: dict[str, Any] = {
        "TaskDefinition": "td",
        "LoadBalancerInfo": {"ContainerName": "app", "ContainerPort": 80},
    }
    props.update(changes)
    return {"Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": props}}]}


def _with_hook(prefix: str, hook: str) -> str:
    resources = json.dumps(_ecs_doc()["Resources"])
    return f"{prefix}\nResources: {resources}\nHooks: [{{BeforeInstall: {hook}}}]\n"


def _alias_bomb(levels: int, fan_out: int) -> str:
    """The billion-laughs shape: each level lists the previous one ``fan_out`` times (a few KB)."""
    lines = ["a0: &a0 [lol]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * fan_out)}]")
    return _with_hook("\n".join(lines), f"*a{levels - 1}")


def _doubling_bomb(levels: int) -> str:
    """Few aliases (2 a level), 2**levels values once expanded."""
    lines = ["d0: &d0 [x, x]"] + [f"d{i}: &d{i} [*d{i - 1}, *d{i - 1}]" for i in range(1, levels)]
    return _with_hook("\n".join(lines), f"*d{levels - 1}")


def _two_resources_in_one_item() -> str:
    doc = _ecs_doc()
    doc["Resources"][0]["Other"] = {"Type": "AWS::ECS::Service", "Properties": {}}
    return json.dumps(doc)


def _lb(port: Any) -> str:
    return json.dumps(_ecs_doc(LoadBalancerInfo={"ContainerName": "app", "ContainerPort": port}))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (_two_resources_in_one_item(), "names one resource"),
        ("Resources: " + "[" * 5000 + "]" * 5000, "nested deeper"),
        ("".join(f"{'  ' * i}k{i}:\n" for i in range(200)) + "  " * 200 + "x", "nested deeper"),
        ('{"Resources": ' + "[" * 5000 + "]" * 5000 + "}", "nested deeper"),
        (_alias_bomb(9, 9), "aliases"),
        (_doubling_bomb(24), "once aliases are expanded"),
        (json.dumps(_ecs_doc(LoadBalancerInfo=["app", 80])), "LoadBalancerInfo"),
        (_lb(1e400).replace("Infinity", ".inf"), "ContainerPort"),
        (_lb(0), "ContainerPort"),
        (json.dumps(_ecs_doc(NetworkConfiguration="x")), "NetworkConfiguration"),
        (json.dumps(_ecs_doc(CapacityProviderStrategy=[1])), "CapacityProviderStrategy"),
        (_with_hook("", "{a: b}"), "each hook"),
        (_lb("1" * 5000).replace('"1', "1").replace('1"', "1"), "cannot be read"),
    ],
)
def test_hostile_appspec_is_invalid_revision_quickly(content: str, reason: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ApiError) as caught:
        parse_appspec(content, "ECS")
    assert caught.value.code == "InvalidRevisionException"
    assert reason in caught.value.message
    assert time.perf_counter() - started < 2.0


def test_appspec_bounds_leave_room_for_real_documents() -> None:
    assert parse_appspec(json.dumps(_ecs_doc()), "ECS").ecs is not None
    assert parse_appspec(ECS_YAML, "ECS").ecs is not None
    assert parse_appspec(_with_hook("x: &x fn", "*x"), "ECS").hooks == {"BeforeInstall": "fn"}


@pytest.mark.parametrize(
    ("routing", "valid"),
    [
        (None, True),
        ({"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 25, "canaryInterval": 2}}, True),
        (
            {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 100, "canaryInterval": 2}},
            False,
        ),
        (
            {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 20, "linearInterval": 0}},
            False,
        ),
        ({"type": "TimeBasedLinear"}, False),
    ],
)
def test_custom_traffic_routing_rules(routing: dict[str, Any] | None, valid: bool) -> None:
    if valid:
        assert check_traffic_routing(routing, "ECS")["type"] in ("AllAtOnce", "TimeBasedCanary")
    else:
        with pytest.raises(ApiError) as caught:
            check_traffic_routing(routing, "ECS")
        assert caught.value.code == "InvalidTrafficRoutingConfigurationException"
