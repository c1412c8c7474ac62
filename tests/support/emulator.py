"""Helpers to run ECS (and Lambda) deployments against the CodeDeploy emulator over moto. pytest-free.

Typical use (any test, script or command under test):

    from sandbox.moto_server import MotoServer
    from sandbox.codedeploy import CodeDeployEmulator
    from tests.support.emulator import provision_ecs_service, EcsServiceSpec, ecs_appspec

    with MotoServer() as moto_url, CodeDeployEmulator(aws_endpoint=moto_url, time_scale=600) as cd_url:
        env = provision_ecs_service(moto_url, cd_url, EcsServiceSpec(service="product"))
        # env.application, env.deployment_group, env.cluster, env.service, env.task_definition_arn,
        # env.prod_listener_arn, env.test_listener_arn, env.target_groups ("<svc>-blue", "<svc>-green"),
        # env.target_group_arns, env.alarm_names, env.container_name, env.container_port ...
        new_td = register_task_definition(moto_url, env.family, image="app:v2")
        codedeploy = client("codedeploy", cd_url)
        deployment_id = codedeploy.create_deployment(
            applicationName=env.application, deploymentGroupName=env.deployment_group,
            revision=appspec_revision(ecs_appspec(new_td, env.container_name, env.container_port)),
        )["deploymentId"]
        production_weights(moto_url, env)  # {"product-blue": 100, "product-green": 0} ...

What provision_ecs_service creates (names carry a random suffix unless ``suffix`` is given, so many
services fit in one moto):
- moto: a VPC with two subnets and a security group, an ECS cluster, a Fargate task definition
  (containers with cpu/memory: moto needs them to create task sets), an ECS service with the CODE_DEPLOY
  deployment controller and a PRIMARY task set (scale 0: moto 5.2.5 crashes launching awsvpc tasks),
  an ALB with a production listener (forwarding 100 % to the blue target group) and a test listener,
  two target groups, and optionally CloudWatch alarms (state OK).
- the emulator: an ECS application and a deployment group over all of that, with the deployment config,
  alarm configuration, auto rollback, termination wait and ready option from the spec.

Also: ``validate_output(operation, body)`` checks a response against botocore's output shape
(strict: unknown members, missing required members, types, enums) and returns the problems.
"""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.codedeploy import CodeDeployEmulator

EmulatorFactory = Callable[..., "CodeDeployEmulator"]
"""``start_emulator(**CodeDeployEmulator kwargs) -> CodeDeployEmulator`` (the emulator tests' fixture)."""

REGION = "ap-northeast-2"
ALL_ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST")


