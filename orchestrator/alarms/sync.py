"""Make AWS match the alarm definitions: PutMetricAlarm and UpdateDeploymentGroup, only where different.

Usage (the sandbox provisions alarms exactly like this)::

    from orchestrator.alarms.sync import sync_all_alarms, sync_service_alarms
    from orchestrator.alarms.definitions import load_definitions
    from orchestrator.aws.clients import AwsClients
    from orchestrator.catalog import load_catalog

    catalog = load_catalog()                       # services.yaml
    definitions = load_definitions(catalog)        # alarms/*.yaml next to it
    clients = AwsClients("ap-northeast-2")         # AWS_ENDPOINT_URL* point it at the sandbox
    result = sync_service_alarms(clients, catalog.resolve("product-service", "dev"), definitions)
    result = sync_all_alarms(clients, catalog.resolve_all("dev"), definitions, dry_run=True)
    print(result.writes, [str(c) for c in result.alarm_changes])

Plan, then apply: ``plan_sync`` reads (DescribeTargetGroups / DescribeLoadBalancers, 20 names a call;
DescribeAlarms, 100; BatchGetDeploymentGroups, 25) and returns the changes; ``apply_plan`` writes
them; ``dry_run`` stops after the plan. A second sync makes no write call. The alarm room's part:
the planner (``desired_group_request`` and ``group_diff`` are pure) and its executor; the reads and
writes are the adapters in ``orchestrator.aws``; ``--fix`` is ``orchestrator.alarms.repair``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.alarms.audit import ClientFactory, match_resources
from orchestrator.alarms.definitions import (
    Definitions,
    FieldChange,
    ServiceResources,
    alarm_diff,
    render_request,
)
from orchestrator.aws.cloudwatch import CloudWatchApi, describe_alarms, put_metric_alarm
from orchestrator.aws.deployment_groups import (
    DeploymentGroupsApi,
    batch_get_deployment_groups,
    update_deployment_group,
)
from orchestrator.aws.elbv2 import Elbv2Api, load_balancer_arns, target_group_arns
from orchestrator.catalog import ResolvedService
from orchestrator.vocabulary import ROLLBACK_ON


@dataclass(frozen=True)
class AlarmChange:
    """One PutMetricAlarm to make: a new alarm or one that differs from its definition."""

    name: str
    service: str
    created: bool
    changes: tuple[FieldChange, ...]
    request: dict[str, Any] = field(compare=False, repr=False)

    def __str__(self) -> str:
        if self.created:
            return f"+ alarm {self.name}"
        return f"~ alarm {self.name}: " + "; ".join(str(c) for c in self.changes)


@dataclass(frozen=True)
class GroupChange:
    """One UpdateDeploymentGroup to make: alarm configuration and/or auto rollback differ."""

    application: str
    deployment_group: str
    service: str
    changes: tuple[FieldChange, ...]
    request: dict[str, Any] = field(compare=False, repr=False)

    def __str__(self) -> str:
        where = f"{self.application}/{self.deployment_group}"
        return f"~ deployment group {where}: " + "; ".join(str(c) for c in self.changes)


@dataclass
class SyncResult:
    """What a sync found different, what it wrote, and what it could not do."""

    dry_run: bool
    alarms_checked: int = 0
    groups_checked: int = 0
    alarm_changes: list[AlarmChange] = field(default_factory=list)
    group_changes: list[GroupChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    writes: int = 0

    @property
    def in_sync(self) -> bool:
        return not (self.alarm_changes or self.group_changes or self.problems)


def lookup_resources(
    elbv2: Elbv2Api, services: Sequence[ResolvedService]
) -> tuple[dict[str, ServiceResources], list[str]]:
    """The dimension values (ARN suffixes) of each service's target groups and load balancer."""
    tg_names = [n for s in services for n in (s.settings.target_group_blue, s.settings.target_group_green)]
    tgs = target_group_arns(elbv2, tg_names)
    lbs = load_balancer_arns(elbv2, [s.settings.load_balancer for s in services])
    resources, missing = match_resources(services, tgs, lbs)
    problems = [
        f"{service.name}: cannot render its alarms: {', '.join(missing[service.name])} not found in ELBv2 "
        f"({service.region}); create the load balancer and target groups first"
        for service in services
        if service.name in missing
    ]
    return resources, problems


def desired_group_request(service: ResolvedService, current: dict[str, Any]) -> dict[str, Any]:
    """The UpdateDeploymentGroup request that attaches the catalog's alarms and rollback on alarm."""
    rollback = current.get("autoRollbackConfiguration") or {}
    events = list(dict.fromkeys([*(rollback.get("events") or []), *ROLLBACK_ON]))
    return {
        "applicationName": service.settings.application,
        "currentDeploymentGroupName": service.settings.deployment_group,
        # ignorePollAlarmFailure false: if CodeDeploy cannot read an alarm, the deployment stops
        # rather than continuing unguarded.
        "alarmConfiguration": {
            "enabled": True,
            "ignorePollAlarmFailure": False,
            "alarms": [{"name": name} for name in service.settings.alarms],
        },
        "autoRollbackConfiguration": {"enabled": True, "events": events},
    }


