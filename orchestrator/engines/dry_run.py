"""`deploy --dry-run` for each engine: the plan as a document (machines) and as text (people).

Pure: reads a plan (``codedeploy_plan.DeploymentPlan``, ``ecs_plan.EcsPlan``), prints nothing.
The verb asks the plan (``Plan.dry_run_document`` / ``dry_run_text``), never which engine it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from orchestrator import documents
from orchestrator.vocabulary import EngineName

if TYPE_CHECKING:
    from orchestrator.engines.codedeploy_plan import DeploymentPlan, TaskDefinitionStep
    from orchestrator.engines.ecs_plan import EcsPlan
    from orchestrator.engines.guardrails import GuardrailViolation
    from orchestrator.watching.timing import Phase


def _minutes(seconds: float) -> str:
    from orchestrator.watching.views import duration

    return duration(seconds)


def _lines(*items: str) -> str:
    return "".join(f"{item}\n" for item in items)


def codedeploy_plan_document(plan: DeploymentPlan, timeout: float) -> documents.DeployPlan:
    """The dry run for machines: the plan and the requests deploy would send."""
    return documents.DeployPlan(
        service=plan.service,
        environment=plan.environment,
        application=plan.application,
        deployment_group=plan.deployment_group,
        strategy=plan.strategy.name,
        deployment_config_name=plan.strategy.deployment_config_name,
        create_deployment_config=plan.config_request,
        task_definition=_planned_task_definition(plan.task_definition),
        guardrails=_guardrails(plan.violations),
        forced=plan.forced,
        expected_seconds=round(plan.expected_seconds),
        timeout_seconds=round(timeout),
        phases=_planned_phases(plan.phases),
        create_deployment=plan.create_request(),
        skipped_reads=list(plan.skipped_reads),
        dry_run=True,
        engine=EngineName.CODEDEPLOY.value,
    )


def codedeploy_plan_text(plan: DeploymentPlan, timeout: float) -> str:
    """The dry run for people: what deploy would do, and which reads it skipped."""
    step = plan.task_definition
    out: list[str] = []
    out.append(f"plan: deploy {plan.service} to {plan.environment} (dry run: nothing is changed)")
    out.append(f"  {'application':<22}{plan.application}")
    out.append(f"  {'deployment group':<22}{plan.deployment_group}")
    out.append(f"  {'strategy':<22}{plan.strategy.name}: {plan.strategy.describe()}")
    config = "predefined" if plan.config_request is None else "custom, created if missing"
    out.append(f"  {'deployment config':<22}{plan.strategy.deployment_config_name} ({config})")
    action = "register a new revision" if step.register is not None else "use as is"
    out.append(f"  {'task definition':<22}{step.source}: {action}")
    if step.register is not None:
        out.append(f"  {'':<22}family {step.register.get('family')}, image {step.image}")
    elif step.arn:
        out.append(f"  {'':<22}{step.arn}")
    rollback = "on failure and on alarm" if plan.auto_rollback else "off (catalog: auto_rollback false)"
    out.append(f"  {'auto rollback':<22}{rollback}")
    alarms = ", ".join(plan.facts.alarm_names) or "none"
    out.append(f"  {'alarms':<22}{alarms} (from the {plan.facts.source})")
    if plan.violations:
        for violation in plan.violations:
            out.append(f"  {'guardrail':<22}{violation.rule}: {violation.message} (overridden by --force)")
    else:
        out.append(f"  {'guardrails':<22}pass ({plan.environment})")
    out.append(f"  {'description':<22}{plan.description}")
    out.append(f"  {'expected duration':<22}{_minutes(plan.expected_seconds)} (timeout {_minutes(timeout)})")
    for phase in plan.phases:
        if phase.expected_seconds:
            out.append(f"    {phase.name:<24}{_minutes(phase.expected_seconds)}")
    out.append("  appspec (task definition ARN filled in after registration):")
    out += [f"    {line}" for line in plan.appspec.rstrip("\n").splitlines()]
    if plan.skipped_reads:
        out.append("  skipped reads (dry run makes no AWS call):")
        out += [f"    {read}" for read in plan.skipped_reads]
    return _lines(*out)


def ecs_plan_document(plan: EcsPlan, timeout: float) -> documents.NativeDeployPlan:
    """The dry run of a native deployment for machines: the UpdateService request deploy would send."""
    return documents.NativeDeployPlan(
        service=plan.service,
        environment=plan.environment,
        engine=EngineName.ECS.value,
        cluster=plan.cluster,
        ecs_service=plan.ecs_service,
        strategy=plan.strategy.name,
        deployment_config_name=plan.config_name,
        task_definition=_planned_task_definition(plan.task_definition),
        guardrails=_guardrails(plan.violations),
        forced=plan.forced,
        expected_seconds=round(plan.expected_seconds),
        timeout_seconds=round(timeout),
        phases=_planned_phases(plan.phases),
        update_service=plan.update_request(),
        skipped_reads=list(plan.skipped_reads),
        dry_run=True,
    )


def ecs_plan_text(plan: EcsPlan, timeout: float) -> str:
    """The dry run of a native deployment for people."""
    import json

    step = plan.task_definition
    out: list[str] = []
    out.append(f"plan: deploy {plan.service} to {plan.environment} (dry run: nothing is changed)")
    out.append(f"  {'engine':<22}ecs (Amazon ECS runs the deployment: UpdateService)")
    out.append(f"  {'ecs service':<22}{plan.cluster}/{plan.ecs_service}")
    out.append(f"  {'strategy':<22}{plan.strategy.name}: {plan.strategy.describe()}")
    out.append(f"  {'native strategy':<22}{plan.config_name}")
    action = "register a new revision" if step.register is not None else "use as is"
    out.append(f"  {'task definition':<22}{step.source}: {action}")
    if step.register is not None:
        out.append(f"  {'':<22}family {step.register.get('family')}, image {step.image}")
    elif step.arn:
        out.append(f"  {'':<22}{step.arn}")
    alarms = ", ".join(plan.facts.alarm_names) or "none"
    out.append(f"  {'alarms':<22}{alarms} (from the catalog)")
    if plan.violations:
        for violation in plan.violations:
            out.append(f"  {'guardrail':<22}{violation.rule}: {violation.message} (overridden by --force)")
    else:
        out.append(f"  {'guardrails':<22}pass ({plan.environment})")
    out.append(f"  {'expected duration':<22}{_minutes(plan.expected_seconds)} (timeout {_minutes(timeout)})")
    width = max((len(phase.name) for phase in plan.phases), default=0) + 2  # ECS's stage names are long
    for phase in plan.phases:
        if phase.expected_seconds:
            out.append(f"    {phase.name:<{width}}{_minutes(phase.expected_seconds)}")
    out.append("  UpdateService request (task definition ARN filled in after registration):")
    out += [f"    {line}" for line in json.dumps(plan.update_request(), indent=2).splitlines()]
    if plan.skipped_reads:
        out.append("  skipped reads (dry run makes no AWS call):")
        out += [f"    {read}" for read in plan.skipped_reads]
    return _lines(*out)


# The parts both engines' dry-run documents share.
def _planned_task_definition(step: TaskDefinitionStep) -> documents.PlannedTaskDefinition:
    return documents.PlannedTaskDefinition(
        source=step.source, arn=step.arn, image=step.image, register=step.register
    )


def _guardrails(violations: Sequence[GuardrailViolation]) -> list[documents.GuardrailViolation]:
    return [documents.GuardrailViolation(rule=v.rule, message=v.message) for v in violations]


def _planned_phases(phases: Sequence[Phase]) -> list[documents.PlannedPhase]:
    return [documents.PlannedPhase(name=p.name, expected_seconds=round(p.expected_seconds)) for p in phases]