def client(service: str, endpoint: str, region: str = REGION, retries: int = 1) -> Any:
    """A boto3 client for the emulator or moto (fake credentials; few retries so errors surface)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": retries}, read_timeout=30),
    )


@dataclass(frozen=True)
class EcsServiceSpec:
    """What to provision; defaults give an all-at-once group with auto rollback and no waits."""

    service: str = "product"
    suffix: str | None = None
    port: int = 3003
    desired_count: int = 2
    deployment_config: str = "CodeDeployDefault.ECSAllAtOnce"
    termination_wait_minutes: int = 0
    ready_wait_minutes: int | None = None  # STOP_DEPLOYMENT with this wait when set
    alarms: tuple[str, ...] = ()  # alarm kinds, e.g. ("5xx",): alarms "<service>-<kind>" are created
    alarm_monitoring: bool = True
    auto_rollback_events: tuple[str, ...] = ALL_ROLLBACK_EVENTS
    test_listener: bool = True


@dataclass(frozen=True)
class EcsEnvironment:
    """Names and ARNs of everything provision_ecs_service made."""

    region: str
    application: str
    deployment_group: str
    cluster: str
    service: str
    service_arn: str
    family: str
    task_definition_arn: str
    container_name: str
    container_port: int
    load_balancer_arn: str
    prod_listener_arn: str
    test_listener_arn: str | None
    target_groups: tuple[str, str]
    target_group_arns: dict[str, str]
    subnets: tuple[str, ...]
    security_group: str
    alarm_names: tuple[str, ...] = field(default_factory=tuple)


def register_task_definition(
    moto_url: str, family: str, image: str = "app:v1", port: int = 3003, container_memory: bool = True
) -> str:
    """A Fargate task definition; returns its ARN.

    ``container_memory=False`` leaves cpu/memory at the task level only (the catalog's shape), on which
    moto 5.2.5 crashes whenever a task set is created with a ``scale``.
    """
    ecs = client("ecs", moto_url)
    container: dict[str, Any] = {
        "name": "app",
        "image": image,
        "essential": True,
        "portMappings": [{"containerPort": port, "protocol": "tcp"}],
    }
    if container_memory:
        container.update(cpu=256, memory=512)
    response = ecs.register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[container],
    )
    return str(response["taskDefinition"]["taskDefinitionArn"])


def provision_ecs_service(
    moto_url: str, codedeploy_url: str, spec: EcsServiceSpec | None = None
) -> EcsEnvironment:
    """Create one CODE_DEPLOY-controlled ECS service in moto and its deployment group in the emulator."""
    spec = spec or EcsServiceSpec()
    suffix = spec.suffix if spec.suffix is not None else secrets.token_hex(3)
    name = f"{spec.service}-{suffix}" if suffix else spec.service
    ec2, ecs, elbv2 = client("ec2", moto_url), client("ecs", moto_url), client("elbv2", moto_url)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = tuple(
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")[
            "Subnet"
        ]["SubnetId"]
        for i, zone in ((1, "a"), (2, "c"))
    )
    group_id = ec2.create_security_group(GroupName=f"{name}-sg", Description=name, VpcId=vpc)["GroupId"]
    cluster = f"{name}-cluster"
    ecs.create_cluster(clusterName=cluster)
    task_definition = register_task_definition(moto_url, name, port=spec.port)
    blue, green = f"{name}-blue"[:32], f"{name}-green"[:32]
    tg_arns = {
        tg: elbv2.create_target_group(
            Name=tg, Protocol="HTTP", Port=spec.port, VpcId=vpc, TargetType="ip", HealthCheckPath="/health"
        )["TargetGroups"][0]["TargetGroupArn"]
        for tg in (blue, green)
    }
    lb_arn = elbv2.create_load_balancer(
        Name=f"{name}-alb"[:32], Subnets=list(subnets), SecurityGroups=[group_id]
    )["LoadBalancers"][0]["LoadBalancerArn"]

    def listener(port: int) -> str:
        return str(
            elbv2.create_listener(
                LoadBalancerArn=lb_arn,
                Protocol="HTTP",
                Port=port,
                DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arns[blue]}],
            )["Listeners"][0]["ListenerArn"]
        )

    prod_listener = listener(80)
    test_listener = listener(8080) if spec.test_listener else None
    network = {"awsvpcConfiguration": {"subnets": list(subnets), "securityGroups": [group_id]}}
    service = ecs.create_service(
        cluster=cluster,
        serviceName=name,
        desiredCount=spec.desired_count,
        deploymentController={"type": "CODE_DEPLOY"},
        launchType="FARGATE",
        networkConfiguration=network,
    )["service"]
    primary = ecs.create_task_set(
        cluster=cluster,
        service=name,
        taskDefinition=task_definition,
        launchType="FARGATE",
        networkConfiguration=network,
        loadBalancers=[{"targetGroupArn": tg_arns[blue], "containerName": "app", "containerPort": spec.port}],
        scale={"unit": "PERCENT", "value": 0.0},
    )["taskSet"]
    ecs.update_service_primary_task_set(cluster=cluster, service=name, primaryTaskSet=primary["taskSetArn"])
    alarm_names = tuple(f"{name}-{kind}" for kind in spec.alarms)
    put_5xx_alarms(moto_url, alarm_names)
    cloudwatch = client("cloudwatch", moto_url)
    for alarm in alarm_names:
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="provisioned")
    application = f"app-{name}"
    codedeploy = client("codedeploy", codedeploy_url)
    codedeploy.create_application(applicationName=application, computePlatform="ECS")
    pair: dict[str, Any] = {
        "targetGroups": [{"name": blue}, {"name": green}],
        "prodTrafficRoute": {"listenerArns": [prod_listener]},
    }
    if test_listener:
        pair["testTrafficRoute"] = {"listenerArns": [test_listener]}
    ready = (
        {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": spec.ready_wait_minutes}
        if spec.ready_wait_minutes is not None
        else {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0}
    )
    codedeploy.create_deployment_group(
        applicationName=application,
        deploymentGroupName=name,
        deploymentConfigName=spec.deployment_config,
        serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy-ecs",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        ecsServices=[{"serviceName": name, "clusterName": cluster}],
        loadBalancerInfo={"targetGroupPairInfoList": [pair]},
        blueGreenDeploymentConfiguration={
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE",
                "terminationWaitTimeInMinutes": spec.termination_wait_minutes,
            },
            "deploymentReadyOption": ready,
        },
        alarmConfiguration={
            "enabled": bool(alarm_names) and spec.alarm_monitoring,
            "alarms": [{"name": a} for a in alarm_names],
        },
        autoRollbackConfiguration={
            "enabled": bool(spec.auto_rollback_events),
            "events": list(spec.auto_rollback_events),
        },
    )
    return EcsEnvironment(
        region=REGION,
        application=application,
        deployment_group=name,
        cluster=cluster,
        service=name,
        service_arn=service["serviceArn"],
        family=name,
        task_definition_arn=task_definition,
        container_name="app",
        container_port=spec.port,
        load_balancer_arn=lb_arn,
        prod_listener_arn=prod_listener,
        test_listener_arn=test_listener,
        target_groups=(blue, green),
        target_group_arns=tg_arns,
        subnets=subnets,
        security_group=group_id,
        alarm_names=alarm_names,
    )


def ecs_appspec(
    task_definition_arn: str, container_name: str, container_port: int, hooks: dict[str, str] | None = None
) -> str:
    """ECS AppSpec content (JSON, which is also YAML) with optional hooks {event: function}."""
    doc: dict[str, Any] = {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": task_definition_arn,
                        "LoadBalancerInfo": {
                            "ContainerName": container_name,
                            "ContainerPort": container_port,
                        },
                    },
                }
            }
        ],
    }
    if hooks:
        doc["Hooks"] = [{event: function} for event, function in hooks.items()]
    return json.dumps(doc)


def appspec_revision(content: str) -> dict[str, Any]:
    return {"revisionType": "AppSpecContent", "appSpecContent": {"content": content}}


def deploy_ecs(
    codedeploy_url: str,
    moto_url: str,
    env: EcsEnvironment,
    hooks: dict[str, str] | None = None,
    image: str = "app:v2",
    **create_args: Any,
) -> str:
    """Register a new task definition revision and start a deployment of it; returns the id."""
    task_definition = register_task_definition(moto_url, env.family, image=image, port=env.container_port)
    content = ecs_appspec(task_definition, env.container_name, env.container_port, hooks)
    return str(
        client("codedeploy", codedeploy_url).create_deployment(
            applicationName=env.application,
            deploymentGroupName=env.deployment_group,
            revision=appspec_revision(content),
            **create_args,
        )["deploymentId"]
    )


def listener_weights(moto_url: str, listener_arn: str) -> dict[str, int]:
    """The listener's forward weights by target group name, as the traffic router reads them."""
    elbv2 = client("elbv2", moto_url)
    listener = elbv2.describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]
    arns: dict[str, int] = {}
    for action in listener["DefaultActions"]:
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
        if groups:
            arns.update({g["TargetGroupArn"]: int(g.get("Weight", 1)) for g in groups})
        elif action.get("TargetGroupArn"):
            arns[action["TargetGroupArn"]] = 100
    names = {
        g["TargetGroupArn"]: g["TargetGroupName"] for g in elbv2.describe_target_groups()["TargetGroups"]
    }
    return {names[a]: w for a, w in arns.items()}