def group_diff(current: dict[str, Any], desired: dict[str, Any]) -> list[FieldChange]:
    """Fields of the alarm and rollback configuration that differ (alarm and event order ignored)."""
    have_alarms = current.get("alarmConfiguration") or {}
    have_rollback = current.get("autoRollbackConfiguration") or {}
    want_alarms, want_rollback = desired["alarmConfiguration"], desired["autoRollbackConfiguration"]
    pairs = {
        "alarmConfiguration.enabled": (bool(have_alarms.get("enabled")), want_alarms["enabled"]),
        "alarmConfiguration.ignorePollAlarmFailure": (
            bool(have_alarms.get("ignorePollAlarmFailure")),
            want_alarms["ignorePollAlarmFailure"],
        ),
        "alarmConfiguration.alarms": (
            sorted(a["name"] for a in have_alarms.get("alarms") or []),
            sorted(a["name"] for a in want_alarms["alarms"]),
        ),
        "autoRollbackConfiguration.enabled": (bool(have_rollback.get("enabled")), want_rollback["enabled"]),
        "autoRollbackConfiguration.events": (
            sorted(have_rollback.get("events") or []),
            sorted(want_rollback["events"]),
        ),
    }
    return [FieldChange(path, have, want) for path, (have, want) in pairs.items() if have != want]


def plan_sync(
    clients: ClientFactory, services: Sequence[ResolvedService], definitions: Definitions
) -> SyncResult:
    """Read AWS and compute every change the definitions call for; writes nothing."""
    result = SyncResult(dry_run=True)
    elbv2: Elbv2Api = clients.client("elbv2")
    cloudwatch: CloudWatchApi = clients.client("cloudwatch")
    codedeploy: DeploymentGroupsApi = clients.client("codedeploy")
    resources, result.problems = lookup_resources(elbv2, services)
    requests: dict[str, tuple[str, dict[str, Any]]] = {}
    for service in services:
        if service.name in resources:
            for alarm in definitions.for_service(service):
                requests[alarm.name] = (service.name, render_request(alarm, service, resources[service.name]))
    current = describe_alarms(cloudwatch, list(requests))
    result.alarms_checked = len(requests)
    for name, (service_name, request) in requests.items():
        if name not in current:
            result.alarm_changes.append(AlarmChange(name, service_name, True, (), request))
        elif changes := alarm_diff(current[name], request):
            result.alarm_changes.append(AlarmChange(name, service_name, False, tuple(changes), request))
    by_application: dict[str, list[ResolvedService]] = {}
    for service in services:
        by_application.setdefault(service.settings.application, []).append(service)
    for application, members in by_application.items():
        names = [s.settings.deployment_group for s in members]
        infos = batch_get_deployment_groups(codedeploy, application, names)
        for service in members:
            info = infos.get(service.settings.deployment_group)
            if info is None:
                result.problems.append(
                    f"{service.name}: deployment group {application}/{service.settings.deployment_group} "
                    "does not exist; create it, then sync again"
                )
                continue
            result.groups_checked += 1
            desired = desired_group_request(service, info)
            if changes := group_diff(info, desired):
                group = service.settings.deployment_group
                result.group_changes.append(
                    GroupChange(application, group, service.name, tuple(changes), desired)
                )
    return result


def apply_plan(clients: ClientFactory, plan: SyncResult) -> SyncResult:
    """Make the planned writes: alarms first, so a group never names an alarm that does not exist yet."""
    cloudwatch: CloudWatchApi = clients.client("cloudwatch")
    codedeploy: DeploymentGroupsApi = clients.client("codedeploy")
    for change in plan.alarm_changes:
        put_metric_alarm(cloudwatch, change.request)
        plan.writes += 1
    for group in plan.group_changes:
        update_deployment_group(codedeploy, group.request)
        plan.writes += 1
    plan.dry_run = False
    return plan


def sync_all_alarms(
    clients: ClientFactory,
    services: Sequence[ResolvedService],
    definitions: Definitions,
    *,
    dry_run: bool = False,
) -> SyncResult:
    """Sync the alarms and deployment groups of several services (one environment's, typically)."""
    plan = plan_sync(clients, services, definitions)
    return plan if dry_run else apply_plan(clients, plan)


def sync_service_alarms(
    clients: ClientFactory,
    catalog_service: ResolvedService,
    definitions: Definitions,
    *,
    dry_run: bool = False,
) -> SyncResult:
    """Sync one service's alarms and its deployment group's alarm and rollback configuration."""
    return sync_all_alarms(clients, [catalog_service], definitions, dry_run=dry_run)
