"""Test support for alarms as code: a FakeCodeDeploy (deployment-group side only), a client factory
that routes codedeploy to it, and moto provisioning of load balancers, target groups and alarms.

FakeCodeDeploy answers the CodeDeploy calls the alarm sync and audit make, with CodeDeploy's limits
(BatchGetDeploymentGroups: at most 25 names) and pagination, and counts every call.
"""

from __future__ import annotations

import copy
import urllib.request
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestrator.alarms import Definitions
from orchestrator.aws import AwsClients
from orchestrator.catalog import Catalog, ResolvedService


class FakeCodeDeployError(Exception):
    """A CodeDeploy error as botocore's ClientError presents it (``response['Error']['Code']``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.response = {"Error": {"Code": code, "Message": message}}


class FakeCodeDeploy:
    """Applications and deployment groups in memory; boto3-shaped methods; every call counted."""

    def __init__(self, page_size: int = 100) -> None:
        self.page_size = page_size
        self.groups: dict[str, dict[str, dict[str, Any]]] = {}
        self.calls: Counter[str] = Counter()

    # -- seeding (not counted) --------------------------------------------------------------------
    def add_group(
        self,
        application: str,
        name: str,
        *,
        alarms: Iterable[str] = (),
        enabled: bool = True,
        rollback_events: Iterable[str] = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"),
        rollback_enabled: bool = True,
    ) -> None:
        self.groups.setdefault(application, {})[name] = {
            "applicationName": application,
            "deploymentGroupName": name,
            "computePlatform": "ECS",
            "alarmConfiguration": {
                "enabled": enabled,
                "ignorePollAlarmFailure": False,
                "alarms": [{"name": a} for a in alarms],
            },
            "autoRollbackConfiguration": {"enabled": rollback_enabled, "events": list(rollback_events)},
        }

    def group(self, application: str, name: str) -> dict[str, Any]:
        return self.groups[application][name]

    # -- the API ------------------------------------------------------------------------------------
    def _page(self, items: list[str], key: str, next_token: str | None) -> dict[str, Any]:
        start = int(next_token or 0)
        page: dict[str, Any] = {key: items[start : start + self.page_size]}
        if start + self.page_size < len(items):
            page["nextToken"] = str(start + self.page_size)
        return page

    def list_applications(self, nextToken: str | None = None) -> dict[str, Any]:
        self.calls["ListApplications"] += 1
        return self._page(sorted(self.groups), "applications", nextToken)

    def list_deployment_groups(self, applicationName: str, nextToken: str | None = None) -> dict[str, Any]:
        self.calls["ListDeploymentGroups"] += 1
        if applicationName not in self.groups:
            raise FakeCodeDeployError("ApplicationDoesNotExistException", applicationName)
        page = self._page(sorted(self.groups[applicationName]), "deploymentGroups", nextToken)
        page["applicationName"] = applicationName
        return page

    def batch_get_deployment_groups(
        self,
        applicationName: str,
        deploymentGroupNames: list[str],
    ) -> dict[str, Any]:
        self.calls["BatchGetDeploymentGroups"] += 1
        if len(deploymentGroupNames) > 25:
            raise FakeCodeDeployError("BatchLimitExceededException", "The maximum number of names is 25")
        groups = self.groups.get(applicationName, {})
        found = [copy.deepcopy(groups[n]) for n in deploymentGroupNames if n in groups]
        missing = [n for n in deploymentGroupNames if n not in groups]
        answer: dict[str, Any] = {"deploymentGroupsInfo": found}
        if missing:
            answer["errorMessage"] = f"deployment groups not found: {', '.join(missing)}"
        return answer

    def update_deployment_group(self, **request: Any) -> dict[str, Any]:
        self.calls["UpdateDeploymentGroup"] += 1
        group = self.groups[request["applicationName"]][request["currentDeploymentGroupName"]]
        for key in ("alarmConfiguration", "autoRollbackConfiguration"):
            if key in request:
                group[key] = copy.deepcopy(request[key])
        return {"hooksNotCleanedUp": []}


class FakeClients:
    """A client factory: codedeploy is the fake, everything else AwsClients (moto)."""

    def __init__(self, aws: AwsClients, codedeploy: FakeCodeDeploy) -> None:
        self.aws = aws
        self.codedeploy = codedeploy

    def client(self, service_name: str) -> Any:
        if service_name == "codedeploy":
            return self.codedeploy
        return self.aws.client(service_name)

    def calls(self) -> Counter[str]:
        """Every call, CloudWatch/ELBv2 (AwsClients.counter) and CodeDeploy (the fake)."""
        out: Counter[str] = Counter(self.aws.counter.calls)
        out.update({f"codedeploy:{op}": n for op, n in self.codedeploy.calls.items()})
        return out


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
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"ap-northeast-2{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in enumerate("ac")
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


@dataclass
class World:
    """moto + a fake CodeDeploy, the real catalog and definitions, the dev environment."""

    clients: FakeClients
    codedeploy: FakeCodeDeploy
    catalog: Catalog
    definitions: Definitions
    environment: str

    @property
    def cloudwatch(self) -> object:
        return self.clients.client("cloudwatch")

    def service(self, name: str) -> ResolvedService:
        return self.catalog.resolve(name, self.environment)

    def add_group(self, name: str, **kwargs: object) -> None:
        service = self.service(name)
        self.codedeploy.add_group(service.settings.application, service.settings.deployment_group, **kwargs)

    def writes(self) -> int:
        calls = self.clients.calls()
        return calls["cloudwatch:PutMetricAlarm"] + calls["codedeploy:UpdateDeploymentGroup"]

    def now(self) -> datetime:
        return datetime.now(UTC)