def production_weights(moto_url: str, env: EcsEnvironment) -> dict[str, int]:
    return listener_weights(moto_url, env.prod_listener_arn)


def task_sets(moto_url: str, env: EcsEnvironment) -> list[dict[str, Any]]:
    """The service's task sets in moto."""
    ecs = client("ecs", moto_url)
    return list(ecs.describe_services(cluster=env.cluster, services=[env.service])["services"][0]["taskSets"])


def put_5xx_alarms(moto_url: str, names: tuple[str, ...] | list[str]) -> None:
    """Simple alarms (one 5xx in a minute) under these names in moto; tests move them with set_alarm."""
    cloudwatch = client("cloudwatch", moto_url)
    for alarm in names:
        cloudwatch.put_metric_alarm(
            AlarmName=alarm,
            MetricName="HTTPCode_Target_5XX_Count",
            Namespace="AWS/ApplicationELB",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )


def set_alarm(moto_url: str, alarm_name: str, state: str = "ALARM") -> None:
    client("cloudwatch", moto_url).set_alarm_state(AlarmName=alarm_name, StateValue=state, StateReason="test")


@dataclass(frozen=True)
class LambdaEnvironment:
    application: str
    deployment_group: str
    function_name: str
    alias: str
    current_version: str
    target_version: str


def provision_lambda_function(
    moto_url: str,
    codedeploy_url: str,
    config: str = "CodeDeployDefault.LambdaAllAtOnce",
    suffix: str | None = None,
) -> LambdaEnvironment:
    """A function with versions 1 and 2 and an alias on 1 in moto; an application + group in the emulator."""
    suffix = suffix or secrets.token_hex(3)
    name = f"fn-{suffix}"
    iam, lam = client("iam", moto_url), client("lambda", moto_url)
    role = iam.create_role(RoleName=f"role-{suffix}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]

    def package(body: str) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("handler.py", body)
        return buffer.getvalue()

    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="handler.handle",
        Code={"ZipFile": package("def handle(e, c):\n    return 1\n")},
        Publish=True,
    )
    lam.update_function_code(FunctionName=name, ZipFile=package("def handle(e, c):\n    return 2\n"))
    target = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    codedeploy = client("codedeploy", codedeploy_url)
    application = f"app-{name}"
    codedeploy.create_application(applicationName=application, computePlatform="Lambda")
    codedeploy.create_deployment_group(
        applicationName=application,
        deploymentGroupName=name,
        deploymentConfigName=config,
        serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy-lambda",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        autoRollbackConfiguration={"enabled": True, "events": list(ALL_ROLLBACK_EVENTS)},
    )
    return LambdaEnvironment(application, name, name, "live", "1", str(target))


