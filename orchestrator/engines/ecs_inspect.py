"""What Amazon ECS's own API says about a native service deployment after the fact (``EcsEngine.inspect``)
and a service's past deployments (``EcsEngine.history``).

inspect reads, in this order (a source after the first that cannot be read goes to ``unreadable``):

1. DescribeServiceDeployments: the facts (status, reason, rollback, the alarms it watched:
   ``alarms.alarmNames``) and the lifecycle stage it reached. An ARN ECS does not know (failures
   reason MISSING: also another account's or region's) is BadInputError (exit 2); another failure
   reason (AccessDenied...) is AwsError (exit 4).
2. DescribeServiceRevisions of the target revision: its task definition, image and the target group
   its tasks serve (``resolvedConfiguration.loadBalancers``: green; the configured ``loadBalancers``
   name the service's primary group, which alternates with the alternate one deployment after deployment).
3. DescribeServices ``events`` in the deployment's window -> ``ServiceEvent`` (oldest first): from its
   creation to 5 minutes past its end, or to the next deployment's creation when sooner
   (ListServiceDeployments createdAt.after: one call more).
4. The replacement's STOPPED tasks: ListTasks(serviceName, desiredStatus STOPPED) + DescribeTasks by
   100, kept when they run the target revision's task definition and started in the window.

Steps: ECS keeps no per-stage history. What DescribeServiceDeployments gives is the stage reached
(``lifecycleStage`` at the end), ``startedAt`` / ``finishedAt`` / ``stoppedAt`` and
``rollback.startedAt``: each stage before the one reached Succeeded (no times), the reached one
Failed / Skipped / Succeeded with the deployment's start and the rollback's (or the end) as its
bounds. Per-stage times come from the hooks' verdict lines in CloudWatch Logs, which
``insight/gather.py`` adds. The rollback is one step (``ROLLBACK``: ECS rolls back inside the same
service deployment, with no stage of its own). Traffic is the strategy's schedule
(``insight.traffic.scheduled_traffic``) only where the API pins it: a deployment that never reached
PRODUCTION_TRAFFIC_SHIFT gave green no production traffic; a SUCCESSFUL one finished shifting
``bakeTimeInMinutes`` before it ended.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from orchestrator.aws import ecs as ecs_api
from orchestrator.aws.ecs import EcsApi
from orchestrator.catalog import ResolvedService
from orchestrator.errors import BluegreenError
from orchestrator.insight.evidence import (
    DeploymentFacts,
    Inspection,
    Outcome,
    ServiceEvent,
    Step,
    StoppedTask,
    TrafficPoint,
    Unreadable,
)
from orchestrator.insight.native_records import (
    as_time,
    ended_at,
    outcome_of,
    record_from_service_deployment,
    revision_image,
    rolled_back_by,
    status_of,
    strategy_for_native,
    strategy_name,
    watched_alarms,
)
from orchestrator.insight.records import DeploymentRecord
from orchestrator.insight.traffic import scheduled_traffic
from orchestrator.vocabulary import (
    NATIVE_LIFECYCLE_STAGES,
    PRODUCTION_TRAFFIC_SHIFT,
    RECONCILE_SERVICE,
    EngineName,
    LifecycleStatus,
    NativeHookStatus,
    ServiceDeploymentStatus,
)
from orchestrator.watching.native_snapshots import deployment_status, error_text

T = TypeVar("T")

# ListTasks pages read for the stopped tasks (100 a page): ECS shows a stopped task for about an
# hour ("the details for the stopped task appear only for one hour", AWS re:Post, "Why is my
# Amazon ECS task stopped?"), so 500 covers any deployment's churn; more is said in ``unreadable``.
STOPPED_TASK_PAGES = 5
# Events and stopped tasks up to this long after the deployment ended still belong to it (ECS
# writes "has reached a steady state." once the service settles after the end).
AFTER_END = timedelta(minutes=5)
ROLLBACK_STEP = "ROLLBACK"
REVISION_SOURCE = "ECS service revision (DescribeServiceRevisions)"
EVENTS_SOURCE = "ECS service events (DescribeServices)"
TASKS_SOURCE = "ECS tasks (ListTasks, DescribeTasks)"
LATER_SOURCE = "ECS service deployments (ListServiceDeployments)"
STOPPED = "STOPPED"
_FAILED_HOOKS = (NativeHookStatus.FAILED, NativeHookStatus.TIMED_OUT)


def cluster_and_service(arn: str) -> tuple[str, str]:
    """(cluster, service) of a service deployment ARN
    (``arn:aws:ecs:<region>:<account>:service-deployment/<cluster>/<service>/<id>``)."""
    parts = arn.split(":", 5)[-1].split("/")
    return (parts[1], parts[2]) if len(parts) >= 4 else ("", "")


# --- inspect ------------------------------------------------------------------------------------------


def inspect(ecs: EcsApi, deployment_id: str) -> Inspection:
    """Everything ECS says about one service deployment (see the module docstring)."""
    sd = ecs_api.describe_service_deployment(ecs, deployment_id)
    cluster, service = cluster_and_service(deployment_id)
    unreadable: list[Unreadable] = []
    target_arn = str((sd.get("targetServiceRevision") or {}).get("arn") or "")
    revision = _read(unreadable, REVISION_SOURCE, lambda: _revision(ecs, target_arn))
    task_definition = (revision or {}).get("taskDefinition")
    later = _read(unreadable, LATER_SOURCE, lambda: next_created(ecs, cluster, service, sd))
    window = _window(sd, later)
    events = _read(unreadable, EVENTS_SOURCE, lambda: service_events(ecs, cluster, service, window))
    tasks = _read(
        unreadable,
        TASKS_SOURCE,
        lambda: stopped_tasks(ecs, cluster, service, task_definition, window, unreadable),
    )
    return Inspection(
        facts=facts_of(sd, revision),
        steps=steps_of(sd),
        traffic=traffic_of(sd),
        stopped_tasks=tuple(tasks or ()),
        service_events=tuple(events or ()),
        rollback_steps=rollback_steps_of(sd),
        green_target_groups=green_target_groups(revision),
        alarm_names=tuple(watched_alarms(sd) or _configured_alarms(sd)),
        unreadable=tuple(unreadable),
    )


def _read(unreadable: list[Unreadable], source: str, read: Callable[[], T]) -> T | None:
    """``read()``, or None with the source and its one-line error in ``unreadable``."""
    try:
        return read()
    except BluegreenError as err:
        unreadable.append(Unreadable(source, str(err)))
        return None


def _revision(ecs: EcsApi, arn: str) -> dict[str, Any] | None:
    if not arn:
        return None
    found = ecs_api.describe_service_revisions(ecs, [arn])
    if not found:
        raise BluegreenError(f"ECS does not know the target service revision {arn}")
    return found[0]


def _configured_alarms(sd: Mapping[str, Any]) -> list[str]:
    alarms = (sd.get("deploymentConfiguration") or {}).get("alarms") or {}
    return [str(name) for name in alarms.get("alarmNames") or []] if alarms.get("enable") else []


def facts_of(sd: Mapping[str, Any], revision: Mapping[str, Any] | None = None) -> DeploymentFacts:
    """The deployment itself (``revision``: its target service revision, when read)."""
    status = status_of(sd)
    outcome = outcome_of(sd)
    rollback = sd.get("rollback") or {}
    by = rolled_back_by(sd)
    configuration = sd.get("deploymentConfiguration") or {}
    task_definition = (revision or {}).get("taskDefinition")
    return DeploymentFacts(
        deployment_id=str(sd.get("serviceDeploymentArn") or ""),
        engine=EngineName.ECS.value,
        status=status.value if status is not None else str(sd.get("status") or ""),
        outcome=outcome,
        strategy=strategy_name(configuration),
        created=as_time(sd.get("createdAt")),
        completed=ended_at(sd),
        error_message=None if outcome is Outcome.SUCCEEDED else error_text(sd, deployment_status(sd)),
        stopped_by_user=by == "stop",
        rolled_back=status is not None and status.is_rollback,
        rollback_reason=str(rollback["reason"]) if rollback.get("reason") else None,
        rollback_started=as_time(rollback.get("startedAt")),
        task_definition=str(task_definition) if task_definition else None,
        image=revision_image(revision),
    )


def green_target_groups(revision: Mapping[str, Any] | None) -> tuple[str, ...]:
    """Where the target revision's tasks serve (``resolvedConfiguration.loadBalancers``)."""
    resolved = ((revision or {}).get("resolvedConfiguration") or {}).get("loadBalancers") or []
    return tuple(dict.fromkeys(str(lb["targetGroupArn"]) for lb in resolved if lb.get("targetGroupArn")))


