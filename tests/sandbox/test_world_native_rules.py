"""The sandbox's load balancer routes a listener by its forward rule that matches every request
(Amazon ECS's native blue/green moves traffic with ModifyRule on such a rule), else by its default
action: ``routing_weights``, and the load balancer's polling of DescribeRules for ruled listeners."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from sandbox.clock import VirtualClock
from sandbox.load_balancer.balancer import LoadBalancer, routing_weights
from sandbox.metrics import MetricStore

BLUE, GREEN, OTHER = "tg/blue", "tg/green", "tg/other"


def _forward(*weights: tuple[str, int]) -> list[dict[str, Any]]:
    groups = [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights]
    return [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]


def _rule(priority: str, actions: list[dict[str, Any]], *conditions: dict[str, Any]) -> dict[str, Any]:
    return {
        "Priority": priority,
        "IsDefault": priority == "default",
        "Actions": actions,
        "Conditions": list(conditions),
    }


def _paths(*values: str) -> dict[str, Any]:
    return {"Field": "path-pattern", "PathPatternConfig": {"Values": list(values)}}


LISTENER = {"ListenerArn": "l-1", "DefaultActions": _forward((BLUE, 1))}
DEFAULT_RULE = _rule("default", _forward((BLUE, 1)))
FIXED = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}]


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([], [(BLUE, 1)]),  # no rules: the default action, as today
        ([DEFAULT_RULE], [(BLUE, 1)]),  # only the default rule
        # The seam's rule (priority 1, /*, blue 100 / green 0), then as ECS moves it.
        (
            [DEFAULT_RULE, _rule("1", _forward((BLUE, 100), (GREEN, 0)), _paths("/*"))],
            [(BLUE, 100), (GREEN, 0)],
        ),
        (
            [_rule("1", _forward((BLUE, 90), (GREEN, 10)), _paths("/*")), DEFAULT_RULE],
            [(BLUE, 90), (GREEN, 10)],
        ),
        ([_rule("1", _forward((BLUE, 0), (GREEN, 100)), _paths("/*"))], [(BLUE, 0), (GREEN, 100)]),
        # The lowest priority number wins (an ALB evaluates rules in priority order).
        (
            [_rule("7", _forward((OTHER, 1)), _paths("/*")), _rule("2", _forward((GREEN, 1)), _paths("*"))],
            [(GREEN, 1)],
        ),
        # A rule that sees only some requests does not decide for the whole listener.
        ([_rule("1", _forward((GREEN, 1)), _paths("/api/*")), DEFAULT_RULE], [(BLUE, 1)]),
        (
            [
                _rule(
                    "1", _forward((GREEN, 1)), _paths("/*"), {"Field": "host-header", "Values": ["a.example"]}
                )
            ],
            [(BLUE, 1)],
        ),
        # A rule that does not forward is skipped; one without conditions matches everything.
        ([_rule("1", FIXED, _paths("/*")), _rule("2", _forward((GREEN, 5)))], [(GREEN, 5)]),
        # The legacy Values field of a condition counts too.
        ([_rule("3", _forward((GREEN, 1)), {"Field": "path-pattern", "Values": ["/*"]})], [(GREEN, 1)]),
    ],
)
def test_routing_weights(rules: list[dict[str, Any]], expected: list[tuple[str, int]]) -> None:
    assert routing_weights(LISTENER, rules) == expected


class Elbv2:
    """describe_listeners / describe_rules as moto answers them; counts DescribeRules calls."""

    def __init__(self) -> None:
        self.rules: dict[str, list[dict[str, Any]]] = {
            "l-prod": [_rule("1", _forward((BLUE, 100), (GREEN, 0)), _paths("/*")), DEFAULT_RULE],
        }
        self.rule_calls: list[str] = []

    def describe_listeners(self, **kwargs: Any) -> dict[str, Any]:
        listeners = [
            {"ListenerArn": arn, "DefaultActions": _forward((BLUE, 1))} for arn in ("l-prod", "l-cd")
        ]
        if "ListenerArns" in kwargs:
            listeners = [item for item in listeners if item["ListenerArn"] in kwargs["ListenerArns"]]
        return {"Listeners": listeners}

    def describe_rules(self, ListenerArn: str) -> dict[str, Any]:
        self.rule_calls.append(ListenerArn)
        return {"Rules": self.rules.get(ListenerArn, [DEFAULT_RULE])}


def test_the_load_balancer_follows_a_ruled_listener_s_rule_and_reads_no_rules_for_the_others() -> None:
    item = SimpleNamespace(load_balancer_arn="lb")
    elbv2 = Elbv2()
    balancer = LoadBalancer([item], elbv2, VirtualClock(40), MetricStore(), ruled_listeners=["l-prod"])  # type: ignore[list-item]
    balancer.refresh_listeners()
    assert balancer.weights("l-prod") == [(BLUE, 100), (GREEN, 0)]
    assert balancer.weights("l-cd") == [(BLUE, 1)]
    elbv2.rules["l-prod"][0]["Actions"] = _forward((BLUE, 0), (GREEN, 100))  # ECS's ModifyRule
    balancer.refresh_listeners()
    assert balancer.weights("l-prod") == [(BLUE, 0), (GREEN, 100)]
    assert balancer.current_weights("l-prod") == [(BLUE, 0), (GREEN, 100)]
    assert set(elbv2.rule_calls) == {"l-prod"}  # a CodeDeploy service's listener costs no extra call
