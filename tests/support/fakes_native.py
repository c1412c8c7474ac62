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
