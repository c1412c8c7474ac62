"""CodeDeploy's answers about deployments after the fact: ``CodeDeployEngine.inspect`` (one
deployment, for ``why`` and ``timeline``) and ``CodeDeployEngine.history`` (a group's deployments).

inspect reads GetDeployment (an unknown id: BadInputError, exit 2; no access: AwsError, exit 4),
then what completes the picture, each read on its own so one that fails becomes an ``Unreadable``
instead of hiding the rest: the ECS target's lifecycle events with their times and diagnostics
(ListDeploymentTargets + BatchGetDeploymentTargets), the AppSpec (GetApplicationRevision: which
Lambda ran at which event; the task definition), the deployment group (alarms, the target group
pair), the rollback deployment's own events (``rollbackInfo.rollbackDeploymentId``), the green
target group's ARN (ELBv2) and the image (ECS DescribeTaskDefinition).

history is ListDeployments(createTimeRange.start=since), every page, then BatchGetDeployments by 25:
one call per page plus ceil(n/25).

The functions below ``inspect`` are pure: they turn those answers into the evidence's data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from orchestrator.aws import codedeploy as codedeploy_api
from orchestrator.aws import ecs as ecs_api
from orchestrator.aws import elbv2 as elbv2_api
from orchestrator.catalog import ResolvedService
from orchestrator.errors import BluegreenError
from orchestrator.insight.codedeploy_records import (
    MANUAL_STOP,
    AppSpecFacts,
    as_time,
    outcome_of,
    read_appspec,
    record_from_deployment,
)
from orchestrator.insight.evidence import DeploymentFacts, Inspection, Step, TrafficPoint, Unreadable
from orchestrator.insight.records import DeploymentRecord
from orchestrator.insight.traffic import scheduled_traffic
from orchestrator.strategies import Strategy
from orchestrator.vocabulary import ALLOW_TRAFFIC, DeploymentStatus, EngineName, LifecycleStatus, TargetLabel

T = TypeVar("T")


class _Sources:
    """Reads that may fail on their own: a failure is recorded, the inspection goes on."""

    def __init__(self) -> None:
        self.unreadable: list[Unreadable] = []

    def read(self, source: str, read: Callable[[], T], otherwise: T) -> T:
        try:
            return read()
        except BluegreenError as err:  # AwsError (access, throttling) or BadInputError (gone)
            self.unreadable.append(Unreadable(source, str(err)))
            return otherwise


def inspect(clients: Any, deployment_id: str, strategy_of: Callable[[str], Strategy | None]) -> Inspection:
    """Everything CodeDeploy (and what it names) says about one deployment."""
    codedeploy = clients.client("codedeploy")
    info = codedeploy_api.get_deployment(codedeploy, deployment_id)
    sources = _Sources()
    appspec = sources.read(
        "CodeDeploy GetApplicationRevision (the AppSpec)",
        lambda: read_appspec(
            codedeploy_api.appspec_content(codedeploy, _application(info), info.get("revision") or {})
        ),
        AppSpecFacts(),
    )
    target = _target(codedeploy, deployment_id, sources, "")
    steps = steps_of(target, appspec.hooks)
    rollback_id = (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")
    rollback_steps = (
        steps_of(_target(codedeploy, rollback_id, sources, "the rollback "), {}) if rollback_id else ()
    )
    group = _group(codedeploy, info, sources)
    config = str(info.get("deploymentConfigName") or "")
    strategy = sources.read(f"CodeDeploy deployment config {config}", lambda: strategy_of(config), None)
    green_arns = _target_group_arns(clients, green_target_group_names(info, group, target), sources)
    image = _image(clients, appspec, sources)
    return Inspection(
        facts=facts_of(info, strategy, appspec, image, rollback_steps),
        steps=steps,
        traffic=traffic_of(info, strategy, steps, rollback_steps),
        rollback_steps=rollback_steps,
        green_target_groups=green_arns,
        alarm_names=alarm_names(info, group),
        unreadable=tuple(sources.unreadable),
    )


def history(
    client: codedeploy_api.CodeDeployApi, service: ResolvedService, since: datetime
) -> list[DeploymentRecord]:
    """The group's deployments created at or after ``since``, newest first."""
    settings = service.settings
    ids = codedeploy_api.list_deployments(
        client, settings.application, settings.deployment_group, created_after=since
    )
    infos = codedeploy_api.batch_get_deployments(client, ids)
    records = [record_from_deployment(info, service.name, service.environment) for info in infos]
    # AWS promises no order; the window is checked here too, whatever the service's boundary does.
    kept = [r for r in records if r.created is None or r.created >= since]
    return sorted(kept, key=lambda r: r.created or since, reverse=True)


