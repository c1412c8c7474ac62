"""How long a deployment takes: expected phases, default timeout and a phase-aware ETA (pure).

The model follows an ECS blue/green deployment's lifecycle events in CodeDeploy's order:

    BeforeInstall, Install, AfterInstall, AllowTestTraffic, AfterAllowTestTraffic,
    [ready-wait], BeforeAllowTraffic, traffic-shift (= AllowTraffic), AfterAllowTraffic,
    termination-wait

- hook events (BeforeInstall, ...) last their hook budget, 0 when the AppSpec has no hook there;
- Install is the replacement task set becoming healthy (``GroupTiming.install_seconds``);
- ready-wait exists only with ready action STOP_DEPLOYMENT. For a deployment bluegreen itself
  continues at Ready (``deploy``/``rollback`` watching past ``--until ready``) it lasts 0: the
  watcher calls ContinueDeployment at the poll that sees Ready. Otherwise (attaching to someone
  else's deployment, which waits for ``promote``) it lasts the whole ready window, the upper bound:
  CodeDeploy stops the deployment when nobody promotes it in time;
- traffic-shift is the strategy's schedule: 0 for all-at-once, one interval for a canary,
  (steps - 1) x interval for a linear config (the first increment moves at once);
- termination-wait is the group's wait before the original task set is terminated; the deployment
  stays InProgress until then, so "done" includes it.

For the CLI engineer:
- ``GroupTiming.for_service(service)`` from the catalog (what bluegreen creates/expects), or
  ``GroupTiming.from_blue_green_config(deploymentInfo["blueGreenDeploymentConfiguration"], budgets)``
  from GetDeploymentGroup/GetDeployment for deployments made elsewhere (``hook_budgets(service)``
  gives the budgets when the service is known).
- ``default_timeout(strategy, timing)`` is the default ``--timeout`` in seconds.
- ``current_phase(phases, status, lifecycle_events)`` maps a poll (GetDeployment status plus
  GetDeploymentTarget's ``ecsTarget.lifecycleEvents``) to a phase name;
  ``eta_seconds(phases, that_name, seconds_since_it_started, until)`` is the remaining time.
- ``until_reached(until, status, lifecycle_events)`` says when ``--until`` may return exit 0.

Additions beyond the shared interface: ``Phase.lifecycle_event``, ``GroupTiming.install_seconds``,
``GroupTiming.for_service``, ``GroupTiming.from_blue_green_config``, ``hook_budgets``,
``current_phase``, ``until_reached``, ``phases_until``, the ``until`` argument of ``eta_seconds``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.catalog import ResolvedService
from orchestrator.strategies import Strategy
from orchestrator.vocabulary import (
    AFTER_ALLOW_TEST_TRAFFIC,
    AFTER_ALLOW_TRAFFIC,
    AFTER_INSTALL,
    ALLOW_TEST_TRAFFIC,
    ALLOW_TRAFFIC,
    BEFORE_ALLOW_TRAFFIC,
    BEFORE_INSTALL,
    ECS_HOOK_EVENTS,
    INSTALL,
    DeploymentReadyAction,
    DeploymentStatus,
    InstanceAction,
    LifecycleStatus,
)

UNTIL_PHASES = ("ready", "traffic-shifted", "done")

READY_WAIT = "ready-wait"
TRAFFIC_SHIFT = "traffic-shift"
TERMINATION_WAIT = "termination-wait"

# Assumptions, not measurements (override them per group through GroupTiming):
# - a new ECS task behind an ALB is healthy after HealthCheckIntervalSeconds 30 x HealthyThresholdCount
#   5 = 150 s (ELBv2 target group defaults) plus ~30 s to start (our task definitions' startPeriod);
ASSUMED_INSTALL_SECONDS = 180.0
# - a hook costs a Lambda invocation (cold start) and a PutLifecycleEventHookExecutionStatus call;
HOOK_OVERHEAD_SECONDS = 10.0
# - re-pointing the test listener is one ELBv2 ModifyListener/ModifyRule call.
LISTENER_SWITCH_SECONDS = 5.0

# The margin added to the expected duration for the default --timeout (see default_timeout).
MIN_TIMEOUT_MARGIN_SECONDS = 300.0
TIMEOUT_MARGIN_RATIO = 0.2

_DONE_STATUSES = frozenset(status.value for status in LifecycleStatus if status.is_done)


@dataclass(frozen=True)
class GroupTiming:
    """The deployment group's waits and the expected seconds of each lifecycle hook."""

    ready_action: str
    ready_wait_minutes: int
    termination_wait_minutes: int
    hook_budget_seconds: Mapping[str, float] = field(default_factory=dict)
    install_seconds: float = ASSUMED_INSTALL_SECONDS

    def __post_init__(self) -> None:
        if self.ready_action not in tuple(DeploymentReadyAction):
            raise ValueError(
                f"ready_action must be {' or '.join(DeploymentReadyAction)}, not {self.ready_action}"
            )

    @classmethod
    def for_service(cls, service: ResolvedService) -> GroupTiming:
        """The timing the catalog gives a service's deployment group in its environment."""
        deployment = service.settings.deployment
        return cls(
            ready_action=deployment.ready_action,
            ready_wait_minutes=deployment.ready_wait_minutes,
            termination_wait_minutes=deployment.termination_wait_minutes,
            hook_budget_seconds=hook_budgets(service),
        )

    @classmethod
    def from_blue_green_config(
        cls, blue_green: Mapping[str, Any] | None, hook_budget_seconds: Mapping[str, float] | None = None
    ) -> GroupTiming:
        """From CodeDeploy's blueGreenDeploymentConfiguration (GetDeploymentGroup or GetDeployment)."""
        blue_green = blue_green or {}
        ready = blue_green.get("deploymentReadyOption") or {}
        terminate = blue_green.get("terminateBlueInstancesOnDeploymentSuccess") or {}
        action = ready.get("actionOnTimeout") or DeploymentReadyAction.CONTINUE_DEPLOYMENT.value
        # KEEP_ALIVE leaves the original task set running: nothing to wait for.
        termination = terminate.get("terminationWaitTimeInMinutes") or 0
        if terminate.get("action") == InstanceAction.KEEP_ALIVE:
            termination = 0
        return cls(
            ready_action=action,
            ready_wait_minutes=int(ready.get("waitTimeInMinutes") or 0),
            termination_wait_minutes=int(termination),
            hook_budget_seconds=dict(hook_budget_seconds or {}),
        )


