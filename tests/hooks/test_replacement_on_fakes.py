"""Which target group is the replacement (green) when CodeDeploy's deployment target does not say:
the production listener's weights over FakeElbv2 (tests/support/fakes.py), through the shared adapters
and ``aws_call`` as in Lambda. The pure choice is tests/hooks/test_decisions.py::test_green_from_weights."""

from __future__ import annotations

from typing import Any

import pytest

from hooks.deployment import DeploymentGroupSetupError, TrafficRoutes, get_replacement_task_set
from tests.support.fakes import ELB_ARN, FakeClients

BLUE, GREEN = "svc-blue", "svc-green"
PRODUCTION = f"{ELB_ARN}:listener/app/alb/0/production"


class NoGreenCodeDeploy:
    """A deployment target whose task sets carry no Green label (so the listener has to tell)."""

    def list_deployment_targets(self, **_: Any) -> dict[str, Any]:
        return {"targetIds": ["cluster:svc"]}

    def get_deployment_target(self, **_: Any) -> dict[str, Any]:
        return {"deploymentTarget": {"ecsTarget": {"taskSetsInfo": []}}}


def _routes(*listeners: str) -> TrafficRoutes:
    return TrafficRoutes(production_listeners=listeners, test_listeners=(), target_groups=(BLUE, GREEN))


def _clients(blue_weight: int | None, green_weight: int | None) -> FakeClients:
    """Production forwards to the pair with these weights (None: that group is not in the forward)."""
    clients = FakeClients()
    arns = {BLUE: clients.elbv2.add_target_group(BLUE), GREEN: clients.elbv2.add_target_group(GREEN)}
    groups = [
        {"TargetGroupArn": arns[name], "Weight": weight}
        for name, weight in ((BLUE, blue_weight), (GREEN, green_weight))
        if weight is not None
    ]
    clients.elbv2.listeners[PRODUCTION] = {
        "ListenerArn": PRODUCTION,
        "Port": 80,
        "DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}],
    }
    return clients


@pytest.mark.parametrize(
    ("blue", "green", "replacement"),
    [
        (100, 0, GREEN),
        (0, 100, BLUE),  # CodeDeploy alternates the pair's roles: the names do not say
        (100, None, GREEN),  # a group the listener does not forward to carries nothing
        (None, 100, BLUE),
    ],
)
def test_the_replacement_is_the_group_production_forwards_least_to(
    blue: int | None, green: int | None, replacement: str
) -> None:
    clients = _clients(blue, green)
    found = get_replacement_task_set(NoGreenCodeDeploy(), clients.elbv2, "d-1", _routes(PRODUCTION, "other"))
    assert (found.target_group, found.desired_count) == (replacement, None)


def test_a_listener_that_does_not_tell_the_pair_apart_is_a_setup_error() -> None:
    clients = _clients(50, 50)
    with pytest.raises(DeploymentGroupSetupError, match="does not tell svc-blue / svc-green apart"):
        get_replacement_task_set(NoGreenCodeDeploy(), clients.elbv2, "d-1", _routes(PRODUCTION))
