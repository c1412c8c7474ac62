"""Test support for alarms as code, against moto (CloudWatch, ELBv2, EC2) and the CodeDeploy emulator.

``World`` is one environment of the catalog with its load balancer and target groups in moto and
helpers to create and change deployment groups in the emulator through the real CodeDeploy API.
The emulator does not look up ECS services or listeners when a group is created, so a group needs
no ECS service behind it: enough for the alarm sync and audit, which only read and write the alarm
and auto-rollback configuration.
"""

from __future__ import annotations

import contextlib
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestrator.alarms.definitions import Definitions, load_definitions
from orchestrator.aws.clients import AwsClients
from orchestrator.catalog import Catalog, ResolvedService
from tests.support.fakes import FakeClients

ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM")
SERVICE_ROLE = "arn:aws:iam::123456789012:role/bluegreen-codedeploy"
LISTENER = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:listener/app/alb/0/1"


def reset_moto(url: str) -> None:
    """Forget every resource in the moto server at ``url``."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def provision_load_balancing(clients: Any, services: Iterable[ResolvedService]) -> dict[str, str]:
    """An ALB per distinct load balancer name and the blue/green target groups of each service (moto).

    Returns target group and load balancer names -> ARN.
    """
    ec2, elbv2 = clients.client("ec2"), clients.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"ap-northeast-2{zone}")[
            "Subnet"
        ]["SubnetId"]
        for i, zone in enumerate("ac")
    ]
    arns: dict[str, str] = {}
    for service in services:
        s = service.settings
        if s.load_balancer not in arns:
            lb = elbv2.create_load_balancer(Name=s.load_balancer, Subnets=subnets, Type="application")
            arns[s.load_balancer] = lb["LoadBalancers"][0]["LoadBalancerArn"]
        for name in (s.target_group_blue, s.target_group_green):
            tg = elbv2.create_target_group(
                Name=name, Protocol="HTTP", Port=s.port, VpcId=vpc, TargetType="ip"
            )
            arns[name] = tg["TargetGroups"][0]["TargetGroupArn"]
    return arns


def create_deployment_group(
    codedeploy: Any,
    application: str,
    name: str,
    *,
    alarms: Iterable[str] = (),
    enabled: bool | None = None,
    rollback_events: Iterable[str] = ROLLBACK_EVENTS,
    rollback_enabled: bool = True,
    cluster: str = "doa-market-cluster",
) -> None:
    """An ECS blue/green deployment group (and its application, if new) through the CodeDeploy API.

    The alarm configuration is enabled when ``alarms`` are given, unless ``enabled`` says otherwise
    (CodeDeploy refuses an enabled configuration without alarms).
    """
    alarms = list(alarms)
    with contextlib.suppress(codedeploy.exceptions.ApplicationAlreadyExistsException):
        codedeploy.create_application(applicationName=application, computePlatform="ECS")
    codedeploy.create_deployment_group(
        applicationName=application,
        deploymentGroupName=name,
        serviceRoleArn=SERVICE_ROLE,
        deploymentConfigName="CodeDeployDefault.ECSAllAtOnce",
        ecsServices=[{"serviceName": name, "clusterName": cluster}],
        loadBalancerInfo={
            "targetGroupPairInfoList": [
                {
                    "targetGroups": [{"name": f"{name}-blue"}, {"name": f"{name}-green"}],
                    "prodTrafficRoute": {"listenerArns": [LISTENER]},
                }
            ]
        },
        alarmConfiguration={
            "enabled": bool(alarms) if enabled is None else enabled,
            "ignorePollAlarmFailure": False,
            "alarms": [{"name": alarm} for alarm in alarms],
        },
        autoRollbackConfiguration={"enabled": rollback_enabled, "events": list(rollback_events)},
    )


def fake_load_balancing(clients: FakeClients, services: Iterable[ResolvedService]) -> None:
    """The same names as ``provision_load_balancing``, in the fakes: an ALB per distinct load
    balancer name and the blue/green target groups of each service."""
    for service in services:
        s = service.settings
        if s.load_balancer not in clients.elbv2.load_balancers:
            clients.elbv2.add_load_balancer(s.load_balancer)
        for name in (s.target_group_blue, s.target_group_green):
            clients.elbv2.add_target_group(name)


def fake_world(catalog: Catalog, environment: str = "dev", services: tuple[str, ...] | None = None) -> World:
    """``World`` on the in-memory fakes (tests/support/fakes.py): for the alarm room's logic."""
    clients = FakeClients()
    chosen = [s for s in catalog.resolve_all(environment) if services is None or s.name in services]
    fake_load_balancing(clients, chosen)
    return World(clients, catalog, load_definitions(catalog), environment)