@dataclass(frozen=True)
class Phase:
    """One step of a deployment and how long it is expected to take."""

    name: str
    expected_seconds: float
    lifecycle_event: str | None = None  # CodeDeploy's lifecycle event name, None for group waits


def hook_budgets(service: ResolvedService) -> dict[str, float]:
    """Expected seconds per lifecycle event that has a hook, from the catalog's smoke/bake settings."""
    settings = service.settings
    smoke = settings.smoke
    smoke_seconds = smoke.warmup_seconds + sum(check.latency_budget_ms for check in smoke.checks) / 1000
    work = {
        BEFORE_INSTALL: 0.0,
        AFTER_INSTALL: 0.0,
        AFTER_ALLOW_TEST_TRAFFIC: smoke_seconds,  # smoke checks through the test listener
        BEFORE_ALLOW_TRAFFIC: 0.0,  # alarm gate and target health: a few API calls
        AFTER_ALLOW_TRAFFIC: settings.deployment.bake_seconds,  # post-shift bake
    }
    hooked = [event for event in ECS_HOOK_EVENTS if event in settings.hooks]
    return {event: HOOK_OVERHEAD_SECONDS + work[event] for event in hooked}


def expected_phases(
    strategy: Strategy, timing: GroupTiming, *, continued_at_ready: bool = False
) -> list[Phase]:
    """The phases of one deployment in CodeDeploy's order, each with its expected seconds.

    ``continued_at_ready``: bluegreen continues the deployment as soon as it is Ready (ready-wait 0).
    """
    hooks = timing.hook_budget_seconds

    def hook(event: str) -> Phase:
        return Phase(event, float(hooks.get(event, 0.0)), event)

    phases = [
        hook(BEFORE_INSTALL),
        Phase(INSTALL, timing.install_seconds, INSTALL),
        hook(AFTER_INSTALL),
        Phase(ALLOW_TEST_TRAFFIC, LISTENER_SWITCH_SECONDS, ALLOW_TEST_TRAFFIC),
        hook(AFTER_ALLOW_TEST_TRAFFIC),
    ]
    if timing.ready_action == DeploymentReadyAction.STOP_DEPLOYMENT:
        ready_seconds = 0.0 if continued_at_ready else timing.ready_wait_minutes * 60.0
        phases.append(Phase(READY_WAIT, ready_seconds))
    phases += [
        hook(BEFORE_ALLOW_TRAFFIC),
        Phase(TRAFFIC_SHIFT, strategy.total_shift_minutes * 60.0, ALLOW_TRAFFIC),
        hook(AFTER_ALLOW_TRAFFIC),
        Phase(TERMINATION_WAIT, timing.termination_wait_minutes * 60.0),
    ]
    return phases


