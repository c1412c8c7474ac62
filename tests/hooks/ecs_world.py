"""An Amazon ECS native deployment of product-service (dev) as the hooks see it, on the in-memory fakes
(tests/support/fakes.py) plus the two reads those lack (ECS DescribeServiceRevisions, ELBv2
DescribeRules), with real HTTP apps behind the production and test listeners.

The service's load balancer has ECS's ``advancedConfiguration`` (target group pair, one listener rule
per listener, as the sandbox provisions them: seam.md item 4); the target revision's
``resolvedConfiguration`` puts its tasks in the green target group. ``event(...)`` is the payload
ECS invokes a hook with (AWS, "Lifecycle hooks for Amazon ECS service deployments").
"""

from __future__ import annotations

from typing import Any

from tests.support.fakes import ACCOUNT, ELB_ARN, REGION, FakeClients, FakeEcs, FakeElbv2, client_error
from tests.support.hooks import SmokeApp

SERVICE = "product-service"
CLUSTER = "doa-market-cluster"
SERVICE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{SERVICE}"
DEPLOYMENT_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{CLUSTER}/{SERVICE}/Zq3kB9aWv1"
TARGET_REVISION = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/{CLUSTER}/{SERVICE}/4040404040"
SOURCE_REVISION = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/{CLUSTER}/{SERVICE}/3030303030"
BLUE, GREEN = f"{SERVICE}-blue", f"{SERVICE}-green"
ALARMS = [f"{SERVICE}-{kind}" for kind in ("5xx-errors", "high-latency", "unhealthy-hosts", "high-cpu")]
BALANCER = "doa-market-dev-alb"


class FakeEcsNative(FakeEcs):
    """FakeEcs plus DescribeServiceRevisions (revisions by ARN)."""

    def __init__(self, counter: Any = None) -> None:
        super().__init__(counter)
        self.revisions: dict[str, dict[str, Any]] = {}

    def describe_service_revisions(self, serviceRevisionArns: list[str]) -> dict[str, Any]:
        self._count("DescribeServiceRevisions")
        found = [dict(self.revisions[a]) for a in serviceRevisionArns if a in self.revisions]
        failures = [{"arn": a, "reason": "MISSING"} for a in serviceRevisionArns if a not in self.revisions]
        return {"serviceRevisions": found, "failures": failures}


class FakeElbv2Rules(FakeElbv2):
    """FakeElbv2 plus DescribeRules (rules by ARN; an unknown one fails the call, as ELBv2 does)."""

    def __init__(self, counter: Any = None) -> None:
        super().__init__(counter)
        self.rules: dict[str, dict[str, Any]] = {}

    def describe_rules(self, RuleArns: list[str]) -> dict[str, Any]:
        self._count("DescribeRules")
        if any(arn not in self.rules for arn in RuleArns):
            raise client_error("DescribeRules", "RuleNotFound", "One or more rules not found")
        return {"Rules": [dict(self.rules[arn]) for arn in RuleArns]}


class NativeFakes(FakeClients):
    """FakeClients whose ECS and ELBv2 fakes answer the native deployment reads too."""

    def __init__(self) -> None:
        super().__init__()
        self.ecs = FakeEcsNative(self.counter)
        self.elbv2 = FakeElbv2Rules(self.counter)
        self._by_name = {**self._by_name, "ecs": self.ecs, "elbv2": self.elbv2}


def _rule(elbv2: FakeElbv2Rules, listener_arn: str, port: int, balancer_arn: str, n: int) -> str:
    elbv2.listeners[listener_arn] = {
        "ListenerArn": listener_arn,
        "Port": port,
        "LoadBalancerArn": balancer_arn,
    }
    rule_arn = listener_arn.replace(":listener/", ":listener-rule/") + f"/{n:016x}"
    elbv2.rules[rule_arn] = {
        "RuleArn": rule_arn,
        "Priority": "1",
        "Conditions": [{"Field": "path-pattern", "Values": ["/*"]}],
        "Actions": [{"Type": "forward"}],
        "IsDefault": False,
    }
    return rule_arn


def native_world(production: SmokeApp, test: SmokeApp) -> NativeFakes:
    """product-service's service, revisions, target groups, listeners, rules and alarms (all OK);
    green has one healthy target; the listeners' ports are the apps'."""
    fakes = NativeFakes()
    elbv2 = fakes.elbv2
    blue_arn, green_arn = elbv2.add_target_group(BLUE), elbv2.add_target_group(GREEN)
    balancer_arn = elbv2.add_load_balancer(BALANCER)  # DNS name *.elb.amazonaws.com: conftest resolves it
    balancer_path = balancer_arn.split(":loadbalancer/", 1)[1]
    production_rule = _rule(
        elbv2, f"{ELB_ARN}:listener/{balancer_path}/00000000000000aa", production.port, balancer_arn, 1
    )
    test_rule = _rule(
        elbv2, f"{ELB_ARN}:listener/{balancer_path}/00000000000000bb", test.port, balancer_arn, 2
    )
    set_green_health(fakes, "healthy")
    fakes.ecs.services[(CLUSTER, SERVICE)] = {
        "serviceArn": SERVICE_ARN,
        "serviceName": SERVICE,
        "desiredCount": 1,
        "loadBalancers": [
            {
                "targetGroupArn": blue_arn,
                "containerName": SERVICE,
                "containerPort": 8080,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": green_arn,
                    "productionListenerRule": production_rule,
                    "testListenerRule": test_rule,
                    "roleArn": f"arn:aws:iam::{ACCOUNT}:role/doa-market-dev-ecs-infrastructure",
                },
            }
        ],
    }
    fakes.ecs.revisions[TARGET_REVISION] = {
        "serviceRevisionArn": TARGET_REVISION,
        "serviceArn": SERVICE_ARN,
        "resolvedConfiguration": {
            "loadBalancers": [{"targetGroupArn": green_arn, "productionListenerRule": production_rule}]
        },
    }
    for name in ALARMS:
        fakes.cloudwatch.put_metric_alarm(AlarmName=name)
    return fakes


def set_green_health(fakes: NativeFakes, *states: str) -> None:
    arn = fakes.elbv2.target_groups[GREEN]
    fakes.elbv2.health[arn] = [
        {"Target": {"Id": f"10.0.1.{i}", "Port": 8080}, "TargetHealth": {"State": state}}
        for i, state in enumerate(states, start=1)
    ]


def event(
    stage: str, execution_id: str = "exec-0001", hook_details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The payload ECS invokes a Lambda hook with at ``stage``."""
    weights = {TARGET_REVISION: 100, SOURCE_REVISION: 0}
    payload: dict[str, Any] = {
        "executionId": execution_id,
        "lifecycleStage": stage,
        "resourceArn": DEPLOYMENT_ARN,
        "executionDetails": {
            "serviceArn": SERVICE_ARN,
            "targetServiceRevisionArn": TARGET_REVISION,
            "testTrafficWeights": weights if stage == "POST_TEST_TRAFFIC_SHIFT" else {},
            "productionTrafficWeights": {},
        },
    }
    if hook_details is not None:
        payload["hookDetails"] = hook_details
    return payload
