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

Amazon ECS's native deployment (``GroupTiming.lifecycle`` = ``NATIVE_LIFECYCLE``) follows ECS's
lifecycle stages instead, from the same catalog settings (``expected_native_phases``):

    RECONCILE_SERVICE, PRE_SCALE_UP, SCALE_UP, POST_SCALE_UP, TEST_TRAFFIC_SHIFT,
    POST_TEST_TRAFFIC_SHIFT, [ready-wait], PRODUCTION_TRAFFIC_SHIFT, POST_PRODUCTION_TRAFFIC_SHIFT,
    BAKE_TIME, CLEAN_UP

- a stage with a hook lasts its hook's budget (the catalog's hooks run at
  ``vocabulary.NATIVE_STAGE_FOR_EVENT``); SCALE_UP is the new revision becoming healthy (as Install);
- ready-wait is the PAUSE hook at POST_TEST_TRAFFIC_SHIFT (ready action STOP_DEPLOYMENT), which
  ``promote`` (ContinueServiceDeployment) releases;
- PRODUCTION_TRAFFIC_SHIFT is the strategy's schedule (canary: the canary's bake; linear: one step
  bake between steps; blue/green: at once) plus the BeforeAllowTraffic hook's budget once per step:
  ECS runs the PRE_PRODUCTION_TRAFFIC_SHIFT hook before every production step;
