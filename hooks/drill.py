"""`bluegreen drill --fault hook`: the AfterAllowTraffic hook fails on purpose, so the drill can prove
that the engine rolls the release back (``orchestrator/commands/drill.py``).

The drill marks its deployment where the hooks already read a deployment's words (CodeDeploy: the
description; Amazon ECS: the lifecycle hooks' hookDetails ``description``): ``drill-fault: hook``,
on ECS ``... for <task definition ARN>``. The check reads no more than the marker: nothing else
changes for a deployment without one (one pure parse), and CodeDeploy's rollback deployment or an
ECS deployment of another revision under a stale marker is left alone.
"""

from __future__ import annotations

from hooks.context import HookContext
from hooks.outcome import CheckResult
from orchestrator.commands.drill_rules import Fault, marked_fault

CHECK_NAME = "drill"


def drill_check(ctx: HookContext) -> CheckResult | None:
    """A failed check when the deployment carries a hook drill's marker; None (no check) otherwise."""
    deployment = ctx.deployment
    marked = marked_fault(deployment.description)
    if marked is None or marked.fault is not Fault.HOOK or deployment.rollback:
        return None
    if marked.task_definition is not None and marked.task_definition != ctx.target_task_definition():
        return None  # a marker an earlier drill left in the service's hookDetails: not this revision
    return CheckResult(
        CHECK_NAME,
        False,
        f"bluegreen drill: {ctx.lifecycle_event} failed on purpose (the deployment is marked "
        f"'{Fault.HOOK.value}' drill); the engine must roll it back",
    )