# --- reads --------------------------------------------------------------------------------------


def _application(info: Mapping[str, Any]) -> str:
    return str(info.get("applicationName") or "")


def _target(
    codedeploy: codedeploy_api.CodeDeployApi, deployment_id: str, sources: _Sources, which: str
) -> Mapping[str, Any]:
    empty: Mapping[str, Any] = {}
    return sources.read(
        f"CodeDeploy deployment targets of {which}{deployment_id}",
        lambda: _ecs_target(codedeploy, deployment_id),
        empty,
    )


def _group(
    codedeploy: codedeploy_api.CodeDeployApi, info: Mapping[str, Any], sources: _Sources
) -> Mapping[str, Any]:
    application, name = _application(info), str(info.get("deploymentGroupName") or "")
    empty: Mapping[str, Any] = {}
    return sources.read(
        f"CodeDeploy GetDeploymentGroup {application}/{name}",
        lambda: codedeploy_api.get_deployment_group(codedeploy, application, name),
        empty,
    )


def _ecs_target(codedeploy: codedeploy_api.CodeDeployApi, deployment_id: str) -> Mapping[str, Any]:
    """The deployment's ECS target (empty before it starts, or for another platform)."""
    for target in codedeploy_api.deployment_targets(codedeploy, deployment_id):
        if target.get("ecsTarget"):
            return dict(target["ecsTarget"])
    return {}


def _target_group_arns(clients: Any, names: Sequence[str], sources: _Sources) -> tuple[str, ...]:
    if not names:
        return ()
    found: Mapping[str, str] = sources.read(
        f"ELBv2 DescribeTargetGroups {', '.join(names)}",
        lambda: elbv2_api.target_group_arns(clients.client("elbv2"), names),
        {},
    )
    return tuple(found[name] for name in names if name in found)


def _image(clients: Any, appspec: AppSpecFacts, sources: _Sources) -> str | None:
    if not appspec.task_definition:
        return None
    arn = appspec.task_definition
    definition: Mapping[str, Any] = sources.read(
        f"ECS DescribeTaskDefinition {arn}",
        lambda: ecs_api.describe_task_definition(clients.client("ecs"), arn),
        {},
    )
    return image_of(definition, appspec.container)


# --- answers -> evidence (pure) ------------------------------------------------------------------


def steps_of(target: Mapping[str, Any], hooks: Mapping[str, str]) -> tuple[Step, ...]:
    """An ECS target's lifecycle events as Steps, in CodeDeploy's order, with the Lambda that ran."""
    steps = []
    for event in target.get("lifecycleEvents") or []:
        name = str(event.get("lifecycleEventName") or "")
        diagnostics = event.get("diagnostics") or {}
        message = diagnostics.get("message") or diagnostics.get("logTail") or None
        steps.append(
            Step(
                name=name,
                status=str(event.get("status") or LifecycleStatus.UNKNOWN.value),
                started=as_time(event.get("startTime")),
                ended=as_time(event.get("endTime")),
                error_code=diagnostics.get("errorCode") or None,
                message=message,
                hook_function=hooks.get(name),
            )
        )
    return tuple(steps)


def _step(steps: Sequence[Step], name: str) -> Step | None:
    return next((step for step in steps if step.name == name), None)


