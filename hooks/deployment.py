"""What CodeDeploy knows about the deployment a hook runs for: thin reads that take clients.

The deployment gives the application and deployment group (hence the catalog service) and its
description (freeze overrides). The deployment group's ``loadBalancerInfo`` gives the production and
test listeners (their ports come from ELBv2) and the target group pair. The replacement (green)
target group is the one CodeDeploy labels ``Green`` in the deployment target's task sets; CodeDeploy
alternates the pair's roles between deployments, so it is never assumed from the names. ELBv2 reads
are the shared adapters (``orchestrator.aws.elbv2``); every read goes through ``aws_call``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, NamedTuple

from hooks.clients import aws_call
from orchestrator.aws import elbv2 as elbv2_api
from orchestrator.aws.elbv2 import Elbv2Api
from orchestrator.errors import BadInputError
from orchestrator.vocabulary import TargetLabel


class DeploymentNotFoundError(BadInputError):
    """The event names a deployment CodeDeploy does not know."""


class DeploymentGroupSetupError(BadInputError):
    """The deployment group lacks what a hook needs (listeners, a target group pair)."""


class DeploymentInfo(NamedTuple):
    """The parts of GetDeployment a hook uses."""

    deployment_id: str
    application: str
    deployment_group: str
    description: str
    # CodeDeploy's own rollback deployment (creator autoRollback): a drill marker is never its to act on
    rollback: bool = False


class TrafficRoutes(NamedTuple):
    """The listeners and target group pair of loadBalancerInfo.targetGroupPairInfoList[0]."""

    production_listeners: tuple[str, ...]
    test_listeners: tuple[str, ...]
    target_groups: tuple[str, ...]


class ReplacementTaskSet(NamedTuple):
    """The green task set of an ECS deployment target: its target group and desired count."""

    target_group: str
    desired_count: int | None


def get_deployment(codedeploy: Any, deployment_id: str) -> DeploymentInfo:
    """GetDeployment; an unknown id is bad input, not an AWS failure."""
    info = aws_call(
        "codedeploy GetDeployment",
        lambda: codedeploy.get_deployment(deploymentId=deployment_id),
        not_found={
            "DeploymentDoesNotExistException": lambda m: DeploymentNotFoundError(
                f"deployment {deployment_id} does not exist ({m})".replace(" ()", "")
            ),
            "InvalidDeploymentIdException": lambda m: DeploymentNotFoundError(
                f"deployment id {deployment_id!r} is not valid ({m})".replace(" ()", "")
            ),
        },
    )["deploymentInfo"]
    return DeploymentInfo(
        deployment_id=deployment_id,
        application=info["applicationName"],
        deployment_group=info["deploymentGroupName"],
        description=info.get("description", "") or "",
        rollback=info.get("creator") == "autoRollback",
    )


def traffic_routes(group_info: Mapping[str, Any]) -> TrafficRoutes:
    """Listeners and target groups from a deployment group's description (pure)."""
    pairs = (group_info.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or []
    if not pairs:
        name = group_info.get("deploymentGroupName", "?")
        raise DeploymentGroupSetupError(
            f"deployment group {name} has no target group pair (loadBalancerInfo)"
        )
    pair = pairs[0]
    return TrafficRoutes(
        production_listeners=tuple((pair.get("prodTrafficRoute") or {}).get("listenerArns") or ()),
        test_listeners=tuple((pair.get("testTrafficRoute") or {}).get("listenerArns") or ()),
        target_groups=tuple(group["name"] for group in pair.get("targetGroups") or ()),
    )


def get_traffic_routes(codedeploy: Any, application: str, deployment_group: str) -> TrafficRoutes:
    """GetDeploymentGroup -> TrafficRoutes."""
    info = aws_call(
        "codedeploy GetDeploymentGroup",
        lambda: codedeploy.get_deployment_group(
            applicationName=application, deploymentGroupName=deployment_group
        ),
    )["deploymentGroupInfo"]
    return traffic_routes(info)


class Listener(NamedTuple):
    """The first listener of a traffic route: its port and the load balancer it belongs to."""

    port: int
    load_balancer_arn: str


def route_listener(elbv2: Elbv2Api, listener_arns: Sequence[str], which: str) -> Listener:
    """The first listener of a traffic route (DescribeListeners)."""
    if not listener_arns:
        raise DeploymentGroupSetupError(f"the deployment group has no {which} listener")
    listener = elbv2_api.describe_listener(elbv2, listener_arns[0], aws_call)
    return Listener(int(listener["Port"]), str(listener["LoadBalancerArn"]))


def load_balancer_dns_name(elbv2: Elbv2Api, load_balancer_arn: str) -> str:
    """The DNSName of a load balancer (DescribeLoadBalancers): the host its listeners answer on."""
    return elbv2_api.load_balancer_dns_name(elbv2, load_balancer_arn, aws_call)


def green_task_set(targets: Sequence[Mapping[str, Any]]) -> ReplacementTaskSet | None:
    """The task set labelled Green in GetDeploymentTarget's ecsTarget (pure)."""
    for target in targets:
        for task_set in (target.get("ecsTarget") or {}).get("taskSetsInfo") or ():
            if task_set.get("taskSetLabel") == TargetLabel.GREEN and (task_set.get("targetGroup") or {}).get(
                "name"
            ):
                desired = task_set.get("desiredCount")
                return ReplacementTaskSet(
                    task_set["targetGroup"]["name"], int(desired) if desired is not None else None
                )
    return None


def green_from_weights(pair: Sequence[str], weights_by_name: Mapping[str, int]) -> str | None:
    """The pair member the production listener forwards least to (it carries 0 % before the shift)."""
    if len(pair) != 2:
        return None
    first, second = pair
    a, b = weights_by_name.get(first, 0), weights_by_name.get(second, 0)
    if a == b:
        return None
    return first if a < b else second


def list_deployment_targets(codedeploy: Any, deployment_id: str) -> list[str]:
    """Every target id of a deployment: ListDeploymentTargets pages (CodeDeploy returns a nextToken
    while more remain, and a page may hold none; API reference, ListDeploymentTargets), followed
    until the last page or a token seen before."""
    ids: list[str] = []
    token: str | None = None
    seen: set[str] = set()
    while True:
        paging = {"nextToken": token} if token else {}
        page = aws_call(
            "codedeploy ListDeploymentTargets",
            partial(codedeploy.list_deployment_targets, deploymentId=deployment_id, **paging),
        )
        ids.extend(page.get("targetIds") or [])
        token = page.get("nextToken") or None
        if token is None or token in seen:
            return ids
        seen.add(token)


def get_replacement_task_set(
    codedeploy: Any, elbv2: Elbv2Api, deployment_id: str, routes: TrafficRoutes
) -> ReplacementTaskSet:
    """Green from CodeDeploy's deployment target; the production listener's weights if it has none."""
    target_ids = list_deployment_targets(codedeploy, deployment_id)
    targets = [
        aws_call(
            "codedeploy GetDeploymentTarget",
            partial(codedeploy.get_deployment_target, deploymentId=deployment_id, targetId=tid),
        )["deploymentTarget"]
        for tid in target_ids[:1]  # an ECS deployment has one target: cluster:service
    ]
    found = green_task_set(targets)
    if found is not None:
        return found
    name = _green_from_listener(elbv2, routes)
    if name is None:
        raise DeploymentGroupSetupError(
            f"cannot tell the replacement target group of deployment {deployment_id}: no Green task set and "
            f"the production listener does not tell {' / '.join(routes.target_groups) or 'the pair'} apart"
        )
    return ReplacementTaskSet(name, None)


def _green_from_listener(elbv2: Elbv2Api, routes: TrafficRoutes) -> str | None:
    if not routes.production_listeners or len(routes.target_groups) != 2:
        return None
    listener = elbv2_api.describe_listener(elbv2, routes.production_listeners[0], aws_call)
    weights_by_arn = elbv2_api.forward_weights(listener)
    arns = elbv2_api.target_group_arns(elbv2, routes.target_groups, aws_call)
    weights_by_name = {name: weights_by_arn.get(arn, 0) for name, arn in arns.items()}
    return green_from_weights(routes.target_groups, weights_by_name)
