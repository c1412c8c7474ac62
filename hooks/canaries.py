"""Which deployments of a service are shifting production traffic now, on either engine, and what
the canary judge needs of each: since when green has had production traffic, and which target group
is green and which blue. Thin reads through ``hooks.clients.aws_call``; the decisions are pure.

- CodeDeploy (ECS blue/green): ListDeployments of the group (InProgress) -> BatchGetDeploymentTargets
  (the ECS target): shifting while the AllowTraffic lifecycle event is InProgress (CodeDeploy moves
  the production listener's weights inside it, the canary's wait included; AWS, "AppSpec 'hooks'
  section for an Amazon ECS deployment"), since AllowTraffic's startTime. Green is the task set
  labelled Green in ``taskSetsInfo``, blue the one labelled Blue; their ``targetGroup.name``.
- Amazon ECS native: ListServiceDeployments (IN_PROGRESS) -> DescribeServiceDeployments: shifting
  while ``lifecycleStage`` is PRODUCTION_TRAFFIC_SHIFT (canary and linear steps and the bakes
  between them). ECS keeps no start time per stage: the window starts at the deployment's
  ``startedAt`` (so it also holds green's test-listener traffic before the first shift; the judge's
  no-data rule keeps a short window inconclusive). Green is the target revision's target group
  (DescribeServiceRevisions), blue the other one of the service's pair (DescribeServices).
The target groups are named as ELBv2 names them; ``canary_sides`` reads their ARNs and load balancer
(DescribeTargetGroups) to give the judge CloudWatch's dimension values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from hooks.clients import aws_call
from orchestrator.vocabulary import (
    ALLOW_TRAFFIC,
    PRODUCTION_TRAFFIC_SHIFT,
    DeploymentStatus,
    EngineName,
    LifecycleStatus,
    ServiceDeploymentStatus,
    TargetLabel,
)

if TYPE_CHECKING:
    from orchestrator.analysis.sources import Sides

Client = Callable[[str], Any]


class Canary(NamedTuple):
    """One deployment shifting production traffic, as the judge needs it."""

    deployment_id: str  # CodeDeploy's d-..., or the service deployment ARN
    engine: str
    shifting_since: datetime  # when green started to get production traffic (ECS: the deployment's start)
    green_target_group: str  # ELBv2 name or ARN
    blue_target_group: str


# --- CodeDeploy -------------------------------------------------------------------------------------


def codedeploy_canary(deployment_id: str, target: Mapping[str, Any]) -> Canary | None:
    """The canary an ECS deployment target shows, when AllowTraffic is under way (pure)."""
    ecs = target.get("ecsTarget") or {}
    events = {event.get("lifecycleEventName"): event for event in ecs.get("lifecycleEvents") or ()}
    allow = events.get(ALLOW_TRAFFIC) or {}
    if allow.get("status") != LifecycleStatus.IN_PROGRESS.value or not allow.get("startTime"):
        return None
    groups = {
        task_set.get("taskSetLabel"): (task_set.get("targetGroup") or {}).get("name")
        for task_set in ecs.get("taskSetsInfo") or ()
    }
    green, blue = groups.get(TargetLabel.GREEN.value), groups.get(TargetLabel.BLUE.value)
    if not green or not blue:
        return None
    return Canary(deployment_id, EngineName.CODEDEPLOY.value, as_time(allow["startTime"]), green, blue)


def codedeploy_canaries(client: Client, application: str, deployment_group: str) -> list[Canary]:
    """The group's deployments shifting traffic now (at most one: CodeDeploy runs one per group)."""
    codedeploy = client("codedeploy")
    listed = aws_call(
        "codedeploy ListDeployments",
        lambda: codedeploy.list_deployments(
            applicationName=application,
            deploymentGroupName=deployment_group,
            includeOnlyStatuses=[DeploymentStatus.IN_PROGRESS.value],
        ),
    )
    found: list[Canary] = []
    for deployment_id in listed.get("deployments") or ():
        for target in _targets(codedeploy, deployment_id):
            canary = codedeploy_canary(deployment_id, target)
            if canary is not None:
                found.append(canary)
    return found


def _targets(codedeploy: Any, deployment_id: str) -> list[dict[str, Any]]:
    ids = (
        aws_call(
            "codedeploy ListDeploymentTargets",
            lambda: codedeploy.list_deployment_targets(deploymentId=deployment_id),
        ).get("targetIds")
        or []
    )
    if not ids:
        return []
    answer = aws_call(
        "codedeploy BatchGetDeploymentTargets",
        lambda: codedeploy.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=ids[:25]),
    )
    return [dict(target) for target in answer.get("deploymentTargets") or ()]