def _window(sd: Mapping[str, Any], later: datetime | None = None) -> tuple[datetime | None, datetime | None]:
    """From the deployment's creation to AFTER_END past its end (None: still running), or to the
    creation of the service's next deployment when that came sooner (its events are its own)."""
    end = ended_at(sd)
    until = end + AFTER_END if end is not None else None
    if later is not None and (until is None or later < until):
        until = later
    return as_time(sd.get("createdAt")), until


def next_created(ecs: EcsApi, cluster: str, service: str, sd: Mapping[str, Any]) -> datetime | None:
    """When the service's next service deployment was created (ListServiceDeployments createdAt.after)."""
    created = as_time(sd.get("createdAt"))
    if created is None:
        return None
    briefs = ecs_api.list_service_deployments(ecs, cluster, service, created_after=created)
    arn = sd.get("serviceDeploymentArn")
    times = [
        at
        for brief in briefs
        if brief.get("serviceDeploymentArn") != arn
        and (at := as_time(brief.get("createdAt")))
        and at > created
    ]
    return min(times, default=None)


def _within(at: datetime | None, window: tuple[datetime | None, datetime | None]) -> bool:
    start, end = window
    if at is None:
        return False
    return (start is None or at >= start) and (end is None or at <= end)


def service_events(
    ecs: EcsApi, cluster: str, service: str, window: tuple[datetime | None, datetime | None]
) -> list[ServiceEvent]:
    """The service's events in the deployment's window, oldest first."""
    events = [
        ServiceEvent(at, str(event.get("message") or ""))
        for event in ecs_api.service_events(ecs, cluster, service)
        if (at := as_time(event.get("createdAt"))) is not None and _within(at, window)
    ]
    return sorted(events, key=lambda event: event.at)


