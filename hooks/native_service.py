"""What Amazon ECS knows about the native deployment a hook runs for: thin reads that take clients.

The service (DescribeServices) gives its load balancer's ``advancedConfiguration``: the target group
pair (``targetGroupArn`` and ``alternateTargetGroupArn``) and the listener rules ECS moves traffic
with (``productionListenerRule``, ``testListenerRule``), and its desired count. The target service
revision (DescribeServiceRevisions) says which of the pair its tasks are in
(``resolvedConfiguration.loadBalancers[].targetGroupArn``): that is green. AWS fills
resolvedConfiguration only for an active revision; without it green is the alternate target group,
where ECS registers the new revision's tasks. A listener rule's ARN names its listener
(``listener-rule/app/<lb>/<lb-id>/<listener-id>/<rule-id>``; AWS, "Resource types defined by Elastic
Load Balancing V2"): DescribeRules confirms the rule, DescribeListeners gives the listener's port and
load balancer, as on CodeDeploy. Every read goes through ``aws_call``; the decisions are pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from hooks.clients import aws_call
from hooks.deployment import Listener, route_listener
from orchestrator.errors import BadInputError


class NativeSetupError(BadInputError):
    """The ECS service lacks what a hook needs (a load balancer with advancedConfiguration)."""


class NativeLoadBalancer(NamedTuple):
    """A service's load balancer as a native blue/green deployment uses it."""

    target_group_arn: str
    alternate_target_group_arn: str
    production_listener_rule: str
    test_listener_rule: str


class NativeService(NamedTuple):
    """The parts of DescribeServices a hook uses."""

    cluster: str
    name: str
    desired_count: int | None
    load_balancer: NativeLoadBalancer


def native_load_balancer(service: Mapping[str, Any]) -> NativeLoadBalancer:
    """The first load balancer with an advancedConfiguration (pure)."""
    for balancer in service.get("loadBalancers") or ():
        advanced = balancer.get("advancedConfiguration") or {}
        if balancer.get("targetGroupArn") and advanced.get("alternateTargetGroupArn"):
            return NativeLoadBalancer(
                target_group_arn=balancer["targetGroupArn"],
                alternate_target_group_arn=advanced["alternateTargetGroupArn"],
                production_listener_rule=advanced.get("productionListenerRule") or "",
                test_listener_rule=advanced.get("testListenerRule") or "",
            )
    name = service.get("serviceName", "?")
    raise NativeSetupError(
        f"ECS service {name} has no load balancer with advancedConfiguration (alternateTargetGroupArn, "
        "listener rules): it is not set up for native blue/green"
    )


def describe_native_service(ecs: Any, cluster: str, name: str) -> NativeService:
    """DescribeServices of one service; a missing service is bad input."""
    answer = aws_call("ecs DescribeServices", lambda: ecs.describe_services(cluster=cluster, services=[name]))
    found = answer.get("services") or []
    if not found:
        raise NativeSetupError(f"ECS service {name} not found in cluster {cluster}")
    service = found[0]
    desired = service.get("desiredCount")
    count = int(desired) if desired is not None else None
    return NativeService(cluster, name, count, native_load_balancer(service))


def revision_target_groups(revision: Mapping[str, Any] | None) -> list[str]:
    """The target groups a service revision's resolvedConfiguration puts its tasks in (pure)."""
    resolved = (revision or {}).get("resolvedConfiguration") or {}
    return [lb["targetGroupArn"] for lb in resolved.get("loadBalancers") or () if lb.get("targetGroupArn")]


def green_target_group_arn(balancer: NativeLoadBalancer, revision_groups: Sequence[str]) -> str:
    """The pair member the target revision's tasks are in; the alternate one when it does not say."""
    pair = (balancer.target_group_arn, balancer.alternate_target_group_arn)
    for arn in revision_groups:
        if arn in pair:
            return arn
    return balancer.alternate_target_group_arn


def describe_revision(ecs: Any, revision_arn: str) -> dict[str, Any] | None:
    """DescribeServiceRevisions of one revision (None when ECS reports it as a failure)."""
    answer = aws_call(
        "ecs DescribeServiceRevisions",
        lambda: ecs.describe_service_revisions(serviceRevisionArns=[revision_arn]),
    )
    found = answer.get("serviceRevisions") or []
    return dict(found[0]) if found else None


def target_group_name(arn: str) -> str:
    """``...:targetgroup/<name>/<id>`` -> name (pure)."""
    parts = arn.rsplit(":", 1)[-1].split("/")
    if len(parts) != 3 or parts[0] != "targetgroup" or not parts[1]:
        raise NativeSetupError(f"{arn!r} is not a target group ARN")
    return parts[1]


def listener_arn_of_rule(rule_arn: str) -> str:
    """``...:listener-rule/app/<lb>/<lb-id>/<listener-id>/<rule-id>`` -> its listener's ARN (pure)."""
    head, sep, path = rule_arn.rpartition(":listener-rule/")
    parts = path.split("/")
    if not sep or len(parts) != 5 or not all(parts):
        raise NativeSetupError(f"{rule_arn!r} is not a listener rule ARN")
    return f"{head}:listener/{'/'.join(parts[:4])}"


def rule_listener(elbv2: Any, rule_arn: str, which: str) -> Listener:
    """The listener a rule belongs to: DescribeRules (the rule exists), then DescribeListeners.
    ``elbv2``: an Elbv2Api that also answers DescribeRules."""
    if not rule_arn:
        raise NativeSetupError(f"the ECS service's advancedConfiguration has no {which} listener rule")
    aws_call("elbv2 DescribeRules", lambda: elbv2.describe_rules(RuleArns=[rule_arn]))
    return route_listener(elbv2, [listener_arn_of_rule(rule_arn)], which)