def lambda_appspec(env: LambdaEnvironment, hooks: dict[str, str] | None = None) -> str:
    doc: dict[str, Any] = {
        "version": 0.0,
        "Resources": [
            {
                "fn": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Name": env.function_name,
                        "Alias": env.alias,
                        "CurrentVersion": env.current_version,
                        "TargetVersion": env.target_version,
                    },
                }
            }
        ],
    }
    if hooks:
        doc["Hooks"] = [{event: function} for event, function in hooks.items()]
    return json.dumps(doc)


def validate_output(operation: str, body: dict[str, Any]) -> list[str]:
    """Problems of a response body against botocore's output shape of ``operation`` (strict)."""
    from sandbox.codedeploy import shapes

    shape = shapes.service_model().operation_model(operation).output_shape
    if shape is None:
        return [] if not body else [f"{operation} has no output shape but returned {sorted(body)}"]
    return shapes.check(body, shape, strict=True)


def raw_call(
    url: str, operation: str, params: dict[str, Any] | None = None, body: bytes | None = None
) -> tuple[int, Any]:
    """POST one JSON 1.1 request as an SDK would; returns (HTTP status, decoded JSON body)."""
    import urllib.error
    import urllib.request

    data = body if body is not None else json.dumps(params or {}).encode()
    request = urllib.request.Request(
        url + "/",
        data=data,
        method="POST",
        headers={
            "X-Amz-Target": f"CodeDeploy_20141006.{operation}",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


class ScriptedHooks:
    """A HookInvoker whose hooks behave as scripted per function name.

    Behaviours: "ok" reports Succeeded, "fail" reports Failed, "raise" raises LookupError (as an unknown
    function), "silent" never reports, ("alarm", moto_url, alarm_name) sets the alarm and stays silent.
    Functions not in the script report Succeeded. ``url`` is the emulator's, set after it starts.
    """

    def __init__(self, script: dict[str, Any] | None = None) -> None:
        self.script = dict(script or {})
        self.url = ""
        self.calls: list[tuple[str, dict[str, str]]] = []
        self._client: Any = None

    def __call__(self, function_name: str, payload: dict[str, str]) -> None:
        self.calls.append((function_name, payload))
        behaviour = self.script.get(function_name, "ok")
        if behaviour == "raise":
            raise LookupError(function_name)
        if behaviour == "silent":
            return
        if isinstance(behaviour, tuple) and behaviour[0] == "alarm":
            set_alarm(behaviour[1], behaviour[2])
            return
        if self._client is None:
            self._client = client("codedeploy", self.url)
        self._client.put_lifecycle_event_hook_execution_status(
            deploymentId=payload["DeploymentId"],
            lifecycleEventHookExecutionId=payload["LifecycleEventHookExecutionId"],
            status="Succeeded" if behaviour == "ok" else "Failed",
        )


ECS_HOOK_EVENTS = (
    "BeforeInstall",
    "AfterInstall",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
)


def hook_functions(events: tuple[str, ...] = ECS_HOOK_EVENTS) -> dict[str, str]:
    """AppSpec hooks naming one function per event: ``hook-<Event>``."""
    return {event: f"hook-{event}" for event in events}


def rollback_event_problems(events: list[dict[str, Any]], create_time: Any, complete_time: Any) -> list[str]:
    """What is wrong with a rollback deployment's lifecycle events (from GetDeploymentTarget, as boto3
    parses them): all Succeeded, each starting when the one before ended or later, within the rollback's
    create and complete times, and not all at one instant (they walk the virtual clock)."""
    problems = [f"{e['lifecycleEventName']} is {e['status']}" for e in events if e["status"] != "Succeeded"]
    if problems:
        return problems
    times = [(e["lifecycleEventName"], e["startTime"], e["endTime"]) for e in events]
    previous_end = create_time
    for name, start, end in times:
        if not previous_end <= start <= end:
            problems.append(f"{name}: {start} .. {end} after {previous_end}")
        previous_end = end
    if previous_end > complete_time:
        problems.append(f"the last event ends at {previous_end}, after completeTime {complete_time}")
    if times and times[-1][2] <= times[0][1]:
        problems.append("every lifecycle event starts and ends at the same instant")
    return problems
