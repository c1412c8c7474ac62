"""What is known about one deployment after the fact: the evidence ``why`` diagnoses and
``timeline`` draws (pure: stdlib only).

An engine's ``inspect`` answers with an ``Inspection`` (what its own API says: the deployment, its
lifecycle events or stages, traffic, ECS tasks and service events); ``insight/gather.py`` adds the
sources both engines share (the hooks' verdict lines in CloudWatch Logs, alarm history, the green
target group's health) and returns ``Evidence``. A source that could not be read is recorded in
``unreadable`` (never an exception): a diagnosis says plainly what it could not see.

Times are timezone-aware ``datetime``s (UTC) as AWS's answers carry them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from orchestrator.insight.outcome import Outcome  # re-exported: the evidence's own word


@dataclass(frozen=True)
class DeploymentFacts:
    """The deployment itself, as its engine describes it."""

    deployment_id: str
    engine: str  # EngineName value: codedeploy | ecs
    status: str  # the engine's own status word (CodeDeploy: Failed, Stopped...; ECS: ROLLBACK_SUCCESSFUL...)
    outcome: Outcome
    service: str | None = None  # the catalog's service, when known
    environment: str | None = None
    strategy: str | None = None  # bluegreen's strategy name when the config reads as one, else the config
    created: datetime | None = None
    completed: datetime | None = None
    # CodeDeploy: errorInformation.code/message; ECS: statusReason (code None)
    error_code: str | None = None
    error_message: str | None = None
    stopped_by_user: bool = False  # StopDeployment / StopServiceDeployment, as far as the engine says
    # Which sign of bluegreen's watch asked for that stop (records.stopped_by_watch; the ledger's
    # stoppedBy, or the watch's own result): None when nobody recorded one
    stopped_by: str | None = None
    rolled_back: bool = False
    rollback_deployment_id: str | None = None  # CodeDeploy's rollback deployment (ECS: None, same deployment)
    rollback_reason: str | None = None  # ECS: rollback.reason; CodeDeploy: rollbackInfo.rollbackMessage
    rollback_started: datetime | None = None
    rollback_of: str | None = None  # this deployment rolls back that one (an automatic rollback)
    description: str | None = None
    task_definition: str | None = None
    image: str | None = None


@dataclass(frozen=True)
class Step:
    """One lifecycle event (CodeDeploy) or stage (ECS) with its times and diagnostics."""

    name: str  # vocabulary's names: CodeDeploy's lifecycle event, or ECS's lifecycle stage
    status: str  # the engine's word (Succeeded/Failed/Skipped/Pending/InProgress; ECS: the hook's status)
    started: datetime | None = None
    ended: datetime | None = None
    error_code: str | None = None  # CodeDeploy: diagnostics.errorCode
    message: str | None = None  # CodeDeploy: diagnostics.message; ECS: what the engine said about it
    hook_function: str | None = None  # the Lambda that ran at this step, when there is one


@dataclass(frozen=True)
class TrafficPoint:
    """From ``at`` on, the replacement (green) revision had ``green_percent`` of production traffic."""

    at: datetime
    green_percent: float
    # "scheduled": from the traffic routing config and the step's times; "observed": read back
    source: str = "scheduled"


@dataclass(frozen=True)
class StoppedTask:
    """An ECS task of the replacement that stopped during the deployment (DescribeTasks)."""

    task_arn: str
    stopped_reason: str | None
    stop_code: str | None = None
    stopped_at: datetime | None = None
    container_reasons: tuple[str, ...] = ()  # "name: exit 1: reason" per container that said why


@dataclass(frozen=True)
class ServiceEvent:
    """One entry of the ECS service's events (DescribeServices ``events``)."""

    at: datetime
    message: str


@dataclass(frozen=True)
class HookVerdict:
    """One hook invocation's verdict line (hooks/runtime.py logs it; CloudWatch Logs keeps it)."""

    step: str  # the lifecycle event (CodeDeploy) or stage (ECS) the hook ran at
    function: str
    verdict: str  # Succeeded | Failed (HookReturnStatus IN_PROGRESS on an ECS bake's re-invocation)
    reason: str
    at: datetime | None = None
    evidence: tuple[str, ...] = ()  # the failed checks' own lines, as the hook logged them


@dataclass(frozen=True)
class AlarmChange:
    """One alarm state change in the deployment's window (DescribeAlarmHistory, StateUpdate)."""

    alarm: str
    at: datetime
    old_state: str  # OK | ALARM | INSUFFICIENT_DATA
    new_state: str
    reason: str  # CloudWatch's stateReason ("Threshold Crossed: 1 datapoint [12.5 (...)] was ...")
    datapoint: float | None = None  # the value that tripped it, parsed from stateReasonData when given


@dataclass(frozen=True)
class TargetHealth:
    """One target of the replacement's target group (DescribeTargetHealth)."""

    target_group: str
    target: str  # id:port
    state: str  # healthy | unhealthy | initial | draining | unused ...
    reason: str | None = None  # Target.ResponseCodeMismatch ...
    description: str | None = None


@dataclass(frozen=True)
class Unreadable:
    """A source the diagnosis could not read, and why (said plainly in the report)."""

    source: str  # "CloudWatch Logs /aws/lambda/<fn>", "alarm history", "ECS tasks" ...
    problem: str


@dataclass(frozen=True)
class Inspection:
    """What an engine's own API says about a deployment (``Engine.inspect``)."""

    facts: DeploymentFacts
    steps: tuple[Step, ...] = ()
    traffic: tuple[TrafficPoint, ...] = ()
    stopped_tasks: tuple[StoppedTask, ...] = ()
    service_events: tuple[ServiceEvent, ...] = ()
    # the rollback's own steps (CodeDeploy: the rollback deployment's lifecycle events)
    rollback_steps: tuple[Step, ...] = ()
    green_target_groups: tuple[str, ...] = ()  # ARNs of the replacement's target group(s)
    alarm_names: tuple[str, ...] = ()  # the alarms the deployment watched (group / deployment config)
    unreadable: tuple[Unreadable, ...] = ()


@dataclass(frozen=True)
class Evidence:
    """Everything ``why`` and ``timeline`` read: the inspection plus the shared sources."""

    inspection: Inspection
    hooks: tuple[HookVerdict, ...] = ()
    alarms: tuple[AlarmChange, ...] = ()
    targets: tuple[TargetHealth, ...] = ()
    unreadable: tuple[Unreadable, ...] = field(default=())  # the shared sources' (the inspection's own too)

    @property
    def facts(self) -> DeploymentFacts:
        return self.inspection.facts

    def all_unreadable(self) -> tuple[Unreadable, ...]:
        """Every source that could not be read, the engine's first."""
        return self.inspection.unreadable + self.unreadable
