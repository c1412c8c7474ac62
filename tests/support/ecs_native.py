"""Helpers for the ECS native emulator's tests (sandbox/ecs_native/): a native service provisioned
through the emulator's endpoint over moto, scripted hooks, waits. pytest-free.

    with MotoServer() as moto_url, NativeWorld(moto_url, hooks=ScriptedNativeHooks()) as world:
        env = world.provision(strategy={"strategy": "CANARY", ...}, hooks=[...])
        arn = world.deploy(env)                  # UpdateService with a new task definition
        world.wait(arn, {"SUCCESSFUL"})          # DescribeServiceDeployments until then
        world.rule_weights(env.production_rule)  # {"<svc>-blue": 0, "<svc>-green": 100}

What ``provision`` creates in moto (names carry a random suffix): a VPC, two subnets, an ALB with a
production and a test listener, each with the rule of seam.md item 4 (priority 1, path-pattern
/*, forward blue 100 / green 0), two target groups, a cluster, a task definition, alarms (OK), and
the service by CreateService through the emulator (deploymentController ECS, the given
deploymentConfiguration, loadBalancers with advancedConfiguration).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.clock import VirtualClock
from sandbox.ecs_native import NativeEcs
from tests.support.emulator import REGION, client

ROLE = "arn:aws:iam::123456789012:role/ecs-infrastructure"
HOOK_ROLE = "arn:aws:iam::123456789012:role/ecs-hooks"


def lambda_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:123456789012:function:{name}"


@dataclass(frozen=True)
class NativeEnv:
    cluster: str
    service: str
    service_arn: str
    family: str
    task_definition_arn: str
    blue: str
    green: str
    tg_arns: dict[str, str]
    production_rule: str
    test_rule: str
    alarm_names: tuple[str, ...]


Answer = dict[str, Any] | Exception


@dataclass
class ScriptedNativeHooks:
    """A fake ``invoke``: answers by the function name's last part, from a script of answers (the
    last one repeats; an Exception is raised as a function error); SUCCEEDED when unscripted.
    Every call is recorded (function, payload copy)."""

    script: dict[str, list[Answer]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, function: str, payload: dict[str, Any]) -> dict[str, Any]:
        name = function.split(":")[-1]
        with self._lock:
            self.calls.append((name, _copy(payload)))
            answers = self.script.get(name) or [{"hookStatus": "SUCCEEDED"}]
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def stages(self, function: str | None = None) -> list[str]:
        with self._lock:
            return [p["lifecycleStage"] for n, p in self.calls if function in (None, n)]


def _copy(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)


class NativeWorld:
    """moto + a NativeEcs on a fast VirtualClock; boto3 clients on the emulator's URL."""

    def __init__(
        self,
        moto_url: str,
        hooks: Callable[[str, dict[str, Any]], dict[str, Any]],
        time_scale: float = 600.0,
        alarm_poll_seconds: float = 60.0,
    ) -> None:
        self.moto_url = moto_url
        self.clock = VirtualClock(time_scale)
        self._moto: dict[str, Any] = {}
        self.elbv2 = self.moto("elbv2")
        self.cloudwatch = self.moto("cloudwatch")
        self.native = NativeEcs(
            moto_url=moto_url,
            clock=self.clock,
            invoke=hooks,
            elbv2=self.elbv2,
            cloudwatch=self.cloudwatch,
            alarm_poll_seconds=alarm_poll_seconds,
        )
        self.ecs: Any = None

    def moto(self, service: str) -> Any:
        """A boto3 client on moto, made once (a client costs ~0.5 s to make: most of a test's time)."""
        if service not in self._moto:
            self._moto[service] = client(service, self.moto_url)
        return self._moto[service]

    def register(self, family: str, image: str = "app:v1") -> str:
        """A Fargate task definition (container cpu/memory, as tests/support/emulator.py's); its ARN."""
        container = {
            "name": "app",
            "image": image,
            "essential": True,
            "cpu": 256,
            "memory": 512,
            "portMappings": [{"containerPort": 3003, "protocol": "tcp"}],
        }
        found = self.moto("ecs").register_task_definition(
            family=family,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[container],
        )
        return str(found["taskDefinition"]["taskDefinitionArn"])

    def __enter__(self) -> NativeWorld:
        url = self.native.start()
        self.ecs = client("ecs", url)
        return self

    def __exit__(self, *exc: object) -> None:
        self.native.stop()

    # --- provisioning -------------------------------------------------------------------------------

    def provision(
        self,
        config: dict[str, Any] | None = None,
        alarms: tuple[str, ...] = (),
        desired_count: int = 2,
        create: bool = True,
    ) -> NativeEnv:
        name = f"svc-{secrets.token_hex(3)}"
        ec2, elbv2 = self.moto("ec2"), self.elbv2
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")[
                "Subnet"
            ]["SubnetId"]
            for i, z in ((1, "a"), (2, "c"))
        ]
        blue, green = f"{name}-blue", f"{name}-green"
        tg_arns = {
            tg: elbv2.create_target_group(Name=tg, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")[
                "TargetGroups"
            ][0]["TargetGroupArn"]
            for tg in (blue, green)
        }
        lb = elbv2.create_load_balancer(Name=f"{name}-alb", Subnets=subnets)["LoadBalancers"][0][
            "LoadBalancerArn"
        ]
        rules = {}
        for kind, port in (("production", 80), ("test", 8080)):
            listener = elbv2.create_listener(
                LoadBalancerArn=lb,
                Protocol="HTTP",
                Port=port,
                DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
            )["Listeners"][0]["ListenerArn"]
            rules[kind] = elbv2.create_rule(
                ListenerArn=listener,
                Priority=1,
                Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
                Actions=[_forward({tg_arns[blue]: 100, tg_arns[green]: 0})],
            )["Rules"][0]["RuleArn"]
        cluster = f"{name}-cluster"
        self.moto("ecs").create_cluster(clusterName=cluster)
        definition = self.register(name)
        alarm_names = tuple(f"{name}-{kind}" for kind in alarms)
        for alarm in alarm_names:  # one 5xx in a minute; tests set their state
            self.cloudwatch.put_metric_alarm(
                AlarmName=alarm,
                MetricName="HTTPCode_Target_5XX_Count",
                Namespace="AWS/ApplicationELB",
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=1.0,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
            )
            self.cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="provisioned")
        env = NativeEnv(
            cluster=cluster,
            service=name,
            service_arn="",
            family=name,
            task_definition_arn=definition,
            blue=blue,
            green=green,
            tg_arns=tg_arns,
            production_rule=rules["production"],
            test_rule=rules["test"],
            alarm_names=alarm_names,
        )
        if not create:
            return env
        service = self.ecs.create_service(
            cluster=cluster,
            serviceName=name,
            taskDefinition=definition,
            desiredCount=desired_count,
            deploymentController={"type": "ECS"},
            deploymentConfiguration=config or {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0},
            loadBalancers=self.load_balancers(env),
        )["service"]
        return NativeEnv(**{**env.__dict__, "service_arn": service["serviceArn"]})

    def load_balancers(self, env: NativeEnv) -> list[dict[str, Any]]:
        return [
            {
                "targetGroupArn": env.tg_arns[env.blue],
                "containerName": "app",
                "containerPort": 3003,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": env.tg_arns[env.green],
                    "productionListenerRule": env.production_rule,
                    "testListenerRule": env.test_rule,
                    "roleArn": ROLE,
                },
            }
        ]

    # --- acting and reading -------------------------------------------------------------------------

    def deploy(self, env: NativeEnv, config: dict[str, Any] | None = None, image: str = "app:v2") -> str:
        """UpdateService with a new task definition; returns the new service deployment's ARN."""
        definition = self.register(env.family, image=image)
        extra = {"deploymentConfiguration": config} if config else {}
        self.ecs.update_service(cluster=env.cluster, service=env.service, taskDefinition=definition, **extra)
        return self.latest(env)["serviceDeploymentArn"]

    def latest(self, env: NativeEnv) -> dict[str, Any]:
        found = self.ecs.list_service_deployments(cluster=env.cluster, service=env.service)[
            "serviceDeployments"
        ]
        return dict(found[0])

    def describe(self, arn: str) -> dict[str, Any]:
        return dict(
            self.ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]
        )

    def wait(
        self, arn: str, until: Callable[[dict[str, Any]], bool] | set[str], real_timeout: float = 30.0
    ) -> dict[str, Any]:
        """DescribeServiceDeployments every 20 ms until ``until`` (a predicate or a set of statuses)."""
        check = until if callable(until) else (lambda d: d["status"] in until)
        deadline = time.monotonic() + real_timeout
        while True:
            found = self.describe(arn)
            if check(found):
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out waiting; last: {found['status']} {found.get('lifecycleStage')}"
                )
            time.sleep(0.02)

    def rule_weights(self, env: NativeEnv, rule_arn: str) -> dict[str, int]:
        """A rule's forward weights by target group name."""
        names = {arn: name for name, arn in env.tg_arns.items()}
        action = self.elbv2.describe_rules(RuleArns=[rule_arn])["Rules"][0]["Actions"][0]
        return {names[g["TargetGroupArn"]]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]}

    def running(self, env: NativeEnv) -> dict[str, str]:
        """task_sets(...) as target group name -> status."""
        names = {arn: name for name, arn in env.tg_arns.items()}
        return {
            names[t["loadBalancers"][0]["targetGroupArn"]]: t["status"]
            for t in self.native.task_sets(env.cluster, env.service)
        }


def _forward(weights: dict[str, int]) -> dict[str, Any]:
    groups = [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights.items()]
    return {"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}


def lambda_hook(name: str, *stages: str, details: Any = None) -> dict[str, Any]:
    hook: dict[str, Any] = {
        "hookTargetArn": lambda_arn(name),
        "roleArn": HOOK_ROLE,
        "lifecycleStages": list(stages),
        "targetType": "AWS_LAMBDA",
    }
    if details is not None:
        hook["hookDetails"] = details
    return hook


def pause_hook(stage: str, minutes: int = 10, action: str = "ROLLBACK") -> dict[str, Any]:
    return {
        "targetType": "PAUSE",
        "lifecycleStages": [stage],
        "timeoutConfiguration": {"timeoutInMinutes": minutes, "action": action},
    }