def stopped_tasks(
    ecs: EcsApi,
    cluster: str,
    service: str,
    task_definition: str | None,
    window: tuple[datetime | None, datetime | None],
    unreadable: list[Unreadable],
) -> list[StoppedTask]:
    """The replacement's tasks that stopped: its task definition, started in the window; by stop time."""
    arns, more = ecs_api.list_task_arns(ecs, cluster, service, STOPPED, max_pages=STOPPED_TASK_PAGES)
    if more:
        unreadable.append(
            Unreadable(
                TASKS_SOURCE,
                f"more than {STOPPED_TASK_PAGES * ecs_api.TASKS_PAGE_SIZE} stopped tasks; read the first "
                f"{STOPPED_TASK_PAGES * ecs_api.TASKS_PAGE_SIZE} only",
            )
        )
    found = [
        task
        for task in ecs_api.describe_tasks(ecs, cluster, arns)
        if (task_definition is None or task.get("taskDefinitionArn") == task_definition)
        and _within(as_time(task.get("startedAt") or task.get("createdAt")), window)
    ]
    stopped = [stopped_task(task) for task in found]
    return sorted(stopped, key=lambda task: (task.stopped_at is None, task.stopped_at, task.task_arn))


def stopped_task(task: Mapping[str, Any]) -> StoppedTask:
    """One DescribeTasks ``tasks[]`` entry as a StoppedTask (containers that said why, with exit codes)."""
    reasons = []
    for container in task.get("containers") or []:
        said = [f"exit {container['exitCode']}"] if container.get("exitCode") is not None else []
        said += [str(container["reason"])] if container.get("reason") else []
        if said:
            reasons.append(f"{container.get('name') or '?'}: {': '.join(said)}")
    return StoppedTask(
        task_arn=str(task.get("taskArn") or ""),
        stopped_reason=str(task["stoppedReason"]) if task.get("stoppedReason") else None,
        stop_code=str(task["stopCode"]) if task.get("stopCode") else None,
        stopped_at=as_time(task.get("stoppedAt")),
        container_reasons=tuple(reasons),
    )