def expected_duration(strategy: Strategy, timing: GroupTiming, *, continued_at_ready: bool = False) -> float:
    """Expected seconds from CreateDeployment to Succeeded."""
    phases = expected_phases(strategy, timing, continued_at_ready=continued_at_ready)
    return sum(phase.expected_seconds for phase in phases)


def default_timeout(strategy: Strategy, timing: GroupTiming, *, continued_at_ready: bool = False) -> float:
    """The default --timeout in seconds: the expected duration plus a safety margin."""
    expected = expected_duration(strategy, timing, continued_at_ready=continued_at_ready)
    # The margin absorbs what the model cannot know: image pulls and task placement, hook retries
    # (smoke max_attempts x backoff), ALB registration, and our own polling interval. It scales
    # with the deployment (20 %) but is never under 5 minutes, so short all-at-once deployments
    # are not cut off by one slow task start. We deliberately do not wait for CodeDeploy's own
    # one-hour hook deadline: a hook that silent is a failure worth reporting (exit 3) sooner.
    return expected + max(MIN_TIMEOUT_MARGIN_SECONDS, TIMEOUT_MARGIN_RATIO * expected)


def _boundary(phases: Sequence[Phase], until: str) -> int:
    """Index of the first phase that is *not* needed to reach ``until``."""
    if until not in UNTIL_PHASES:
        raise ValueError(f"until must be one of {', '.join(UNTIL_PHASES)}, not {until!r}")
    names = [phase.name for phase in phases]
    if until == "ready":
        # Ready: the replacement task set serves the test listener and its smoke hook passed.
        return names.index(AFTER_ALLOW_TEST_TRAFFIC) + 1
    if until == "traffic-shifted":
        return names.index(TRAFFIC_SHIFT) + 1
    return len(phases)


def phases_until(phases: Sequence[Phase], until: str = "done") -> list[Phase]:
    """The phases that must pass before ``until`` is reached."""
    return list(phases[: _boundary(phases, until)])


def eta_seconds(
    phases: Sequence[Phase], current_phase: str, elapsed_in_phase: float, until: str = "done"
) -> float:
    """Expected seconds left: the rest of the current phase plus every later phase up to ``until``."""
    names = [phase.name for phase in phases]
    if current_phase not in names:
        raise ValueError(f"unknown phase {current_phase!r}; phases: {', '.join(names)}")
    index = names.index(current_phase)
    boundary = _boundary(phases, until)
    if index >= boundary:
        return 0.0
    # A phase running longer than expected contributes 0, not a negative number.
    remaining = max(0.0, phases[index].expected_seconds - max(0.0, elapsed_in_phase))
    return remaining + sum(phase.expected_seconds for phase in phases[index + 1 : boundary])


def _event_statuses(lifecycle_events: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    return {str(event.get("lifecycleEventName")): str(event.get("status")) for event in lifecycle_events}


def current_phase(
    phases: Sequence[Phase], deployment_status: str, lifecycle_events: Sequence[Mapping[str, Any]]
) -> str:
    """The phase a poll shows: GetDeployment's status and the ECS target's lifecycleEvents."""
    names = [phase.name for phase in phases]
    if deployment_status == DeploymentStatus.READY and READY_WAIT in names:
        return READY_WAIT
    statuses = _event_statuses(lifecycle_events)
    for phase in phases:
        if phase.lifecycle_event is None:
            continue
        if statuses.get(phase.lifecycle_event, LifecycleStatus.PENDING.value) not in _DONE_STATUSES:
            return phase.name
    return TERMINATION_WAIT


def until_reached(until: str, deployment_status: str, lifecycle_events: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a deployment has reached ``until`` (ready, traffic-shifted or done)."""
    if until not in UNTIL_PHASES:
        raise ValueError(f"until must be one of {', '.join(UNTIL_PHASES)}, not {until!r}")
    if deployment_status == DeploymentStatus.SUCCEEDED:
        return True
    if until == "done":
        return False
    statuses = _event_statuses(lifecycle_events)
    if until == "ready":
        return (
            deployment_status == DeploymentStatus.READY
            or statuses.get(AFTER_ALLOW_TEST_TRAFFIC) in _DONE_STATUSES
        )
    return statuses.get(ALLOW_TRAFFIC) in _DONE_STATUSES