def traffic_of(
    info: Mapping[str, Any], strategy: Strategy | None, steps: Sequence[Step], rollback_steps: Sequence[Step]
) -> tuple[TrafficPoint, ...]:
    """Green's share: the strategy's schedule from AllowTraffic's start, to its end (100 %), to the
    rollback's own AllowTraffic (back to blue), or to the deployment's end without a rollback."""
    allow = _step(steps, ALLOW_TRAFFIC)
    if strategy is None or allow is None or allow.started is None:
        return ()
    shift_ended = allow.ended if allow.status == LifecycleStatus.SUCCEEDED else None
    completed = as_time(info.get("completeTime"))
    back_to_blue = None
    if (info.get("rollbackInfo") or {}).get("rollbackDeploymentId"):
        back_to_blue = rerouted_at(rollback_steps) or completed
    until = completed if back_to_blue is None else None
    return scheduled_traffic(strategy, allow.started, shift_ended, back_to_blue, until=until)


def rerouted_at(rollback_steps: Sequence[Step]) -> datetime | None:
    """When the rollback put production back on the original: its AllowTraffic's end (or start)."""
    allow = _step(rollback_steps, ALLOW_TRAFFIC)
    if allow is None:
        return None
    return allow.ended or allow.started


def green_target_group_names(
    info: Mapping[str, Any], group: Mapping[str, Any], target: Mapping[str, Any]
) -> tuple[str, ...]:
    """The replacement's target group: the Green task set's, else the pair's group the Blue task set
    does not use (a rollback removes the Green task set from the target)."""
    task_sets = target.get("taskSetsInfo") or []
    by_label = {
        str(ts.get("taskSetLabel")): str((ts.get("targetGroup") or {}).get("name") or "") for ts in task_sets
    }
    if by_label.get(TargetLabel.GREEN.value):
        return (by_label[TargetLabel.GREEN.value],)
    balancer = info.get("loadBalancerInfo") or group.get("loadBalancerInfo") or {}
    pairs = balancer.get("targetGroupPairInfoList") or []
    names = [str(g.get("name")) for g in (pairs[0].get("targetGroups") or [])] if pairs else []
    blue = by_label.get(TargetLabel.BLUE.value)
    if blue and blue in names:
        return tuple(name for name in names if name != blue)
    return ()


def alarm_names(info: Mapping[str, Any], group: Mapping[str, Any]) -> tuple[str, ...]:
    """The alarms CodeDeploy watched: the deployment's override when it has one, else the group's;
    none when monitoring was off."""
    config = info.get("overrideAlarmConfiguration") or group.get("alarmConfiguration") or {}
    if not config.get("enabled"):
        return ()
    return tuple(str(alarm["name"]) for alarm in config.get("alarms") or [] if alarm.get("name"))


def image_of(definition: Mapping[str, Any], container: str | None) -> str | None:
    """The image of the AppSpec's container (the first container when it names none)."""
    containers = definition.get("containerDefinitions") or []
    chosen = next((c for c in containers if c.get("name") == container), None)
    if chosen is None and containers:
        chosen = containers[0]
    image = (chosen or {}).get("image")
    return str(image) if image else None


def facts_of(
    info: Mapping[str, Any],
    strategy: Strategy | None,
    appspec: AppSpecFacts,
    image: str | None,
    rollback_steps: Sequence[Step],
) -> DeploymentFacts:
    """The deployment itself, in the evidence's words."""
    rollback = info.get("rollbackInfo") or {}
    error = info.get("errorInformation") or {}
    started = [step.started for step in rollback_steps if step.started is not None]
    status = str(info.get("status") or "")
    return DeploymentFacts(
        deployment_id=str(info["deploymentId"]),
        engine=EngineName.CODEDEPLOY.value,
        status=status,
        outcome=outcome_of(info),
        strategy=strategy.name if strategy else (info.get("deploymentConfigName") or None),
        created=as_time(info.get("createTime")),
        completed=as_time(info.get("completeTime")),
        error_code=error.get("code") or None,
        error_message=error.get("message") or None,
        stopped_by_user=error.get("code") == MANUAL_STOP and status == DeploymentStatus.STOPPED,
        rolled_back=bool(rollback.get("rollbackDeploymentId")),
        rollback_deployment_id=rollback.get("rollbackDeploymentId") or None,
        rollback_reason=rollback.get("rollbackMessage") or None,
        rollback_started=min(started) if started else None,
        rollback_of=rollback.get("rollbackTriggeringDeploymentId") or None,
        description=info.get("description") or None,
        task_definition=appspec.task_definition,
        image=image,
    )
