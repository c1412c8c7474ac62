"""The alarm audit run: what the catalog expects, what AWS has, and the rules' findings.

``run_audit`` is the one audit the CLI (``bluegreen alarms audit``) and the scheduled Lambda
(``hooks/audit.py``) both run: it fetches deployment groups and alarms through the adapters
(``orchestrator.aws.deployment_groups``, ``cloudwatch``, ``elbv2``), builds each group's expectation
(``audit_scope``, pure) and applies the pure rules (``orchestrator.alarms.rules``).

Calls scale with the fleet: ListApplications and ListDeploymentGroups page through; deployment groups
are read BatchGetDeploymentGroups at its maximum of 25 names a call, alarms DescribeAlarms at its
maximum of 100 names a call. An audit of N groups with 4 alarms each therefore costs about
N/25 + 4N/100 calls plus the list pages. The alarms' CloudWatch dimension values (target group and
load balancer ARN suffixes) come from listing the region's target groups and load balancers, 400 a
page, so drift in a dimension (an alarm still reading a replaced target group) is found too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from orchestrator.alarms.definitions import Definitions, ServiceResources, render_request
from orchestrator.alarms.rules import (
    AlarmState,
    AuditReport,
    DeploymentGroupState,
    GroupExpectation,
    audit_findings,
)
from orchestrator.aws import elbv2 as elbv2_api
from orchestrator.aws.clients import aws_errors, describe_aws_error, direct_call, error_code
from orchestrator.aws.cloudwatch import CloudWatchApi, describe_alarms
from orchestrator.aws.deployment_groups import (
    DeploymentGroupsApi,
    batch_get_deployment_groups,
    list_applications,
    list_deployment_groups,
)
from orchestrator.aws.elbv2 import Elbv2Api
from orchestrator.catalog import AlarmPolicy, Catalog, ResolvedService, deep_merge
from orchestrator.errors import AwsError

_ACCESS_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


class ClientFactory(Protocol):
    """Anything that makes clients by service name: ``orchestrator.aws.clients.AwsClients``, or
    ``tests.support.fakes.FakeClients``. The audit asks it for codedeploy, cloudwatch and elbv2."""

    def client(self, service_name: str) -> Any: ...


def target_group_dimension(arn: str) -> str:
    """CloudWatch's TargetGroup dimension value: the ARN's ``targetgroup/<name>/<id>``."""
    return arn.split(":", 5)[-1]


def load_balancer_dimension(arn: str) -> str:
    """CloudWatch's LoadBalancer dimension value: the ARN's ``app/<name>/<id>`` (no ``loadbalancer/``)."""
    return arn.split(":", 5)[-1].removeprefix("loadbalancer/")


def match_resources(
    services: Sequence[ResolvedService], tgs: Mapping[str, str], lbs: Mapping[str, str]
) -> tuple[dict[str, ServiceResources], dict[str, list[str]]]:
    """Each service's alarm dimension values from target group / load balancer ARNs by name, and for
    the services whose resources are not all there, the names that are missing."""
    resources: dict[str, ServiceResources] = {}
    missing: dict[str, list[str]] = {}
    for service in services:
        s = service.settings
        absent = [n for n in (s.target_group_blue, s.target_group_green) if n not in tgs]
        absent += [] if s.load_balancer in lbs else [s.load_balancer]
        if absent:
            missing[service.name] = absent
            continue
        resources[service.name] = ServiceResources(
            target_group_blue=target_group_dimension(tgs[s.target_group_blue]),
            target_group_green=target_group_dimension(tgs[s.target_group_green]),
            load_balancer=load_balancer_dimension(lbs[s.load_balancer]),
        )
    return resources, missing


def lookup_dimension_values(
    elbv2: Elbv2Api, services: Sequence[ResolvedService]
) -> tuple[dict[str, ServiceResources], list[str]]:
    """Each service's target group and load balancer dimension values, and notes on what is not compared.

    Lists the region's target groups and load balancers (a few pages, whatever N is) rather than
    asking by name, 20 a call. Without permission to read ELBv2, or for a service whose target
    groups do not exist, the dimension values are not compared and a note says so.
    """
    action = "ELBv2 DescribeTargetGroups / DescribeLoadBalancers"
    try:
        with aws_errors(action):  # one action for both: either read failing means the same
            tgs = elbv2_api.all_target_groups(elbv2, direct_call)
            lbs = elbv2_api.all_load_balancers(elbv2, direct_call)
    except AwsError as err:
        if error_code(err.__cause__ or err) not in _ACCESS_DENIED:
            raise
        reason = describe_aws_error(err.__cause__, action) if err.__cause__ else str(err)
        return {}, [f"alarm dimension values not compared: {reason}"]
    resources, missing = match_resources(services, tgs, lbs)
    notes = [
        f"{service.name}: {', '.join(missing[service.name])} not found in ELBv2 ({service.region}); "
        "its alarms' dimension values not compared"
        for service in services
        if service.name in missing
    ]
    return resources, notes


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


def audit_scope(
    catalog: Catalog,
    definitions: Definitions,
    environment: str,
    resources: Mapping[str, ServiceResources] | None = None,
) -> AuditScope:
    """Expectations for every catalog service of ``environment`` (pure; no AWS calls).

    ``resources``: dimension values by service; a service without them keeps ``{placeholders}`` in
    its rendered requests and the drift rule skips those fields.
    """
    resources = resources or {}
    expectations: dict[tuple[str, str], GroupExpectation] = {}
    applications: dict[str, None] = {}
    for service in catalog.resolve_all(environment):
        settings = service.settings
        applications[settings.application] = None
        found = resources.get(service.name)
        requests = {a.name: render_request(a, service, found) for a in definitions.for_service(service)}
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


def fetch_state(
    codedeploy: DeploymentGroupsApi, cloudwatch: CloudWatchApi, applications: Sequence[str]
) -> FetchedState:
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
    """Fetch, then apply the rules: the one audit the CLI and the scheduled Lambda both run.

    ELBv2 is read only when some catalog service has a deployment group to audit.
    """
    services = catalog.resolve_all(environment)
    applications = list(dict.fromkeys(s.settings.application for s in services))
    codedeploy: DeploymentGroupsApi = clients.client("codedeploy")
    cloudwatch: CloudWatchApi = clients.client("cloudwatch")
    state = fetch_state(codedeploy, cloudwatch, applications)
    present = {(group.application, group.name) for group in state.groups}
    audited = [s for s in services if (s.settings.application, s.settings.deployment_group) in present]
    elbv2: Elbv2Api = clients.client("elbv2")
    resources, notes = lookup_dimension_values(elbv2, audited) if audited else ({}, [])
    scope = audit_scope(catalog, definitions, environment, resources)
    findings = audit_findings(state.groups, scope.expectations, scope.defaults, state.alarms, now)
    return AuditReport(
        environment=environment,
        applications=scope.applications,
        groups_checked=len(state.groups),
        alarms_checked=len(state.alarms),
        findings=tuple(findings),
        notes=tuple(notes),
    )