@dataclass
class World:
    """The real catalog and definitions, one environment, and AWS: moto + the CodeDeploy emulator
    (``AwsClients``), or the in-memory fakes (``FakeClients``, ``fake_world``)."""

    clients: AwsClients | FakeClients
    catalog: Catalog
    definitions: Definitions
    environment: str

    @property
    def cloudwatch(self) -> Any:
        return self.clients.client("cloudwatch")

    @property
    def codedeploy(self) -> Any:
        return self.clients.client("codedeploy")

    @property
    def application(self) -> str:
        return f"doa-market-{self.environment}"

    def service(self, name: str) -> ResolvedService:
        return self.catalog.resolve(name, self.environment)

    def add_group(self, name: str, **kwargs: Any) -> None:
        """A deployment group for a catalog service (or any name, in the environment's application)."""
        create_deployment_group(self.codedeploy, self.application, name, **kwargs)

    def group(self, name: str) -> dict[str, Any]:
        info = self.codedeploy.get_deployment_group(
            applicationName=self.application, deploymentGroupName=name
        )
        return dict(info["deploymentGroupInfo"])

    def update_group(self, name: str, **fields: Any) -> None:
        self.codedeploy.update_deployment_group(
            applicationName=self.application, currentDeploymentGroupName=name, **fields
        )

    def writes(self) -> int:
        calls = self.clients.counter.calls
        return calls["cloudwatch:PutMetricAlarm"] + calls["codedeploy:UpdateDeploymentGroup"]

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of a Lambda context object that powertools reads."""

    function_name: str = "bluegreen-alarm-audit"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:ap-northeast-2:123456789012:function:bluegreen-alarm-audit"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "c0ffee00-0000-4000-8000-000000000001"
    log_group_name: str = "/aws/lambda/bluegreen-alarm-audit"
    log_stream_name: str = "2026/11/21/[$LATEST]0"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def _standard_units() -> frozenset[str]:
    """CloudWatch's StandardUnit enum, from botocore's service model (not from powertools)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("cloudwatch")
    return frozenset(model.shape_for("StandardUnit").enum)


def emf_problems(document: dict[str, Any]) -> list[str]:
    """What makes ``document`` invalid under CloudWatch's embedded metric format specification.

    Checked: ``_aws.Timestamp`` (epoch milliseconds), one or more metric directives, each with a
    Namespace, dimension sets of at most 30 names that are string members of the document, and at
    most 100 metrics whose names are numeric members (a number or a list of at most 100 numbers)
    with a standard unit.
    """
    problems: list[str] = []
    meta = document.get("_aws")
    if not isinstance(meta, dict):
        return ["no _aws object"]
    if not isinstance(meta.get("Timestamp"), int) or meta["Timestamp"] < 10**12:
        problems.append(f"_aws.Timestamp {meta.get('Timestamp')!r} is not epoch milliseconds")
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return [*problems, "no CloudWatchMetrics directive"]
    for directive in directives:
        namespace = directive.get("Namespace")
        if not isinstance(namespace, str) or not 1 <= len(namespace) <= 255:
            problems.append(f"Namespace {namespace!r}")
        for dimension_set in directive.get("Dimensions", []):
            if len(dimension_set) > 30:
                problems.append(f"dimension set of {len(dimension_set)} names")
            problems += [
                f"dimension {name!r} is not a string member"
                for name in dimension_set
                if not isinstance(document.get(name), str)
            ]
        metrics = directive.get("Metrics", [])
        if not 1 <= len(metrics) <= 100:
            problems.append(f"{len(metrics)} metrics in one directive")
        for metric in metrics:
            name, value = metric.get("Name"), document.get(metric.get("Name", ""))
            values = value if isinstance(value, list) else [value]
            if not values or len(values) > 100 or not all(isinstance(v, int | float) for v in values):
                problems.append(f"metric {name!r} has no numeric value ({value!r})")
            if metric.get("Unit", "None") not in _standard_units():
                problems.append(f"metric {name!r} unit {metric.get('Unit')!r}")
    return problems
