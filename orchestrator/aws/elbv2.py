"""Thin ELBv2 adapters: target groups and load balancers by name, listeners, target health.

``Elbv2Api`` is the client surface they use (a boto3 elbv2 client, or
``tests.support.fakes.FakeElbv2``). Each function takes a ``CallPolicy`` (see
``orchestrator.aws.clients``): the CLI and the alarm audit use ``cli_call``, the hooks their
deadline-bounded ``aws_call``. ``forward_weights`` is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, Protocol

from orchestrator.aws.clients import CallPolicy, chunked, cli_call, error_code
from orchestrator.errors import AwsError, BadInputError

# DescribeTargetGroups / DescribeLoadBalancers: "Names ... Maximum number of 20 items" and
# "PageSize ... Maximum value of 400" (ELBv2 API reference).
MAX_NAMES = 20
MAX_PAGE_SIZE = 400


Describe = Callable[..., Mapping[str, Any]]


class Elbv2Api(Protocol):
    """The ELBv2 operations bluegreen calls (keyword arguments and answers as in boto3)."""

    def describe_target_groups(self, **request: Any) -> Mapping[str, Any]: ...

    def describe_load_balancers(self, **request: Any) -> Mapping[str, Any]: ...

    def describe_listeners(self, **request: Any) -> Mapping[str, Any]: ...

    def describe_target_health(self, **request: Any) -> Mapping[str, Any]: ...

    def describe_rules(self, **request: Any) -> Mapping[str, Any]: ...


def _list_all(call: CallPolicy, what: str, describe: Describe, keys: tuple[str, str, str]) -> dict[str, str]:
    key, name_key, arn_key = keys
    found: dict[str, str] = {}
    request: dict[str, Any] = {"PageSize": MAX_PAGE_SIZE}
    while True:
        page = call(what, partial(describe, **request))
        found.update({item[name_key]: item[arn_key] for item in page.get(key, [])})
        if not page.get("NextMarker"):
            return found
        request["Marker"] = page["NextMarker"]


def all_target_groups(elbv2: Elbv2Api, call: CallPolicy = cli_call) -> dict[str, str]:
    """Name -> ARN of every target group in the region, 400 a page, following NextMarker."""
    names = ("TargetGroups", "TargetGroupName", "TargetGroupArn")
    return _list_all(call, "ELBv2 DescribeTargetGroups", elbv2.describe_target_groups, names)


def all_load_balancers(elbv2: Elbv2Api, call: CallPolicy = cli_call) -> dict[str, str]:
    """Name -> ARN of every load balancer in the region, 400 a page, following NextMarker."""
    names = ("LoadBalancers", "LoadBalancerName", "LoadBalancerArn")
    return _list_all(call, "ELBv2 DescribeLoadBalancers", elbv2.describe_load_balancers, names)


def _by_names(
    call: CallPolicy, what: str, describe: Describe, names: Sequence[str], shape: tuple[str, str, str, str]
) -> dict[str, str]:
    """Name -> ARN for the names that exist; one call per 20, one per name only when some are missing
    (a missing name fails the whole call with ``not_found``)."""
    key, name_key, arn_key, not_found = shape

    def items(batch: list[str]) -> list[Any]:
        try:
            return list(call(what, lambda: describe(Names=batch))[key])
        except Exception as err:
            if error_code(err.__cause__ or err) != not_found:
                raise
        if len(batch) == 1:
            return []
        return [item for name in batch for item in items([name])]  # find which names exist

    unique = sorted(set(names))
    found: dict[str, str] = {}
    for batch in chunked(unique, MAX_NAMES):
        found.update({item[name_key]: item[arn_key] for item in items(batch)})
    return found


def target_group_arns(elbv2: Elbv2Api, names: Sequence[str], call: CallPolicy = cli_call) -> dict[str, str]:
    """Name -> ARN of the named target groups that exist (DescribeTargetGroups, 20 names a call)."""
    shape = ("TargetGroups", "TargetGroupName", "TargetGroupArn", "TargetGroupNotFound")
    return _by_names(call, "ELBv2 DescribeTargetGroups", elbv2.describe_target_groups, names, shape)


def load_balancer_arns(elbv2: Elbv2Api, names: Sequence[str], call: CallPolicy = cli_call) -> dict[str, str]:
    """Name -> ARN of the named load balancers that exist (DescribeLoadBalancers, 20 names a call)."""
    shape = ("LoadBalancers", "LoadBalancerName", "LoadBalancerArn", "LoadBalancerNotFound")
    return _by_names(call, "ELBv2 DescribeLoadBalancers", elbv2.describe_load_balancers, names, shape)


def describe_listener(elbv2: Elbv2Api, arn: str, call: CallPolicy = cli_call) -> dict[str, Any]:
    """One listener (Port, LoadBalancerArn, DefaultActions); AwsError when ELBv2 returns none."""
    listeners = call("elbv2 DescribeListeners", lambda: elbv2.describe_listeners(ListenerArns=[arn]))[
        "Listeners"
    ]
    if not listeners:
        raise AwsError(f"elbv2 DescribeListeners: listener {arn} not found")
    return dict(listeners[0])


def listener_of_rule(rule_arn: str) -> str:
    """The listener ARN a listener rule ARN belongs to (pure): ELBv2 writes a rule's ARN as its
    listener's with ``listener-rule/`` for ``listener/`` and the rule's id appended
    (arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/LB/LB_ID/LISTENER_ID/RULE_ID), and
    DescribeRules does not return the listener. BadInputError for anything else."""
    head, marker, path = rule_arn.partition(":listener-rule/")
    parts = path.split("/")
    if not marker or len(parts) != 5 or not all(parts):
        raise BadInputError(f"{rule_arn!r} is not a load balancer listener rule ARN")
    return f"{head}:listener/{'/'.join(parts[:4])}"


def load_balancer_dns_name(elbv2: Elbv2Api, arn: str, call: CallPolicy = cli_call) -> str:
    """The DNSName of a load balancer (DescribeLoadBalancers): the host its listeners answer on."""
    balancers = call(
        "elbv2 DescribeLoadBalancers", lambda: elbv2.describe_load_balancers(LoadBalancerArns=[arn])
    )["LoadBalancers"]
    if not balancers or not balancers[0].get("DNSName"):
        raise AwsError(f"elbv2 DescribeLoadBalancers: load balancer {arn} has no DNS name")
    return str(balancers[0]["DNSName"])


def target_health(
    elbv2: Elbv2Api, target_group_name: str, call: CallPolicy = cli_call
) -> list[tuple[str, str]]:
    """(``id:port``, health state) of every target registered in a target group, by its name."""
    groups = call(
        "elbv2 DescribeTargetGroups", lambda: elbv2.describe_target_groups(Names=[target_group_name])
    )["TargetGroups"]
    if not groups:
        raise AwsError(f"elbv2 DescribeTargetGroups: no target group {target_group_name}")
    arn = groups[0]["TargetGroupArn"]
    descriptions = call(
        "elbv2 DescribeTargetHealth", lambda: elbv2.describe_target_health(TargetGroupArn=arn)
    )["TargetHealthDescriptions"]
    return [
        (
            f"{item['Target']['Id']}:{item['Target'].get('Port', '')}".rstrip(":"),
            item["TargetHealth"]["State"],
        )
        for item in descriptions
    ]


def target_health_descriptions(
    elbv2: Elbv2Api, target_group_arn: str, call: CallPolicy = cli_call
) -> list[dict[str, Any]]:
    """DescribeTargetHealth of a target group by ARN: each target's Target {Id, Port} and
    TargetHealth {State, Reason, Description} as ELBv2 gives them (one call: the API does not page)."""
    answer = call(
        "elbv2 DescribeTargetHealth", lambda: elbv2.describe_target_health(TargetGroupArn=target_group_arn)
    )
    return [dict(item) for item in answer.get("TargetHealthDescriptions", [])]


def forward_weights(listener: Mapping[str, Any]) -> dict[str, int]:
    """Target group ARN -> weight of a listener's forward default actions (pure).

    A forward with a ForwardConfig lists weighted groups (Weight defaults to 1); the older form
    names one TargetGroupArn, which takes all the traffic.
    """
    weights: dict[str, int] = {}
    for action in listener.get("DefaultActions", []):
        if action.get("Type") != "forward":
            continue
        forward = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        for group in forward:
            weights[group["TargetGroupArn"]] = int(group.get("Weight", 1))
        if not forward and action.get("TargetGroupArn"):
            weights[action["TargetGroupArn"]] = 1
    return weights


def _forwarded_groups(rule: Mapping[str, Any]) -> set[str]:
    """The target group ARNs a rule's forward actions name (ForwardConfig or the older single ARN)."""
    groups: set[str] = set()
    for action in rule.get("Actions", []):
        if action.get("Type") != "forward":
            continue
        groups.update(
            g["TargetGroupArn"] for g in (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        )
        if action.get("TargetGroupArn"):
            groups.add(action["TargetGroupArn"])
    return groups


def listener_arn(elbv2: Elbv2Api, load_balancer_arn: str, port: int, call: CallPolicy = cli_call) -> str:
    """The load balancer's listener on ``port`` (DescribeListeners, every page); AwsError when none."""
    request: dict[str, Any] = {"LoadBalancerArn": load_balancer_arn, "PageSize": MAX_PAGE_SIZE}
    while True:
        page = call("elbv2 DescribeListeners", partial(elbv2.describe_listeners, **request))
        for listener in page.get("Listeners", []):
            if listener.get("Port") == port:
                return str(listener["ListenerArn"])
        if not page.get("NextMarker"):
            raise AwsError(
                f"elbv2 DescribeListeners: load balancer {load_balancer_arn} has no listener on port {port}"
            )
        request["Marker"] = page["NextMarker"]


# --- migrate: the listener rules a service moving to ECS's own deployments needs -------------------------


def find_service_rule(
    elbv2: Elbv2Api, listener: str, target_group_arns: Sequence[str], call: CallPolicy = cli_call
) -> dict[str, Any] | None:
    """The listener's non-default rule forwarding to one of ``target_group_arns``, or None (every page)."""
    wanted = set(target_group_arns)
    request: dict[str, Any] = {"ListenerArn": listener, "PageSize": MAX_PAGE_SIZE}
    while True:
        page = call("elbv2 DescribeRules", partial(elbv2.describe_rules, **request))
        for rule in page.get("Rules", []):
            if not rule.get("IsDefault") and _forwarded_groups(rule) & wanted:
                return dict(rule)
        if not page.get("NextMarker"):
            return None
        request["Marker"] = page["NextMarker"]


class RuleWriterApi(Protocol):
    """The one ELBv2 write `migrate` makes (apart from Elbv2Api: everything else only reads)."""

    def create_rule(self, **request: Any) -> Mapping[str, Any]: ...


def create_rule(elbv2: RuleWriterApi, request: Mapping[str, Any], call: CallPolicy = cli_call) -> str:
    """CreateRule; the new rule's ARN (ELBv2 refuses a priority already taken: PriorityInUse)."""
    answer = call(f"elbv2 CreateRule on {request.get('ListenerArn')}", lambda: elbv2.create_rule(**request))
    return str(answer["Rules"][0]["RuleArn"])


def service_rule(
    elbv2: Elbv2Api, listener: str, target_group_arns: Sequence[str], call: CallPolicy = cli_call
) -> dict[str, Any]:
    """The listener's non-default rule that forwards to one of ``target_group_arns`` (the service's
    blue or green group): the rule ECS's native deployments move traffic on (AWS requires a rule ARN
    as productionListenerRule / testListenerRule on an ALB). AwsError when there is none."""
    wanted = set(target_group_arns)
    request: dict[str, Any] = {"ListenerArn": listener, "PageSize": MAX_PAGE_SIZE}
    while True:
        page = call("elbv2 DescribeRules", partial(elbv2.describe_rules, **request))
        for rule in page.get("Rules", []):
            if not rule.get("IsDefault") and _forwarded_groups(rule) & wanted:
                return dict(rule)
        if not page.get("NextMarker"):
            raise AwsError(
                f"elbv2 DescribeRules: listener {listener} has no rule forwarding to the service's target "
                "groups (the ECS engine moves traffic on a listener rule: add one, e.g. priority 1, path /*)"
            )
        request["Marker"] = page["NextMarker"]


def describe_rule(elbv2: Elbv2Api, rule_arn: str, call: CallPolicy = cli_call) -> dict[str, Any]:
    """One listener rule by its ARN (DescribeRules RuleArns); AwsError when ELBv2 returns none."""
    rules = call("elbv2 DescribeRules", lambda: elbv2.describe_rules(RuleArns=[rule_arn])).get("Rules", [])
    if not rules:
        raise AwsError(f"elbv2 DescribeRules: rule {rule_arn} not found")
    return dict(rules[0])


def rule_forward_weights(rule: Mapping[str, Any]) -> dict[str, int]:
    """Target group ARN -> weight of a rule's forward actions (pure; as ``forward_weights``)."""
    return forward_weights({"DefaultActions": rule.get("Actions", [])})
