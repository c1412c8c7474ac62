"""The alarm audit's I/O: batched reads of deployment groups and alarms, and the audit run itself.

Calls scale with the fleet: ListApplications and ListDeploymentGroups page through; deployment groups
are read BatchGetDeploymentGroups at its maximum of 25 names a call, alarms DescribeAlarms at its
maximum of 100 names a call. An audit of N groups with 4 alarms each therefore costs about
N/25 + 4N/100 calls plus the list pages. Every function takes its clients; the rules are pure
(``orchestrator.audit``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from orchestrator.alarms import Definitions, render_request
from orchestrator.audit import (
    AlarmState,
    AuditReport,
    DeploymentGroupState,
    GroupExpectation,
    audit_findings,
)
from orchestrator.aws import aws_errors
from orchestrator.catalog import AlarmPolicy, Catalog, deep_merge

# BatchGetDeploymentGroups: "deploymentGroupNames ... Maximum number of 25 items" (CodeDeploy API).
BATCH_GET_DEPLOYMENT_GROUPS_MAX = 25
# DescribeAlarms: "AlarmNames ... Maximum number of 100 items" (CloudWatch API).
DESCRIBE_ALARMS_MAX_NAMES = 100

T = TypeVar("T")


class ClientFactory(Protocol):
    """Anything that makes boto3 clients by service name (orchestrator.aws.AwsClients)."""

    def client(self, service_name: str) -> Any: ...


def chunked(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """``items`` in consecutive lists of at most ``size``."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def list_applications(codedeploy: Any) -> list[str]:
    """Every CodeDeploy application name (ListApplications, all pages)."""
    names: list[str] = []
    kwargs: dict[str, Any] = {}
    with aws_errors("listing CodeDeploy applications"):
        while True:
            page = codedeploy.list_applications(**kwargs)
            names.extend(page.get("applications", []))
            if not page.get("nextToken"):
                return names
            kwargs["nextToken"] = page["nextToken"]


def list_deployment_groups(codedeploy: Any, application: str) -> list[str]:
    """Every deployment group name of one application (ListDeploymentGroups, all pages)."""
    names: list[str] = []
    kwargs: dict[str, Any] = {"applicationName": application}
    with aws_errors(f"listing deployment groups of {application}"):
        while True:
            page = codedeploy.list_deployment_groups(**kwargs)
            names.extend(page.get("deploymentGroups", []))
            if not page.get("nextToken"):
                return names
            kwargs["nextToken"] = page["nextToken"]


def batch_get_deployment_groups(codedeploy: Any, application: str, names: Sequence[str]) -> dict[str, Any]:
    """deploymentGroupsInfo by group name, 25 names a call; names that do not exist are absent."""
    found: dict[str, Any] = {}
    with aws_errors(f"reading deployment groups of {application}"):
        for batch in chunked(list(dict.fromkeys(names)), BATCH_GET_DEPLOYMENT_GROUPS_MAX):
            answer = codedeploy.batch_get_deployment_groups(
                applicationName=application, deploymentGroupNames=batch
            )
            for info in answer.get("deploymentGroupsInfo", []):
                found[info["deploymentGroupName"]] = info
    return found


def describe_alarms(cloudwatch: Any, names: Sequence[str]) -> dict[str, Any]:
    """MetricAlarms and CompositeAlarms by name, 100 names a call; missing alarms are absent."""
    found: dict[str, Any] = {}
    with aws_errors("reading CloudWatch alarms"):
        for batch in chunked(sorted(set(names)), DESCRIBE_ALARMS_MAX_NAMES):
            kwargs: dict[str, Any] = {
                "AlarmNames": batch,
                "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
                "MaxRecords": DESCRIBE_ALARMS_MAX_NAMES,
            }
            while True:
                page = cloudwatch.describe_alarms(**kwargs)
                for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                    found[alarm["AlarmName"]] = alarm
                if not page.get("NextToken"):
                    break
                kwargs["NextToken"] = page["NextToken"]
    return found


@dataclass(frozen=True)
class AuditScope:
    """What one audit covers: an environment's applications and what each of their groups should be."""

    environment: str
    applications: tuple[str, ...]
    expectations: dict[tuple[str, str], GroupExpectation]
    defaults: dict[str, GroupExpectation]


def environment_policy(catalog: Catalog, environment: str) -> AlarmPolicy:
    """The alarm policy of an environment for groups no catalog service names."""
    env = catalog.environment(environment)
    merged = deep_merge(catalog.data.defaults, env.defaults)
    return AlarmPolicy.model_validate(merged.get("alarm_policy") or {})


def audit_scope(catalog: Catalog, definitions: Definitions, environment: str) -> AuditScope:
    """Expectations for every catalog service of ``environment`` (pure; no AWS calls)."""
    expectations: dict[tuple[str, str], GroupExpectation] = {}
    applications: dict[str, None] = {}
    for service in catalog.resolve_all(environment):
        settings = service.settings
        applications[settings.application] = None
        requests = {a.name: render_request(a, service) for a in definitions.for_service(service)}
        expectations[(settings.application, settings.deployment_group)] = GroupExpectation(
            service=service.name,
            policy=settings.alarm_policy,
            alarm_names=tuple(settings.alarms),
            requests=requests,
        )
    fallback = GroupExpectation(service=None, policy=environment_policy(catalog, environment))
    return AuditScope(
        environment=environment,
        applications=tuple(applications),
        expectations=expectations,
        defaults={application: fallback for application in applications},
    )


@dataclass(frozen=True)
class FetchedState:
    """The deployment groups and alarms one audit looked at."""

    groups: list[DeploymentGroupState]
    alarms: dict[str, AlarmState]


def fetch_state(codedeploy: Any, cloudwatch: Any, applications: Sequence[str]) -> FetchedState:
    """Every deployment group of the applications that exist, and every alarm those groups name."""
    existing = set(list_applications(codedeploy))
    groups: list[DeploymentGroupState] = []
    for application in applications:
        if application not in existing:
            continue
        names = list_deployment_groups(codedeploy, application)
        infos = batch_get_deployment_groups(codedeploy, application, names)
        groups.extend(DeploymentGroupState.from_api(infos[name]) for name in names if name in infos)
    alarm_names = [name for group in groups for name in group.alarm_names]
    alarms = {name: AlarmState.from_api(a) for name, a in describe_alarms(cloudwatch, alarm_names).items()}
    return FetchedState(groups, alarms)


def run_audit(
    clients: ClientFactory, catalog: Catalog, definitions: Definitions, environment: str, now: datetime
) -> AuditReport:
    """Fetch, then apply the rules: the one audit the CLI and the scheduled Lambda both run."""
    scope = audit_scope(catalog, definitions, environment)
    state = fetch_state(clients.client("codedeploy"), clients.client("cloudwatch"), scope.applications)
    findings = audit_findings(state.groups, scope.expectations, scope.defaults, state.alarms, now)
    return AuditReport(
        environment=environment,
        applications=scope.applications,
        groups_checked=len(state.groups),
        alarms_checked=len(state.alarms),
        findings=tuple(findings),
    )