# --- steps and traffic ----------------------------------------------------------------------------------


def reached_stage(sd: Mapping[str, Any]) -> str | None:
    """The lifecycle stage the deployment reached (all of them once SUCCESSFUL)."""
    if status_of(sd) is ServiceDeploymentStatus.SUCCESSFUL:
        return NATIVE_LIFECYCLE_STAGES[-1]
    stage = sd.get("lifecycleStage")
    return str(stage) if stage in NATIVE_LIFECYCLE_STAGES else None


def steps_of(sd: Mapping[str, Any]) -> tuple[Step, ...]:
    """The stages up to the one reached (see the module docstring). RECONCILE_SERVICE only when it
    ran: "only happens when you start a new service deployment with more than 1 service revision in
    an ACTIVE state" (botocore's ServiceDeployment.lifecycleStage documentation)."""
    reached = reached_stage(sd)
    if reached is None:
        return ()
    status = status_of(sd)
    reconciled = reached == RECONCILE_SERVICE or len(sd.get("sourceServiceRevisions") or []) > 1
    stages = [
        stage
        for stage in NATIVE_LIFECYCLE_STAGES[: NATIVE_LIFECYCLE_STAGES.index(reached) + 1]
        if stage != RECONCILE_SERVICE or reconciled
    ]
    started = as_time(sd.get("startedAt"))
    steps = [Step(stage, LifecycleStatus.SUCCEEDED.value) for stage in stages[:-1]]
    if steps:
        steps[0] = Step(stages[0], LifecycleStatus.SUCCEEDED.value, started=started)
    last_status, message = _reached_status(sd, status)
    rollback_started = as_time((sd.get("rollback") or {}).get("startedAt"))
    steps.append(
        Step(
            stages[-1],
            last_status.value,
            started=started if len(stages) == 1 else None,
            ended=rollback_started or ended_at(sd),
            message=message,
            hook_function=failed_hook_function(sd, stages[-1]),
        )
    )
    return tuple(steps)


def _reached_status(
    sd: Mapping[str, Any], status: ServiceDeploymentStatus | None
) -> tuple[LifecycleStatus, str | None]:
    if status is ServiceDeploymentStatus.SUCCESSFUL:
        return LifecycleStatus.SUCCEEDED, None
    if status is None or (not status.is_terminal and not status.is_rollback):
        return LifecycleStatus.IN_PROGRESS, None
    reason = (sd.get("rollback") or {}).get("reason") or sd.get("statusReason")
    stopped = rolled_back_by(sd) == "stop" or status is ServiceDeploymentStatus.STOPPED
    failed = LifecycleStatus.SKIPPED if stopped else LifecycleStatus.FAILED
    return failed, str(reason) if reason else None


def failed_hook_function(sd: Mapping[str, Any], stage: str) -> str | None:
    """The Lambda hook configured at ``stage`` whose run FAILED or TIMED_OUT (lifecycleHookDetails
    names no stage; the configuration's lifecycleHooks say where each target runs)."""
    failed = {
        str(hook.get("targetArn"))
        for hook in sd.get("lifecycleHookDetails") or []
        if hook.get("status") in _FAILED_HOOKS and hook.get("targetArn")
    }
    for hook in (sd.get("deploymentConfiguration") or {}).get("lifecycleHooks") or []:
        if stage in (hook.get("lifecycleStages") or []) and hook.get("hookTargetArn") in failed:
            return str(hook["hookTargetArn"])
    return None


