"""Fakes for `bluegreen migrate`: what tests/support/fakes.py's fakes lack for it, as subclasses.

- ``MigrationCodeDeploy``: ``FakeDeploymentGroups`` + ListDeployments (by status) and
  GetDeploymentConfig (``deployments``, ``configs``).
- ``MigrationEcs``: ``FakeEcs`` whose UpdateService also keeps what DescribeServices shows after it
  (deploymentController, deploymentConfiguration, loadBalancers).
- ``MigrationElbv2``: ``FakeElbv2`` + CreateRule (PriorityInUse as ELBv2 answers a taken priority).
- ``MigrationClients`` holds them on one counter; ``codedeploy_service`` seeds a service as a
  CodeDeploy blue/green stack leaves it (target groups, listeners without rules, the group, the
  ECS service with its PRIMARY task set); ``writes`` counts the write calls made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.catalog import ResolvedService
from tests.support.fakes import (
    ACCOUNT,
    REGION,
    CallCount,
    FakeCloudWatch,
    FakeDeploymentGroups,
    FakeEcs,
    FakeElbv2,
    FakeLogs,
    client_error,
)

WRITES = (
    "ecs:UpdateService",
    "elastic-load-balancing-v2:CreateRule",
    "codedeploy:UpdateDeploymentGroup",
    "codedeploy:CreateDeployment",
)


class MigrationCodeDeploy(FakeDeploymentGroups):
    """Deployment groups, plus deployments by id (``deployments``) and configs by name (``configs``)."""

    def __init__(self, counter: CallCount | None = None) -> None:
        super().__init__(counter)
        self.deployments: dict[str, dict[str, Any]] = {}
        self.configs: dict[str, dict[str, Any]] = {}

    def list_deployments(
        self,
        applicationName: str,
        deploymentGroupName: str,
        includeOnlyStatuses: list[str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        self._count("ListDeployments")
        self._group("ListDeployments", applicationName, deploymentGroupName)
        ids = [
            deployment_id
            for deployment_id, d in self.deployments.items()
            if (d["applicationName"], d["deploymentGroupName"]) == (applicationName, deploymentGroupName)
            and (includeOnlyStatuses is None or d["status"] in includeOnlyStatuses)
        ]
        return {"deployments": ids}

    def get_deployment_config(self, deploymentConfigName: str) -> dict[str, Any]:
        self._count("GetDeploymentConfig")
        if deploymentConfigName not in self.configs:
            raise client_error(
                "GetDeploymentConfig", "DeploymentConfigDoesNotExistException", "no such config"
            )
        return {
            "deploymentConfigInfo": {
                "deploymentConfigName": deploymentConfigName,
                **self.configs[deploymentConfigName],
            }
        }


class MigrationEcs(FakeEcs):
    """UpdateService keeps the controller, configuration and load balancers DescribeServices shows."""

    def update_service(self, cluster: str, service: str, **request: Any) -> dict[str, Any]:
        answer = super().update_service(cluster, service, **request)
        stored = self.services[(cluster, service)]
        for key in ("deploymentController", "deploymentConfiguration", "loadBalancers"):
            if key in request:
                stored[key] = request[key]
        stored.pop("taskSets", None)  # ECS's own controller has no task sets
        return {"service": {**answer["service"], **stored}}


class MigrationElbv2(FakeElbv2):
    """Rules can be created (CreateRule), each priority once per listener."""

    def create_rule(
        self, ListenerArn: str, Priority: int, Conditions: list[Any], Actions: list[Any], **_: Any
    ) -> dict[str, Any]:
        self._count("CreateRule")
        rules = self.rules.setdefault(ListenerArn, [])
        if any(rule.get("Priority") == str(Priority) for rule in rules):
            raise client_error("CreateRule", "PriorityInUse", f"Priority '{Priority}' is currently in use")
        rule = {
            "RuleArn": f"{ListenerArn.replace(':listener/', ':listener-rule/')}/{len(rules):016x}",
            "Priority": str(Priority),
            "IsDefault": False,
            "Conditions": Conditions,
            "Actions": Actions,
        }
        rules.append(rule)
        return {"Rules": [dict(rule)]}


class MigrationClients:
    """Stands in for ``AwsClients`` in migrate's tests: the fakes above on one counter."""

    def __init__(self) -> None:
        self.counter = CallCount()
        self.codedeploy = MigrationCodeDeploy(self.counter)
        self.ecs = MigrationEcs(self.counter)
        self.elbv2 = MigrationElbv2(self.counter)
        self._by_name: Mapping[str, Any] = {
            "cloudwatch": FakeCloudWatch(self.counter),
            "elbv2": self.elbv2,
            "codedeploy": self.codedeploy,
            "ecs": self.ecs,
            "logs": FakeLogs(self.counter),
        }

    def client(self, service_name: str, **_: Any) -> Any:
        return self._by_name[service_name]