# --- Amazon ECS native -------------------------------------------------------------------------------


def ecs_canary(
    deployment: Mapping[str, Any], pair: tuple[str, str], revision_groups: Sequence[str]
) -> Canary | None:
    """The canary a service deployment shows while it shifts production traffic (pure). ``pair``:
    the service's target groups (targetGroupArn, alternateTargetGroupArn); ``revision_groups``: the
    target revision's (green is the one of the pair it names, else the alternate)."""
    if deployment.get("status") != ServiceDeploymentStatus.IN_PROGRESS.value:
        return None
    if deployment.get("lifecycleStage") != PRODUCTION_TRAFFIC_SHIFT or not deployment.get("startedAt"):
        return None
    green = next((arn for arn in revision_groups if arn in pair), pair[1])
    blue = pair[0] if green == pair[1] else pair[1]
    arn = str(deployment.get("serviceDeploymentArn") or "")
    return Canary(arn, EngineName.ECS.value, as_time(deployment["startedAt"]), green, blue)


def ecs_canaries(client: Client, cluster: str, service: str) -> list[Canary]:
    """The service's deployments shifting production traffic now."""
    from hooks.native_service import describe_native_service, describe_revision, revision_target_groups

    ecs = client("ecs")
    briefs = (
        aws_call(
            "ecs ListServiceDeployments",
            lambda: ecs.list_service_deployments(
                cluster=cluster, service=service, status=[ServiceDeploymentStatus.IN_PROGRESS.value]
            ),
        ).get("serviceDeployments")
        or []
    )
    arns = [brief["serviceDeploymentArn"] for brief in briefs if brief.get("serviceDeploymentArn")]
    if not arns:
        return []
    deployments = (
        aws_call(
            "ecs DescribeServiceDeployments",
            lambda: ecs.describe_service_deployments(serviceDeploymentArns=arns[:20]),
        ).get("serviceDeployments")
        or []
    )
    shifting = [d for d in deployments if d.get("lifecycleStage") == PRODUCTION_TRAFFIC_SHIFT]
    if not shifting:
        return []
    balancer = describe_native_service(ecs, cluster, service).load_balancer
    pair = (balancer.target_group_arn, balancer.alternate_target_group_arn)
    found: list[Canary] = []
    for deployment in shifting:
        revision = (deployment.get("targetServiceRevision") or {}).get("arn")
        groups = revision_target_groups(describe_revision(ecs, revision)) if revision else []
        canary = ecs_canary(deployment, pair, groups)
        if canary is not None:
            found.append(canary)
    return found


# --- CloudWatch's dimension values --------------------------------------------------------------------


def canary_sides(client: Client, canary: Canary) -> Sides:
    """The judge's sides of a canary (AWS/ApplicationELB's TargetGroup and LoadBalancer dimension
    values): DescribeTargetGroups of its two target groups, by name or by ARN."""
    from orchestrator.alarms.audit import load_balancer_dimension, target_group_dimension
    from orchestrator.analysis.sources import Sides

    elbv2 = client("elbv2")
    names = [canary.green_target_group, canary.blue_target_group]
    key = "TargetGroupArns" if all(n.startswith("arn:") for n in names) else "Names"
    found = (
        aws_call("elbv2 DescribeTargetGroups", lambda: elbv2.describe_target_groups(**{key: names})).get(
            "TargetGroups"
        )
        or []
    )
    by_key = {group["TargetGroupName"]: group for group in found} | {
        group["TargetGroupArn"]: group for group in found
    }
    green, blue = by_key[canary.green_target_group], by_key[canary.blue_target_group]
    balancers = green.get("LoadBalancerArns") or blue.get("LoadBalancerArns") or [""]
    return Sides(
        target_group_dimension(green["TargetGroupArn"]),
        target_group_dimension(blue["TargetGroupArn"]),
        load_balancer_dimension(balancers[0]) if balancers[0] else "",
    )


def as_time(value: Any) -> datetime:
    """botocore gives datetimes; a test's plain dict may give epoch seconds."""
    if isinstance(value, datetime):
        return value
    from datetime import UTC

    return datetime.fromtimestamp(float(value), tz=UTC)