- BAKE_TIME is bakeTimeInMinutes, the catalog's termination wait (ECS keeps the source revision
  until it ends, then CLEAN_UP scales it down).

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
    BAKE_TIME,
    BEFORE_ALLOW_TRAFFIC,
    BEFORE_INSTALL,
    CLEAN_UP,
    ECS_HOOK_EVENTS,
    INSTALL,
    POST_PRODUCTION_TRAFFIC_SHIFT,
    POST_SCALE_UP,
    POST_TEST_TRAFFIC_SHIFT,
    PRE_SCALE_UP,
    PRODUCTION_TRAFFIC_SHIFT,
    RECONCILE_SERVICE,
    SCALE_UP,
    TEST_TRAFFIC_SHIFT,
    DeploymentReadyAction,
    DeploymentStatus,
    HookTargetType,
    InstanceAction,
    LifecycleStatus,
)
from orchestrator.watching.lifecycles import (
    CODEDEPLOY_LIFECYCLE,
    NATIVE_LIFECYCLE,
    Lifecycle,
    lifecycle_for,
    lifecycle_of,
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
    # Whose lifecycle the deployment goes through: CodeDeploy's events or ECS's native stages.
    lifecycle: Lifecycle = CODEDEPLOY_LIFECYCLE

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
            lifecycle=lifecycle_for(service.settings.engine),
        )

    @classmethod
    def from_deployment_configuration(
        cls, config: Mapping[str, Any] | None, hook_budget_seconds: Mapping[str, float] | None = None
    ) -> GroupTiming:
        """From ECS's deploymentConfiguration (DescribeServices) of a native deployment: a PAUSE hook
        at POST_TEST_TRAFFIC_SHIFT is the ready wait (its timeout the window), bakeTimeInMinutes the
        termination wait."""
        config = config or {}
        pause = next(
            (
                hook
                for hook in config.get("lifecycleHooks") or []
                if hook.get("targetType") == HookTargetType.PAUSE
                and POST_TEST_TRAFFIC_SHIFT in (hook.get("lifecycleStages") or [])
            ),
            None,
        )
        timeout = (pause or {}).get("timeoutConfiguration") or {}
        return cls(
            ready_action=(
                DeploymentReadyAction.STOP_DEPLOYMENT.value
                if pause is not None
                else DeploymentReadyAction.CONTINUE_DEPLOYMENT.value
            ),
            ready_wait_minutes=int(timeout.get("timeoutInMinutes") or 0),
            termination_wait_minutes=int(config.get("bakeTimeInMinutes") or 0),
            hook_budget_seconds=dict(hook_budget_seconds or {}),
            lifecycle=NATIVE_LIFECYCLE,
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
    """The phases of one deployment in its engine's order, each with its expected seconds.

    ``continued_at_ready``: bluegreen continues the deployment as soon as it is Ready (ready-wait 0).
    """
    if timing.lifecycle is NATIVE_LIFECYCLE:
        return expected_native_phases(strategy, timing, continued_at_ready=continued_at_ready)
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
    phases += _ready_wait(timing, continued_at_ready)
    phases += [
        hook(BEFORE_ALLOW_TRAFFIC),
        Phase(TRAFFIC_SHIFT, strategy.total_shift_minutes * 60.0, ALLOW_TRAFFIC),
        hook(AFTER_ALLOW_TRAFFIC),
        Phase(TERMINATION_WAIT, timing.termination_wait_minutes * 60.0),
    ]
    return phases


def _ready_wait(timing: GroupTiming, continued_at_ready: bool) -> list[Phase]:
    """The wait at Ready, when the deployment waits there for a promote."""
    if timing.ready_action != DeploymentReadyAction.STOP_DEPLOYMENT:
        return []
    return [Phase(READY_WAIT, 0.0 if continued_at_ready else timing.ready_wait_minutes * 60.0)]


def expected_native_phases(
    strategy: Strategy, timing: GroupTiming, *, continued_at_ready: bool = False
) -> list[Phase]:
    """The phases of one of Amazon ECS's native deployments, in ECS's stage order (module docstring)."""
    hooks = timing.hook_budget_seconds

    def stage(name: str, seconds: float = 0.0) -> Phase:
        event = NATIVE_LIFECYCLE.hook_event_at(name)
        return Phase(name, seconds + float(hooks.get(event, 0.0) if event else 0.0), name)

    # ECS runs the PRE_PRODUCTION_TRAFFIC_SHIFT hook (BeforeAllowTraffic's function) before each step.
    # The schedule is CodeDeploy's: a linear step bake is "not applied after reaching 100 percent
    # traffic", a canary waits canaryBakeTimeInMinutes once (botocore's ECS model,
    # LinearConfiguration / CanaryConfiguration).
    pre_shift = float(hooks.get(BEFORE_ALLOW_TRAFFIC, 0.0)) * len(strategy.traffic_steps())
    phases = [
        stage(RECONCILE_SERVICE),  # only when more than one revision is ACTIVE: nothing to wait for
        stage(PRE_SCALE_UP),
        stage(SCALE_UP, timing.install_seconds),
        stage(POST_SCALE_UP),
        stage(TEST_TRAFFIC_SHIFT, LISTENER_SWITCH_SECONDS),
        stage(POST_TEST_TRAFFIC_SHIFT),
    ]
    phases += _ready_wait(timing, continued_at_ready)
    phases += [
        stage(PRODUCTION_TRAFFIC_SHIFT, strategy.total_shift_minutes * 60.0 + pre_shift),
        stage(POST_PRODUCTION_TRAFFIC_SHIFT),
        stage(BAKE_TIME, timing.termination_wait_minutes * 60.0),
        # Scaling the source revision down happens after the bake: not modelled (as CodeDeploy's
        # termination of the original task set is not).
        stage(CLEAN_UP),
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


def _milestone_step(phases: Sequence[Phase], until: str) -> str | None:
    """The lifecycle step whose end reaches ``until`` in these phases' lifecycle (None: done)."""
    lifecycle = lifecycle_of(phase.lifecycle_event for phase in phases)
    return {"ready": lifecycle.test_traffic_done, "traffic-shifted": lifecycle.production_shift}.get(until)


def _boundary(phases: Sequence[Phase], until: str) -> int:
    """Index of the first phase that is *not* needed to reach ``until``."""
    if until not in UNTIL_PHASES:
        raise ValueError(f"until must be one of {', '.join(UNTIL_PHASES)}, not {until!r}")
    # ready: the replacement serves the test listener and its smoke hook passed;
    # traffic-shifted: production traffic is all on the replacement.
    step = _milestone_step(phases, until)
    if step is None:
        return len(phases)
    events = [phase.lifecycle_event for phase in phases]
    return events.index(step) + 1


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
    """The phase a poll shows: the deployment's status and its lifecycle steps (GetDeploymentTarget's
    ``ecsTarget.lifecycleEvents`` shape; a native deployment's stages in the same shape)."""
    names = [phase.name for phase in phases]
    if deployment_status == DeploymentStatus.READY and READY_WAIT in names:
        return READY_WAIT
    statuses = _event_statuses(lifecycle_events)
    for phase in phases:
        if phase.lifecycle_event is None:
            continue
        if statuses.get(phase.lifecycle_event, LifecycleStatus.PENDING.value) not in _DONE_STATUSES:
            return phase.name
    # Every step done: the last phase (CodeDeploy's termination wait) is what is left.
    return names[-1]


def until_reached(until: str, deployment_status: str, lifecycle_events: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a deployment has reached ``until`` (ready, traffic-shifted or done)."""
    if until not in UNTIL_PHASES:
        raise ValueError(f"until must be one of {', '.join(UNTIL_PHASES)}, not {until!r}")
    if deployment_status == DeploymentStatus.SUCCEEDED:
        return True
    if until == "done":
        return False
    statuses = _event_statuses(lifecycle_events)
    lifecycle = lifecycle_of(statuses)
    if until == "ready":
        return (
            deployment_status == DeploymentStatus.READY
            or statuses.get(lifecycle.test_traffic_done) in _DONE_STATUSES
        )
    return statuses.get(lifecycle.production_shift) in _DONE_STATUSES