def writes(clients: MigrationClients) -> int:
    """How many write calls were made (UpdateService, CreateRule, UpdateDeploymentGroup, ...)."""
    return sum(clients.counter.calls[name] for name in WRITES)


def codedeploy_service(
    clients: MigrationClients,
    service: ResolvedService,
    *,
    test_listener: bool = True,
    **group: Any,
) -> dict[str, str]:
    """Seed ``service`` as CodeDeploy blue/green runs it; ``group`` overrides the group's settings.

    Returns the ARNs a test checks against: blue, green, production and test listener, task definition.
    """
    settings = service.settings
    blue = clients.elbv2.add_target_group(settings.target_group_blue)
    green = clients.elbv2.add_target_group(settings.target_group_green)
    balancer = clients.elbv2.add_load_balancer(settings.load_balancer)
    production = clients.elbv2.add_listener(balancer, service.production_listener_port)
    test = clients.elbv2.add_listener(balancer, service.test_listener_port) if test_listener else ""
    routes: dict[str, Any] = {"prodTrafficRoute": {"listenerArns": [production]}}
    if test_listener:
        routes["testTrafficRoute"] = {"listenerArns": [test]}
    info: dict[str, Any] = {
        "deploymentConfigName": "CodeDeployDefault.ECSCanary10Percent5Minutes",
        "computePlatform": "ECS",
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "ecsServices": [{"serviceName": settings.ecs_service, "clusterName": settings.cluster}],
        "alarmConfiguration": {"enabled": True, "alarms": [{"name": name} for name in settings.alarms]},
        "autoRollbackConfiguration": {
            "enabled": True,
            "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
        },
        "blueGreenDeploymentConfiguration": {
            "deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60},
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE",
                "terminationWaitTimeInMinutes": 5,
            },
        },
        "loadBalancerInfo": {
            "targetGroupPairInfoList": [
                {
                    "targetGroups": [
                        {"name": settings.target_group_blue},
                        {"name": settings.target_group_green},
                    ],
                    **routes,
                }
            ]
        },
        **group,
    }
    if settings.application not in clients.codedeploy.groups:
        clients.codedeploy.create_application(settings.application)
    clients.codedeploy.create_deployment_group(settings.application, settings.deployment_group, **info)
    task_definition = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{service.name}:7"
    balancers = [
        {
            "targetGroupArn": blue,
            "containerName": settings.container_name,
            "containerPort": service.container_port,
        }
    ]
    clients.ecs.services[(settings.cluster, settings.ecs_service)] = {
        "serviceName": settings.ecs_service,
        "status": "ACTIVE",
        "taskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{service.name}:1",
        "deploymentController": {"type": "CODE_DEPLOY"},
        "loadBalancers": balancers,
        "taskSets": [{"status": "PRIMARY", "taskDefinition": task_definition, "loadBalancers": balancers}],
    }
    return {
        "blue": blue,
        "green": green,
        "production": production,
        "test": test,
        "task_definition": task_definition,
    }


# --- what `why`, `timeline` and `history` read of a native deployment (issue 12) ---------------------