def rollback_steps_of(sd: Mapping[str, Any]) -> tuple[Step, ...]:
    """The rollback as one step (ECS rolls back inside the same deployment, with no stages of its own)."""
    status = status_of(sd)
    rollback = sd.get("rollback") or {}
    if status is None or not (status.is_rollback or rollback):
        return ()
    word = {
        ServiceDeploymentStatus.ROLLBACK_SUCCESSFUL: LifecycleStatus.SUCCEEDED,
        ServiceDeploymentStatus.ROLLBACK_FAILED: LifecycleStatus.FAILED,
    }.get(status, LifecycleStatus.IN_PROGRESS)
    return (
        Step(
            ROLLBACK_STEP,
            word.value,
            started=as_time(rollback.get("startedAt")),
            ended=ended_at(sd),
            message=str(rollback["reason"]) if rollback.get("reason") else None,
        ),
    )


def traffic_of(sd: Mapping[str, Any]) -> tuple[TrafficPoint, ...]:
    """Green's production share where the API pins it (see the module docstring)."""
    configuration = sd.get("deploymentConfiguration") or {}
    strategy = strategy_for_native(configuration)
    reached = reached_stage(sd)
    started = as_time(sd.get("startedAt"))
    if reached is None or started is None:
        return ()
    stages = NATIVE_LIFECYCLE_STAGES
    if stages.index(reached) < stages.index(PRODUCTION_TRAFFIC_SHIFT):
        return (TrafficPoint(started, 0.0),)  # green never had production traffic
    finished = as_time(sd.get("finishedAt"))
    if status_of(sd) is not ServiceDeploymentStatus.SUCCESSFUL or strategy is None or finished is None:
        return ()  # when the shift ran is in the hooks' verdict lines only
    shift_ended = finished - timedelta(minutes=float(configuration.get("bakeTimeInMinutes") or 0))
    shift_started = shift_ended - timedelta(minutes=strategy.total_shift_minutes)
    return scheduled_traffic(strategy, max(shift_started, started), shift_ended, None)


# --- history -------------------------------------------------------------------------------------------


def history(ecs: EcsApi, service: ResolvedService, since: datetime) -> list[DeploymentRecord]:
    """The service's service deployments created at or after ``since``, newest first. Calls:
    ListServiceDeployments (100 a page) + DescribeServiceDeployments and DescribeServiceRevisions
    (their targets: task definition and image) by 20 ("You can specify a maximum of 20 ARNs",
    botocore's ECS model): 1 + 2 * ceil(n / 20) for n <= 100 deployments."""
    settings = service.settings
    since = as_time(since) or since  # a naive time is UTC, as everywhere in bluegreen
    # createdAt.after is "after"; one second earlier, then ``since`` itself, keeps the bound inclusive
    briefs = ecs_api.list_service_deployments(
        ecs, settings.cluster, settings.ecs_service, created_after=since - timedelta(seconds=1)
    )
    arns = [str(b["serviceDeploymentArn"]) for b in briefs if _at_or_after(b.get("createdAt"), since)]
    described = ecs_api.describe_service_deployments(ecs, arns)
    targets = [str((sd.get("targetServiceRevision") or {}).get("arn") or "") for sd in described]
    revisions = {
        str(revision.get("serviceRevisionArn")): revision
        for revision in ecs_api.describe_service_revisions(ecs, [t for t in targets if t])
    }
    records = [
        record_from_service_deployment(sd, service.name, service.environment, revisions.get(target))
        for sd, target in zip(described, targets, strict=True)
    ]
    return newest_first(records)


def _at_or_after(value: Any, since: datetime) -> bool:
    at = as_time(value)
    return at is not None and at >= since


def newest_first(records: Sequence[DeploymentRecord]) -> list[DeploymentRecord]:
    """By ``created``, newest first (unknown times last), then by id for a stable order."""
    return sorted(
        records,
        key=lambda r: (r.created is not None, r.created.timestamp() if r.created else 0.0, r.deployment_id),
        reverse=True,
    )
