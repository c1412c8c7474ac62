"""`drill --fault hook`'s marker end to end without AWS: the engines write it where the hooks read a
deployment's words (CodeDeploy: the description; ECS: the Lambda hooks' hookDetails), and the
AfterAllowTraffic check fails on it, and only on it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hooks.deployment import DeploymentInfo
from hooks.drill import drill_check
from orchestrator.catalog import load_catalog
from orchestrator.commands.drill_rules import Fault, fault_marker, marked_fault
from orchestrator.engines.base import DeployInputs
from orchestrator.engines.codedeploy_plan import _description
from orchestrator.engines.ecs_plan import OfflineEcsReads, build_plan
from orchestrator.engines.guardrails import DESCRIPTION_LIMIT
from orchestrator.strategies import parse_strategy
from orchestrator.vocabulary import AFTER_ALLOW_TRAFFIC, HookTargetType

TASK_DEFINITION = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/inventory-service:7"


def _inputs(service: str, drill_fault: str | None) -> DeployInputs:
    resolved = load_catalog().resolve(service, "dev")
    return DeployInputs(
        service=resolved,
        strategy=parse_strategy("canary10"),
        image="example/x:1",
        request_token="0123456789ab",
        reason="drill",
        drill_fault=drill_fault,
    )


def test_codedeploy_description_carries_the_marker_within_the_limit() -> None:
    description = _description(_inputs("product-service", "hook"), [])
    assert len(description) <= DESCRIPTION_LIMIT
    assert marked_fault(description) == (Fault.HOOK, None)
    assert marked_fault(_description(_inputs("product-service", None), [])) is None


def test_ecs_hook_details_carry_the_marker_for_the_registered_revision() -> None:
    plan = build_plan(_inputs("inventory-service", "hook"), OfflineEcsReads())
    hooks = plan.update_request(TASK_DEFINITION)["deploymentConfiguration"]["lifecycleHooks"]
    lambdas = [h for h in hooks if h["targetType"] == HookTargetType.AWS_LAMBDA.value]
    assert lambdas and all(
        marked_fault(h["hookDetails"]["description"]) == (Fault.HOOK, TASK_DEFINITION) for h in lambdas
    )
    assert all("hookDetails" not in h for h in hooks if h not in lambdas)
    assert "hookDetails" not in plan.deployment_configuration["lifecycleHooks"][0]  # the plan unchanged
    unmarked = build_plan(_inputs("inventory-service", None), OfflineEcsReads())
    assert all(
        "hookDetails" not in h
        for h in unmarked.update_request(TASK_DEFINITION)["deploymentConfiguration"]["lifecycleHooks"]
    )


@dataclass
class _Ctx:
    """The two things drill_check reads of a HookContext."""

    deployment: DeploymentInfo
    target: str | None = None
    lifecycle_event: str = AFTER_ALLOW_TRAFFIC

    def target_task_definition(self) -> str | None:
        return self.target


def _deployment(description: str, rollback: bool = False) -> DeploymentInfo:
    return DeploymentInfo("d-1", "app", "group", description, rollback)


@pytest.mark.parametrize(
    ("ctx", "fails"),
    [
        (_Ctx(_deployment(f"bg:t; {fault_marker(Fault.HOOK)}")), True),
        (_Ctx(_deployment(fault_marker(Fault.HOOK, TASK_DEFINITION)), TASK_DEFINITION), True),
        # a marker an earlier drill left in the service's hookDetails: another revision goes through
        (_Ctx(_deployment(fault_marker(Fault.HOOK, TASK_DEFINITION)), TASK_DEFINITION[:-1] + "8"), False),
        # CodeDeploy's own rollback deployment is never failed
        (_Ctx(_deployment(fault_marker(Fault.HOOK), rollback=True)), False),
        (_Ctx(_deployment(fault_marker(Fault.ALARM))), False),  # the alarm drill breaks no hook
        (_Ctx(_deployment("bg:t; bluegreen deploy product-service canary10")), False),
    ],
)
def test_drill_check(ctx: _Ctx, fails: bool) -> None:
    result = drill_check(ctx)  # type: ignore[arg-type]  # the parts of a HookContext it reads
    if not fails:
        assert result is None
        return
    assert result is not None and not result.passed
    assert "AfterAllowTraffic failed on purpose" in result.detail