class InsightEcs(FakeEcs):
    """``FakeEcs`` + ListTasks / DescribeTasks over ``tasks`` (by ARN, botocore's Task shape, each
    with ``group`` ``service:<name>``), AWS's batch limits enforced as InvalidParameterException
    (DescribeServiceDeployments and DescribeServiceRevisions 20 ARNs, DescribeTasks 100, ListTasks
    maxResults 1-100), ``failures`` scripted per ARN (``failure_reasons``: AccessDenied...) and
    ``errors`` raised by the next call of an operation (``errors["DescribeServices"]``)."""

    def __init__(self, counter: CallCount | None = None) -> None:
        super().__init__(counter)
        self.tasks: dict[str, dict[str, Any]] = {}
        self.failure_reasons: dict[str, str] = {}
        self.errors: dict[str, Exception] = {}

    def _raise_scripted(self, operation: str) -> None:
        error = self.errors.pop(operation, None)
        if error is not None:
            raise error

    @staticmethod
    def _limit(operation: str, items: list[Any], limit: int) -> None:
        if len(items) > limit:
            raise client_error(operation, "InvalidParameterException", f"at most {limit}, got {len(items)}")

    def describe_service_deployments(self, serviceDeploymentArns: list[str]) -> dict[str, Any]:
        self._limit("DescribeServiceDeployments", serviceDeploymentArns, 20)
        answer = super().describe_service_deployments(serviceDeploymentArns)
        for failure in answer["failures"]:
            failure["reason"] = self.failure_reasons.get(failure["arn"], failure["reason"])
        return answer

    def describe_service_revisions(self, serviceRevisionArns: list[str]) -> dict[str, Any]:
        self._limit("DescribeServiceRevisions", serviceRevisionArns, 20)
        self._raise_scripted("DescribeServiceRevisions")
        return super().describe_service_revisions(serviceRevisionArns)

    def describe_services(self, cluster: str, services: list[str]) -> dict[str, Any]:
        self._raise_scripted("DescribeServices")
        return super().describe_services(cluster, services)

    def add_task(self, cluster: str, service: str, task_definition: str, **members: Any) -> str:
        """A task of the service (RUNNING unless ``members`` say otherwise); its ARN."""
        arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{cluster}/{len(self.tasks) + 1:032x}"
        self.tasks[arn] = {
            "taskArn": arn,
            "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{cluster}",
            "taskDefinitionArn": task_definition,
            "group": f"service:{service}",
            "lastStatus": "RUNNING",
            "desiredStatus": "RUNNING",
            **members,
        }
        return arn

    def list_tasks(
        self,
        cluster: str = "default",
        serviceName: str | None = None,
        desiredStatus: str = "RUNNING",
        maxResults: int = 100,
        nextToken: str = "0",
        **_: Any,
    ) -> dict[str, Any]:
        self._count("ListTasks")
        self._raise_scripted("ListTasks")
        if not 1 <= maxResults <= 100:
            raise client_error("ListTasks", "InvalidParameterException", "maxResults must be 1-100")
        found = [
            arn
            for arn, task in self.tasks.items()
            if task["clusterArn"].endswith(f"/{cluster}")
            and (serviceName is None or task["group"] == f"service:{serviceName}")
            and task["desiredStatus"] == desiredStatus
        ]
        start = int(nextToken)
        page: dict[str, Any] = {"taskArns": found[start : start + maxResults]}
        if start + maxResults < len(found):
            page["nextToken"] = str(start + maxResults)
        return page

    def describe_tasks(self, cluster: str, tasks: list[str], **_: Any) -> dict[str, Any]:
        self._count("DescribeTasks")
        self._limit("DescribeTasks", tasks, 100)
        found = [dict(self.tasks[arn]) for arn in tasks if arn in self.tasks]
        failures = [{"arn": arn, "reason": "MISSING"} for arn in tasks if arn not in self.tasks]
        return {"tasks": found, "failures": failures}


class InsightClients(MigrationClients):
    """``MigrationClients`` whose ECS is an ``InsightEcs``."""

    def __init__(self) -> None:
        super().__init__()
        self.ecs = InsightEcs(self.counter)
        self._by_name = {**self._by_name, "ecs": self.ecs}
